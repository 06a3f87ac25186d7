"""A funnel's members table on Spark: the same one-pass walk as DuckDB's, kept as a Spark view.

core/analyses/funnel_table.py calls `members_table` here for a Spark dataset. Spark cannot run
the plain plan's ASOF JOIN, so the table is made as DuckDB's is: Spark reads the candidate rows
(`queries/funnel_candidates.sql`, rendered for Spark), the rows come to this process through
Arrow, the walk (core/analyses/funnel_paths.py, numpy) gives each entrant's deepest step and path,
and Spark joins back the exclusions and the step-1 property (`queries/funnel_walked*.sql`). The
result is checkpointed and kept as a temporary view named like DuckDB's table (a digest of the
dataset version, funnel, base and property), the 4 most recently used per session. So the funnel
page's numbers and every `funnel` segment condition read the same members on both engines.

Limit: the candidate rows pass through the driver (≈ 14 B a row through Arrow), as an export's
rows do; a funnel whose steps' events in the entry range and window do not fit the driver wants
the walk run per member partition on the executors (`mapInArrow`), not built.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING

from sqlglot import exp

from core.analyses.funnel_spec import FunnelError, FunnelSpec
from core.analyses.funnel_sql import funnel_parts
from core.analyses.funnel_table import MAX_TABLES, WALKED, candidates_query, walked, walked_select
from core.engine import spark as spark_engine
from core.engine.spark_dataset import spark_errors

if TYPE_CHECKING:
    from core.engine.spark_dataset import SparkDataset

_LOCK = threading.Lock()
_USED: dict[tuple[int, str], float] = {}  # (session id, view name) -> last use, for dropping the oldest


def _renamed(tree: exp.Expression, old: str, new: str) -> exp.Expression:
    """The tree reading table `new` where it read `old` (each computation registers its own walk)."""

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name == old:
            return exp.Table(this=exp.to_identifier(new), alias=node.args.get("alias"))
        return node

    return tree.transform(rename)


def _compute(ds: SparkDataset, spec: FunnelSpec, name: str, base, base_params: dict, start_property) -> None:
    """Candidate rows on Spark, the walk here, the exclusions and step-1 property on Spark: view `name`."""
    from core.segments.compile import Compiler, renumber

    ctx = Compiler(ds.catalog, None, None)
    parts = funnel_parts(ctx, spec, base=base, start_property=start_property)
    if ctx.issues:
        raise FunnelError(ctx.issues)
    rows, rows_params = renumber(candidates_query(ctx, parts), {**ctx.params, **base_params})
    walk_view = f"{WALKED}_{uuid.uuid4().hex[:12]}"
    select = _renamed(walked_select(ctx, spec, parts), WALKED, walk_view)
    select, select_params = renumber(select, {**ctx.params, **base_params})
    spark = ds.activate()
    got = spark_engine.arrow(spark, ds.local(rows), rows_params)
    spark.createDataFrame(walked(spec, parts, got)).createOrReplaceTempView(walk_view)
    del got
    try:
        sql, args = spark_engine.to_spark(ds.local(select), select_params)
        # computed once and kept (as DuckDB keeps its in-memory table; dropping it changes no answer)
        spark.sql(sql, args=args or None).localCheckpoint().createOrReplaceTempView(name)
    finally:
        spark.catalog.dropTempView(walk_view)


def _evict(ds: SparkDataset, keep: str) -> None:
    """Drop this session's least recently used members views past MAX_TABLES (never `keep`)."""
    session = id(ds.spark)
    held = sorted((used, key) for key, used in _USED.items() if key[0] == session)
    for _used, key in held[: max(0, len(held) - MAX_TABLES)]:
        if key[1] != keep:
            ds.spark.catalog.dropTempView(key[1])
            _USED.pop(key, None)


def members_table(
    ds: SparkDataset,
    spec: FunnelSpec,
    name: str,
    *,
    base: exp.Expression | None = None,
    base_params: dict | None = None,
    start_property: str | None = None,
) -> exp.Table:
    """The funnel's members as Spark view `name` (computed on first use per session): DuckDB's table's columns."""
    key = (id(ds.spark), name)
    with _LOCK, spark_errors():
        ds.activate()
        if key not in _USED or not ds.spark.catalog.tableExists(name):
            _compute(ds, spec, name, base, base_params or {}, start_property)
            _USED[key] = time.monotonic()
            _evict(ds, name)
        _USED[key] = time.monotonic()
    return exp.to_table(name, quoted=True)


def clear(ds: SparkDataset) -> None:
    """Drop this session's members views (benchmarks time a fresh computation)."""
    with _LOCK:
        for key in [k for k in _USED if k[0] == id(ds.spark)]:
            ds.spark.catalog.dropTempView(key[1])
            _USED.pop(key, None)
