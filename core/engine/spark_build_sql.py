"""The derived build's statements run on Spark: a DuckDB-connection look-alike and the two Spark-only trees.

`BuildConnection` takes the calls core/dataset/build_*.py make on a DuckDB connection
(`execute`, `sql(…).to_table`, `CREATE [TEMPORARY] TABLE … AS`, `DROP`, a SELECT's
`description` / `fetchall`) and answers them with Spark: every tree is rendered by
core/engine/spark_sql.py, so the DuckDB build's own functions (`build_tags`, `build_profile`)
and named queries (`rfm_at`, `aipl_at`, `lifecycle_at`'s CASE) run unchanged. A table becomes a
Spark temporary view under a per-build prefix (never `profile` or `events`: the session's views
of an opened dataset keep their names), computed once (`localCheckpoint`) when later steps read it.

Two steps have no Spark form of the DuckDB statement and are written here as trees instead:

- `event_rows`: DuckDB numbers members by Parquet row position (`file_row_number`) and sorts
  coded text properties; here the members come numbered (`_uids`) and properties stay text.
- `user_events`: DuckDB packs six counters per event into one HUGEINT sum (Spark has no
  128-bit integer nor shifts of decimals); here each counter is its own `count(*) FILTER`,
  named as the profile's column, and `profile` reads it (`counter_columns`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlglot
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS, EI, UID, event_codes
from core.config import DatasetConfig
from core.dataset.build_events import event_code_type, event_rows_select
from core.engine import EngineError
from core.engine.spark_sql import to_spark
from core.models.rfm import monetary_sum

_BUILDS = itertools.count()


class _Result:
    """A DuckDB cursor's result look-alike: `description`, `fetchall`, `fetchone`."""

    def __init__(self, frame: Any = None) -> None:
        self._frame = frame
        self._rows: list[tuple] | None = None if frame is not None else []
        self.description = [(name, None) for name in frame.columns] if frame is not None else None

    def fetchall(self) -> list[tuple]:
        if self._rows is None:
            self._rows = [tuple(r) for r in self._frame.collect()]
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        rows = self.fetchall()
        return rows[0] if rows else None


class _Relation:
    """`con.sql(select, params=…)`: only `.to_table(name)` is used by the build."""

    def __init__(self, con: BuildConnection, query: exp.Expression, params: dict[str, Any]) -> None:
        self.con, self.query, self.params = con, query, params

    def to_table(self, name: str) -> None:
        self.con.create(name, self.query, self.params)


class BuildConnection:
    """The DuckDB connection calls of the cache build, answered by Spark (see the module docstring)."""

    def __init__(
        self,
        spark: Any,
        tables: Iterable[str],
        *,
        keep: Iterable[str] = (),
        rewrites: dict[str, Callable[[exp.Expression], exp.Expression]] | None = None,
    ) -> None:
        self.spark = spark
        self.prefix = f"_adesk_build{next(_BUILDS)}_"
        self.tables = set(tables)  # the build's table names (renamed under the prefix)
        self.keep = set(keep)  # tables read by several later steps: computed once (the others are views)
        self.rewrites = rewrites or {}
        self.frames: dict[str, Any] = {}

    def view(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _renamed(self, tree: exp.Expression) -> exp.Expression:
        tree = tree.copy()
        for table in tree.find_all(exp.Table):
            if table.name in self.tables and not table.db and isinstance(table.this, exp.Identifier):
                table.set("this", exp.to_identifier(self.view(table.name), quoted=True))
        return tree

    def frame(self, query: exp.Expression, params: dict[str, Any] | None = None) -> Any:
        """A DuckDB-dialect query as a Spark DataFrame (rendered by spark_sql.to_spark)."""
        sql, args = to_spark(self._renamed(query), params)
        return self.spark.sql(sql, args=args or None)

    def put(self, name: str, frame: Any) -> None:
        """A Spark DataFrame as the build's table `name` (an input, or a step computed here)."""
        self.tables.add(name)
        if name in self.keep:
            frame = frame.localCheckpoint()  # computed once for the steps that read it
        frame.createOrReplaceTempView(self.view(name))
        self.frames[name] = frame

    def create(self, name: str, query: exp.Expression, params: dict[str, Any] | None = None) -> None:
        if name in self.rewrites:
            query = self.rewrites[name](query.copy())
        self.put(name, self.frame(query, params))

    def sql(self, query: str | exp.Expression, params: dict[str, Any] | None = None) -> _Relation:
        tree = sqlglot.parse_one(query, read="duckdb") if isinstance(query, str) else query
        return _Relation(self, tree, dict(params or {}))

    def execute(self, query: str | exp.Expression, params: Any = None) -> _Result:
        tree = sqlglot.parse_one(query, read="duckdb") if isinstance(query, str) else query
        params = dict(params or {})
        if isinstance(tree, exp.Describe):
            # _create_compressed_table asks for column types to declare DuckDB compression; without
            # them it creates the table from the query, which is the Spark way (no compression here)
            raise ValueError("the Spark build creates tables from their query")
        if isinstance(tree, exp.Drop):
            self.drop(tree.this.name)
            return _Result()
        if isinstance(tree, exp.Create) and tree.expression is not None:
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            self.create(target.name, tree.expression, params)
            return _Result()
        if isinstance(tree, exp.Query):
            return _Result(self.frame(tree, params))
        raise EngineError(f"the Spark build has no form for {type(tree).__name__} statements.")

    def drop(self, name: str) -> None:
        if self.frames.pop(name, None) is not None:
            self.spark.catalog.dropTempView(self.view(name))

    def close(self) -> None:
        """Drop every temporary view of this build."""
        for name in list(self.frames):
            self.drop(name)


def event_rows_query(events: list[str], props: list[str]) -> tuple[exp.Expression, dict[str, object]]:
    """`event_rows(_uid, _ei, ts, <properties>)` over `events` and `_uids`: the events up to as_of of known members.

    The event code is the DuckDB build's: `list_position($events, event)` in its integer type;
    sorted by (event, time) so that a clause's slice of one event and window is a range of files.
    """
    select = event_rows_select(event_code_type(events), [exp.column(n, table="e", quoted=True) for n in props])
    return select, {"events": events}


def _window_name(w: int | None) -> str:
    return "all" if w is None else str(w)


def counter_columns(events: list[str]) -> dict[tuple[str, int | None], str]:
    """(event, window) -> the profile's counter column, named as the DuckDB build names it."""
    return {(ev, w): f"_ev_{i - 1}_{_window_name(w)}" for ev, i in event_codes(events).items() for w in COUNTER_WINDOWS}


def user_events_query(
    config: DatasetConfig, events: list[str], as_of_end: datetime, has_amount: bool
) -> tuple[exp.Expression, dict[str, object]]:
    """Per member with events up to as_of: the roll-up the model rules read, and every counter.

    The same columns and rules as the DuckDB build's `user_events` (core/dataset/build_events.py),
    each counter an aggregate of its own instead of a slot of a packed sum.
    """
    index = event_codes(events)
    ei, ts = exp.column(EI, quoted=True), exp.column("ts")

    def ei_in(names) -> exp.Expression:
        ids = [index[n] for n in names if n in index]
        if not ids:
            return exp.false()
        return exp.In(this=ei.copy(), expressions=[exp.Literal.number(i) for i in ids])

    def since(days: int) -> exp.Expression:
        return exp.GTE(this=ts.copy(), expression=exp.Placeholder(this=f"start_{days}"))

    def agg(func: exp.Expression, cond: exp.Expression, name: str) -> exp.Expression:
        return exp.alias_(exp.Filter(this=func, expression=exp.Where(this=cond)), name, quoted=True)

    def count(cond: exp.Expression, name: str) -> exp.Expression:
        return agg(exp.Count(this=exp.Star()), cond, name)

    windows = [w for w in COUNTER_WINDOWS if w is not None]
    params: dict[str, object] = {
        f"start_{w}": as_of_end - timedelta(days=w)
        for w in {*windows, config.rfm_window_days, config.aipl.lookback_days}
    }
    purchase, lookback = ei_in([config.purchase_event]), config.aipl.lookback_days
    amount = exp.column("amount", quoted=True) if has_amount else exp.null()
    inner: list[exp.Expression] = [
        exp.column(UID, quoted=True),
        exp.alias_(exp.Min(this=ts.copy()), "first_event_at", quoted=True),
        exp.alias_(exp.Max(this=ts.copy()), "last_event_at", quoted=True),
        exp.alias_(exp.Count(this=exp.Star()), "n_events", quoted=True),
        exp.alias_(
            monetary_sum(amount, exp.and_(purchase, since(config.rfm_window_days))), "rfm_monetary", quoted=True
        ),
        agg(exp.Max(this=ts.copy()), purchase, "last_purchase_at"),
        agg(exp.Min(this=ts.copy()), exp.and_(purchase, since(lookback)), "aipl_first_purchase_at"),
        agg(exp.Max(this=ts.copy()), ei_in(config.aipl.loyalty_events), "last_loyalty_at"),
        count(exp.and_(purchase, since(config.rfm_window_days)), "rfm_purchases"),
        count(exp.and_(purchase, since(lookback)), "aipl_purchases"),
        count(exp.and_(ei_in(config.aipl.interest), since(lookback)), "n_interest"),
        count(exp.and_(ei_in(config.aipl.awareness), since(lookback)), "n_awareness"),
    ]
    columns = counter_columns(events)
    for (ev, w), col in columns.items():
        is_event = exp.EQ(this=ei.copy(), expression=exp.Literal.number(index[ev]))
        inner.append(count(is_event if w is None else exp.and_(is_event, since(w)), col))
    grouped = exp.select(*inner).from_("event_rows").group_by(exp.column(UID, quoted=True))

    def col(name: str) -> exp.Column:
        return exp.column(name, quoted=True)

    outer: list[exp.Expression] = [
        col(c)
        for c in (
            UID,
            "first_event_at",
            "last_event_at",
            "n_events",
            "rfm_monetary",
            "aipl_first_purchase_at",
            "rfm_purchases",
        )
    ]
    outer += [
        exp.alias_(
            exp.If(
                this=exp.GT(this=col("rfm_purchases"), expression=exp.Literal.number(0)),
                true=col("last_purchase_at"),
                false=exp.null(),
            ),
            "rfm_last_purchase_at",
            quoted=True,
        ),
        col("aipl_purchases"),
        exp.alias_(
            exp.If(
                this=exp.GT(this=col("last_loyalty_at"), expression=col("aipl_first_purchase_at")),
                true=col("last_loyalty_at"),
                false=exp.null(),
            ),
            "aipl_last_loyalty_at",
            quoted=True,
        ),
        exp.alias_(exp.GT(this=col("n_interest"), expression=exp.Literal.number(0)), "aipl_interested", quoted=True),
        exp.alias_(exp.GT(this=col("n_awareness"), expression=exp.Literal.number(0)), "aipl_aware", quoted=True),
        *[col(c) for c in columns.values()],
    ]
    return exp.select(*outer).from_(exp.alias_(exp.Subquery(this=grouped), "g")), params


def read_counters(columns: Iterable[str], table: str = "c") -> Callable[[exp.Expression], exp.Expression]:
    """A rewrite of the profile's query: each counter column read from `user_events` (0 for no events)."""
    wanted = set(columns)

    def rewrite(query: exp.Expression) -> exp.Expression:
        for item in query.expressions:
            if isinstance(item, exp.Alias) and item.alias in wanted:
                value = exp.func("coalesce", exp.column(item.alias, table=table, quoted=True), exp.Literal.number(0))
                item.set("this", exp.Cast(this=value, to=exp.DataType.build("INTEGER")))
        return query

    return rewrite
