"""The Cohorts page's controls: their widgets, defaults, and seeding them from a shared link."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core.analyses.retention import (
    MODES,
    PERIODS,
    SIGNUP,
    RetentionSpec,
    parse_filters,
    period_index,
    period_start,
)
from core.dataset import Dataset
from dashboard import cohort_view as view
from dashboard.data_access import top_values, tr

LOADED_KEY = "cohorts.url_loaded"
K = "coh-"  # widget keys


def seed_from_url(ds: Dataset, params: dict[str, str], bases: dict, compares: dict) -> list[str]:
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
    prop = st.selectbox(
        tr("cohorts.filter", what=what),
        props,
        key=f"{K}{side}-prop",
        format_func=lambda p: p or tr("cohorts.filter.none"),
    )
    if not prop:
        return None
    found = [v.value for v in top_values(ds, ds.fingerprint, "event_property", prop, 200).values]
    chosen = st.session_state.get(f"{K}{side}-vals", [])
    values = st.multiselect(
        tr("cohorts.filter.values"), sorted(set(found) | set(chosen), key=str), key=f"{K}{side}-vals"
    )
    return view.filters_param(prop, values)


def controls(ds: Dataset, bases: dict, compares: dict) -> tuple[RetentionSpec, dict[str, str | None]]:
    events = list(ds.catalog.events)
    today = period_index(ds.as_of, "month")
    st.session_state.setdefault(K + "from", period_start(today - 11, "month"))
    st.session_state.setdefault(K + "to", ds.as_of)
    allowed = {
        "start": [SIGNUP, *events],
        "ret": ["any", *events],
        "period": PERIODS,
        "mode": MODES,
        "base": bases,
        "cmp": compares,
    }
    for name, default in (
        ("start", SIGNUP),
        ("ret", "any"),
        ("period", "month"),
        ("mode", "on"),
        ("base", "all"),
        ("cmp", "none"),
    ):
        if st.session_state.get(K + name) not in allowed[name]:  # e.g. a saved segment deleted meanwhile
            st.session_state[K + name] = default
    with st.container(border=True):
        c = st.columns(4)
        with c[0]:
            start = st.selectbox(
                tr("cohorts.start"),
                [SIGNUP, *events],
                key=K + "start",
                help=tr("cohorts.start_help"),
                format_func=lambda v: tr("cohorts.start.signup") if v == SIGNUP else v,
            )
            sw = _filter(ds, "start", tr("cohorts.start")) if start != SIGNUP else None
        with c[1]:
            ret = st.selectbox(
                tr("cohorts.return"),
                ["any", *events],
                key=K + "ret",
                format_func=lambda v: tr("cohorts.return.any") if v == "any" else v,
            )
            rw = _filter(ds, "ret", tr("cohorts.return"))
        with c[2]:
            period = (
                st.segmented_control(
                    tr("cohorts.period"),
                    list(PERIODS),
                    key=K + "period",
                    format_func=lambda v: tr(f"cohorts.period.{v}"),
                )
                or "month"
            )
            first = st.date_input(tr("cohorts.from"), key=K + "from")
            last = st.date_input(tr("cohorts.to"), key=K + "to")
        with c[3]:
            mode = st.radio(
                tr("cohorts.mode"), list(MODES), key=K + "mode", format_func=lambda v: tr(f"cohorts.mode.{v}")
            )
            base = st.selectbox(tr("cohorts.base"), list(bases), key=K + "base", format_func=lambda v: bases[v].label)
            cmp = st.selectbox(
                tr("cohorts.compare"), list(compares), key=K + "cmp", format_func=lambda v: compares[v].label
            )
    spec = RetentionSpec(
        period=period,
        first=first,
        last=last,
        start=start,
        start_where=parse_filters(sw, "start_where"),
        return_event=None if ret == "any" else ret,
        return_where=parse_filters(rw, "return_where"),
        mode=mode,
    )
    state = {
        "start": start,
        "sw": sw,
        "ret": ret,
        "rw": rw,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "mode": mode,
        "base": view.url_choice(base, bases[base].segment),
        "cmp": view.url_choice(cmp, compares[cmp].segment),
    }
    return spec, state
