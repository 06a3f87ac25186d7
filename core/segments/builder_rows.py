"""The builder's rows (one condition or event filter being edited) and their operand shapes.

Pure data shared by the builder state (core/segments/builder_state.py) and each condition
kind's builder row (core/segments/kinds/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.segments.conditions import LIST_OPS, NO_OPERAND_OPS

WINDOWS = ("days", "between", "all")  # event window: the last N days, between two dates, all time
DEFAULT_WITHIN_DAYS = 30


@dataclass(frozen=True)
class FilterRow:
    """One event property filter being edited."""

    id: str
    field: str | None = None
    op: str | None = None
    value: Any = None
    values: tuple = ()


@dataclass(frozen=True)
class Row:
    """One condition being edited. `target` is the field, tag, event or saved segment id."""

    id: str
    kind: str = "attribute"
    target: str | None = None
    op: str | None = None
    value: Any = None
    values: tuple = ()
    negate: bool = False
    # event rows only
    count: int = 1
    window: str = "days"
    within_days: int = DEFAULT_WITHIN_DAYS
    between: tuple[str, str] | None = None
    where: tuple[FilterRow, ...] = ()
    # model rows only: "YYYY-MM-DD", the model at that date; None = as of the dataset
    as_of: str | None = None


def operand_shape(op: str | None) -> str:
    """'none', 'list' (values), 'pair' (between) or 'one' (value)."""
    if op is None or op in NO_OPERAND_OPS:
        return "none"
    if op == "between":
        return "pair"
    if op in LIST_OPS:
        return "list"
    return "one"


def reshape(op: str | None, value: Any, values: tuple) -> tuple[Any, tuple]:
    """Carry the operands over to a new operator where they still make sense."""
    shape = operand_shape(op)
    if shape == "none":
        return None, ()
    if shape == "one":
        return (value if value is not None else (values[0] if values else None)), ()
    if shape == "pair":
        if len(values) == 2:
            return None, tuple(values)
        return None, ()
    if values:
        return None, tuple(values)
    return None, ((value,) if value is not None else ())


def operands_json(op: str | None, value: Any, values: tuple) -> dict[str, Any] | None:
    """The JSON operands for op, or None when they are not filled in yet."""
    shape = operand_shape(op)
    if shape == "none":
        return {}
    if shape == "one":
        return None if value is None else {"value": value}
    if shape == "pair":
        return {"values": list(values)} if len(values) == 2 and None not in values else None
    return {"values": list(values)} if values else None


def filter_dict(f: FilterRow) -> dict[str, Any] | None:
    """The filter as an event `where` item, or None while it is incomplete."""
    if not f.field or not f.op:
        return None
    operands = operands_json(f.op, f.value, f.values)
    return None if operands is None else {"field": f.field, "op": f.op, **operands}
