"""The builder's condition rows as native widgets: kind -> field / tag / event -> operator -> values.

Each widget is keyed `b-<node id>-<slot>` and seeded from the builder state when its
key is absent; what it returns is written back into the state, so the state is
always what the screen shows. An upstream edit (kind, field, operator) forgets the
row's downstream widget values, which then re-seed from the kept-consistent row.
Structural edits (add, remove, duplicate) are button callbacks on the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import streamlit as st

from core.catalog import Catalog
from core.dataset import Dataset
from core.segments import builder_state as bs
from core.segments.describe import FIELD_LABELS_ZH, OPERATOR_LABELS, describe
from core.segments.model import parse_segment
from core.store import SavedSegment
from core.tags import TagEntry
from core.values import LOW_CARDINALITY
from dashboard import data_access
from dashboard.builder_session import clear_node_widgets, get_state, put_state
from dashboard.i18n import fmt_int, fmt_pct

SLIDER_MAX_SPAN = 1000  # whole-number ranges up to this wide get a range slider
ROW_COLUMNS = [0.62, 1.2, 1.9, 1.4, 3.35, 1.0, 0.32, 0.32]


@dataclass(frozen=True)
class Ctx:
    """What every widget needs: the dataset, the language, saved segments and tag metadata."""

    ds: Dataset
    lang: str
    saved: tuple[SavedSegment, ...]
    tags: dict[str, TagEntry]

    @property
    def catalog(self) -> Catalog:
        return self.ds.catalog

    @property
    def pii(self) -> frozenset[str]:
        return frozenset(self.ds.config.privacy.pii_columns)


def tr(key: str, **kw: object) -> str:
    return data_access.tr(key, **kw)


def key(node_id: str, slot: str) -> str:
    return f"b-{node_id}-{slot}"


def _seed(k: str, value: Any) -> None:
    if k not in st.session_state:
        st.session_state[k] = value


# --------------------------------------------------------------------------- structural callbacks


def _on_add_row(parent_id: str) -> None:
    state, _ = bs.add_row(get_state(), parent_id)
    put_state(state)


def _on_add_group(parent_id: str) -> None:
    state, _ = bs.add_group(get_state(), parent_id)
    put_state(state)


def _on_remove(node_id: str) -> None:
    put_state(bs.remove(get_state(), node_id))


def _on_duplicate(node_id: str) -> None:
    state, _ = bs.duplicate(get_state(), node_id)
    put_state(state)


def _on_add_filter(row_id: str) -> None:
    state, _ = bs.add_filter(get_state(), row_id)
    put_state(state)


def _on_remove_filter(row_id: str, filter_id: str) -> None:
    put_state(bs.remove_filter(get_state(), row_id, filter_id))


# --------------------------------------------------------------------------- labels


def field_label(ctx: Ctx, name: str) -> str:
    zh = FIELD_LABELS_ZH.get(name) if ctx.lang == "zh" else None
    return f"{zh} · {name}" if zh else name


def tag_label(ctx: Ctx, tag: str) -> str:
    entry = ctx.tags.get(tag)
    text = tag.replace("/", " › ")
    if entry is None:
        return text
    text += f" · {fmt_pct(entry.coverage)}"
    if entry.status == "deprecated":
        text += f" · {tr('catalog.status.deprecated')}"
    if entry.stale:
        text += f" · {tr('catalog.stale')}"
    return text


def op_label(ctx: Ctx, op: str) -> str:
    return OPERATOR_LABELS["zh" if ctx.lang == "zh" else "en"].get(op, op)


def stage_label(kind: str, value: str) -> str:
    return tr(f"{kind}.{value}")


# --------------------------------------------------------------------------- tree


def render_block(ctx: Ctx, block: bs.Block, connector: str | None = None) -> bs.Block:
    """A group: its join (all / any), NOT, its rows and nested groups, and its add buttons."""
    is_root = connector is None
    if not is_root:
        head = st.columns([0.62, 2.6, 0.95, 1.4, 1.4, 0.32, 0.32], vertical_alignment="center")
        head[0].markdown(f"**{connector}**")
        with head[1]:
            block = _match_control(block, tr("builder.group.match"))
        with head[2]:
            negate = _toggle(block.id, "not", block.negate, tr("builder.not"), tr("builder.not.group_help"))
            block = replace(block, negate=negate)
        head[3].button(tr("builder.add_row"), key=key(block.id, "addrow"), icon=":material/add:", on_click=_on_add_row, args=(block.id,))
        head[4].button(tr("builder.add_group"), key=key(block.id, "addgroup"), icon=":material/account_tree:", on_click=_on_add_group, args=(block.id,))
        head[5].button("", key=key(block.id, "dup"), icon=":material/content_copy:", help=tr("builder.duplicate"), on_click=_on_duplicate, args=(block.id,))
        head[6].button("", key=key(block.id, "del"), icon=":material/delete:", help=tr("builder.remove"), on_click=_on_remove, args=(block.id,))
    join = tr("builder.and") if block.match == "all" else tr("builder.or")
    children: list[bs.Row | bs.Block] = []
    for i, child in enumerate(block.children):
        word = tr("builder.where") if i == 0 else join
        if isinstance(child, bs.Block):
            with st.container(border=True, key=key(child.id, "box")):
                children.append(render_block(ctx, child, word))
        else:
            children.append(render_row(ctx, child, word))
    if not block.children:
        st.caption(tr("builder.group.empty") if not is_root else tr("builder.empty"))
    return replace(block, children=tuple(children))


def render_root_controls(block: bs.Block) -> bs.Block:
    """The top-level join, above the rows."""
    return _match_control(block, tr("builder.match"))


def render_root_buttons(block: bs.Block) -> None:
    cols = st.columns([1, 1, 2])
    cols[0].button(tr("builder.add_row"), key=key(block.id, "addrow"), icon=":material/add:", on_click=_on_add_row, args=(block.id,), width="stretch")
    cols[1].button(tr("builder.add_group"), key=key(block.id, "addgroup"), icon=":material/account_tree:", on_click=_on_add_group, args=(block.id,), width="stretch")


def _match_control(block: bs.Block, label: str) -> bs.Block:
    k = key(block.id, "match")
    _seed(k, block.match)
    match = st.segmented_control(
        label, options=["all", "any"], format_func=lambda m: tr(f"builder.match.{m}"), key=k, required=True,
    )
    return replace(block, match=match or block.match)


def _toggle(node_id: str, slot: str, value: bool, label: str, help_text: str | None) -> bool:
    k = key(node_id, slot)
    _seed(k, value)
    return bool(st.toggle(label, key=k, help=help_text))


def _select(node_id: str, slot: str, label: str, options: list, value: Any, fmt=str, placeholder: str | None = None, **kw) -> Any:
    """A collapsed-label selectbox seeded from the state (None = nothing chosen yet)."""
    k = key(node_id, slot)
    if value is not None and value not in options:
        options = [*options, value]  # keep a loaded value visible even when it is no longer offered
    _seed(k, value)
    return st.selectbox(label, options, key=k, format_func=fmt, label_visibility="collapsed", placeholder=placeholder or tr("builder.choose"), **kw)


# --------------------------------------------------------------------------- one row


def render_row(ctx: Ctx, row: bs.Row, connector: str) -> bs.Row:
    cols = st.columns(ROW_COLUMNS, vertical_alignment="center")
    cols[0].markdown(f"**{connector}**")
    with cols[1]:
        kind = _select(row.id, "kind", tr("builder.kind"), list(bs.ROW_KINDS), row.kind, fmt=lambda k: tr(f"builder.kind.{k}"))
    if kind is not None and kind != row.kind:
        row = bs.change_row(row, "kind", kind, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind",))
    with cols[2]:
        target = _target_widget(ctx, row)
    if target != row.target and row.kind not in ("rfm", "aipl", "lifecycle"):
        row = bs.change_row(row, "target", target, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind", "target"))
    ops = list(bs.allowed_ops(ctx.catalog, row))
    with cols[3]:
        op = _select(row.id, "op", tr("builder.op"), ops, row.op, fmt=lambda o: op_label(ctx, o), disabled=not ops) if ops else None
    if op is not None and op != row.op:
        row = bs.change_row(row, "op", op, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind", "target", "op"))
    with cols[4]:
        row = _row_operands(ctx, row)
    with cols[5]:
        row = replace(row, negate=_toggle(row.id, "not", row.negate, tr("builder.not"), None))
    cols[6].button("", key=key(row.id, "dup"), icon=":material/content_copy:", help=tr("builder.duplicate"), on_click=_on_duplicate, args=(row.id,))
    cols[7].button("", key=key(row.id, "del"), icon=":material/delete:", help=tr("builder.remove"), on_click=_on_remove, args=(row.id,))
    if row.kind == "event" and row.target:
        row = _event_details(ctx, row)
    if row.kind in ("rfm", "aipl", "lifecycle"):
        row = _model_date(ctx, row)
    if row.kind == "funnel" and (d := bs.row_dict(row)) is not None:
        st.caption(describe(parse_segment({"conditions": [d]}), ctx.catalog, lang="zh" if ctx.lang == "zh" else "en"))
    if bs.row_dict(row) is None:
        st.caption(tr("builder.row.incomplete"))
    return row


def _target_widget(ctx: Ctx, row: bs.Row) -> str | None:
    label = tr(f"builder.target.{row.kind}")
    if row.kind == "attribute":
        return _select(row.id, "target", label, list(ctx.catalog.attributes), row.target, fmt=lambda f: field_label(ctx, f), placeholder=tr("builder.choose.field"))
    if row.kind == "tag":
        options = sorted(ctx.catalog.tags)
        return _select(row.id, "target", label, options, row.target, fmt=lambda t: tag_label(ctx, t), placeholder=tr("builder.choose.tag"), filter_mode="contains")
    if row.kind == "event":
        return _select(row.id, "target", label, list(ctx.catalog.events), row.target, placeholder=tr("builder.choose.event"))
    if row.kind == "segment":
        names = {s.id: s.name for s in ctx.saved}
        return _select(
            row.id, "target", label, list(names), row.target,
            fmt=lambda sid: names.get(sid, tr("builder.segment.missing", id=sid)), placeholder=tr("builder.choose.segment"),
        )  # fmt: skip
    st.markdown(tr(f"builder.target.{row.kind}"))
    return row.target


def _row_operands(ctx: Ctx, row: bs.Row) -> bs.Row:
    if row.kind == "attribute" and row.target and row.op:
        column = ctx.catalog.attributes.get(row.target)
        if column is None:
            return row
        pii = row.target in ctx.pii
        value, values = value_widgets(ctx, row.id, "attribute", row.target, column.type, row.op, row.value, row.values, pii=pii)
        return replace(row, value=value, values=values)
    info = ctx.catalog.tags.get(row.target or "") if row.kind == "tag" else None
    if info is not None and info.value_column is not None and row.op not in (None, "has", "has_not"):
        kind = "number" if row.op in ("gt", "gte", "lt", "lte") else "string"
        value, values = value_widgets(ctx, row.id, "tag", row.target, kind, row.op, row.value, row.values)
        return replace(row, value=value, values=values)
    if row.kind == "event" and row.target:
        k = key(row.id, "count")
        _seed(k, int(row.count) if row.count is not None else 1)
        count = st.number_input(tr("builder.event.count"), min_value=0, step=1, key=k, label_visibility="collapsed", help=tr("builder.event.count_help"))
        return replace(row, count=count)
    if row.kind == "funnel" and row.value:
        steps = len(json.loads(row.value).get("steps", ()))
        k = key(row.id, "count")
        _seed(k, int(row.count or 1))
        last = steps - 1 if row.op == "dropped_after" else steps
        step = st.number_input(tr("builder.funnel.step"), min_value=1, max_value=max(last, 1), step=1, key=k, label_visibility="collapsed")
        return replace(row, count=min(int(step), max(last, 1)))
    if row.kind in ("rfm", "aipl", "lifecycle"):
        k = key(row.id, "stages")
        _seed(k, list(row.values))
        chosen = st.multiselect(
            tr(f"builder.target.{row.kind}"), list(bs.stage_values(row.kind)), key=k,
            format_func=lambda v: stage_label(row.kind, v), label_visibility="collapsed", placeholder=tr("builder.choose.values"),
        )  # fmt: skip
        return replace(row, values=tuple(chosen))
    return row


def _model_date(ctx: Ctx, row: bs.Row) -> bs.Row:
    """The date the model is read at (ANALYSES.md §1): empty = as of the dataset."""
    cols = st.columns([1.82, 1.9, 5.35], vertical_alignment="center")
    cols[0].caption(tr("builder.model.on"))
    k = key(row.id, "asof")
    _seed(k, _as_date(row.as_of) if row.as_of else None)
    with cols[1]:
        day = st.date_input(
            tr("builder.model.date"), key=k, value=None, label_visibility="collapsed",
            min_value=date(1900, 1, 1), max_value=ctx.ds.as_of, format="YYYY-MM-DD",
        )  # fmt: skip
    cols[2].caption(tr("builder.model.date_help", as_of=ctx.ds.as_of.isoformat()))
    day_text = day.isoformat() if isinstance(day, date) else None
    return replace(row, as_of=day_text)


def _event_details(ctx: Ctx, row: bs.Row) -> bs.Row:
    """The event's window and its property filters, on the lines under the row."""
    cols = st.columns([1.82, 1.9, 3.55, 1.8], vertical_alignment="center")
    cols[0].caption(tr("builder.event.times"))
    with cols[1]:
        window = _select(row.id, "window", tr("builder.event.window"), list(bs.WINDOWS), row.window, fmt=lambda w: tr(f"builder.window.{w}"))
    if window and window != row.window:
        row = bs.change_row(row, "window", window, ctx.catalog)
    with cols[2]:
        if row.window == "days":
            k = key(row.id, "days")
            _seed(k, int(row.within_days or bs.DEFAULT_WITHIN_DAYS))
            days = st.number_input(tr("builder.event.days"), min_value=1, max_value=100_000, step=1, key=k, label_visibility="collapsed")
            row = replace(row, within_days=days)
        elif row.window == "between":
            low, high = _date_pair(row.id, row.between or (), ctx.ds.as_of)
            row = replace(row, between=(low, high) if low and high else None)
        else:
            st.caption(tr("builder.window.all_help", as_of=ctx.ds.as_of.isoformat()))
    cols[3].button(tr("builder.event.add_filter"), key=key(row.id, "addfilter"), icon=":material/filter_alt:", on_click=_on_add_filter, args=(row.id,))
    filters = []
    for f in row.where:
        filters.append(_filter_row(ctx, row, f))
    return replace(row, where=tuple(filters))


def _filter_row(ctx: Ctx, row: bs.Row, f: bs.FilterRow) -> bs.FilterRow:
    cols = st.columns([0.62, 1.2, 1.9, 1.4, 3.35, 1.0, 0.64], vertical_alignment="center")
    cols[1].caption(tr("builder.event.where"))
    with cols[2]:
        field = _select(f.id, "field", tr("builder.event.property"), list(ctx.catalog.event_properties), f.field, fmt=lambda p: field_label(ctx, p), placeholder=tr("builder.choose.property"))
    if field != f.field:
        f = bs.change_filter(f, "field", field, ctx.catalog)
        clear_node_widgets(f.id, keep=("field",))
    ops = list(bs.filter_ops(ctx.catalog, f))
    with cols[3]:
        op = _select(f.id, "op", tr("builder.op"), ops, f.op, fmt=lambda o: op_label(ctx, o)) if ops else None
    if op is not None and op != f.op:
        f = bs.change_filter(f, "op", op, ctx.catalog)
        clear_node_widgets(f.id, keep=("field", "op"))
    with cols[4]:
        column = ctx.catalog.event_properties.get(f.field or "")
        if column is not None and f.op:  # an unknown property (from a stale saved segment) gets no value widget
            value, values = value_widgets(ctx, f.id, "event_property", f.field, column.type, f.op, f.value, f.values)
            f = replace(f, value=value, values=values)
    cols[6].button("", key=key(f.id, "del"), icon=":material/close:", help=tr("builder.event.remove_filter"), on_click=_on_remove_filter, args=(row.id, f.id))
    return f


# --------------------------------------------------------------------------- operand widgets by type


def value_widgets(
    ctx: Ctx, node_id: str, source: str, name: str, col_type: str, op: str, value: Any, values: tuple, pii: bool = False
) -> tuple[Any, tuple]:
    """The widgets for an operator's operands, fitted to the column's type; returns (value, values)."""
    shape = bs.operand_shape(op)
    if shape == "none":
        return None, ()
    if op == "within_last_days":
        k = key(node_id, "days")
        _seed(k, int(value) if isinstance(value, int) and value >= 1 else 30)
        days = st.number_input(tr("builder.days"), min_value=1, max_value=100_000, step=1, key=k, label_visibility="collapsed", help=tr("builder.days_help"))
        return days, ()
    if col_type == "boolean":
        return _select(node_id, "bool", tr("builder.value"), [True, False], value, fmt=lambda b: tr("builder.yes" if b else "builder.no")), ()
    if col_type in ("timestamp", "date"):
        return _date_operands(ctx, node_id, shape, value, values)
    if col_type in ("integer", "number"):
        return _number_operands(ctx, node_id, source, name, col_type, shape, value, values)
    return _text_operands(ctx, node_id, source, name, op, shape, value, values, pii)


def _as_date(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _date_pair(node_id: str, values: tuple, as_of: date) -> tuple[str | None, str | None]:
    halves = st.columns(2)
    out: list[str | None] = []
    for i, (half, slot, label) in enumerate(zip(halves, ("from", "to"), (tr("builder.from"), tr("builder.to")), strict=True)):
        k = key(node_id, slot)
        _seed(k, _as_date(values[i]) if len(values) == 2 else None)
        with half:
            day = st.date_input(label, key=k, value=None, label_visibility="collapsed", max_value=date(2100, 1, 1), min_value=date(1900, 1, 1), format="YYYY-MM-DD")
        out.append(day.isoformat() if isinstance(day, date) else None)
    return out[0], out[1]


def _date_operands(ctx: Ctx, node_id: str, shape: str, value: Any, values: tuple) -> tuple[Any, tuple]:
    if shape == "pair":
        low, high = _date_pair(node_id, values, ctx.ds.as_of)
        return None, ((low, high) if low and high else ())
    if shape == "list":
        k = key(node_id, "dates")
        _seed(k, [str(v) for v in values])
        chosen = st.multiselect(tr("builder.values"), [], key=k, accept_new_options=True, label_visibility="collapsed", placeholder=tr("builder.type_dates"))
        return None, tuple(d for d in chosen if _as_date(d))
    k = key(node_id, "date")
    _seed(k, _as_date(value))
    day = st.date_input(tr("builder.value"), key=k, value=None, label_visibility="collapsed", min_value=date(1900, 1, 1), max_value=date(2100, 1, 1), format="YYYY-MM-DD")
    return (day.isoformat() if isinstance(day, date) else None), ()


def _number(text: Any, whole: bool) -> int | float | None:
    """A typed-in value as a number of the column's kind, or None when it is not one."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return int(text) if whole and float(text).is_integer() else text
    try:
        number = float(str(text).replace(",", "").strip())
    except ValueError:
        return None
    return int(number) if whole and number.is_integer() else number


def _typed(number: int | float | None, whole: bool) -> int | float | None:
    """The number as the type its number_input holds (int for whole numbers, else float)."""
    if number is None:
        return None
    return int(number) if whole else float(number)


def _number_operands(ctx: Ctx, node_id: str, source: str, name: str, col_type: str, shape: str, value: Any, values: tuple) -> tuple[Any, tuple]:
    whole = col_type == "integer"
    bounds = data_access.numeric_range(ctx.ds, ctx.ds.fingerprint, source, name) if source != "tag" else None
    if shape == "one":
        k = key(node_id, "num")
        _seed(k, _typed(_number(value, whole), whole))
        step = 1 if whole else None
        number = st.number_input(tr("builder.value"), key=k, value=None, step=step, label_visibility="collapsed", placeholder=tr("builder.type_number"))
        return _number(number, whole) if number is not None else None, ()
    if shape == "pair":
        if whole and bounds and bounds[1] - bounds[0] <= SLIDER_MAX_SPAN and bounds[0] < bounds[1]:
            lo, hi = int(bounds[0]), int(bounds[1])
            k = key(node_id, "range")
            current = (int(values[0]), int(values[1])) if len(values) == 2 else (lo, hi)
            current = (max(lo, min(current[0], hi)), max(lo, min(current[1], hi)))
            _seed(k, current)
            chosen = st.slider(tr("builder.range"), min_value=lo, max_value=hi, value=current, step=1, key=k, label_visibility="collapsed")
            return None, (int(chosen[0]), int(chosen[1]))
        halves = st.columns(2)
        out = []
        for i, (half, slot) in enumerate(zip(halves, ("lo", "hi"), strict=True)):
            k = key(node_id, slot)
            default = values[i] if len(values) == 2 else (bounds[i] if bounds else None)
            _seed(k, _typed(_number(default, whole), whole))
            with half:
                number = st.number_input(tr("builder.from" if i == 0 else "builder.to"), key=k, value=None, step=1 if whole else None, label_visibility="collapsed")
            out.append(_number(number, whole) if number is not None else None)
        return None, (tuple(out) if None not in out else ())
    # list: the known values when few, else typed numbers
    known = _known_values(ctx, source, name)
    options = [v.value for v in known.values] if known else []
    counts = {v.value: v.rows for v in known.values} if known else {}
    k = key(node_id, "multi")
    _seed(k, [v for v in values])
    chosen = st.multiselect(
        tr("builder.values"), sorted(set(options) | {v for v in values if not isinstance(v, str)}), key=k, accept_new_options=True,
        format_func=lambda v: f"{v} · {fmt_int(counts[v])}" if v in counts else str(v), label_visibility="collapsed", placeholder=tr("builder.type_numbers"),
    )  # fmt: skip
    numbers = [_number(v, whole) for v in chosen]
    if any(n is None for n in numbers):
        st.caption(tr("builder.not_numbers"))
    return None, tuple(n for n in numbers if n is not None)


def _known_values(ctx: Ctx, source: str, name: str):
    """All values of a low-cardinality column (None when there are too many to list)."""
    from core.values import is_low_cardinality

    low = is_low_cardinality(ctx.catalog, source, name)  # type: ignore[arg-type]
    if low is False:
        return None
    found = data_access.top_values(ctx.ds, ctx.ds.fingerprint, source, name, LOW_CARDINALITY)
    return found if found.complete else None


def _text_operands(ctx: Ctx, node_id: str, source: str, name: str, op: str, shape: str, value: Any, values: tuple, pii: bool) -> tuple[Any, tuple]:
    if op in ("contains", "gt", "gte", "lt", "lte") or (pii and shape == "one"):
        k = key(node_id, "text")
        _seed(k, "" if value is None else str(value))
        text = st.text_input(tr("builder.value"), key=k, label_visibility="collapsed", placeholder=tr("builder.type_value"))
        return (text if text != "" else None), ()
    counts: dict[Any, int] = {}
    if pii:
        options: list[Any] = []  # personal data is never suggested, only typed
        placeholder = tr("builder.type_pii")
    else:
        known = _known_values(ctx, source, name)
        if known is not None:
            options = [v.value for v in known.values]
            counts = {v.value: v.rows for v in known.values}
            placeholder = tr("builder.choose.values")
        else:
            options, counts = _search(ctx, node_id, source, name)
            placeholder = tr("builder.search.pick")

    def fmt(v: Any) -> str:
        return f"{v} · {fmt_int(counts[v])}" if v in counts else str(v)

    if shape == "one":
        return _select(node_id, "pick", tr("builder.value"), options, value, fmt=fmt, placeholder=placeholder, accept_new_options=True), ()
    k = key(node_id, "multi")
    _seed(k, list(values))
    merged = options + [v for v in values if v not in counts and v not in options]
    chosen = st.multiselect(tr("builder.values"), merged, key=k, accept_new_options=True, format_func=fmt, label_visibility="collapsed", placeholder=placeholder)
    return None, tuple(chosen)


def _search(ctx: Ctx, node_id: str, source: str, name: str) -> tuple[list[Any], dict[Any, int]]:
    """Search-as-you-type for columns with too many values to list: the matches become the options."""
    k = key(node_id, "q")
    _seed(k, "")
    # live: the matches follow the typing (a bounded, cached query), no Enter needed
    text = st.text_input(tr("builder.search"), key=k, placeholder=tr("builder.search.placeholder"), label_visibility="collapsed", type="search", live="300ms") or ""
    if not text.strip():
        return [], {}
    found = data_access.search_values(ctx.ds, ctx.ds.fingerprint, source, name, text.strip())
    if not found:
        st.caption(tr("builder.search.none", text=text.strip()))
    return [v.value for v in found], {v.value: v.rows for v in found}
