"""AIPL for leads: the funnel of any segment (two side by side), its monthly trend, and the flow d1 → d2.

Every bar, trend point and flow cell opens the Segment Builder with a definition that
counts the same members (core/analyses/aipl.py says which).
"""

from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import streamlit as st

from core.analyses import aipl
from core.segments.builder_state import to_segment
from core.segments.describe import describe
from core.segments.model import Segment, SegmentError, SegmentRef
from dashboard import auth, charts
from dashboard.builder_session import get_state, replace_state
from dashboard.data_access import get_dataset, get_store, lang, say, tr
from dashboard.i18n import fmt_int, fmt_pct

VIEWS = ("funnel", "trend", "flow")
ALL, CURRENT, NONE = "__all__", "__current__", "__none__"


def main() -> None:
    st.title(tr("aipl.title"))
    ds = get_dataset()
    if ds is None:
        return
    st.caption(tr("dataset.as_of", as_of=ds.as_of.isoformat()) + " · " + ds.name)
    store = get_store()
    saved = {s.id: s.name for s in store.list_segments()} if store is not None else {}
    resolve = store.resolver() if store is not None else None
    left, right, view_col = st.columns([3, 3, 3])
    options = [ALL, CURRENT, *saved]

    def label(v: str) -> str:
        return {ALL: tr("aipl.base.all"), CURRENT: tr("aipl.base.current"), NONE: tr("aipl.base.none")}.get(v) or tr(
            "aipl.base.saved", name=saved.get(v, v)
        )

    base_pick = left.selectbox(tr("aipl.base"), options, format_func=label, key="aipl_base")
    compare_pick = right.selectbox(tr("aipl.compare"), [NONE, *options], format_func=label, key="aipl_compare")
    wanted = st.query_params.get("view", "funnel")
    view = (
        view_col.segmented_control(
            tr("aipl.view"),
            list(VIEWS),
            format_func=lambda v: tr(f"aipl.view.{v}"),
            key="aipl_view",
            default=wanted if wanted in VIEWS else "funnel",
        )
        or "funnel"
    )
    if view != wanted:
        st.query_params["view"] = view
    base = _base(base_pick)
    try:
        if view == "funnel":
            _funnel_view(
                ds,
                [(base_pick, base)] + ([(compare_pick, _base(compare_pick))] if compare_pick != NONE else []),
                resolve,
                label,
            )
        elif view == "trend":
            _trend_view(ds, base, resolve)
        else:
            _flow_view(ds, base, resolve)
    except (aipl.AiplInputError, SegmentError) as err:
        st.error(tr("aipl.bad_input", error=say(err)))
    _how(ds)


def _base(pick: str) -> Segment | None:
    """The members a view counts: everyone, the builder's current segment, or a saved one."""
    if pick in (ALL, NONE):
        return None
    if pick == CURRENT:
        return to_segment(get_state()).segment
    return Segment(conditions=(SegmentRef(segment=pick),))


def _open_in_builder(definition: Segment) -> None:
    """Put the definition in the builder and go there (then export is one more click)."""
    from dashboard.views import builder

    replace_state(definition)
    st.switch_page(st.Page(builder.main, url_path="builder"), query_params={"lang": lang()})


def _stage_label(stage: str) -> str:
    return tr(f"aipl.{stage}")


# --- funnel ---------------------------------------------------------------------------------------


def _funnel_view(ds, bases: list[tuple[str, Segment | None]], resolve, label) -> None:
    day = st.date_input(
        tr("aipl.day"),
        value=ds.as_of,
        max_value=ds.as_of,
        min_value=date(1900, 1, 1),
        format="YYYY-MM-DD",
        key="aipl_funnel_day",
    )
    day = day if isinstance(day, date) else ds.as_of
    cols = st.columns(len(bases))
    for i, ((pick, base), col) in enumerate(zip(bases, cols, strict=True)):
        with col, st.spinner(tr("aipl.working", day=day.isoformat())):
            f = aipl.funnel(ds, day, base, resolve)
        with col:
            reached = f.reached
            st.plotly_chart(
                charts.funnel(
                    [_stage_label(s) for s in aipl.STAGES],
                    [reached[s] for s in aipl.STAGES],
                    tr("aipl.funnel.title", base=label(pick), day=day.isoformat()),
                ),
                key=f"aipl_funnel_chart_{i}",
            )
            st.caption(tr("aipl.size", n=fmt_int(f.segment_size)))
            conv = f.conversion
            heads = st.columns([2, 2, 2, 2])
            for h, k in zip(heads, ("stage", "in_stage", "reached", "conversion"), strict=True):
                h.caption(tr(f"aipl.col.{k}"))
            for j, stage in enumerate(aipl.ALL_STAGES):
                row = st.columns([2, 2, 2, 2], vertical_alignment="center")
                row[0].markdown(_stage_label(stage))
                day_arg = None if day == ds.as_of else day
                if row[1].button(fmt_int(f.in_stage[stage]), key=f"aipl-in-{i}-{stage}", help=tr("aipl.open_help")):
                    _open_in_builder(aipl.stage_definition([stage], day_arg, base))
                if stage in reached and row[2].button(
                    fmt_int(reached[stage]), key=f"aipl-reached-{i}-{stage}", help=tr("aipl.open_help")
                ):
                    _open_in_builder(aipl.stage_definition(aipl.reached_stages(stage), day_arg, base))
                if j > 0 and stage in reached:
                    rate = conv[f"{aipl.STAGES[j - 1]}_to_{stage}"]
                    row[3].markdown(fmt_pct(rate) if rate is not None else "—")


# --- trend ----------------------------------------------------------------------------------------


def _trend_view(ds, base: Segment | None, resolve) -> None:
    months = st.number_input(tr("aipl.trend.months"), min_value=1, max_value=120, value=12, step=1, key="aipl_months")
    bar = st.progress(0.0)
    t = aipl.trend(
        ds,
        int(months),
        base,
        resolve,
        progress=lambda share, day: bar.progress(share, text=tr("aipl.working", day=day)),
    )
    bar.empty()
    days = [p.day.isoformat() for p in t.points]
    fig = go.Figure()
    for k, stage in enumerate(aipl.ALL_STAGES):
        fig.add_bar(
            x=days,
            y=[p.in_stage[stage] for p in t.points],
            name=_stage_label(stage),
            marker_color=charts.PALETTE[k],
            hovertemplate="%{x}: %{y:,}<extra>" + _stage_label(stage) + "</extra>",
        )
    fig.update_layout(
        barmode="stack",
        title=tr("aipl.trend.title"),
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        separators=".,",
        xaxis={"type": "category"},
    )
    event = st.plotly_chart(fig, key="aipl_trend_chart", on_select="rerun", selection_mode="points")
    st.caption(tr("aipl.trend.click"))
    points = (
        (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) or hasattr(event, "get") else []
    )
    if points:
        p = points[0]
        stage = aipl.ALL_STAGES[int(p.get("curve_number", 0))]
        _open_in_builder(aipl.stage_definition([stage], date.fromisoformat(str(p["x"])), base))
    cols = st.columns([3, 3, 2], vertical_alignment="bottom")
    picked_day = cols[0].selectbox(tr("aipl.trend.pick"), days[::-1], key="aipl_trend_day")
    picked_stage = cols[1].selectbox(
        tr("aipl.trend.stage"), list(aipl.ALL_STAGES), format_func=_stage_label, key="aipl_trend_stage"
    )
    if cols[2].button(tr("aipl.trend.open"), key="aipl-trend-open", icon=":material/open_in_new:"):
        _open_in_builder(aipl.stage_definition([picked_stage], date.fromisoformat(picked_day), base))


# --- flow -----------------------------------------------------------------------------------------


def _flow_view(ds, base: Segment | None, resolve) -> None:
    d1_default, d2_default = aipl.default_flow_days(ds.as_of)
    cols = st.columns(2)
    d1 = cols[0].date_input(
        tr("aipl.flow.from"),
        value=d1_default,
        max_value=ds.as_of,
        min_value=date(1900, 1, 1),
        format="YYYY-MM-DD",
        key="aipl_d1",
    )
    d2 = cols[1].date_input(
        tr("aipl.flow.to"),
        value=d2_default,
        max_value=ds.as_of,
        min_value=date(1900, 1, 1),
        format="YYYY-MM-DD",
        key="aipl_d2",
    )
    d1 = d1 if isinstance(d1, date) else d1_default
    d2 = d2 if isinstance(d2, date) else d2_default
    with st.spinner(tr("aipl.working", day=f"{d1} → {d2}")):
        f = aipl.flow(ds, d1, d2, base, resolve)
    st.caption(tr("aipl.flow.base", n=fmt_int(f.base_size)))
    summary = f.summary
    for col, k in zip(st.columns(len(aipl.SUMMARY)), aipl.SUMMARY, strict=True):
        col.metric(tr(f"aipl.summary.{k}"), fmt_int(summary[k]))
    st.markdown(tr("aipl.flow.matrix", d1=d1.isoformat(), d2=d2.isoformat()))
    matrix, shares = f.matrix, f.row_shares
    widths = [1.6] + [1.4] * len(aipl.ALL_STAGES)
    head = st.columns(widths)
    for c, stage in zip(head[1:], aipl.ALL_STAGES, strict=True):
        c.caption(f"→ {_stage_label(stage)}")
    for r in aipl.ALL_STAGES:
        line = st.columns(widths, vertical_alignment="center")
        line[0].markdown(f"**{_stage_label(r)}**")
        for cell, c in zip(line[1:], aipl.ALL_STAGES, strict=True):
            share = shares[r][c]
            text = fmt_int(matrix[r][c]) + (f" ({fmt_pct(share)})" if share is not None else "")
            if cell.button(text, key=f"aipl-cell-{r}-{c}", help=tr("aipl.open_help"), use_container_width=True):
                _open_in_builder(aipl.cell_definition(d1, r, d2, c, base))
    st.plotly_chart(_sankey(f, d1, d2), key="aipl_sankey")


def _sankey(f: aipl.Flow, d1: date, d2: date) -> go.Figure:
    n = len(aipl.ALL_STAGES)
    labels = [f"{_stage_label(s)} · {d1}" for s in aipl.ALL_STAGES] + [
        f"{_stage_label(s)} · {d2}" for s in aipl.ALL_STAGES
    ]
    source, target, value = [], [], []
    for i, r in enumerate(aipl.ALL_STAGES):
        for j, c in enumerate(aipl.ALL_STAGES):
            if f.matrix[r][c]:
                source.append(i)
                target.append(n + j)
                value.append(f.matrix[r][c])
    colors = charts.PALETTE[:n] * 2
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "color": colors, "pad": 12},
            link={"source": source, "target": target, "value": value},
        )
    )
    fig.update_layout(
        title=tr("aipl.flow.sankey"), height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10}, separators=".,"
    )
    return fig


def _how(ds) -> None:
    example = describe(aipl.cell_definition(*aipl.default_flow_days(ds.as_of)[:1], "I", ds.as_of, "P"), lang=lang())
    with st.expander(tr("aipl.how")):
        st.markdown(
            tr(
                "aipl.how.text",
                days=ds.config.aipl.lookback_days,
                min=ds.config.aipl.loyalty_min_purchases,
                as_of=ds.as_of.isoformat(),
                example=example,
            )  # fmt: skip
        )
        auth.render_scope_note(ds)
