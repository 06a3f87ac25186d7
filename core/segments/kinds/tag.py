"""`tag`: the member has (or lacks) a tag, or the tag's value compares to one given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import Catalog
from core.messages import hint, msg
from core.segments.builder_rows import Row, operands_json
from core.segments.conditions import TAG_OPS, Tag, join_path, short
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.sqltrees import COMPARE, in_list, not_, qcol, two_valued
from core.segments.wording import TAG_VALUE_LABELS_EN

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser

TAG_PRESENCE_OPS = ("has", "has_not")
TAG_VALUE_OPS = ("eq", "in", "gt", "gte", "lt", "lte")


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> Tag | None:
    """A tag condition from JSON: text values for eq/in, a number for the comparisons."""
    tag = p.name(obj, "tag", path, "a tag path such as interest/food/baking")
    op = p.op(obj, "tag", path, TAG_OPS)
    if not op:
        return None
    value, values, ok = p.operands(obj, op, path)
    if ok and op in ("eq", "in"):
        items = [("value", value)] if op == "eq" else [(join_path("values", i), v) for i, v in enumerate(values or ())]
        for key, v in items:
            if not isinstance(v, str):
                p.issue(join_path(path, key), msg("segment.tag.value_text", value=short(v)))
                ok = False
                break
    elif ok and op in ("gt", "gte", "lt", "lte") and (isinstance(value, (bool, str))):
        p.issue(join_path(path, "value"), msg("segment.tag.number_compare", op=op, value=short(value)))
        ok = False
    return Tag(tag, op, value, values, negate) if ok and tag else None


def compile(c: Compiler, cond: Tag, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """The tag's flag column, or its value column compared (as text, or as a number)."""
    info = c.catalog.tags.get(cond.tag)
    if info is None:
        c.issue(path + ".tag", msg("segment.unknown_tag", tag=cond.tag, hint=hint(cond.tag, list(c.catalog.tags))))
        return exp.true()
    if cond.op in ("has", "has_not"):
        has = two_valued(qcol(info.column))
        return has if cond.op == "has" else not_(has)
    if info.value_column is None:
        c.issue(path + ".op", msg("segment.tag.no_values", tag=cond.tag, op=cond.op))
        return exp.true()
    col = qcol(info.value_column)
    if cond.op == "eq":
        return two_valued(exp.EQ(this=col, expression=c.param(cond.value)))
    if cond.op == "in":
        return two_valued(in_list(col, list(cond.values or ()), c.param))
    # Numeric comparison: a value that is not a number (or is NaN) never matches.
    try:
        bound = float(cond.value)
    except OverflowError:
        c.issue(path + ".value", msg("segment.tag.too_large", value=cond.value))
        return exp.true()
    number = exp.TryCast(this=col, to=exp.DataType.build("DOUBLE"))
    compare = COMPARE[cond.op](this=number, expression=c.param(bound))
    return two_valued(exp.and_(compare, not_(exp.IsNan(this=number.copy()))))


def describe(d: Describer, cond: Tag) -> str:
    """ "has tag identity/kol", "has tag level/score with value at least 3"."""
    if cond.op in ("has", "has_not"):
        return d.words["tag_has" if cond.op == "has" else "tag_has_not"].format(tag=cond.tag)
    shown = d.values(cond.values) if cond.op == "in" else d.value(cond.value)
    op = TAG_VALUE_LABELS_EN[cond.op] if d.lang == "en" else d.labels[cond.op]
    return d.words["tag_value"].format(tag=cond.tag, op=op, v=shown).replace("  ", " ")


def to_row(cond: Tag, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row editing this condition."""
    return state, Row(rid, "tag", cond.tag, cond.op, cond.value, tuple(cond.values or ()), cond.negate)


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition, or None until tag, operator and operands are filled in."""
    operands = operands_json(row.op, row.value, row.values) if row.target and row.op else None
    return None if operands is None else {"kind": "tag", "tag": row.target, "op": row.op, **operands}


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """has / has_not, and the value comparisons when the tag carries values."""
    info = catalog.tags.get(row.target or "")
    if info is None:
        return TAG_PRESENCE_OPS
    return TAG_PRESENCE_OPS + (TAG_VALUE_OPS if info.value_column is not None else ())


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """A fresh tag row asks whether the member has it."""
    return "has"


KIND = Kind(
    name="tag",
    condition=Tag,
    keys=("kind", "tag", "op", "value", "values", "negate"),
    operators=TAG_OPS,
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=BuilderRow(to_row, from_row, row_ops, default_op),
)
