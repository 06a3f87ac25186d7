"""`attribute`: a `users` column compared with a value (city in [...], age between [25, 35])."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import MODEL_COLUMNS, Catalog, Column
from core.messages import hint, msg
from core.segments.builder_rows import Row, operands_json
from core.segments.conditions import ATTRIBUTE_OPS, Attribute
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.sqltrees import TYPE_OPS, qcol

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser

# The operator a fresh builder row starts with, by column type.
DEFAULT_OPS = {
    "string": "in",
    "integer": "between",
    "number": "between",
    "boolean": "eq",
    "timestamp": "within_last_days",
    "date": "within_last_days",
}


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> Attribute | None:
    """An attribute condition from JSON, or None after recording issues."""
    field = p.name(obj, "field", path, "a users column")
    op = p.op(obj, "attribute", path, ATTRIBUTE_OPS)
    if not op:
        return None
    value, values, ok = p.operands(obj, op, path)
    return Attribute(field, op, value, values, negate) if ok and field else None


def compile(c: Compiler, cond: Attribute, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """The column compared as the operator says (unknown columns are an issue; TRUE stands in)."""
    column = c.catalog.attributes.get(cond.field)
    if column is None and cond.field == "user_id":
        column = Column("user_id", "string")  # lets operators paste a list of ids
    if column is None:
        instead = ""
        if cond.field in MODEL_COLUMNS.values():
            kind = next(k for k, v in MODEL_COLUMNS.items() if v == cond.field)
            instead = msg("segment.use_model_kind", kind=kind)
        near = hint(cond.field, list(c.catalog.attributes)) or instead
        c.issue(path + ".field", msg("segment.unknown_attribute", field=cond.field, hint=near))
        return exp.true()
    return c.compare(qcol(column.name), column, cond.op, cond.value, cond.values, path)


def describe(d: Describer, cond: Attribute) -> str:
    """ "age is between 25 and 35"."""
    return d.compare(cond.field, cond.op, cond.value, cond.values)


def column_type(catalog: Catalog, row: Row) -> str | None:
    """The type of the column an attribute row compares (None until a known field is chosen)."""
    if row.kind != "attribute" or row.target is None:
        return None
    column = catalog.attributes.get(row.target)
    return column.type if column is not None else None


def to_row(cond: Attribute, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row editing this condition."""
    return state, Row(rid, "attribute", cond.field, cond.op, cond.value, tuple(cond.values or ()), cond.negate)


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition, or None until field, operator and operands are filled in."""
    operands = operands_json(row.op, row.value, row.values) if row.target and row.op else None
    return None if operands is None else {"kind": "attribute", "field": row.target, "op": row.op, **operands}


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """The operators that fit the chosen column's type, in the spec's order."""
    kind = column_type(catalog, row)
    if kind is None:
        return ()
    return tuple(op for op in ATTRIBUTE_OPS if op in TYPE_OPS.get(kind, ()))


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """The column type's usual operator when it fits, else the first."""
    preferred = DEFAULT_OPS.get(column_type(catalog, row) or "", ops[0])
    return preferred if preferred in ops else ops[0]


KIND = Kind(
    name="attribute",
    condition=Attribute,
    keys=("kind", "field", "op", "value", "values", "negate"),
    operators=ATTRIBUTE_OPS,
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=BuilderRow(to_row, from_row, row_ops, default_op),
)
