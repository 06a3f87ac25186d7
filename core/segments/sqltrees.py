"""Building blocks of compiled segment trees (sqlglot): two-valued comparisons, lists, columns, WHERE forms.

Shared by the compiler (core/segments/compile.py) and each condition kind's `compile`
(core/segments/kinds/), so neither imports the other's private names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

MAX_REFERENCE_DEPTH = 20  # saved segments referring to saved segments
MAX_EXPANDED_CONDITIONS = 2_000  # after inlining saved segments (guards diamond blow-ups)
# Groups inside groups once saved segments are inlined (each may nest 20 deep and refer 20 deep).
# The SQL of a deeper tree overflowed Python's stack where sqlglot writes it (~160 levels).
MAX_EXPANDED_DEPTH = 60
PROFILE = "profile"
EVENTS = "event_rows"  # the cache's copy of the events: `_uid`, `_ei` (event code), `ts`, properties
EVENTS_ALIAS = "ev"  # qualify subquery columns so they never bind to the outer profile

ORDERED = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null", "not_null"})
# Operators per column type (text compares lexicographically; dates by whole days).
TYPE_OPS: dict[str, frozenset[str]] = {
    "string": ORDERED | {"contains"},
    "integer": ORDERED | {"between"},
    "number": ORDERED | {"between"},
    "boolean": frozenset({"eq", "ne", "is_null", "not_null"}),
    "timestamp": ORDERED | {"between", "within_last_days"},
    "date": ORDERED | {"between", "within_last_days"},
}
TYPE_NAMES = {
    "string": "a text",
    "integer": "a whole-number",
    "number": "a number",
    "boolean": "a true/false",
    "timestamp": "a date-time",
    "date": "a date",
}
COMPARE = {"eq": exp.EQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}
EVENT_COMPARE = {">=": exp.GTE, ">": exp.GT, "=": exp.EQ, "<": exp.LT, "<=": exp.LTE}


def two_valued(condition: exp.Expression) -> exp.Expression:
    """NULL (a missing value) never matches a positive comparison."""
    return exp.Coalesce(this=condition, expressions=[exp.false()])


SHORT_LIST = 16  # up to this many values, `col IN ($a, $b, ...)`; longer lists are one parameter


def in_list(col: exp.Expression, values: list, param: Callable[[object], exp.Placeholder]) -> exp.Expression:
    """`col IN ($p0, $p1, ...)` for a short list, `col IN (SELECT UNNEST($p))` for a long one.

    A short list of bound values is pushed into the scan as a filter (a quarter faster
    than the semi-join on two model columns at 10M members); a long list is one bound
    parameter that DuckDB hashes, so 100,000 values stay fast anywhere in the tree
    (ARRAY_CONTAINS would rescan the list per row once wrapped in COALESCE or NOT).
    """
    if 0 < len(values) <= SHORT_LIST:
        return exp.In(this=col, expressions=[param(v) for v in values])
    return exp.In(this=col, query=exp.Subquery(this=exp.select(exp.Unnest(expressions=[param(list(values))]))))


def not_(condition: exp.Expression) -> exp.Expression:
    return exp.not_(condition, copy=False)


def qcol(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def renumber(expression: exp.Expression, params: dict[str, object]) -> tuple[exp.Expression, dict[str, object]]:
    """Keep only parameters the expression uses, named p0, p1, ... in reading order.

    Conditions that fold to TRUE/FALSE (e.g. "at least 0 events") drop their
    placeholders, and DuckDB refuses unused parameters.
    """
    renamed: dict[str, str] = {}
    for node in expression.walk(bfs=False):
        if isinstance(node, exp.Placeholder):
            old = node.name
            if old not in renamed:
                renamed[old] = f"p{len(renamed)}"
            node.set("this", renamed[old])
    return expression, {new: params[old] for old, new in renamed.items()}


def chain_operands(
    node: exp.And | exp.Or, unwrap: Callable[[exp.Expression], exp.Expression] = exp.Expression.unnest
) -> list[exp.Expression]:
    """The operands of a chain of one connector (`a AND b AND c`), left to right, without recursion:
    sqlglot keeps a chain as a left-deep tree, one level per operand. `unwrap` says what a link may
    be wrapped in (parentheses by default)."""
    out: list[exp.Expression] = []
    stack: list[exp.Expression] = [node]
    while stack:
        current = unwrap(stack.pop())
        if isinstance(current, type(node)):
            stack.extend([current.right, current.left])
        else:
            out.append(current)
    return out


def two_valued_inner(node: exp.Expression) -> exp.Expression | None:
    """`x` if the node is `COALESCE(x, FALSE)` (how `two_valued` folds NULL into FALSE), else None."""
    if (
        isinstance(node, exp.Coalesce)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Boolean)
        and node.expressions[0].this is False
    ):
        return node.this
    return None


def unwrap_positive(node: exp.Expression) -> exp.Expression:
    """Through parentheses and `COALESCE(…, FALSE)`: the same rows at a positive position of a WHERE."""
    while True:
        if isinstance(node, exp.Paren):
            node = node.this
        elif (inner := two_valued_inner(node)) is not None:
            node = inner
        else:
            return node


def where_form(condition: exp.Expression) -> exp.Expression:
    """The same WHERE filter without the `COALESCE(…, FALSE)` wrappers, so DuckDB can skip row groups.

    The compiled definition is two-valued (NULL folded to FALSE) so that it can be
    negated and counted with FILTER. In a WHERE clause NULL and FALSE both drop the
    row, so at positive positions (under AND / OR, never under NOT) `COALESCE(x,
    FALSE)` keeps exactly the rows `x` keeps. Without the wrapper DuckDB pushes
    comparisons into the scan and uses min/max of row groups: a `user_id < …`
    export of 1M of 10M users reads a tenth of the table instead of all of it.
    A bare boolean column at such a position becomes `col = TRUE` (same rows, faster).
    """
    node = unwrap_positive(condition)
    if isinstance(node, exp.And | exp.Or):
        # sqlglot does not add parentheses by precedence: keep them explicit, one pair per chain.
        # A chain of one connector stays flat (`a AND b AND c`): sqlglot writes a flat chain
        # without recursion, while a pair of parentheses per link overflowed Python's stack at
        # ~250 conditions.
        parts = [where_form(part) for part in chain_operands(node, unwrap_positive)]
        joined = exp.and_(*parts, copy=False) if isinstance(node, exp.And) else exp.or_(*parts, copy=False)
        return exp.Paren(this=joined)
    if isinstance(node, exp.Column):
        # A boolean column on its own (a tag): `col = TRUE` keeps the same rows, and DuckDB
        # pushes it into the scan as a constant comparison, 2-3x faster than the bare column.
        return exp.EQ(this=node.copy(), expression=exp.true())
    return node.copy()


@dataclass(frozen=True)
class Compiled:
    """A compiled definition: a boolean expression over `profile` and its bound parameters."""

    expression: exp.Expression
    params: dict[str, object]

    @property
    def sql(self) -> str:
        """The expression in DuckDB SQL (parameters as `$p0`, `$p1`, ...)."""
        return self.expression.sql(dialect="duckdb")


def count_query(compiled: Compiled) -> tuple[str, dict[str, object]]:
    """`SELECT count(*) FROM profile WHERE <definition>` and its parameters."""
    query = exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(PROFILE)).where(compiled.expression.copy())
    return query.sql(dialect="duckdb"), dict(compiled.params)


def members_query(compiled: Compiled) -> tuple[str, dict[str, object]]:
    """`SELECT user_id FROM profile WHERE <definition> ORDER BY user_id` and its parameters."""
    query = (
        exp.select(qcol("user_id"))
        .from_(exp.to_table(PROFILE))
        .where(compiled.expression.copy())
        .order_by(qcol("user_id"))
    )
    return query.sql(dialect="duckdb"), dict(compiled.params)
