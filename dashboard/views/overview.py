"""Overview: the size of the base, its event span, AIPL / RFM / lifecycle, and dataset health."""

from __future__ import annotations

import streamlit as st

from core.analyses.overview import overview
from dashboard import charts
from dashboard.data_access import get_dataset, problems_frame, say, tr
from dashboard.i18n import fmt_int, fmt_pct


def main() -> None:
    st.title(tr("overview.title"))
    ds = get_dataset()
    if ds is None:
        return
    from core.engine import EngineError as RuleError
    from core.problems import EngineError

    try:
        ov = overview(ds)
    except (EngineError, RuleError) as err:  # the engine could not answer (e.g. Spark under a data scope): why
        st.error(say(err))
        return
    st.caption(tr("dataset.as_of", as_of=ov.as_of.isoformat()) + " · " + ds.name)
    cols = st.columns(4)
    cols[0].metric(tr("overview.users"), fmt_int(ov.users))
    cols[1].metric(tr("overview.buyers", days=ds.config.rfm_window_days), fmt_int(ov.buyers))
    cols[2].metric(tr("overview.active_users"), fmt_int(ov.users_with_events))
    cols[3].metric(tr("overview.events"), fmt_int(ov.events))
    st.caption(tr("overview.event_range", first=ov.first_event or "—", last=ov.last_event or "—"))

    left, right = st.columns(2)
    stages = ov.aipl_reached
    with left:
        st.plotly_chart(
            charts.funnel(
                [tr(f"aipl.{v}") for v, _ in stages],
                [n for _, n in stages],
                tr("overview.aipl", days=ds.config.aipl.lookback_days),
            ),
            key="chart_aipl",
        )
        conv = " · ".join(f"{step} {fmt_pct(rate)}" for step, rate in ov.aipl_conversion)
        st.caption(f"{tr('overview.conversion')}: {conv}")
        _aipl_link()
    lifecycle = ov.distribution("lifecycle")
    with right:
        st.plotly_chart(
            charts.bar(
                [tr(f"lifecycle.{v}") for v, _ in lifecycle.values],
                [n for _, n in lifecycle.values],
                tr("overview.lifecycle"),
                value_label=tr("chart.users"),
            ),
            key="chart_lifecycle",
        )
    rfm = ov.distribution("rfm")
    st.plotly_chart(
        charts.bar(
            [tr(f"rfm.{v}") for v, _ in rfm.values],
            [n for _, n in rfm.values],
            tr("overview.rfm", days=ds.config.rfm_window_days),
            horizontal=True,
            value_label=tr("chart.users"),
        ),
        key="chart_rfm",
    )
    with st.expander(tr("overview.health"), expanded=bool(ov.health)):
        if ov.health:
            st.table(problems_frame(ds.report).set_index(tr("problem.severity")))
        else:
            st.success(tr("overview.health_ok"))


def _aipl_link() -> None:
    """The AIPL page: the same funnel over time, by segment, and who moved."""
    from dashboard.views import aipl

    st.page_link(st.Page(aipl.main, url_path="aipl"), label=tr("overview.aipl_link"), icon=":material/trending_up:")
