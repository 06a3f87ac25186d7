"""The Experiments page's panels: verdict, SRM banner, variant table, lift chart, CSV, planner, how it was counted."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.analyses.ab import METRICS, ABResult, Verdict
from core.analyses.ab_plan import PlanSpec, plan
from dashboard import auth
from dashboard.charts import PALETTE
from dashboard.data_access import tr
from dashboard.i18n import fmt_int, fmt_pct


def _signed(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x * 100:+.{digits}f}%"


def _p(x: float | None) -> str:
    if x is None:
        return "—"
    return "< 0.0001" if x < 1e-4 else f"{x:.4f}"


def metric_name(metric: str, result: ABResult) -> str:
    return tr(f"ab.metric.{metric}", event=result.experiment.conversion_event)


def verdict_text(v: Verdict, result: ABResult, bayesian: bool) -> str:
    args = {
        "variant": v.variant,
        "control": result.control,
        "metric": metric_name(v.metric, result),
        "lift": _signed(v.lift),
        "low": _signed(v.ci_low, 0),
        "high": _signed(v.ci_high, 0),
        "ctw": fmt_pct(v.chance_to_win),
    }
    key = f"ab.verdict.{v.kind}"
    if bayesian and v.kind in ("wins", "no_difference"):
        key += "_bayes"
    return tr(key, **args)


def _srm_banner(result: ABResult) -> None:
    weights = result.experiment.weights([v.name for v in result.variants])
    total_w = sum(weights) or 1
    observed = " / ".join(f"{v.name} {fmt_pct(v.aggregate.users / max(1, result.users))}" for v in result.variants)
    expected = " / ".join(f"{v.name} {fmt_pct(w / total_w)}" for v, w in zip(result.variants, weights, strict=True))
    st.error(
        tr("ab.srm_banner", p=f"{result.srm_p_value:.2g}", observed=observed, expected=expected),
        icon=":material/error:",
    )


def results_frame(result: ABResult, *, holm: bool) -> pd.DataFrame:
    """One row per variant × metric: the numbers shown and downloaded."""
    rows = []
    for v in result.variants:
        for metric in METRICS:
            m = v.metric(metric)
            c = m.comparison if m.comparison is not None and m.comparison.enough_data else None
            row = {
                tr("ab.table.variant"): v.name + (f" ({tr('ab.table.control')})" if v.is_control else ""),
                tr("ab.table.metric"): metric_name(metric, result),
                tr("ab.table.users"): v.aggregate.users,
                tr("ab.table.conversions"): v.aggregate.conversions,
                tr("ab.table.rate" if metric == "conversion" else "ab.table.revenue"): m.mean,
                tr("ab.table.lift"): c.lift if c else None,
                tr("ab.table.interval"): f"{_signed(c.ci_low)} … {_signed(c.ci_high)}" if c else "",
                tr("ab.table.p"): c.p_value if c else None,
                tr("ab.table.ctw"): c.chance_to_win if c else None,
                tr("ab.table.risk"): c.risk_treatment if c else None,
            }
            if holm:
                row[tr("ab.table.p_adj")] = m.p_value_adjusted
            rows.append(row)
    return pd.DataFrame(rows)


def _variant_table(result: ABResult) -> None:
    rows = []
    for v in result.variants:
        a = v.aggregate
        rows.append(
            {
                tr("ab.table.variant"): v.name + (f" ({tr('ab.table.control')})" if v.is_control else ""),
                tr("ab.table.users"): fmt_int(a.users),
                tr("ab.table.conversions"): fmt_int(a.conversions),
                tr("ab.table.rate"): fmt_pct(v.metric("conversion").mean),
                tr("ab.table.revenue"): "—" if v.metric("revenue").mean is None else f"{v.metric('revenue').mean:,.2f}",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ab_variants")


def _stats_table(result: ABResult, *, bayesian: bool, holm: bool) -> None:
    rows = []
    for v in result.treatments():
        for metric in METRICS:
            m = v.metric(metric)
            c = m.comparison
            if c is None or not c.enough_data:
                continue
            row = {
                tr("ab.table.variant"): v.name,
                tr("ab.table.metric"): metric_name(metric, result),
                tr("ab.table.lift"): _signed(c.lift),
            }
            if bayesian:
                row[tr("ab.table.ctw")] = fmt_pct(c.chance_to_win)
                row[tr("ab.table.risk")] = fmt_pct(c.risk_treatment, 2)
                row[tr("ab.table.risk_control", control=result.control)] = fmt_pct(c.risk_control, 2)
            else:
                row[tr("ab.table.interval")] = f"{_signed(c.ci_low)} … {_signed(c.ci_high)}"
                row[tr("ab.table.p")] = _p(c.p_value)
                if holm:
                    row[tr("ab.table.p_adj")] = _p(m.p_value_adjusted)
            rows.append(row)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="ab_stats")


def lift_chart(result: ABResult) -> go.Figure | None:
    """Each treatment's lift on each metric as a point with its interval; 0 marked."""
    labels, lifts, lows, highs, colors = [], [], [], [], []
    for v in result.treatments():
        for metric in METRICS:
            c = v.metric(metric).comparison
            if c is None or not c.enough_data:
                continue
            labels.append(f"{v.name} · {metric_name(metric, result)}")
            lifts.append(c.lift * 100)
            lows.append((c.lift - c.ci_low) * 100)
            highs.append((c.ci_high - c.lift) * 100)
            # colour by what the interval says: above 0 green, below red, across grey
            colors.append(PALETTE[1] if c.ci_low > 0 else PALETTE[7] if c.ci_high < 0 else PALETTE[8])
    if not labels:
        return None
    fig = go.Figure(
        go.Scatter(
            x=lifts,
            y=labels,
            mode="markers",
            marker={"size": 12, "color": colors},
            error_x={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows, "thickness": 3},
            hovertemplate="%{y}: %{x:+.1f}%<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dash", line_color="#868e96")
    fig.update_layout(
        title=tr("ab.chart.title", control=result.control),
        height=120 + 50 * len(labels),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="%",
        yaxis={"autorange": "reversed"},
    )
    return fig


def render_result(result: ABResult, ds, *, bayesian: bool, holm: bool) -> None:
    if result.srm_flag:
        _srm_banner(result)
    v = result.verdict(bayesian=bayesian, adjusted=holm)
    text = verdict_text(v, result, bayesian)
    {"wins": st.success, "loses": st.warning, "srm": st.error}.get(v.kind, st.info)(text)
    if result.segment_description:
        st.caption(result.segment_description)
    _variant_table(result)
    fig = lift_chart(result)
    if fig is not None:
        st.plotly_chart(fig, key="ab_lift_chart")
    _stats_table(result, bayesian=bayesian, holm=holm)
    for t in result.treatments():
        for metric in METRICS:
            c = t.metric(metric).comparison
            if c is not None and not c.enough_data:
                st.caption(tr("ab.not_enough", variant=t.name, metric=metric_name(metric, result), reason=c.reason))
    st.caption(
        tr(
            "ab.excluded",
            multiple=fmt_int(result.excluded_multiple_exposure),
            unknown=fmt_int(result.excluded_unknown_users),
        )
    )
    if result.windows_incomplete:
        st.warning(tr("ab.windows", n=fmt_int(result.windows_incomplete), as_of=result.as_of.isoformat()))
    starts = [v.aggregate.first_assigned for v in result.variants if v.aggregate.first_assigned is not None]
    if starts and min(starts) >= ds.as_of_end:  # e.g. an export made after the data's last day
        st.info(tr("ab.after_data", start=f"{min(starts):%Y-%m-%d}", as_of=result.as_of.isoformat()))
    csv = results_frame(result, holm=holm).to_csv(index=False).encode("utf-8-sig")
    st.download_button(
        tr("ab.csv"), csv, file_name=f"{result.experiment.name}-results.csv", mime="text/csv", key="ab_csv"
    )


def planner(result: ABResult, summary) -> None:
    with st.expander(tr("ab.planner")):
        control = next((v for v in result.variants if v.is_control), None)
        base = control.metric("conversion").mean if control is not None and control.metric("conversion").mean else 0.05
        cols = st.columns(4)
        baseline = cols[0].number_input(
            tr("ab.planner.baseline"), 0.01, 99.0, min(99.0, max(0.01, round(base * 100, 2))), key="ab_plan_base"
        )
        mde = cols[1].number_input(tr("ab.planner.mde"), -90.0, 500.0, 5.0, key="ab_plan_mde")
        alpha = cols[2].number_input(tr("ab.planner.alpha"), 0.001, 0.5, 0.05, format="%.3f", key="ab_plan_alpha")
        power = cols[3].number_input(tr("ab.planner.power"), 0.5, 0.99, 0.8, key="ab_plan_power")
        rate = None
        if summary.first_assigned is not None and summary.users:
            span_days = max(1.0, (summary.last_assigned - summary.first_assigned).total_seconds() / 86400)
            rate = summary.users / span_days
        arms = max(2, len(summary.variants))
        p = plan(PlanSpec(baseline / 100, mde / 100, alpha, power, arms, rate))
        if p.per_arm is None:
            st.warning(tr("ab.planner.bad", reason=p.reason))
            return
        st.markdown(tr("ab.planner.result", per_arm=fmt_int(p.per_arm), total=fmt_int(p.total)))
        if p.days is not None:
            st.caption(tr("ab.planner.days", rate=fmt_int(round(rate)), days=f"{p.days:,.1f}"))


def how_counted(result: ABResult, ds) -> None:
    with st.expander(tr("ab.how")):
        st.markdown(
            tr(
                "ab.how.text",
                days=result.experiment.window_days,
                as_of=result.as_of.isoformat(),
                event=result.experiment.conversion_event,
                purchase=ds.config.purchase_event,
            )
        )
        auth.render_scope_note(ds)
