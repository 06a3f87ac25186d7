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

from typing import Any

from core.catalog import UID

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
