"""Cohorts: retention of the members who started in each week or month, with a second segment to compare."""

from __future__ import annotations

import streamlit as st

from core.analyses.retention import (
    SIGNUP,
    RetentionError,
    RetentionSpec,
)
from core.dataset import Dataset
from core.segments.builder_state import BuilderState, to_segment
from core.segments.describe import describe
from core.segments.model import Segment, SegmentError
from dashboard import cohort_view as view
from dashboard.builder_session import STATE_KEY, saved_refs_token
from dashboard.cohort_controls import LOADED_KEY, K, controls, seed_from_url
from dashboard.cohort_how import render_how
from dashboard.data_access import (
    first_event_day,
    get_dataset,
    get_store,
    lang,
    retention_table,
    say,
    tr,
)
from dashboard.i18n import fmt_int, fmt_pct


def main() -> None:
    st.title(tr("cohorts.title"))
    ds = get_dataset()
    if ds is None:
        return
    store = get_store()
    saved = store.list_segments() if store is not None else []
    link, problems = view.link_segments(dict(st.query_params))
    current = _current_segment()

    def words(segment: Segment) -> str:
        try:
            return describe(segment, ds.catalog, lang(), store.resolver() if store is not None else None)
        except SegmentError as err:
            return say(err)

    bases = view.segment_choices(tr, saved, current, link, with_all=True, words=words)
    compares = view.segment_choices(tr, saved, current, link, with_all=False, words=words)
    if not st.session_state.get(LOADED_KEY):
        st.session_state[LOADED_KEY] = True
        problems += seed_from_url(ds, dict(st.query_params), bases, compares)
    if problems:
        st.warning(tr("cohorts.bad_link", error="; ".join(problems)))
    try:
        spec, state = controls(ds, bases, compares)
    except RetentionError as err:  # e.g. a filter value the property cannot hold
        st.error(tr("cohorts.invalid", error=say(err)))
        return
    base, compare = bases[st.session_state[K + "base"]], compares[st.session_state[K + "cmp"]]
    query = view.share_query(state, lang())
    for key in view.URL_KEYS:  # the address bar restores this page
        if query.get(key) != st.query_params.get(key):
            if key in query:
                st.query_params[key] = query[key]
            else:
                del st.query_params[key]
    named = []
    try:
        for choice in [base] + ([compare] if compare.segment is not None else []):
            segment_json = choice.segment.to_json() if choice.segment is not None else None
            refs = saved_refs_token(store, choice.segment) if choice.segment is not None else ""
            resolve = store.resolver() if store is not None else None
            named.append((choice.label, retention_table(ds, ds.fingerprint, spec, segment_json, refs, resolve)))
    except (RetentionError, SegmentError) as err:
        st.error(tr("cohorts.invalid", error=say(err)))
        return
    _render(ds, spec, named, query)


def _current_segment() -> Segment | None:
    state = st.session_state.get(STATE_KEY)
    if not isinstance(state, BuilderState):
        return None
    try:
        return to_segment(state).segment
    except SegmentError:
        return None


def _render(ds: Dataset, spec: RetentionSpec, named: list, query: dict[str, str]) -> None:
    main_name, result = named[0]
    cols = st.columns(3)
    cols[0].metric(tr("cohorts.members"), fmt_int(result.total))
    cols[1].metric(tr("cohorts.cohorts"), fmt_int(len(result.cohorts)))
    cols[2].metric(tr("cohorts.mean_next"), fmt_pct(result.mean[1] if len(result.mean) > 1 else None))
    st.caption(tr("cohorts.caption", period=tr(f"cohorts.period_word.{spec.period}"), as_of=ds.as_of.isoformat()))
    first_day = first_event_day(ds, ds.fingerprint) if spec.start != SIGNUP else None
    for i, (name, res) in enumerate(named):
        st.markdown(f"**{tr('cohorts.table', name=name)}**")
        if res.total == 0:
            st.info(tr("cohorts.no_members"))
        links = [view.builder_link(spec, res, c, first_day, lang()) for c in res.cohorts]
        st.html(view.heatmap_html(res, name, tr, links, f"cohort-table-{i}"))
    st.caption(tr("cohorts.legend", as_of=ds.as_of.isoformat()))
    st.plotly_chart(view.curves(named, tr), key="cohort-curves")
    left, right = st.columns([3, 2])
    with left:
        render_how(ds, spec, named)
    with right:
        st.markdown(f"**{tr('cohorts.share_link')}**")
        st.code(view.share_url(st.context.url, query), language=None, wrap_lines=True)
        st.caption(tr("cohorts.share_help"))
