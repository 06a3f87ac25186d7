"""Funnels: build an event funnel, read members per step, drop-off, time to convert, breakdown and trend."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import streamlit as st

from core.analyses.funnel_spec import (
    MAX_STEPS,
    MIN_STEPS,
    UNITS,
    decode_funnel,
    encode_funnel,
    parse_funnel,
)
from core.analyses.funnels import funnel_problems
from core.catalog import MODEL_COLUMNS
from core.dataset import Dataset
from core.segments import builder_state as bs
from core.segments.model import SegmentError, parse_segment
from dashboard.builder_session import get_state, saved_refs_token
from dashboard.data_access import funnel_result, get_dataset, get_funnel_store, get_store, lang, tr
from dashboard.funnel_results import show_results
from dashboard.messages import issue_text, render

SPEC = "funnels.spec"  # the funnel being edited, as its JSON dict
GEN = "funnels.gen"  # bumped on add / remove / reorder / load: widgets re-seed from the spec
LOADED = "funnels.url_loaded"
NOTICE = "funnels.notice"
DEFAULT_STEPS = ("product_view", "add_to_cart", "purchase")


def _key(*parts: object) -> str:
    return "fn-" + "-".join(str(p) for p in (st.session_state.get(GEN, 0), *parts))


def _bump() -> None:
    st.session_state[GEN] = st.session_state.get(GEN, 0) + 1


def _default(ds: Dataset) -> dict:
    events = [e for e in DEFAULT_STEPS if e in ds.catalog.events] or list(ds.catalog.events[:2])
    if len(events) < MIN_STEPS:
        events = (events * 2)[:MIN_STEPS]
    return {"steps": [{"event": e} for e in events], "from": (ds.as_of - timedelta(days=29)).isoformat(),
            "to": ds.as_of.isoformat(), "window": {"value": 7, "unit": "day"}}  # fmt: skip


def _load_link(ds: Dataset) -> None:
    """On the page's first run: the URL's `f` (a funnel), checked; the reason in words when it is unusable."""
    st.session_state[LOADED] = True
    text = st.query_params.get("f")
    if not text:
        return
    try:
        spec = decode_funnel(text)
    except SegmentError as err:
        st.session_state[NOTICE] = (
            "error",
            tr("funnels.bad_link", error=" ".join(render(i.detail, i.message, lang()) for i in err.issues)),
        )
        return
    problems = funnel_problems(ds, spec)  # names checked against this dataset (events, properties)
    if problems:
        st.session_state[NOTICE] = ("error", tr("funnels.stale_link", error="; ".join(problems)))
        return
    st.session_state[SPEC] = spec.to_dict()
    for name in ("by", "trend"):
        if st.query_params.get(name):
            st.session_state[f"funnels.{name}"] = st.query_params[name]


def main() -> None:
    st.title(tr("funnels.title"))
    ds = get_dataset()
    if ds is None:
        return
    if not st.session_state.get(LOADED):
        _load_link(ds)
    if SPEC not in st.session_state:
        st.session_state[SPEC] = _default(ds)
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    st.caption(tr("dataset.as_of", as_of=ds.as_of.isoformat()) + " · " + ds.name)
    store = get_store()
    _saved_picker()
    spec = _editor(ds)
    st.session_state[SPEC] = spec
    base_def, resolve = _base(store)
    by, trend = _options(ds)
    try:
        parsed = parse_funnel(spec)
        with st.spinner(tr("funnels.counting")):
            result = funnel_result(ds, ds.fingerprint, json.dumps(parsed.to_dict(), sort_keys=True),
                                   json.dumps(base_def) if base_def else "",
                                   saved_refs_token(store, parse_segment(base_def)) if base_def else "", by, trend,
                                   _resolve=resolve)  # fmt: skip
    except SegmentError as err:
        st.error(tr("funnels.invalid", error="; ".join(issue_text(i, lang()) for i in err.issues)))
        return
    st.query_params["f"] = encode_funnel(parsed)
    for name, value in (("by", by), ("trend", trend)):
        if value:
            st.query_params[name] = value
        elif name in st.query_params:
            del st.query_params[name]
    show_results(ds, result, parsed, base_def)
    _save_controls(parsed)


def _saved_picker() -> None:
    """Open a saved funnel (its latest version) into the editor."""
    funnels = get_funnel_store()
    saved = funnels.list() if funnels is not None else []
    if not saved:
        return
    names = {f.id: f"{f.name} · v{f.version}" for f in saved}
    pick = st.selectbox(
        tr("funnels.saved.pick"),
        ["", *names],
        format_func=lambda i: names.get(i, tr("funnels.saved.new")),
        key="funnels.saved_pick",
    )
    if pick and pick != st.session_state.get("funnels.saved_id"):
        st.session_state["funnels.saved_id"] = pick
        st.session_state["funnels.saved_name"] = next(f.name for f in saved if f.id == pick)
        _restart(next(f.funnel for f in saved if f.id == pick).to_dict())


def _save_controls(spec) -> None:
    funnels = get_funnel_store()
    if funnels is None:
        return
    with st.expander(tr("funnels.saved")):
        name = st.text_input(
            tr("funnels.saved.name"), st.session_state.get("funnels.saved_name", ""), key="funnels.name_box"
        )
        if st.button(tr("funnels.saved.save"), key="funnels.save", icon=":material/save:"):
            if not name.strip():
                st.warning(tr("funnels.saved.need_name"))
                return
            sid = st.session_state.get("funnels.saved_id")
            same = sid is not None and st.session_state.get("funnels.saved_name") == " ".join(name.split())
            saved = funnels.save(name, spec, funnel_id=sid if same else None)
            st.session_state["funnels.saved_id"], st.session_state["funnels.saved_name"] = saved.id, saved.name
            st.success(tr("funnels.saved.done", name=saved.name, version=saved.version))


# --------------------------------------------------------------------------- editor


def _editor(ds: Dataset) -> dict:
    spec = json.loads(json.dumps(st.session_state[SPEC]))
    steps = spec["steps"]
    st.subheader(tr("funnels.steps"))
    events = list(ds.catalog.events)
    for i, step in enumerate(steps):
        cols = st.columns([3, 1, 1, 1, 2], vertical_alignment="bottom")
        chosen = cols[0].selectbox(
            tr("funnels.step", k=i + 1),
            events,
            index=events.index(step["event"]) if step["event"] in events else None,
            key=_key("ev", i),
        )
        step["event"] = chosen or step["event"]
        if cols[1].button(
            "", key=_key("up", i), icon=":material/arrow_upward:", help=tr("funnels.up"), disabled=i == 0
        ):
            steps[i - 1], steps[i] = steps[i], steps[i - 1]
            return _restart(spec)
        if cols[2].button(
            "",
            key=_key("down", i),
            icon=":material/arrow_downward:",
            help=tr("funnels.down"),
            disabled=i == len(steps) - 1,
        ):
            steps[i + 1], steps[i] = steps[i], steps[i + 1]
            return _restart(spec)
        if cols[3].button(
            "", key=_key("rm", i), icon=":material/delete:", help=tr("funnels.remove"), disabled=len(steps) <= MIN_STEPS
        ):
            steps.pop(i)
            return _restart(spec)
        if cols[4].button(tr("funnels.add_filter"), key=_key("addf", i), icon=":material/filter_alt:"):
            step.setdefault("where", []).append({"field": None, "op": None})
            return _restart(spec)
        kept = [_filter(ds, i, j, f) for j, f in enumerate(step.get("where", []))]
        step["where"] = [f for f in kept if f is not None]
        if not step["where"]:
            step.pop("where", None)
    if st.button(tr("funnels.add_step"), key=_key("add"), icon=":material/add:", disabled=len(steps) >= MAX_STEPS):
        steps.append({"event": steps[-1]["event"]})
        return _restart(spec)
    cols = st.columns([2, 1, 1, 3])
    start, end = (
        pd.Timestamp(spec.get("from") or ds.as_of - timedelta(days=29)).date(),
        pd.Timestamp(spec.get("to") or ds.as_of).date(),
    )
    picked = cols[0].date_input(tr("funnels.entry"), (start, end), key=_key("range"))
    if isinstance(picked, tuple | list) and len(picked) == 2:
        spec["from"], spec["to"] = picked[0].isoformat(), picked[1].isoformat()
    window = spec.get("window") or {"value": 7, "unit": "day"}
    value = cols[1].number_input(tr("funnels.window"), min_value=1, step=1, value=int(window["value"]), key=_key("wv"))
    unit = cols[2].selectbox(
        " ",
        list(UNITS),
        index=list(UNITS).index(window["unit"]),
        format_func=lambda u: tr(f"funnels.unit.{u}"),
        key=_key("wu"),
    )
    spec["window"] = {"value": int(value), "unit": unit}
    current = [e["event"] for e in spec.get("exclusions", [])]
    excluded = cols[3].multiselect(
        tr("funnels.exclusions"), events, default=[e for e in current if e in events], key=_key("ex")
    )
    spec["exclusions"] = [{"event": e} for e in excluded]
    if not spec["exclusions"]:
        spec.pop("exclusions")
    return spec


def _restart(spec: dict) -> dict:
    st.session_state[SPEC] = spec
    _bump()
    st.rerun()
    return spec  # pragma: no cover - st.rerun() does not return


def _filter(ds: Dataset, i: int, j: int, f: dict) -> dict | None:
    """One property filter of step i: property, operator, value (the event-condition grammar)."""
    cols = st.columns([0.4, 2, 2, 3, 0.6], vertical_alignment="bottom")
    props = list(ds.catalog.event_properties)
    field = cols[1].selectbox(
        tr("funnels.filter_field"),
        props,
        index=props.index(f["field"]) if f.get("field") in props else None,
        key=_key("ff", i, j),
    )
    ops = list(bs.filter_ops(ds.catalog, bs.FilterRow("f", field))) if field else []
    op = cols[2].selectbox(
        tr("funnels.filter_op"),
        ops,
        index=ops.index(f["op"]) if f.get("op") in ops else (0 if ops else None),
        key=_key("fo", i, j),
    )
    shown = f.get("values") if f.get("values") is not None else f.get("value")
    shown_text = "" if shown is None else ", ".join(map(str, shown)) if isinstance(shown, list) else str(shown)
    text = cols[3].text_input(tr("funnels.filter_value"), shown_text, key=_key("fv", i, j),
                              help=tr("funnels.filter_value_help"), disabled=op in ("is_null", "not_null"))  # fmt: skip
    if cols[4].button("", key=_key("frm", i, j), icon=":material/close:"):
        return None
    out: dict = {"field": field, "op": op}
    if not field or not op:
        return out
    kind = ds.catalog.event_properties[field].type
    if op in ("in", "not_in", "between"):
        out["values"] = [_typed(v.strip(), kind) for v in text.split(",") if v.strip()]
    elif op not in ("is_null", "not_null"):
        out["value"] = _typed(text.strip(), kind)
    return out


def _typed(text: str, kind: str) -> object:
    """The typed value as the filter grammar wants it (numbers without quotes, booleans as true/false)."""
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" and text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return text  # the parser says why it is not a number
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    return text


def _base(store) -> tuple[dict | None, object]:
    options = ["all", "saved", "builder"]
    choice = st.radio(
        tr("funnels.base"), options, format_func=lambda o: tr(f"funnels.base.{o}"), horizontal=True, key="funnels.base"
    )
    resolve = store.resolver() if store is not None else None
    if choice == "saved":
        saved = store.list_segments() if store is not None else []
        if not saved:
            st.caption(tr("funnels.base.none_saved"))
            return None, resolve
        names = {s.id: s.name for s in saved}
        sid = st.selectbox(tr("funnels.base.pick"), list(names), format_func=names.get, key="funnels.base_id")
        return {"version": 1, "match": "all", "conditions": [{"kind": "segment", "op": "in", "segment": sid}]}, resolve
    if choice == "builder":
        segment = bs.to_segment(get_state()).segment
        return (segment.to_dict() if segment.conditions else None), resolve
    return None, resolve


def _options(ds: Dataset) -> tuple[str, str]:
    cat = ds.catalog
    fields = [
        "",
        *cat.attributes,
        *MODEL_COLUMNS,
        *[f"tag:{t}" for t in sorted(cat.tags)],
        *[f"step1:{p}" for p in cat.event_properties],
    ]

    def label(f: str) -> str:
        if not f:
            return tr("funnels.breakdown.none")
        return tr("funnels.breakdown.step1", p=f[6:]) if f.startswith("step1:") else f

    cols = st.columns(2)
    wanted = st.session_state.get("funnels.by", "")
    by = cols[0].selectbox(
        tr("funnels.breakdown"),
        fields,
        index=fields.index(wanted) if wanted in fields else 0,
        format_func=label,
        key="funnels.by_pick",
    )
    st.session_state["funnels.by"] = by
    trend = cols[1].segmented_control(tr("funnels.trend"), ["day", "week"],
                                      default=st.session_state.get("funnels.trend") or "week",
                                      format_func=lambda u: tr(f"funnels.trend.{u}"),
                                      key="funnels.trend_pick")  # fmt: skip
    st.session_state["funnels.trend"] = trend or "week"
    return by, trend or "week"
