"""The Funnels page's results: step table and chart, audiences per step, time to convert, breakdown and trend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.analyses.funnel_spec import drop_off_definition, encode_funnel
from core.analyses.funnels import BIN_EDGES, FunnelResult
from core.dataset import Dataset
from core.segments.model import parse_segment
from dashboard import charts
from dashboard.builder_session import replace_state
from dashboard.data_access import lang, tr
from dashboard.i18n import fmt_int, fmt_pct


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def show_results(ds: Dataset, r: FunnelResult, spec, base_def: dict | None) -> None:
    cols = st.columns(4)
    cols[0].metric(tr("funnels.entered"), fmt_int(r.entered))
    cols[1].metric(tr("funnels.excluded"), fmt_int(r.excluded))
    cols[2].metric(tr("funnels.open"), fmt_int(r.open), help=tr("funnels.open_help"))
    cols[3].metric(tr("funnels.overall"), fmt_pct(r.overall_conversion))
    labels = [f"{s.step}. {s.event}" for s in r.steps]
    st.plotly_chart(charts.funnel(labels, [s.users for s in r.steps], tr("funnels.chart")), key="funnels-chart")
    table = pd.DataFrame({
        tr("funnels.col.step"): [s.step for s in r.steps],
        tr("funnels.col.event"): [s.event for s in r.steps],
        tr("funnels.col.users"): [s.users for s in r.steps],
        tr("funnels.col.from_previous"): [fmt_pct(r.conversion_from_previous(s.step)) for s in r.steps],
        tr("funnels.col.from_first"): [fmt_pct(r.conversion_from_first(s.step)) for s in r.steps],
        tr("funnels.col.median"): [_duration(s.median_seconds_from_previous) for s in r.steps],
        tr("funnels.col.dropped"): list(r.dropped),
    })  # fmt: skip
    st.dataframe(table, hide_index=True, key="funnels-table")
    st.markdown(f"**{tr('funnels.audiences')}**")
    for s in r.steps:
        cols = st.columns([1, 1, 3])
        if cols[0].button(f"{tr('funnels.reached', k=s.step)} · {fmt_int(s.users)}", key=f"funnels-reached-{s.step}"):
            _open_builder(spec, "reached", s.step, base_def)
        if s.step < len(r.steps) and cols[1].button(
            f"{tr('funnels.dropped', k=s.step)} · {fmt_int(r.dropped[s.step - 1])}", key=f"funnels-dropped-{s.step}"
        ):
            _open_builder(spec, "dropped_after", s.step, base_def)
    _time_to_convert(r)
    if r.breakdown_field:
        st.subheader(tr("funnels.breakdown_title", field=r.breakdown_field))
        rows = [{tr("funnels.col.value"): b.value, **{labels[i]: n for i, n in enumerate(b.users)},
                 tr("funnels.overall"): fmt_pct(b.users[-1] / b.users[0] if b.users[0] else None)}
                for b in r.breakdown]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="funnels-breakdown")
    if r.trend:
        unit = tr(f"funnels.trend.{r.trend_unit}")
        periods = [t.period.isoformat() for t in r.trend]
        st.plotly_chart(charts.trend(periods, [t.conversion for t in r.trend], [t.complete for t in r.trend],
                                     tr("funnels.trend_title", unit=unit), tr("funnels.incomplete")),
                        key="funnels-trend")  # fmt: skip
    start, end = r.start, r.end
    with st.expander(tr("funnels.how")):
        window = f"{spec.window_value} {tr(f'funnels.unit.{spec.window_unit}')}"
        st.markdown(tr("funnels.how_text", start=start, end=end, window=window, as_of=r.as_of, open=fmt_int(r.open)))
    st.text_input(tr("funnels.share"), f"?f={encode_funnel(spec)}", help=tr("funnels.share_help"), key="funnels-share")


def _time_to_convert(r: FunnelResult) -> None:
    if len(r.steps) < 2:
        return
    st.subheader(tr("funnels.time"))
    later = [s for s in r.steps if s.step > 1]
    pick = st.selectbox(
        tr("funnels.time_step"),
        [s.step for s in later],
        format_func=lambda k: f"{k}. {r.steps[k - 1].event}",
        key="funnels-time-step",
    )
    step = r.steps[(pick or 2) - 1]
    counts = dict(step.histogram)
    edges = list(BIN_EDGES)
    names = [f"{_duration(lo) if lo else '0'}–{_duration(hi)}" for lo, hi in zip(edges, edges[1:], strict=False)] + [
        f"≥ {_duration(edges[-1])}"
    ]
    st.plotly_chart(
        charts.bar(
            names, [counts.get(float(e), 0) for e in edges], tr("funnels.time_bin"), value_label=tr("chart.users")
        ),
        key="funnels-hist",
    )
    st.caption(f"{tr('funnels.col.median')}: {_duration(step.median_seconds_from_previous)}")


def _open_builder(spec, op: str, step: int, base_def: dict | None) -> None:
    """The step's audience as a live `funnel` condition in the builder (with the base as a group)."""
    from dashboard.views import builder

    replace_state(parse_segment(drop_off_definition(spec, op, step, base_def)))
    st.switch_page(st.Page(builder.main, url_path="builder"), query_params={"lang": lang()})
