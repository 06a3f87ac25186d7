"""A funnel's members table, computed by one pass (core/analyses/funnel_paths.py) and kept for reuse.

`members_table(ds, spec, …)` answers the name of an in-memory table with the columns of
`queries/funnel_members.sql` (`_uid, deepest, excluded, open, start_value, t1 … t8`): the
candidate rows are read by one named query, put in (member, time) order and walked in numpy, and the
exclusions and step-1 property joined back in SQL. The table is kept per (dataset version and
scope, funnel, base, step-1 property) in the dataset's in-memory database (never in the dataset or
the cache file: dropping it changes no answer), so the page's breakdown, trend and histogram and
the builder's `funnel` condition reuse it; the least recently used are dropped past `MAX_TABLES`.

A `funnel` condition compiled inside `deferred()` (core.segments.counts.segment_condition does)
is a stand-in table that `materialized(ds, tree)` swaps for that table; compiled elsewhere it is
the plain-SQL members subquery (core.analyses.funnel_sql.reached_tree), self-contained. On a Spark
dataset (`ds.engine == "spark"`) the table is a Spark view made by core/engine/spark_funnels.py from
the same walk (Spark cannot run the plain plan's ASOF JOIN).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from core.analyses.funnel_paths import WalkBounds, walk_table
from core.analyses.funnel_spec import FunnelError, FunnelSpec
from core.analyses.funnel_sql import DEFERRED, FUNNEL_META, bind_file_params, funnel_parts, mask
from core.queries import load_query, named_query

if TYPE_CHECKING:
    from core.dataset import Dataset

MAX_TABLES = 4  # members tables kept per process (10M members, ~1.4M entrants: ~150 MB each)
PREFIX = "_funnel_"
WALKED = "funnel_walked"  # the walk's result, registered on the cursor for one statement
_LOCK = threading.Lock()
_USED: dict[str, float] = {}  # table name -> last use (monotonic), for dropping the least recently used


def _us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive (UTC) timestamp, as DuckDB's `epoch_us`."""
    return (moment - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def table_key(ds: Dataset, spec: FunnelSpec, base_key: str, start_property: str | None) -> str:
    """The table's name: a digest of the dataset version and scope, the funnel, the base and the property."""
    canonical = json.dumps(spec.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    text = "|".join([ds.fingerprint, ds.schema or "", str(ds.as_of), canonical, base_key, start_property or ""])
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()[:20]


def _qualified(ds: Dataset, name: str) -> exp.Table:
    return exp.table_(name, db=ds.schema or "main", catalog="memory", quoted=True)


def walked_select(ctx, spec: FunnelSpec, parts) -> exp.Expression:
    """The statement turning the registered walk (`funnel_walked`) into the members table's rows."""
    excluded: exp.Expression = exp.false()
    if spec.exclusions:
        excluded = named_query("funnel_walked_excluded", exclusion=parts.exclusion).selects[0]
    start: exp.Expression = exp.Null()
    if not isinstance(parts.start_value, exp.Null):
        start = exp.Subquery(this=named_query("funnel_walked_start", value=parts.start_value, step1=parts.steps[0]))
    tree = named_query("funnel_walked", excluded=excluded, start_value=start)
    return bind_file_params(tree, parts.values, ctx)


def candidates_query(ctx, parts) -> exp.Expression:
    """The named query reading the candidate rows (`_uid, ts` in microseconds, `mask`)."""
    return bind_file_params(
        named_query("funnel_candidates", mask=mask(parts.steps), candidate=parts.candidate), parts.values, ctx
    )


def walk_bounds(spec: FunnelSpec, parts) -> WalkBounds:
    """The walk's numbers besides its rows, from the funnel and its compiled parts."""
    v = parts.values
    return WalkBounds(
        k=len(spec.steps), from_us=_us(v["from_ts"]), to_end_us=_us(v["to_end"]),
        window_us=int(spec.window.total_seconds() * 1_000_000), as_of_end_us=_us(v["as_of_end"]),
    )  # fmt: skip


def walked(spec: FunnelSpec, parts, got: pa.Table) -> pa.Table:
    """The one-pass walk over the candidate rows `got` (any order): the rows `funnel_walked` stands for."""
    return walk_table(got, walk_bounds(spec, parts))


def _compute(
    ds: Dataset,
    spec: FunnelSpec,
    base: exp.Expression | None,
    base_params: dict,
    start_property: str | None,
    target: exp.Table,
) -> None:
    """Read the candidate rows, walk them, and store the members table as `target`."""
    from core.segments.compile import Compiler, renumber

    ctx = Compiler(ds.catalog, None, None)
    parts = funnel_parts(ctx, spec, base=base, start_property=start_property)
    if ctx.issues:
        raise FunnelError(ctx.issues)
    rows, rows_params = renumber(candidates_query(ctx, parts), {**ctx.params, **base_params})
    select, select_params = renumber(walked_select(ctx, spec, parts), {**ctx.params, **base_params})
    create = exp.Create(this=target, kind="TABLE", replace=True, expression=select)
    cur = ds.cursor()
    try:
        got = cur.sql(rows.sql("duckdb"), params=rows_params).to_arrow_table()
        cur.register(WALKED, walked(spec, parts, got))
        del got
        try:
            cur.execute(create.sql("duckdb"), select_params)
        finally:
            cur.unregister(WALKED)
    finally:
        cur.close()


def _drop(schema: str, name: str) -> str:
    return exp.Drop(tables=[exp.table_(name, db=schema, catalog="memory", quoted=True)], kind="TABLE", exists=True).sql(
        "duckdb"
    )


def _evict(ds: Dataset, keep: str) -> None:
    """Drop the least recently used members tables past MAX_TABLES (never `keep`)."""
    cur = ds.cursor()
    try:
        held = cur.execute(load_query("funnel_tables")).fetchall()
        held = sorted(held, key=lambda r: _USED.get(r[1], 0.0))
        for schema, name in held[: max(0, len(held) - MAX_TABLES)]:
            if name != keep:
                cur.execute(_drop(schema, name))
                _USED.pop(name, None)
    finally:
        cur.close()


def members_table(
    ds: Dataset,
    spec: FunnelSpec,
    *,
    base: exp.Expression | None = None,
    base_params: dict | None = None,
    start_property: str | None = None,
) -> exp.Table:
    """The funnel's members table (computed on first use per dataset version, scope, funnel, base and property)."""
    base_params = base_params or {}
    base_key = "" if base is None else base.sql("duckdb") + repr(sorted((k, repr(v)) for k, v in base_params.items()))
    name = table_key(ds, spec, base_key, start_property)
    if ds.engine != "duckdb":  # the engine seam: Spark keeps its members tables as its own views
        from core.engine.spark_funnels import members_table as on_engine

        return on_engine(ds, spec, name, base=base, base_params=base_params, start_property=start_property)
    target = _qualified(ds, name)
    with _LOCK:
        cur = ds.cursor()
        try:
            held = {r[1] for r in cur.execute(load_query("funnel_tables")).fetchall() if r[0] == (ds.schema or "main")}
        finally:
            cur.close()
        if name not in held:
            _compute(ds, spec, base, base_params, start_property, target)
        _USED[name] = time.monotonic()
        if name not in held:
            _evict(ds, name)
    return target


def clear(ds: Dataset) -> None:
    """Drop every stored members table of this process's in-memory database (benchmarks time a fresh computation)."""
    if ds.engine != "duckdb":
        from core.engine.spark_funnels import clear as on_engine

        return on_engine(ds)
    with _LOCK:
        cur = ds.cursor()
        try:
            for schema, name in cur.execute(load_query("funnel_tables")).fetchall():
                cur.execute(_drop(schema, name))
                _USED.pop(name, None)
        finally:
            cur.close()


@contextmanager
def deferred() -> Iterator[None]:
    """While compiling inside this block, `funnel` conditions compile to stand-ins for `materialized`
    (on either engine: `members_table` gives Spark its own table)."""
    token = DEFERRED.set(True)
    try:
        yield
    finally:
        DEFERRED.reset(token)


def materialized(ds: Dataset, tree: exp.Expression) -> exp.Expression:
    """A definition compiled in `deferred()` with each `funnel` condition reading its stored members table.

    The answer is the same: the table holds exactly what the plain subquery selects. Trees
    without a funnel condition come back untouched.
    """
    marked = [node for node in tree.find_all(exp.Table) if FUNNEL_META in node.meta]
    if not marked:
        return tree
    tree = tree.copy()
    for node in list(tree.find_all(exp.Table)):
        if FUNNEL_META in node.meta:
            table = members_table(ds, node.meta[FUNNEL_META])
            table.set("alias", node.args.get("alias"))
            node.replace(table)
    return tree
