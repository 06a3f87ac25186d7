"""A funnel's members table on Spark: the same one-pass walk as DuckDB's, run on the executors.

core/analyses/funnel_table.py calls `members_table` here for a Spark dataset. Spark cannot run
the plain plan's ASOF JOIN, so the table is made from the same walk as DuckDB's: Spark reads the
candidate rows (`queries/funnel_candidates.sql`, rendered for Spark), hash-partitions them by
member (every row of a member in one partition), and each partition runs the walk
(core/analyses/funnel_paths.py, numpy) in its Python worker through `mapInArrow`; Spark then joins
back the exclusions and the step-1 property (`queries/funnel_walked*.sql`). Nothing passes
through the driver but the plan: the result is checkpointed on the executors and kept as a
temporary view named like DuckDB's table (a digest of the dataset version, funnel, base and
property), the 4 most recently used per session; the page's figures are aggregates Spark computes
over it, and a `funnel` segment condition reads it as a table.

`mapInArrow` over a member-partitioned frame, not `groupBy("_uid").applyInArrow`: the walk is
vectorised over many members at once, and one Python call per member (≈ 1.4M entrants at 10M
members) would cost far more than the walk. Both run in local mode and over Spark Connect. The
walk's module is shipped by value (cloudpickle), so executors need numpy and pyarrow — which
PySpark's Arrow functions need anyway — but not this package. A partition holds its members'
candidate rows in one Python worker (≈ 14 B a row): `spark.sql.shuffle.partitions` sizes them.
"""

from __future__ import annotations

import threading
import time
import uuid
from functools import partial
from typing import TYPE_CHECKING

from sqlglot import exp

from core.analyses import funnel_paths
from core.analyses.funnel_paths import WalkBounds, walk_batches
from core.analyses.funnel_spec import FunnelError, FunnelSpec
from core.analyses.funnel_sql import funnel_parts
from core.analyses.funnel_table import MAX_TABLES, WALKED, candidates_query, walk_bounds, walked_select
from core.engine import spark as spark_engine
from core.engine.spark_dataset import spark_errors

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from core.engine.spark_dataset import SparkDataset

# the walk's output (funnel_paths.walk_table): the columns `funnel_walked` stands for
WALKED_SCHEMA = (
    "_uid int, deepest int, open_start boolean, "
    "t1 timestamp, t2 timestamp, t3 timestamp, t4 timestamp, t5 timestamp, t6 timestamp, t7 timestamp, t8 timestamp"
)
_LOCK = threading.Lock()
_USED: dict[tuple[int, str], float] = {}  # (session id, view name) -> last use, for dropping the oldest


def _renamed(tree: exp.Expression, old: str, new: str) -> exp.Expression:
    """The tree reading table `new` where it read `old` (each computation registers its own walk)."""

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name == old:
            return exp.Table(this=exp.to_identifier(new), alias=node.args.get("alias"))
        return node

    return tree.transform(rename)


def walked_frame(rows: DataFrame, bounds: WalkBounds) -> DataFrame:
    """The walk over candidate rows `rows` (`_uid, ts, mask`) on the executors: one walk per member partition."""
    from pyspark import cloudpickle

    # the executors get the walk's code with the plan: numpy and pyarrow are all they need of it
    cloudpickle.register_pickle_by_value(funnel_paths)
    return rows.repartition("_uid").mapInArrow(partial(walk_batches, bounds=bounds), WALKED_SCHEMA)


def _compute(ds: SparkDataset, spec: FunnelSpec, name: str, base, base_params: dict, start_property) -> None:
    """Candidate rows, their walk per member partition, the exclusions and step-1 property on Spark: view `name`."""
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
    sql, args = spark_engine.to_spark(ds.local(rows), rows_params)
    walked_frame(spark.sql(sql, args=args or None), walk_bounds(spec, parts)).createOrReplaceTempView(walk_view)
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
