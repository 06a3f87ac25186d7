"""The opened dataset (`Dataset`: a connection and a catalog) and `open_dataset`."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import duckdb
from sqlglot import exp

from core.bitmaps import BitmapIndex
from core.catalog import Catalog
from core.config import DatasetConfig, load_config
from core.dataset.build import build_cache
from core.dataset.caches import dataset_cache, drop_caches
from core.dataset.connection import (
    connect_views,
    default_cache_dir,
    fingerprint,
    read_catalog,
    search_cache,
    set_search_path_sql,
    settings,
)
from core.dataset.side_folders import cache_prefix, older_versions
from core.messages import load_message
from core.problems import DatasetError, Problem, ValidationReport
from core.queries import load_query

if TYPE_CHECKING:
    from core.segments.model import Segment


log = logging.getLogger("core.dataset")  # the name it had before the package split
_INDEX_LOCK = threading.Lock()


def bitmap_budget(text: str) -> int:
    """ADESK_BITMAP_MB in bytes; a value that is not a number is reported and the default used."""
    try:
        mb = float(text)
    except ValueError:
        mb = float("nan")
    if not math.isfinite(mb) or mb < 0:
        log.warning("ADESK_BITMAP_MB=%r is not a number of megabytes (0 turns the indexes off); using 1024", text)
        mb = 1024.0
    return int(mb * 1e6)


@dataclass
class Dataset:
    """An opened dataset: its config, `as_of`, catalog, and cursors over its views."""

    # which engine answers its queries (core/engine/ makes "spark" ones); numpy paths that read
    # DuckDB's Arrow results directly (the AIPL stage history) run only on "duckdb"
    engine: ClassVar[str] = "duckdb"
    path: Path
    config: DatasetConfig
    fingerprint: str
    cache_path: Path
    as_of: date
    catalog: Catalog
    report: ValidationReport
    build_seconds: float | None = None
    _con: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    # Caches of other modules (bin edges, models at past days, AIPL answers, the bitmap index) are
    # not kept here but in core/dataset/caches.py, per opened connection and scope.
    # a data scope (core/access.py): its schema's views of the per-member tables come first
    schema: str | None = None
    scope: Segment | None = None

    @property
    def total_users(self) -> int:
        return self.catalog.total_users

    @property
    def name(self) -> str:
        return self.path.name

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor: DuckDB connections are not shared across threads, cursors are cheap."""
        assert self._con is not None
        cur = self._con.cursor()
        if self.schema is None:
            return search_cache(cur)
        cur.execute(set_search_path_sql(self.schema))
        return cur

    def query(self, name: str, **params: object) -> duckdb.DuckDBPyConnection:
        """Run queries/<name>.sql with bound parameters on a fresh cursor."""
        cur = self.cursor()
        return cur.execute(load_query(name), params or None)

    def run(self, query: exp.Expression, params: dict[str, object] | None = None) -> list[tuple]:
        """Run a SQL tree (e.g. `core.queries.named_query(...)`) with bound parameters; all rows."""
        cur = self.cursor()
        try:
            return cur.execute(query.sql("duckdb"), params or None).fetchall()
        finally:
            cur.close()

    @property
    def as_of_end(self) -> datetime:
        """The first moment after `as_of`: windows end here, exclusive."""
        return datetime.combine(self.as_of + timedelta(days=1), datetime.min.time())

    def bitmap_index(self) -> BitmapIndex:
        """This dataset's bitmap indexes (core/bitmaps/), created on first use."""
        with _INDEX_LOCK:
            kept = dataset_cache(self, "bitmaps")
            if "index" not in kept:
                # a scope's members are a subset the indexes (one bitmap over all members) do not know
                budget = 0 if self.schema is not None else bitmap_budget(settings()["bitmap_mb"])
                kept["index"] = BitmapIndex(self, budget)
            return kept["index"]

    def close(self) -> None:
        for kept in drop_caches(self):
            if "index" in kept:
                kept["index"].close()  # the bitmap index's worker holds a cursor: let it finish first
        if self.schema is not None:
            return  # a scoped view shares the connection of the dataset it came from
        if self._con is not None:
            self._con.close()
            self._con = None


def open_dataset(
    path: str | Path, cache_dir: str | Path | None = None, *, progress: Callable[[str], None] | None = None
) -> Dataset:
    """Validate and build the derived cache if this version of the files has none; return it opened.

    Raises DatasetError (with every problem) when the dataset is not usable.
    """
    from core.validate import table_files, validate_dataset

    root = Path(path).resolve()
    if not root.is_dir():
        raise DatasetError(validate_dataset(root, deep=False))
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_root.mkdir(parents=True, exist_ok=True)
    fp = fingerprint(root)
    cache_path = cache_root / f"{cache_prefix(root)}-{fp[:20]}.duckdb"
    built_in: float | None = None
    if not cache_path.exists():
        # Validation reads every file (a full pass over users at 10M members): it runs once per
        # fingerprint, before the build, and its warnings are kept in the cache with the rest.
        report = validate_dataset(root, deep=False)
        if not report.usable:
            raise DatasetError(report)
        with _build_lock(cache_path):
            if not cache_path.exists():  # another process may have built it while we waited
                started = time.perf_counter()
                config, _ = load_config(root)
                build_cache(root, config, table_files(root), cache_path, progress, report.problems)
                built_in = time.perf_counter() - started
                _remove_stale_caches(cache_root, root, cache_path)
    config, _ = load_config(root)
    files = table_files(root)
    con = connect_views(files, cache_path, config)
    meta = dict(con.execute("select key, value from cache._meta").fetchall())
    as_of = date.fromisoformat(meta["as_of"])
    catalog = read_catalog(con, as_of, config)
    health = tuple(
        Problem(*row[:5], load_message(row[5]), load_message(row[6]))  # type: ignore[arg-type]
        for row in con.execute(
            "select file, col, message, fix, severity, detail, fix_detail from cache._health"
        ).fetchall()
    )
    ds = Dataset(root, config, fp, cache_path, as_of, catalog, ValidationReport(str(root), health), built_in, con)
    from core.access import process_access, scoped_dataset  # a command line run by a scoped person

    access = process_access()
    return scoped_dataset(ds, access.scope) if access is not None else ds


@contextlib.contextmanager
def _build_lock(cache_path: Path) -> Iterator[None]:
    lock_path = cache_path.with_suffix(".lock")
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_stale_caches(cache_root: Path, root: Path, keep: Path) -> None:
    """The older versions' cache files of this dataset (same path; another dataset of the same name keeps its own)."""
    for old in older_versions(cache_root, root, ".duckdb", keep):
        with contextlib.suppress(OSError):
            old.unlink()
            old.with_suffix(".lock").unlink(missing_ok=True)
