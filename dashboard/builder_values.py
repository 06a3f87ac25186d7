"""The builder's operand widgets by type: dates, numbers, texts (with search over known values)."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from core.segments import builder_state as bs
from core.values import LOW_CARDINALITY
from dashboard import data_access
from dashboard.builder_common import SLIDER_MAX_SPAN, Ctx, key, seed, select, tr
from dashboard.i18n import fmt_int

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
        seed(k, int(value) if isinstance(value, int) and value >= 1 else 30)
        days = st.number_input(
            tr("builder.days"),
            min_value=1,
            max_value=100_000,
            step=1,
            key=k,
            label_visibility="collapsed",
            help=tr("builder.days_help"),
        )
        return days, ()
    if col_type == "boolean":
        return select(
            node_id,
            "bool",
            tr("builder.value"),
            [True, False],
            value,
            fmt=lambda b: tr("builder.yes" if b else "builder.no"),
        ), ()
    if col_type in ("timestamp", "date"):
        return _date_operands(ctx, node_id, shape, value, values)
    if col_type in ("integer", "number"):
        return _number_operands(ctx, node_id, source, name, col_type, shape, value, values)
    return _text_operands(ctx, node_id, source, name, op, shape, value, values, pii)


def as_date(text: Any) -> date | None:
    try:
        return date.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def date_pair(node_id: str, values: tuple, as_of: date) -> tuple[str | None, str | None]:
    halves = st.columns(2)
    out: list[str | None] = []
    for i, (half, slot, label) in enumerate(
        zip(halves, ("from", "to"), (tr("builder.from"), tr("builder.to")), strict=True)
    ):
        k = key(node_id, slot)
        seed(k, as_date(values[i]) if len(values) == 2 else None)
        with half:
            day = st.date_input(
                label,
                key=k,
                value=None,
                label_visibility="collapsed",
                max_value=date(2100, 1, 1),
                min_value=date(1900, 1, 1),
                format="YYYY-MM-DD",
            )
        out.append(day.isoformat() if isinstance(day, date) else None)
    return out[0], out[1]


def _date_operands(ctx: Ctx, node_id: str, shape: str, value: Any, values: tuple) -> tuple[Any, tuple]:
    if shape == "pair":
        low, high = date_pair(node_id, values, ctx.ds.as_of)
        return None, ((low, high) if low and high else ())
    if shape == "list":
        k = key(node_id, "dates")
        seed(k, [str(v) for v in values])
        chosen = st.multiselect(
            tr("builder.values"),
            [],
            key=k,
            accept_new_options=True,
            label_visibility="collapsed",
            placeholder=tr("builder.type_dates"),
        )
        return None, tuple(d for d in chosen if as_date(d))
    k = key(node_id, "date")
    seed(k, as_date(value))
    day = st.date_input(
        tr("builder.value"),
        key=k,
        value=None,
        label_visibility="collapsed",
        min_value=date(1900, 1, 1),
        max_value=date(2100, 1, 1),
        format="YYYY-MM-DD",
    )
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


def _number_operands(
    ctx: Ctx, node_id: str, source: str, name: str, col_type: str, shape: str, value: Any, values: tuple
) -> tuple[Any, tuple]:
    whole = col_type == "integer"
    bounds = data_access.numeric_range(ctx.ds, ctx.ds.fingerprint, source, name) if source != "tag" else None
    if shape == "one":
        k = key(node_id, "num")
        seed(k, _typed(_number(value, whole), whole))
        step = 1 if whole else None
        number = st.number_input(
            tr("builder.value"),
            key=k,
            value=None,
            step=step,
            label_visibility="collapsed",
            placeholder=tr("builder.type_number"),
        )
        return _number(number, whole) if number is not None else None, ()
    if shape == "pair":
        if whole and bounds and bounds[1] - bounds[0] <= SLIDER_MAX_SPAN and bounds[0] < bounds[1]:
            lo, hi = int(bounds[0]), int(bounds[1])
            k = key(node_id, "range")
            current = (int(values[0]), int(values[1])) if len(values) == 2 else (lo, hi)
            current = (max(lo, min(current[0], hi)), max(lo, min(current[1], hi)))
            seed(k, current)
            chosen = st.slider(
                tr("builder.range"),
                min_value=lo,
                max_value=hi,
                value=current,
                step=1,
                key=k,
                label_visibility="collapsed",
            )
            return None, (int(chosen[0]), int(chosen[1]))
        halves = st.columns(2)
        out = []
        for i, (half, slot) in enumerate(zip(halves, ("lo", "hi"), strict=True)):
            k = key(node_id, slot)
            default = values[i] if len(values) == 2 else (bounds[i] if bounds else None)
            seed(k, _typed(_number(default, whole), whole))
            with half:
                number = st.number_input(
                    tr("builder.from" if i == 0 else "builder.to"),
                    key=k,
                    value=None,
                    step=1 if whole else None,
                    label_visibility="collapsed",
                )
            out.append(_number(number, whole) if number is not None else None)
        return None, (tuple(out) if None not in out else ())
    # list: the known values when few, else typed numbers
    known = _known_values(ctx, source, name)
    options = [v.value for v in known.values] if known else []
    counts = {v.value: v.rows for v in known.values} if known else {}
    k = key(node_id, "multi")
    seed(k, [v for v in values])
    chosen = st.multiselect(
        tr("builder.values"), sorted(set(options) | {v for v in values if not isinstance(v, str)}), key=k,
        accept_new_options=True, format_func=lambda v: f"{v} · {fmt_int(counts[v])}" if v in counts else str(v),
        label_visibility="collapsed", placeholder=tr("builder.type_numbers"),
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


def _text_operands(
    ctx: Ctx, node_id: str, source: str, name: str, op: str, shape: str, value: Any, values: tuple, pii: bool
) -> tuple[Any, tuple]:
    if op in ("contains", "gt", "gte", "lt", "lte") or (pii and shape == "one"):
        k = key(node_id, "text")
        seed(k, "" if value is None else str(value))
        text = st.text_input(
            tr("builder.value"), key=k, label_visibility="collapsed", placeholder=tr("builder.type_value")
        )
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
        return select(
            node_id,
            "pick",
            tr("builder.value"),
            options,
            value,
            fmt=fmt,
            placeholder=placeholder,
            accept_new_options=True,
        ), ()
    k = key(node_id, "multi")
    seed(k, list(values))
    merged = options + [v for v in values if v not in counts and v not in options]
    chosen = st.multiselect(
        tr("builder.values"),
        merged,
        key=k,
        accept_new_options=True,
        format_func=fmt,
        label_visibility="collapsed",
        placeholder=placeholder,
    )
    return None, tuple(chosen)


def _search(ctx: Ctx, node_id: str, source: str, name: str) -> tuple[list[Any], dict[Any, int]]:
    """Search-as-you-type for columns with too many values to list: the matches become the options."""
    k = key(node_id, "q")
    seed(k, "")
    # live: the matches follow the typing (a bounded, cached query), no Enter needed
    text = (
        st.text_input(
            tr("builder.search"),
            key=k,
            placeholder=tr("builder.search.placeholder"),
            label_visibility="collapsed",
            type="search",
            live="300ms",
        )
        or ""
    )
    if not text.strip():
        return [], {}
    found = data_access.search_values(ctx.ds, ctx.ds.fingerprint, source, name, text.strip())
    if not found:
        st.caption(tr("builder.search.none", text=text.strip()))
    return [v.value for v in found], {v.value: v.rows for v in found}
