"""A compiled condition as a plan: AND / OR / NOT / COALESCE(…, FALSE) over one-column parts (or a model at a day)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlglot import exp

from core.bitmaps import dated
from core.catalog import UID
from core.models import VALUE
from core.segments.compile import chain_operands, two_valued_inner

# --- the condition as a plan over single-column parts -----------------------------------------


@dataclass(frozen=True)
class Leaf:
    column: str
    expression: exp.Expression


@dataclass(frozen=True)
class Op:
    kind: str  # "and", "or", "not", "coalesce"
    parts: tuple[Leaf | Op | Const, ...]


@dataclass(frozen=True)
class Const:
    value: bool


Plan = Leaf | Op | Const


def _single_column(node: exp.Expression) -> str | None:
    """The one `profile` column a condition reads, if it reads exactly one and nothing else."""
    names = set()
    for col in node.find_all(exp.Column):
        if col.table:  # a qualified column lives in a subquery (events)
            return None
        names.add(col.name)
    if len(names) != 1:
        return None
    for select in node.find_all(exp.Select):
        if select.find(exp.Column) or select.args.get("from_") or select.args.get("from"):  # sqlglot ≥ 28: "from_"
            return None  # only `IN (SELECT UNNEST($p))`, a bound list, is a subquery of one column
    name = names.pop()
    return None if name == UID else name


def plan(node: exp.Expression) -> Plan | None:
    """The condition as AND / OR / NOT / COALESCE(…, FALSE) over single-column parts, or None."""
    column = _single_column(node)
    if column is not None:
        return Leaf(column, node)
    node = node.unnest()
    if (found := dated.leaf(node)) is not None:  # a model at a past day: its day's values, like a column's
        name, where = found
        return Leaf(name, where) if _single_column(where) == VALUE else None
    if isinstance(node, exp.Boolean):
        return Const(bool(node.this))
    if isinstance(node, exp.And | exp.Or):
        # a chain `a AND b AND c …` (hundreds of conditions) is one n-ary part, not a deep tree
        parts = [plan(operand) for operand in chain_operands(node)]
        if any(part is None for part in parts):
            return None
        return Op("and" if isinstance(node, exp.And) else "or", tuple(parts))  # type: ignore[arg-type]
    if isinstance(node, exp.Not):
        inner = plan(node.this)
        return None if inner is None else Op("not", (inner,))
    if (two_valued := two_valued_inner(node)) is not None:
        inner = plan(two_valued)
        return None if inner is None else Op("coalesce", (inner,))
    return None


def plan_leaves(p: Plan) -> Iterable[Leaf]:
    if isinstance(p, Leaf):
        yield p
    elif isinstance(p, Op):
        for part in p.parts:
            yield from plan_leaves(part)
