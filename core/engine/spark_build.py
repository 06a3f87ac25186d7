"""The derived tables built by Spark: `profile` (RFM, AIPL, lifecycle, counters, tags), `event_rows`, `events`, the
resolved assignments and the catalog's metadata.

With `ADESK_ENGINE=spark` a dataset's Spark tables are computed by Spark from the dataset's own
Parquet files (read where they are) and written as Parquet in the Spark cache folder
(`ADESK_SPARK_CACHE_DIR`, default next to the DuckDB cache: `<cache>.spark/<table>.parquet/`,
one folder per table as Spark writes it, complete when its `_SUCCESS` is there). The steps
are the DuckDB build's (core/dataset/build*.py), run through core/engine/spark_build_sql.py:

1. the contract's views: `users`, `events`, `tags` with timestamps in the dataset's zone and
   `user_id` as text; members numbered by their row across the users files (`_uid`, as DuckDB's);
2. `event_rows` and the per-member roll-up `user_events` (Spark-only trees, same columns);
3. `rfm`: the named rule `queries/rfm_at.sql` at `as_of` (the AIPL stage is computed in `profile`'s select);
4. the tags as bit masks and `profile`: `build_tags` and `build_profile` of core/dataset;
5. the contract's assignments resolved per member (`ab_members`, `ab_unknown`: core/engine/spark_assignments.py);
6. the catalog and metadata rows (core/engine/spark_metadata.py: types, exact distinct values, tag holders,
   `as_of`, the events of unknown members), written last as `metadata.json`: the folder is then complete.

Spark's event list, properties, tags and counter columns are also checked against the opened dataset's
catalog (DuckDB's build still runs when a dataset is opened). `ADESK_SPARK_BUILD=duckdb` gives Spark
Parquet copies of DuckDB's tables instead (the way before; the bench's baseline).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import EI, UID
from core.dataset.build_events import create_table
from core.dataset.build_tables import build_profile, build_tags
from core.dataset.connection import TIMESTAMP_COLUMNS, is_partition_column
from core.engine import EngineError
from core.engine import spark as spark_engine
from core.engine.spark_assignments import resolve_assignments
from core.engine.spark_build_sql import (
    BuildConnection,
    counter_columns,
    event_rows_query,
    read_counters,
    user_events_query,
)
from core.engine.spark_metadata import as_of_day, build_metadata, read_metadata
from core.models.rfm import class_rule

if TYPE_CHECKING:
    from core.dataset import Dataset

BUILT = ("profile", "event_rows", "events", "ab_members", "ab_unknown")  # the tables this module computes on Spark
BUILDS = ("spark", "duckdb")


def build_setting(environ: dict[str, str] | None = None) -> str:
    """`ADESK_SPARK_BUILD`: `spark` (default: the tables computed by Spark) or `duckdb` (copies of DuckDB's)."""
    env = os.environ if environ is None else environ
    value = (env.get("ADESK_SPARK_BUILD") or "spark").strip().lower()
    if value not in BUILDS:
        raise EngineError(f"ADESK_SPARK_BUILD={value!r} is not a build; use one of: {', '.join(BUILDS)}.")
    return value


def spark_folder(ds: Dataset) -> Path:
    """Where the dataset's Spark tables live: `ADESK_SPARK_CACHE_DIR` or beside the DuckDB cache (same version name)."""
    root = os.environ.get("ADESK_SPARK_CACHE_DIR")
    name = ds.cache_path.with_suffix(".spark").name
    return Path(root) / name if root else ds.cache_path.with_suffix(".spark")


def is_built(folder: Path, table: str) -> bool:
    """A table Spark wrote completely (a folder with `_SUCCESS`; a single file is a DuckDB copy)."""
    return (folder / f"{table}.parquet" / "_SUCCESS").is_file()


def complete(folder: Path) -> bool:
    """Every table Spark builds, and their metadata (written last)."""
    return all(is_built(folder, t) for t in BUILT) and read_metadata(folder) is not None


def spark_tables(ds: Dataset, spark: Any) -> Path:
    """The folder of the dataset's Spark tables: built by Spark when missing, the rest copied from DuckDB."""
    if build_setting() == "duckdb":
        return spark_engine.derived_parquet(ds)
    folder = spark_folder(ds)
    if not complete(folder):
        build_tables(ds, spark, folder)
    return folder


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_tables(ds: Dataset, spark: Any, folder: Path | None = None) -> Path:
    """Compute `profile`, `event_rows` and `events` on Spark and write them as Parquet in `folder`."""
    from core.validate import table_files

    folder = folder or spark_folder(ds)
    with _locked(folder):
        if complete(folder):  # another process built them while we waited
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        con = BuildConnection(spark, (), keep=("user_events",))
        try:
            _build(con, ds, table_files(ds.path), folder)
        finally:
            con.close()
    return folder


def _write(frame: Any, target: Path) -> None:
    """One table as Parquet files in a folder, renamed into place when complete (readers never see half)."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    frame.write.mode("overwrite").parquet(str(tmp))
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()  # a DuckDB copy from before
    os.replace(tmp, target)


def read_contract_table(spark: Any, ds: Dataset, files: list[Path], table: str, *, offset: int | None = None) -> Any:
    """A contract table as DuckDB's view reads it: timestamps in the dataset's zone, `user_id` as text.

    With `offset`, also `_uid`: offset + the row's position in its file (DuckDB's member number).
    """
    from pyspark.sql import functions as F  # noqa: N812 (pyspark's usual name)
    from pyspark.sql import types as T  # noqa: N812

    reader = spark.read.option("mergeSchema", "true")
    folder = ds.path / table
    if all(folder in f.parents for f in files):
        reader = reader.option("basePath", str(folder))  # hive partition columns, as DuckDB's hive_partitioning
    frame = reader.parquet(*[str(f) for f in files])
    out = []
    for f in frame.schema.fields:
        col = F.col(f"`{f.name}`")
        if f.name in TIMESTAMP_COLUMNS.get(table, ()):
            if isinstance(f.dataType, T.TimestampType):  # an instant: its wall-clock time in the dataset's zone
                col = F.from_utc_timestamp(col, ds.config.timezone).cast("timestamp_ntz")
            elif isinstance(f.dataType, T.DateType):
                col = col.cast("timestamp_ntz")
            elif not isinstance(f.dataType, T.TimestampNTZType):
                raise EngineError(
                    f"{table}.{f.name} is stored as {f.dataType.simpleString()}: the Spark build reads timestamps "
                    "stored as timestamps or dates only; set ADESK_SPARK_BUILD=duckdb for this dataset."
                )
        elif f.name == "user_id":
            col = col.cast("string")
        out.append(col.alias(f.name))
    if offset is not None:
        out.append((F.lit(offset) + F.col("_metadata.row_index")).cast("int").alias(UID))
    return frame.select(*out)


def _numbered_users(spark: Any, ds: Dataset, files: list[Path]) -> Any:
    """`users` plus `_uid`: the member's row across the users files, in their order (as DuckDB numbers them)."""
    out, offset = None, 0
    for i, f in enumerate(files):
        one = read_contract_table(spark, ds, [f], "users", offset=offset)
        out = one if out is None else out.unionByName(one, allowMissingColumns=True)
        if i + 1 < len(files):
            offset += spark.read.parquet(str(f)).count()  # from the file's footer
    return out


def _build(con: BuildConnection, ds: Dataset, files: dict[str, list[Path]], folder: Path) -> None:
    from pyspark.sql import functions as F  # noqa: N812 (pyspark's usual name)

    spark, config = con.spark, ds.config
    if not files.get("events"):
        raise EngineError("the Spark build needs events (the DuckDB build refuses a dataset without them too).")
    con.put("users", read_contract_table(spark, ds, files["users"], "users"))
    con.put("users_n", _numbered_users(spark, ds, files["users"]))
    con.create("_uids", exp.select(exp.column("user_id"), exp.column(UID, quoted=True)).from_("users_n"))
    events_frame = read_contract_table(spark, ds, files["events"], "events")
    con.put("events", events_frame)
    if files.get("tags"):
        con.put("tags", read_contract_table(spark, ds, files["tags"], "tags"))
    event = exp.column("event")
    listed = con.execute(
        exp.select(event).distinct().from_("events").where(event.is_(exp.null()).not_()).order_by(event.copy())
    )
    events = [r[0] for r in listed.fetchall()]
    _same(events, list(ds.catalog.events), "event names")
    reserved = {"user_id", "event", "ts", UID, EI}
    props = [c for c in events_frame.columns if c not in reserved and not is_partition_column(ds.path, c)]
    _same(sorted(props), sorted(ds.catalog.event_properties), "event properties")
    counters = counter_columns(events)
    _same(counters, dict(ds.catalog.event_counters), "event counters")
    as_of = as_of_day(ds, events_frame)
    as_of_end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())

    query, params = event_rows_query(events, props)
    con.create("event_rows", query, {**params, "as_of_end": as_of_end})
    _write(con.frames["event_rows"], folder / "event_rows.parquet")
    con.put("event_rows", spark.read.parquet(str(folder / "event_rows.parquet")))  # the roll-up reads the file
    con.create("user_events", *user_events_query(config, events, as_of_end, "amount" in props))
    create_table(con, "rfm", *class_rule(exp.to_table("user_events"), as_of))
    tag_cols = build_tags(con, files)
    _same([t for t, _, _ in tag_cols], sorted(ds.catalog.tags), "tags")
    con.rewrites["profile"] = read_counters(counters.values())
    build_profile(con, config, as_of_end, events, counters, tag_cols)
    _write(con.frames["profile"], folder / "profile.parquet")
    _write(events_frame.select("ts"), folder / "events.parquet")
    # the contract's assignments resolved per member (core/engine/spark_assignments.py), on Spark's member numbers
    assignments = (
        read_contract_table(spark, ds, files["assignments"], "assignments") if files.get("assignments") else None
    )
    members, unknown_ids = resolve_assignments(spark, assignments, con.frames["_uids"])
    _write(members, folder / "ab_members.parquet")
    _write(unknown_ids, folder / "ab_unknown.parquet")
    con.put("profile", spark.read.parquet(str(folder / "profile.parquet")))  # the metadata counts read the files
    con.put("event_rows", spark.read.parquet(str(folder / "event_rows.parquet")))
    seen = events_frame.where(
        F.col("user_id").isNotNull() & (F.col("ts") < F.lit(as_of_end.isoformat(sep=" ")).cast("timestamp_ntz"))
    ).count()
    unknown = seen - con.frames["event_rows"].count()  # events up to as_of of ids not in `users`, as DuckDB counts them
    # written last: the folder is then complete
    build_metadata(con, ds, as_of, events, props, counters, tag_cols, unknown, folder, files["events"])


def _same(spark_side: object, catalog_side: object, what: str) -> None:
    if spark_side != catalog_side:
        raise EngineError(f"the Spark build found other {what} than the dataset's catalog; rebuild both caches.")
