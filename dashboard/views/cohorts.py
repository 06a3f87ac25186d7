"""Cohorts: retention of the members who started in each week or month, with a second segment to compare."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.analyses.retention import (
    MODES,
    PERIODS,
    SIGNUP,
    RetentionError,
    RetentionSpec,
    parse_filters,
    period_index,
    period_start,
)
from core.dataset import Dataset
from core.segments.builder_state import BuilderState, to_segment
from core.segments.describe import describe
from core.segments.model import Segment, SegmentError
from dashboard import cohort_view as view
from dashboard.builder_session import STATE_KEY, saved_refs_token
from dashboard.cohort_how import render_how
from dashboard.data_access import (
    first_event_day,
    get_dataset,
    get_store,
    lang,
    retention_table,
    top_values,
    tr,
)
from dashboard.i18n import fmt_int, fmt_pct

LOADED_KEY = "cohorts.url_loaded"
K = "coh-"  # widget keys


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
            return str(err)

    bases = view.segment_choices(tr, saved, current, link, with_all=True, words=words)
    compares = view.segment_choices(tr, saved, current, link, with_all=False, words=words)
    if not st.session_state.get(LOADED_KEY):
        st.session_state[LOADED_KEY] = True
        problems += _seed_from_url(ds, dict(st.query_params), bases, compares)
    if problems:
        st.warning(tr("cohorts.bad_link", error="; ".join(problems)))
    spec, state = _controls(ds, bases, compares)
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
        st.error(tr("cohorts.invalid", error=str(err)))
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


def _seed_from_url(ds: Dataset, params: dict[str, str], bases: dict, compares: dict) -> list[str]:
    """Widget values from a shared link; what could not be used is reported and left at its default."""
    problems = []
    events = ds.catalog.events
    checks = {
        "start": lambda v: v == SIGNUP or v in events,
        "ret": lambda v: v == "any" or v in events,
        "period": lambda v: v in PERIODS,
        "mode": lambda v: v in MODES,
        "base": lambda v: v in bases,
        "cmp": lambda v: v in compares,
    }
    for name, ok in checks.items():
        if name in params:
            if ok(params[name]):
                st.session_state[K + name] = params[name]
            else:
                problems.append(f"{name}={params[name][:40]}")
    for name in ("from", "to"):
        if name in params:
            try:
                st.session_state[K + name] = date.fromisoformat(params[name])
            except ValueError:
                problems.append(f"{name}={params[name][:40]}")
    for name, side in (("sw", "start"), ("rw", "ret")):
        field, values = view.single_filter(params.get(name))
        if field in ds.catalog.event_properties:
            st.session_state[f"{K}{side}-prop"], st.session_state[f"{K}{side}-vals"] = field, values
        elif name in params:
            problems.append(f"{name}={params[name][:40]}")
    return problems


def _filter(ds: Dataset, side: str, what: str) -> str | None:
    props = [""] + sorted(n for n, c in ds.catalog.event_properties.items() if c.type == "string")
    prop = st.selectbox(tr("cohorts.filter", what=what), props, key=f"{K}{side}-prop", format_func=lambda p: p or tr("cohorts.filter.none"))
    if not prop:
        return None
    found = [v.value for v in top_values(ds, ds.fingerprint, "event_property", prop, 200).values]
    chosen = st.session_state.get(f"{K}{side}-vals", [])
    values = st.multiselect(tr("cohorts.filter.values"), sorted(set(found) | set(chosen), key=str), key=f"{K}{side}-vals")
    return view.filters_param(prop, values)


def _controls(ds: Dataset, bases: dict, compares: dict) -> tuple[RetentionSpec, dict[str, str | None]]:
    events = list(ds.catalog.events)
    today = period_index(ds.as_of, "month")
    st.session_state.setdefault(K + "from", period_start(today - 11, "month"))
    st.session_state.setdefault(K + "to", ds.as_of)
    allowed = {"start": [SIGNUP, *events], "ret": ["any", *events], "period": PERIODS, "mode": MODES, "base": bases, "cmp": compares}
    for name, default in (("start", SIGNUP), ("ret", "any"), ("period", "month"), ("mode", "on"), ("base", "all"), ("cmp", "none")):
        if st.session_state.get(K + name) not in allowed[name]:  # e.g. a saved segment deleted meanwhile
            st.session_state[K + name] = default
    with st.container(border=True):
        c = st.columns(4)
        with c[0]:
            start = st.selectbox(tr("cohorts.start"), [SIGNUP, *events], key=K + "start", help=tr("cohorts.start_help"), format_func=lambda v: tr("cohorts.start.signup") if v == SIGNUP else v)
            sw = _filter(ds, "start", tr("cohorts.start")) if start != SIGNUP else None
        with c[1]:
            ret = st.selectbox(tr("cohorts.return"), ["any", *events], key=K + "ret", format_func=lambda v: tr("cohorts.return.any") if v == "any" else v)
            rw = _filter(ds, "ret", tr("cohorts.return"))
        with c[2]:
            period = st.segmented_control(tr("cohorts.period"), list(PERIODS), key=K + "period", format_func=lambda v: tr(f"cohorts.period.{v}")) or "month"
            first = st.date_input(tr("cohorts.from"), key=K + "from")
            last = st.date_input(tr("cohorts.to"), key=K + "to")
        with c[3]:
            mode = st.radio(tr("cohorts.mode"), list(MODES), key=K + "mode", format_func=lambda v: tr(f"cohorts.mode.{v}"))
            base = st.selectbox(tr("cohorts.base"), list(bases), key=K + "base", format_func=lambda v: bases[v].label)
            cmp = st.selectbox(tr("cohorts.compare"), list(compares), key=K + "cmp", format_func=lambda v: compares[v].label)
    spec = RetentionSpec(
        period=period, first=first, last=last, start=start, start_where=parse_filters(sw, "start_where"),
        return_event=None if ret == "any" else ret, return_where=parse_filters(rw, "return_where"), mode=mode,
    )
    state = {
        "start": start, "sw": sw, "ret": ret, "rw": rw, "period": period, "from": first.isoformat(), "to": last.isoformat(), "mode": mode,
        "base": view.url_choice(base, bases[base].segment), "cmp": view.url_choice(cmp, compares[cmp].segment),
    }
    return spec, state


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
