"""Experiments: the list of A/B tests and campaign holdouts, and one experiment's results (ANALYSES.md §5)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core.analyses.ab import ABSpec
from core.analyses.experiments import UnknownExperiment
from core.segments.model import SegmentError
from dashboard import data_access
from dashboard.data_access import get_dataset, get_store, tr
from dashboard.experiment_panels import how_counted, planner, render_result
from dashboard.i18n import fmt_int

NEW_DAYS = 90


def _list_table(summaries) -> pd.DataFrame:
    def dates(s) -> str:
        if s.first_assigned is None:
            return "—"
        return f"{s.first_assigned:%Y-%m-%d} … {s.last_assigned:%Y-%m-%d}"

    return pd.DataFrame(
        [
            {
                tr("ab.col.name"): s.experiment.name,
                tr("ab.col.kind"): tr(f"ab.kind.{s.experiment.kind}"),
                tr("ab.col.variants"): " · ".join(f"{n} {fmt_int(u)}" for n, u in s.variants) or "—",
                tr("ab.col.users"): fmt_int(s.users),
                tr("ab.col.dates"): dates(s),
                tr("ab.col.window"): s.experiment.window_days,
                tr("ab.col.status"): tr(f"ab.status.{s.status}"),
            }
            for s in summaries
        ]
    )


def _segment_choices(ds, store) -> dict[str, dict | None]:
    """Label -> base segment definition: everyone, new / earlier members, and each saved segment."""
    choices: dict[str, dict | None] = {tr("ab.segment.all"): None}
    if "signup_at" in ds.catalog.attributes:
        new = {"kind": "attribute", "field": "signup_at", "op": "within_last_days", "value": NEW_DAYS}
        choices[tr("ab.segment.new")] = {"conditions": [new]}
        choices[tr("ab.segment.old")] = {"conditions": [{"kind": "group", "negate": True, "conditions": [new]}]}
    if store is not None:
        for saved in store.list_segments():
            choices[tr("ab.segment.saved", name=saved.name)] = {
                "conditions": [{"kind": "segment", "segment": saved.id, "op": "in"}]
            }
    return choices


def _controls(summary, ds, store) -> tuple[ABSpec, bool, bool]:
    """The switches: (spec, bayesian, holm)."""
    cols = st.columns([1.2, 1, 1, 1.6])
    mode = cols[0].segmented_control(
        tr("ab.mode"),
        ["frequentist", "bayesian"],
        format_func=lambda m: tr(f"ab.mode.{m}"),
        default="frequentist",
        key="ab_mode",
    )
    cuped = cols[1].toggle(tr("ab.cuped"), help=tr("ab.cuped.help"), key="ab_cuped")
    sequential = cols[2].toggle(tr("ab.sequential"), help=tr("ab.sequential.help"), key="ab_sequential")
    choices = _segment_choices(ds, store)
    label = cols[3].selectbox(tr("ab.segment"), list(choices), key="ab_segment")
    spec = ABSpec(summary.experiment.name, segment=choices.get(label), cuped=cuped, sequential=sequential)
    n_comparisons = max(0, len(summary.variants) - 1) * 2
    holm = st.toggle(tr("ab.holm", n=n_comparisons), value=True, key="ab_holm") if n_comparisons > 1 else False
    return spec, mode == "bayesian", holm


def main() -> None:
    st.title(tr("ab.title"))
    st.caption(tr("ab.intro"))
    ds = get_dataset()
    if ds is None:
        return
    store = get_store()
    exports = data_access.exports_key(store)
    try:
        data_access.resolve_assignments(ds, tr("ab.resolving"))
        summaries = data_access.experiment_list(ds, ds.fingerprint, exports, _store=store)
    except ValueError as err:  # an engine's refusal (Spark: exports with a holdout): the reason, no traceback
        st.error(data_access.say(err))
        return
    st.caption(tr("dataset.as_of", as_of=ds.as_of.isoformat()) + " · " + ds.name)
    if not summaries:
        st.info(tr("ab.none"))
        return
    st.dataframe(_list_table(summaries), hide_index=True, width="stretch", key="ab_list")
    names = [s.experiment.name for s in summaries]
    wanted = st.query_params.get("experiment")
    chosen = st.selectbox(tr("ab.pick"), names, index=names.index(wanted) if wanted in names else 0, key="ab_pick")
    if chosen != wanted:
        st.query_params["experiment"] = chosen
    summary = summaries[names.index(chosen)]
    if summary.experiment.kind == "export":
        counts = dict(summary.variants)
        st.info(
            tr(
                "ab.campaign",
                id=chosen,
                target=fmt_int(counts.get("target", 0)),
                holdout=fmt_int(counts.get("holdout", 0)),
            )
        )
    spec, bayesian, holm = _controls(summary, ds, store)
    if spec.segment is not None:
        st.warning(tr("ab.segment.caution"))
    refs = (
        json.dumps([s.id + str(s.version) for s in store.list_segments()]) if store is not None and spec.segment else ""
    )
    spec_json = json.dumps(
        {"experiment": spec.experiment, "segment": spec.segment, "cuped": spec.cuped, "sequential": spec.sequential},
        sort_keys=True,
    )
    try:
        result = data_access.ab_result(ds, ds.fingerprint, spec_json, exports, refs, _store=store)
    except (UnknownExperiment, SegmentError, ValueError) as err:
        st.error(tr("ab.error", error=data_access.say(err)))
        return
    render_result(result, ds, bayesian=bayesian, holm=holm)
    planner(result, summary)
    how_counted(result, ds)
