"""The catalog and metadata of Spark's derived tables, computed by Spark: the rows DuckDB's build writes.

`_meta` (`as_of`: the configured day or the latest event's), `_events`, `_event_columns`, `_tag_columns`
(holders counted on Spark's `profile`), `_attributes` and `_event_properties` (types from Spark's schemas,
exact distinct values counted on Spark), `_health` (the validator's warnings, which the app server's
validation found, and the events of unknown members counted on Spark). The rows come from
core/dataset/metadata.py, as DuckDB's do, and are kept in `metadata.json` in the Spark cache folder,
written last (its presence says the folder is complete); a Spark dataset's catalog is read from it.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.catalog import Catalog, ColumnType
from core.dataset.metadata import (
    catalog_from_rows,
    health_problems,
    metadata_counts,
    metadata_rows,
    validation_warnings,
)

if TYPE_CHECKING:
    from core.dataset import Dataset

FILE = "metadata.json"


def spark_type_of(data_type: Any) -> ColumnType:
    """A Spark type as the catalog names it (the twin of core/dataset/connection.py `type_of` for DuckDB's)."""
    name = data_type.simpleString().lower()
    if name.startswith("timestamp"):
        return "timestamp"
    if name == "date":
        return "date"
    if name == "boolean":
        return "boolean"
    if name in {"tinyint", "smallint", "int", "bigint"}:
        return "integer"
    if name in {"float", "double"} or name.startswith("decimal"):
        return "number"
    return "string"


def null_columns(files: list[Path]) -> set[str]:
    """Columns of Parquet's null type (no value ever written) in every file that has them (read from the footers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    seen: dict[str, bool] = {}
    for f in files:
        for field in pq.read_schema(f):
            seen[field.name] = seen.get(field.name, True) and pa.types.is_null(field.type)
    return {name for name, null in seen.items() if null}


def as_of_day(ds: Dataset, events: Any) -> date:
    """The dataset's `as_of`: the configured day, else the latest event's (queries/dataset_latest_event.sql)."""
    from pyspark.sql import functions as F  # noqa: N812 (pyspark's usual name)

    from core.engine import EngineError

    if ds.config.as_of is not None:
        return ds.config.as_of
    latest = events.agg(F.max("ts")).first()[0]
    if latest is None:
        raise EngineError("the dataset has no event with a time: it has no as_of (the DuckDB build refuses it too).")
    return latest.date()


def build_metadata(
    con: Any,
    ds: Dataset,
    as_of: date,
    events: list[str],
    props: list[str],
    counter_cols: dict,
    tag_cols: list[tuple[str, str, str | None]],
    unknown: int,
    folder: Path,
    event_files: list[Path],
) -> None:
    """Count on Spark (con: the build's BuildConnection, with `profile`, `event_rows`, `events`) and write FILE."""
    profile = con.frames["profile"]
    types = {f.name: f.dataType for f in profile.schema.fields}
    attributes = [(n, spark_type_of(t)) for n, t in types.items() if not n.startswith("_") and n != "user_id"]
    event_types = {f.name: f.dataType for f in con.frames["events"].schema.fields}
    untyped = null_columns(event_files)
    # a column of Parquet's null type: DuckDB's type NULL ("string" in the catalog), Spark's INT
    properties = [(n, "string" if n in untyped else spark_type_of(event_types[n])) for n in props]
    counts = metadata_counts(con, [col for _, col, _ in tag_cols], [n for n, _ in attributes], props)
    health = health_problems(validation_warnings(ds.report.problems), unknown)
    rows = metadata_rows(
        ds.path, ds.config, as_of, events, counter_cols, tag_cols, attributes, properties, counts, health
    )
    out = {"total_users": profile.count(), "tables": rows}
    tmp = folder / f"{FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / FILE)


def read_metadata(folder: Path) -> dict[str, Any] | None:
    """What `build_metadata` wrote ({"total_users", "tables"}), or None when the folder has none yet."""
    path = folder / FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def spark_catalog(ds: Dataset, folder: Path) -> tuple[date, Catalog, tuple] | None:
    """(as_of, catalog, health problems) of the Spark tables in `folder`, as DuckDB's cache reader makes them."""
    found = read_metadata(folder)
    if found is None:
        return None
    # JSON keeps lists: the rows as tuples, as they come from a database
    tables = {name: [list(r) for r in rows] for name, rows in found["tables"].items()}
    return catalog_from_rows(tables, int(found["total_users"]), ds.config)
