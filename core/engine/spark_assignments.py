"""Assignments resolved per member on Spark: the contract's (`ab_members`, `ab_unknown`) and an export's holdout.

The same rules as DuckDB's `queries/ab_members_build.sql`, `ab_unknown_build.sql` and
`ab_holdout_resolve.sql`: a member's assignment is their earliest row, rows in two variants make a
multiple exposure (left out of every count), ids not in `users` are counted apart. The variant key
`v` is only compared for equality; DuckDB's is its `hash()`, Spark's the first 60 bits of the variant's
SHA-256 (`variant_key`), never an engine's own hash. The two keys differ, so the variant kept for a
multiple-exposure member (the one with the smallest key) may differ too: no answer reads it.

Each function takes the Spark session (or frames) and returns frames, so the resolution can run in
Spark's derived build (core/engine/spark_build.py) or lazily on first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from core.catalog import UID

if TYPE_CHECKING:
    from core.analyses.experiments import Experiment
    from core.engine.spark_dataset import SparkDataset as Dataset
    from core.store import AppStore

MEMBERS_SCHEMA = "experiment string, _uid int, assigned_at timestamp_ntz, v bigint, variant string, multiple boolean"
UNKNOWN_SCHEMA = "experiment string, multiple_exposure bigint, unknown_users bigint"
HOLDOUT_SCHEMA = "_uid int, assigned_at timestamp_ntz, v bigint, variant string, multiple boolean"


def _f() -> Any:
    from pyspark.sql import functions as F  # noqa: N812 (pyspark's usual name)

    return F


def variant_key(column: Any) -> Any:
    """The variant's key: the first 15 hex digits of its SHA-256 as a BIGINT (Python: int(sha256[:15], 16))."""
    F = _f()  # noqa: N806
    return F.conv(F.substring(F.sha2(column.cast("string"), 256), 1, 15), 16, 10).cast("bigint")


def resolve_assignments(spark: Any, assignments: Any | None, uids: Any) -> tuple[Any, Any]:
    """(`ab_members`, `ab_unknown`) from the contract's assignments (None: no file) and the members' `_uid`s.

    `assignments`: experiment, user_id (text), variant, assigned_at (wall-clock time in the dataset's zone);
    `uids`: user_id, _uid.
    """
    if assignments is None:
        return spark.createDataFrame([], MEMBERS_SCHEMA), spark.createDataFrame([], UNKNOWN_SCHEMA)
    F = _f()  # noqa: N806
    complete = assignments.where(
        F.col("experiment").isNotNull() & F.col("variant").isNotNull() & F.col("assigned_at").isNotNull()
    )
    assigned = complete.join(uids, "user_id").select(
        "experiment",
        F.col(UID).cast("int").alias(UID),
        variant_key(F.col("variant")).alias("v"),
        "variant",
        "assigned_at",
    )
    per_user = assigned.groupBy("experiment", UID).agg(
        F.min("assigned_at").alias("assigned_at"),
        F.min("v").alias("v"),
        (F.min("v") != F.max("v")).alias("multiple"),
    )
    names = assigned.select("experiment", "v", "variant").distinct()
    members = (
        per_user.join(names, ["experiment", "v"])
        .select("experiment", UID, "assigned_at", "v", "variant", "multiple")
        .orderBy("experiment", UID)  # one experiment's rows together, as DuckDB's file
    )
    unknown = (
        complete.where(F.col("user_id").isNotNull())
        .join(uids, "user_id", "left_anti")
        .groupBy("experiment", "user_id")
        .agg((F.min("variant") != F.max("variant")).alias("multiple"))
        .groupBy("experiment")
        .agg(
            F.count_if(F.col("multiple")).alias("multiple_exposure"),
            F.count_if(~F.col("multiple")).alias("unknown_users"),
        )
    )
    return members, unknown


def resolve_holdout(rows: Any, uids: Any) -> Any:
    """An export's holdout resolved per member (as `queries/ab_holdout_resolve.sql`): ids not in `users` keep no `_uid`.

    `rows`: the export's assignments (experiment already chosen): user_id, variant, assigned_at.
    """
    F = _f()  # noqa: N806
    assigned = (
        rows.where(F.col("user_id").isNotNull() & F.col("variant").isNotNull() & F.col("assigned_at").isNotNull())
        .join(uids, "user_id", "left")
        .select(
            F.col(UID).cast("int").alias(UID),
            "user_id",
            variant_key(F.col("variant")).alias("v"),
            "variant",
            "assigned_at",
        )
    )

    def per(frame: Any, key: str) -> Any:
        return frame.groupBy(key).agg(
            F.min("assigned_at").alias("assigned_at"),
            F.min("v").alias("v"),
            (F.min("v") != F.max("v")).alias("multiple"),
        )

    known = per(assigned.where(F.col(UID).isNotNull()), UID)
    unknown = per(assigned.where(F.col(UID).isNull()), "user_id").select(
        F.lit(None).cast("int").alias(UID), "assigned_at", "v", "multiple"
    )
    names = assigned.select("v", "variant").distinct()
    return known.unionByName(unknown).join(names, "v").select(UID, "assigned_at", "v", "variant", "multiple")


# --- an export's holdout on Spark (core/analyses/experiments.py `resolved` hands a Spark dataset here) ----------

_HOLDOUT_LOCK = threading.Lock()
_HOLDOUTS: dict[tuple[int, str], bool] = {}  # (session, view) already made in that session


def _export_rows(spark: Any, ds: Dataset, experiment: Experiment, store: AppStore | None) -> Any:
    """The export's assignment rows as Spark reads them: its holdout file (read where it is), or older SQLite rows."""
    from core.analyses.ab_assignments import legacy_rows

    F = _f()  # noqa: N806
    if experiment.holdout_path:
        rows = spark.read.parquet(experiment.holdout_path)
    elif experiment.legacy and store is not None:
        rows = spark.createDataFrame(legacy_rows(store, [experiment]))  # through the client, as Arrow
    else:
        rows = spark.createDataFrame([], "experiment string, user_id string, variant string, assigned_at timestamp")
    # the export's time is a UTC instant: its wall-clock time in the dataset's zone, as DuckDB's timezone()
    local = F.from_utc_timestamp(F.col("assigned_at"), ds.config.timezone).cast("timestamp_ntz")
    return rows.where(F.col("experiment") == F.lit(experiment.name)).select(
        F.col("user_id").cast("string").alias("user_id"),
        F.col("variant").cast("string").alias("variant"),
        local.alias("assigned_at"),
    )


def holdout_view(ds: Dataset, experiment: Experiment, store: AppStore | None) -> str:
    """A Spark view of the export's holdout resolved per member (`resolve_holdout` over the whole `profile`).

    Made once per session, data version and export (computed once: `localCheckpoint`), as DuckDB keeps its
    resolved file; a data scope filters it when read (queries/ab_resolve_holdout.sql), as DuckDB's.
    """
    from core.analyses.ab_holdouts import file_for

    spark = ds.activate()
    name = f"_adesk_holdout_{ds.fingerprint[:12]}_{file_for(ds, experiment).stem[:16]}"
    with _HOLDOUT_LOCK:
        if (id(spark), name) not in _HOLDOUTS:
            uids = spark.table("profile").select("user_id", UID)  # the whole dataset's members
            resolved = resolve_holdout(_export_rows(spark, ds, experiment, store), uids)
            resolved.localCheckpoint().createOrReplaceTempView(name)
            _HOLDOUTS[(id(spark), name)] = True
    return name
