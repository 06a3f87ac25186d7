"""Queries on Apache Spark: one session per process, the derived tables read from Parquet.

Today the derived tables (`profile`, `event_rows`) are built by DuckDB (core/dataset/) and
written once as Parquet next to the cache; Spark reads those files. Everything a query needs
is then computed by Spark from the same compiled trees, rendered by core/engine/spark_sql.py;
core/engine/spark_dataset.py gives the core functions a Dataset whose queries run here.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.engine import EngineError, EngineSettings, engine_settings
from core.engine.spark_sql import to_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from core.dataset import Dataset

DERIVED_TABLES = ("profile", "event_rows", "events", "ab_members", "ab_unknown")
# the columns Spark gets of each table (None: all); of the contract's `events` only the time,
# which is all the Overview reads (its count, first and last day); `ab_members` / `ab_unknown`: the
# contract's assignments resolved per member on the DuckDB side (core/analyses/ab_members.py; their variant
# key `v` is only compared for equality, so DuckDB's hash values serve Spark as they are). These copies serve
# ADESK_SPARK_BUILD=duckdb; Spark's own build resolves the assignments itself (core/engine/spark_assignments.py)
COLUMNS: dict[str, tuple[str, ...] | None] = {
    "profile": None,
    "event_rows": None,
    "events": ("ts",),
    "ab_members": None,
    "ab_unknown": None,
}
_LOCK = threading.Lock()
_SESSION: SparkSession | None = None
_REGISTERED: dict[str, Path] = {}


def spark_session(settings: EngineSettings | None = None) -> SparkSession:
    """This process's Spark session (created on first use): local, or a Spark Connect client."""
    global _SESSION
    settings = settings or engine_settings()
    with _LOCK:
        if _SESSION is not None:
            return _SESSION
        try:
            from pyspark.sql import SparkSession
        except ImportError as err:
            raise EngineError(
                "ADESK_ENGINE=spark needs pyspark: pip install -e '.[spark]' (and a Java runtime for local Spark)."
            ) from err
        builder = SparkSession.builder.appName("audience-desk")
        if settings.is_connect:
            builder = builder.remote(settings.spark_remote)
        else:
            # local Python workers (a funnel's walk in mapInArrow) run this interpreter: numpy and pyarrow
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            partitions = os.environ.get("ADESK_SPARK_SHUFFLE_PARTITIONS", "4")
            builder = (
                builder.master(settings.spark_remote)
                .config("spark.ui.enabled", "false")
                .config("spark.sql.shuffle.partitions", partitions)
                .config("spark.driver.memory", os.environ.get("ADESK_SPARK_DRIVER_MEMORY", "1g"))
            )
        session = builder.getOrCreate()
        # the semantics the rules in spark_sql.py are written for
        session.conf.set("spark.sql.ansi.enabled", "true")
        session.conf.set("spark.sql.session.timeZone", "UTC")
        if not settings.is_connect:
            session.sparkContext.setLogLevel("OFF")
        _SESSION = session
        return session


def use_session(session: SparkSession) -> None:
    """Adopt an existing session (the tests' shared one) as this process's."""
    global _SESSION
    with _LOCK:
        _SESSION = session
        _REGISTERED.clear()


def derived_parquet(ds: Dataset, folder: Path | None = None) -> Path:
    """The dataset's derived tables as Parquet files next to its cache, or in `folder` (written once per cache)."""
    out = folder or ds.cache_path.with_suffix(".spark")
    if all((out / f"{t}.parquet").exists() for t in DERIVED_TABLES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    from core.analyses import ab_members  # resolved on first need, not by the build

    ab_members.ensure(ds)
    cur = ds.cursor()
    try:
        for table in DERIVED_TABLES:
            target = out / f"{table}.parquet"
            if target.exists():  # written by Spark's own build (core/engine/spark_build.py) or before
                continue
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            rel = cur.table(table)
            if COLUMNS[table] is not None:
                rel = rel.select(*COLUMNS[table])
            rel.write_parquet(str(tmp))  # the relation API: no SQL text with a path
            os.replace(tmp, target)
    finally:
        cur.close()
    return out


def register(spark: SparkSession, folder: Path) -> bool:
    """Spark's `profile` and `event_rows` views over the Parquet copies; False when they already were."""
    changed = False
    for table in DERIVED_TABLES:
        path = folder / f"{table}.parquet"
        if _REGISTERED.get(table) == path:
            continue
        spark.read.parquet(str(path)).createOrReplaceTempView(table)
        _REGISTERED[table] = path
        changed = True
    return changed


def run(spark: SparkSession, tree: exp.Expression, params: dict[str, Any] | None = None) -> list[tuple]:
    """Run a DuckDB-dialect tree on Spark (rendered by spark_sql.to_spark); all rows as tuples."""
    sql, args = to_spark(tree, params)
    return [tuple(row) for row in spark.sql(sql, args=args or None).collect()]


def spark_for(ds: Dataset) -> SparkSession:
    """The session, with this dataset's derived tables registered."""
    spark = spark_session()
    register(spark, derived_parquet(ds))
    return spark


def arrow(spark: SparkSession, tree: exp.Expression, params: dict[str, Any] | None = None):
    """A query's result on Spark as a pyarrow table (column names and types kept)."""
    sql, args = to_spark(tree, params)
    return spark.sql(sql, args=args or None).toArrow()
