"""The Cohorts page's pieces: segment choices, the URL state, the heatmap table and the curves."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

import plotly.graph_objects as go

from core.analyses.retention import Retention, RetentionSpec, cohort_definition
from core.segments.model import Segment, SegmentError, SegmentRef, parse_segment
from core.segments.urlcodec import decode_segment, encode_segment
from dashboard.charts import PALETTE
from dashboard.i18n import fmt_int, fmt_pct

# query parameters the page owns (and restores from); `lang` is the app's
URL_KEYS = ("start", "sw", "ret", "rw", "period", "from", "to", "mode", "base", "cmp")


@dataclass(frozen=True)
class Choice:
    """One option of the base / compare pickers: a stable key, its label, and the segment (None = all)."""

    key: str
    label: str
    segment: Segment | None


def segment_choices(
    tr, saved: list, current: Segment | None, link: dict[str, Segment], *, with_all: bool, words=str
) -> dict[str, Choice]:
    """All members (or no comparison), the builder's current segment, segments from the link, saved ones."""
    first = (
        Choice("all", tr("cohorts.choice.all"), None) if with_all else Choice("none", tr("cohorts.choice.none"), None)
    )
    out = {first.key: first}
    if current is not None and current.conditions:
        out["current"] = Choice("current", tr("cohorts.choice.current"), current)
    for key, segment in link.items():
        text = words(segment)
        out[key] = Choice(key, tr("cohorts.choice.link", what=text if len(text) <= 60 else text[:59] + "…"), segment)
    for s in saved:
        key = f"saved:{s.id}"
        out[key] = Choice(key, tr("cohorts.choice.saved", name=s.name), Segment(conditions=(SegmentRef(s.id, "in"),)))
    return out


def url_choice(key: str, segment: Segment | None) -> str:
    """How a choice is written in the URL: the builder's current segment travels as its definition."""
    if key == "current" and segment is not None:
        return "s:" + encode_segment(segment)
    return key


def link_segments(params: dict[str, str]) -> tuple[dict[str, Segment], list[str]]:
    """Definitions carried by the URL's `base` / `cmp` (`s:<encoded>`), and what could not be read."""
    found, problems = {}, []
    for name in ("base", "cmp"):
        value = params.get(name, "")
        if value.startswith("s:"):
            try:
                found[value] = decode_segment(value[2:])
            except SegmentError as err:
                problems.append(str(err))
    return found, problems


def filters_param(field: str | None, values: list) -> str | None:
    """One 'is one of' filter as the JSON the CLI's --start-where takes (None without one)."""
    if not field or not values:
        return None
    return json.dumps([{"field": field, "op": "in", "values": list(values)}], ensure_ascii=False)


def single_filter(text: str | None) -> tuple[str | None, list]:
    """The property and values of a one-filter JSON list (what the page's widgets edit)."""
    try:
        items = json.loads(text) if text else []
    except ValueError:
        return None, []
    if isinstance(items, list) and len(items) == 1 and isinstance(items[0], dict):
        f = items[0]
        values = f.get("values") if f.get("op") == "in" else [f.get("value")] if f.get("op") == "eq" else None
        scalars = isinstance(values, list) and all(isinstance(v, (str, int, float)) for v in values)
        if isinstance(f.get("field"), str) and scalars:
            return f["field"], values
    return None, []


def share_query(state: dict[str, str | None], lang: str) -> dict[str, str]:
    """The page's query parameters (only those set), and `lang`."""
    return {**{k: v for k, v in state.items() if v}, "lang": lang}


def share_url(base_url: str | None, query: dict[str, str]) -> str:
    return f"{(base_url or '/cohorts').split('?')[0]}?{urlencode(query)}"


def builder_link(spec: RetentionSpec, result: Retention, cohort, first_day: date | None, lang: str) -> str:
    """A relative link to the builder holding exactly this cohort's members (the builder's `?s=`)."""
    definition = parse_segment(cohort_definition(spec, cohort, result.as_of, first_day, result.segment))
    return "builder?" + urlencode({"s": encode_segment(definition), "lang": lang})


def _cell_style(share: float | None) -> str:
    if share is None:
        return ""
    alpha = 0.08 + 0.85 * max(0.0, min(1.0, share))
    ink = "#fff" if alpha > 0.55 else "#1a1a1a"
    return f"background: rgba(59, 91, 219, {alpha:.2f}); color: {ink};"


def heatmap_html(result: Retention, name: str, tr, links: list[str], table_id: str) -> str:
    """The cohort table: size, each period's share (count on hover), * incomplete, blank future, the mean row."""
    e = html.escape
    width = result.columns
    as_of = result.as_of.isoformat()
    head = "".join(f"<th>{k}</th>" for k in range(width))
    rows = []
    for cohort, link in zip(result.cohorts, links, strict=True):
        label = cohort.start.isoformat()
        cells = []
        for k in range(width):
            if k >= len(cohort.retained):
                cells.append('<td class="future"></td>')
                continue
            n, share, done = cohort.retained[k], cohort.shares[k], cohort.complete[k]
            hover = tr(
                "cohorts.cell_hover",
                cohort=label,
                k=k,
                count=fmt_int(n),
                size=fmt_int(cohort.size),
                share=fmt_pct(share),
            )
            if not done:
                hover += tr("cohorts.cell_incomplete", as_of=as_of)
            text = fmt_pct(share) + ("*" if not done else "")
            cells.append(
                f'<td style="{_cell_style(share)}" title="{e(hover)}" data-k="{k}" data-count="{n}" '
                f'data-complete="{str(done).lower()}">{e(text)}</td>'
            )
        rows.append(
            f'<tr data-cohort="{label}"><th><a href="{e(link)}" target="_self">{label}</a></th>'
            f'<td class="size" data-size="{cohort.size}">{fmt_int(cohort.size)}</td>{"".join(cells)}</tr>'
        )
    mean_cells = []
    for k, share in enumerate(result.mean):
        n = sum(1 for c in result.cohorts if k < len(c.complete) and c.complete[k])
        hover = tr("cohorts.mean_hover", k=k, n=n)
        value = "" if share is None else repr(share)
        mean_cells.append(
            f'<td style="{_cell_style(share)}" title="{e(hover)}" data-k="{k}" data-share="{value}">'
            f"{fmt_pct(share)}</td>"
        )
    mean_row = (
        f'<tr class="mean"><th>{e(tr("cohorts.mean"))}</th><td class="size">{fmt_int(result.total)}</td>'
        f"{''.join(mean_cells)}</tr>"
    )
    style = (
        "<style>"
        ".cohort-heatmap{border-collapse:collapse;font-size:0.85rem;font-variant-numeric:tabular-nums}"
        ".cohort-heatmap th,.cohort-heatmap td{padding:4px 8px;border:1px solid #e9ecef;"
        "text-align:right;white-space:nowrap}"
        ".cohort-heatmap tr.mean th,.cohort-heatmap tr.mean td{border-top:2px solid #495057;font-weight:600}"
        ".cohort-heatmap td.future{background:#fff}"
        "</style>"
    )
    return (
        f'{style}<div style="overflow-x:auto"><table class="cohort-heatmap" id="{e(table_id)}" data-name="{e(name)}">'
        f"<thead><tr><th>{e(tr('cohorts.col.cohort'))}</th><th>{e(tr('cohorts.col.size'))}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}{mean_row}</tbody></table></div>"
    )


def curves(named: list[tuple[str, Retention]], tr) -> go.Figure:
    """One line per segment: the mean share retained in each period k (complete periods only)."""
    fig = go.Figure()
    for i, (name, result) in enumerate(named):
        points = [(k, m) for k, m in enumerate(result.mean) if m is not None]
        fig.add_trace(
            go.Scatter(
                x=[k for k, _ in points],
                y=[m for _, m in points],
                mode="lines+markers",
                name=name,
                line={"color": PALETTE[i % len(PALETTE)], "width": 3},
                hovertemplate=f"{html.escape(name)}<br>k=%{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=tr("cohorts.curves"),
        height=360,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        separators=".,",
        xaxis={"title": tr("cohorts.axis_k"), "dtick": 1},
        yaxis={"title": tr("cohorts.axis_share"), "tickformat": ".0%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
