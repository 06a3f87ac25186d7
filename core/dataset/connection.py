"""The dataset's DuckDB connection: settings, fingerprint, Parquet views, search path, the catalog from the cache."""

from __future__ import annotations

import hashlib
import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp

from core.catalog import Catalog, Column, ColumnType, TagInfo
from core.config import DatasetConfig

if TYPE_CHECKING:
    pass


# Bump when the layout of the cache changes: old caches are then rebuilt.
# 4: ab_members / ab_unknown (since resolved on first need: core/analyses/ab_members.py);
# 5: _health keeps the codes; 6: `_monetary` the exact sum; 7: exact distinct counts in the metadata
CACHE_LAYOUT_VERSION = 7
SLOT_BITS = 21  # 6 counter slots x 21 bits in one HUGEINT; the top bits catch a carry
TABLES = ("users", "events", "tags", "tag_catalog", "assignments")
TIMESTAMP_COLUMNS = {
    "users": ("signup_at",),
    "events": ("ts",),
    "tags": ("updated_at",),
    "assignments": ("assigned_at",),
}


def default_cache_dir() -> Path:
    return Path(os.environ.get("ADESK_CACHE_DIR") or Path.home() / ".cache" / "adesk")


def settings() -> dict[str, str]:
    return {
        "threads": os.environ.get("ADESK_THREADS", str(os.cpu_count() or 2)),
        "memory_limit": os.environ.get("ADESK_MEMORY_LIMIT", "4GB"),
        # memory for bitmap indexes of profile columns (core/bitmaps/); 0 turns them off
        "bitmap_mb": os.environ.get("ADESK_BITMAP_MB", "1024"),
    }


def fingerprint(path: Path) -> str:
    """A hash of every file's name, size and modification time, plus the cache layout."""
    h = hashlib.sha256(f"layout={CACHE_LAYOUT_VERSION}".encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(path).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def type_of(duck_type: str) -> ColumnType:
    t = duck_type.upper()
    if t.startswith(("TIMESTAMP", "DATETIME")):
        return "timestamp"
    if t == "DATE":
        return "date"
    if t == "BOOLEAN":
        return "boolean"
    if t in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}:
        return "integer"
    if t in {"FLOAT", "DOUBLE", "REAL"} or t.startswith("DECIMAL"):
        return "number"
    return "string"


def _q(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def parquet_source(files: list[Path], *, row_numbers: bool = False) -> exp.Expression:
    """read_parquet([...], hive_partitioning=true, union_by_name=true) as a tree (paths become literals).

    With `row_numbers`, each row also carries `filename` and `file_row_number`.
    """
    options = ["hive_partitioning", "union_by_name"] + (["filename", "file_row_number"] if row_numbers else [])
    return exp.func(
        "read_parquet",
        exp.Array(expressions=[exp.Literal.string(str(f)) for f in files]),
        *[exp.EQ(this=exp.column(o), expression=exp.true()) for o in options],
    )


def _timestamp(col: str, duck_type: str) -> exp.Expression:
    """The column as a TIMESTAMP in the dataset's time zone (the connection's `TimeZone`).

    Naive timestamps are in that zone already (kept as they are: no per-row work on 100M
    events); time-zone-aware ones become its wall-clock time; text and dates are read as
    an instant (an offset in the text is honoured, none means the dataset's zone), and
    what does not parse becomes NULL.
    """
    column = exp.column(col, quoted=True)
    t = duck_type.upper()
    timestamp = exp.DataType.build("TIMESTAMP")
    if t == "TIMESTAMP":
        return column
    if t.startswith("TIMESTAMP"):  # TIMESTAMP_S / _MS / _NS, or WITH TIME ZONE (converted in the connection's zone)
        return exp.Cast(this=column, to=timestamp)
    return exp.TryCast(this=exp.TryCast(this=column, to=exp.DataType.build("TIMESTAMPTZ")), to=timestamp)


def table_view_sql(table: str, files: list[Path], con: duckdb.DuckDBPyConnection) -> str:
    """CREATE VIEW <table> over the files, with its timestamps as TIMESTAMP in the dataset's time zone."""
    source = exp.select("*").from_(parquet_source(files))
    # LIMIT 0: the column types without reading rows (a plain SELECT * read ~2.5 s of users at 10M members)
    desc = con.execute(source.limit(0).sql("duckdb")).description
    types = {d[0]: str(d[1]) for d in desc}
    present = set(types)
    replace = []
    for col in TIMESTAMP_COLUMNS.get(table, ()):
        if col in present:
            replace.append(exp.alias_(_timestamp(col, types[col]), col, quoted=True))
    if table in {"users", "events", "tags", "assignments"} and "user_id" in present:
        replace.append(
            exp.alias_(
                exp.Cast(this=exp.column("user_id", quoted=True), to=exp.DataType.build("VARCHAR")),
                "user_id",
                quoted=True,
            )
        )
    star = exp.Star(**({"replace": replace} if replace else {}))
    select = exp.Select(expressions=[star]).from_(parquet_source(files))
    return exp.Create(this=exp.to_table(table, quoted=True), kind="VIEW", replace=True, expression=select).sql("duckdb")


def connect(database: str = ":memory:", *, timezone: str = "UTC", **kw) -> duckdb.DuckDBPyConnection:
    """A connection whose time zone is the dataset's: time-zone-aware timestamps become its wall-clock time."""
    s = settings()
    # asof_loop_join_threshold 0: funnels' ASOF JOINs always run as ASOF (a low row estimate made DuckDB pick a
    # nested loop over all paths: 0.4 s of 0.6 s at 200k members)
    config = {"threads": int(s["threads"]), "memory_limit": s["memory_limit"], "asof_loop_join_threshold": 0, **kw}
    con = duckdb.connect(database, config=config)
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = $tz", {"tz": timezone})
    return con


def connect_views(files: dict[str, list[Path]], cache_path: Path, config: DatasetConfig) -> duckdb.DuckDBPyConnection:
    con = connect(timezone=config.timezone)
    attach = exp.Attach(
        this=exp.alias_(exp.Literal.string(str(cache_path)), "cache"),
        expressions=[exp.AttachOption(this=exp.var("READ_ONLY"))],
    )
    con.execute(attach.sql("duckdb"))
    register_parquet_views(con, files)
    search_cache(con)
    return con


# Unqualified names resolve first to the Parquet views (`users`, `events`, …), then to the cache's
# tables (`profile`, `event_rows`). A view `profile AS SELECT * FROM cache.profile` did the same at
# ~0.9 ms per query (binding its ~200 columns): a quarter of counting one tag over 10M members.
SEARCH_PATH = "SET search_path = 'memory.main,cache.main'"


def set_search_path_sql(schema: str | None) -> str:
    """`SET search_path` for a cursor: a data scope's schema first (core/access.py), when there is one."""
    path = ",".join(([f"memory.{schema}"] if schema else []) + ["memory.main", "cache.main"])
    tree = sqlglot.parse_one(SEARCH_PATH, dialect="duckdb")
    return tree.transform(lambda n: exp.Literal.string(path) if isinstance(n, exp.Literal) else n).sql("duckdb")


def search_cache(cur: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The search path is a per-session setting: every cursor sets it (~0.05 ms)."""
    cur.execute(SEARCH_PATH)
    return cur


def register_parquet_views(con: duckdb.DuckDBPyConnection, files: dict[str, list[Path]]) -> None:
    for table in TABLES:
        if files.get(table):
            con.execute(table_view_sql(table, files[table], con))


def read_catalog(con: duckdb.DuckDBPyConnection, as_of: date, config: DatasetConfig) -> Catalog:
    total = con.execute("select count(*) from cache.profile").fetchone()[0]
    attributes = {
        name: Column(name, typ, distinct)
        for name, typ, distinct in con.execute(
            "select name, type, distinct_values from cache._attributes order by name"
        ).fetchall()
    }
    tags = {
        tag: TagInfo(tag, col, value_col, users)
        for tag, col, value_col, users in con.execute(
            "select tag, col, value_col, users from cache._tag_columns order by tag"
        ).fetchall()
    }
    counters = {
        (e, w): col for e, w, col in con.execute("select event, window_days, col from cache._event_columns").fetchall()
    }
    codes = dict(con.execute("select event, code from cache._events order by event").fetchall())
    events = tuple(codes)
    props = {
        name: Column(name, typ, distinct)
        for name, typ, distinct in con.execute(
            "select name, type, distinct_values from cache._event_properties order by name"
        ).fetchall()
    }
    return Catalog(
        as_of=as_of,
        total_users=total,
        attributes=attributes,
        tags=tags,
        events=events,
        event_properties=props,
        event_counters=counters,
        event_codes=codes,
        timezone=config.timezone,
    )


def is_partition_column(root: Path, name: str) -> bool:
    events_dir = root / "events"
    return events_dir.is_dir() and any(p.name.startswith(f"{name}=") for p in events_dir.iterdir())
