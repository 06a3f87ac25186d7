"""Values a builder widget may offer for a column: the full list when it is short, a search when it is not.

With millions of members a column such as `phone` or `store_code` has millions of
distinct values; no widget may load them all. `top_values` reads at most `limit + 1`
values (so the caller knows the list is complete), `search_values` finds at most
`limit` values containing typed text, and `numeric_range` gives slider bounds.
Identifiers come only from the catalog; typed text is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlglot import exp

from core.catalog import Catalog, Column
from core.config import did_you_mean

if TYPE_CHECKING:
    from core.dataset import Dataset

Source = Literal["attribute", "event_property", "tag"]

LOW_CARDINALITY = 200  # at most this many distinct values: offer them all
SEARCH_LIMIT = 50  # suggestions per search
MAX_SEARCH_CHARS = 200


class ValueLookupError(ValueError):
    """A column that cannot be looked up; the message names it and the closest known names."""


@dataclass(frozen=True)
class ValueCount:
    value: Any
    rows: int  # members (attributes, tag values) or events (event properties) with this value


@dataclass(frozen=True)
class ValueList:
    values: tuple[ValueCount, ...]  # most frequent first
    complete: bool  # False: there are more distinct values than `values` holds


@dataclass(frozen=True)
class _Target:
    table: str
    column: str
    type: str


def _target(catalog: Catalog, source: Source, name: str) -> _Target:
    """The table and column behind a widget's field, checked against the catalog."""
    if source == "attribute":
        column = catalog.attributes.get(name)
        if column is None:
            raise ValueLookupError(f"unknown attribute {name!r}.{did_you_mean(name, list(catalog.attributes))}")
        return _Target("profile", column.name, column.type)
    if source == "event_property":
        column = catalog.event_properties.get(name)
        if column is None:
            raise ValueLookupError(
                f"unknown event property {name!r}.{did_you_mean(name, list(catalog.event_properties))}"
            )
        return _Target("event_rows", column.name, column.type)  # members' events up to as_of
    if source == "tag":
        info = catalog.tags.get(name)
        if info is None:
            raise ValueLookupError(f"unknown tag {name!r}.{did_you_mean(name, list(catalog.tags))}")
        if info.value_column is None:
            raise ValueLookupError(f"tag {name!r} carries no values; use 'has' or 'has not'.")
        return _Target("profile", info.value_column, "string")
    raise ValueLookupError(f"unknown value source {source!r}; use attribute, event_property or tag.")


def column_info(catalog: Catalog, source: Source, name: str) -> Column:
    """The column a widget edits (tags: their value column, as text)."""
    target = _target(catalog, source, name)
    if source == "attribute":
        return catalog.attributes[name]
    if source == "event_property":
        return catalog.event_properties[name]
    return Column(target.column, "string")


def is_low_cardinality(catalog: Catalog, source: Source, name: str, limit: int = LOW_CARDINALITY) -> bool | None:
    """True when the catalog counted at most `limit` distinct values; None when it did not count them."""
    if source == "tag":
        return None
    column = column_info(catalog, source, name)
    return None if column.distinct is None else column.distinct <= limit


def _run(ds: Dataset, query: exp.Expression, params: dict[str, object]) -> list[tuple]:
    cur = ds.cursor()
    try:
        return cur.execute(query.sql("duckdb"), params).fetchall()
    finally:
        cur.close()


def top_values(ds: Dataset, source: Source, name: str, limit: int = LOW_CARDINALITY) -> ValueList:
    """The `limit` most frequent non-missing values (ties by value), and whether that is all of them."""
    target = _target(ds.catalog, source, name)
    col = exp.column(target.column, quoted=True)
    n = exp.alias_(exp.Count(this=exp.Star()), "n")
    query = (
        exp.select(exp.alias_(col, "value"), n)
        .from_(target.table)
        .where(exp.not_(exp.Is(this=col.copy(), expression=exp.Null())))
        .group_by(exp.column("value"))
        .order_by(exp.Ordered(this=exp.column("n"), desc=True), exp.column("value"))
        .limit(exp.Placeholder(this="limit"))
    )
    rows = _run(ds, query, {"limit": limit + 1})
    values = tuple(ValueCount(v, int(c)) for v, c in rows[:limit])
    return ValueList(values, complete=len(rows) <= limit)


def search_values(
    ds: Dataset, source: Source, name: str, text: str, limit: int = SEARCH_LIMIT
) -> tuple[ValueCount, ...]:
    """Up to `limit` values containing `text` (case-insensitive; values starting with it first, then by frequency)."""
    target = _target(ds.catalog, source, name)
    text = (text or "").strip()[:MAX_SEARCH_CHARS]
    if not text:
        return ()
    col = exp.column(target.column, quoted=True)
    as_text = exp.Lower(this=exp.cast(col, "VARCHAR"))
    needle = exp.Lower(this=exp.Placeholder(this="q"))
    # STRPOS, not LIKE: '%' and '_' typed by the operator are ordinary characters.
    found = exp.GT(this=exp.StrPosition(this=as_text, substr=needle), expression=exp.Literal.number(0))
    starts = exp.EQ(this=exp.StrPosition(this=as_text.copy(), substr=needle.copy()), expression=exp.Literal.number(1))
    query = (
        exp.select(exp.alias_(col.copy(), "value"), exp.alias_(exp.Count(this=exp.Star()), "n"))
        .from_(target.table)
        .where(found)
        .group_by(exp.column("value"))
        .order_by(
            exp.Ordered(this=exp.func("bool_or", starts), desc=True),
            exp.Ordered(this=exp.column("n"), desc=True),
            exp.column("value"),
        )
        .limit(exp.Placeholder(this="limit"))
    )
    return tuple(ValueCount(v, int(c)) for v, c in _run(ds, query, {"q": text, "limit": limit}))


def numeric_range(ds: Dataset, source: Source, name: str) -> tuple[float, float] | None:
    """Smallest and largest value of a number column (None when it has no values or is not numeric)."""
    target = _target(ds.catalog, source, name)
    if target.type not in ("integer", "number"):
        return None
    col = exp.column(target.column, quoted=True)
    query = exp.select(exp.Min(this=col), exp.Max(this=col.copy())).from_(target.table)
    ((low, high),) = _run(ds, query, {})
    if low is None or high is None:
        return None
    return low, high
