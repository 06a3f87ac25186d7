"""The contract's assignments resolved per member once per data version, in Parquet files next to the derived cache.

Every contract experiment is read from `ab_members` (experiment, _uid, first assigned_at, variant hash `v`,
variant, multiple exposure) and `ab_unknown` (per experiment: ids not in `users`, multiple exposure or not):
`queries/ab_members_build.sql` and `ab_unknown_build.sql`, a join of every assignment's text id to the
members and a grouping per member. That used to be a step of the derived build (12 s of a 141 s build at
10 M members) that counts and segments never need; now it runs on first need — or in the background when the
dashboard opens a dataset — and is written once per data version to `<cache>.ab-members/` (the cache's name
carries the data fingerprint and layout; `FORMAT` here). Each opened connection then names the files as
views `memory.main.ab_members` / `ab_unknown`, so every query reads them by those names as before; a data
scope gets a view of its own members (its cursors look in its schema first). The files hold every member,
also when a scoped person resolved them. Deleting the folder changes nothing but the time; when it cannot be
written, the two relations are built as in-memory tables of the opened dataset instead (same rows, once per
open).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from sqlglot import exp

from core import background
from core.dataset import side_folders
from core.queries import load_query, named_query

if TYPE_CHECKING:
    from core.dataset import Dataset

log = logging.getLogger(__name__)
SUFFIX = ".ab-members"
FORMAT = 1  # bump when the files' columns or the rule change: older files are then resolved again
TABLES = ("ab_members", "ab_unknown")
_BUILD = {"ab_members": "ab_members_build", "ab_unknown": "ab_unknown_build"}
_EMPTY = {"ab_members": "ab_members_empty", "ab_unknown": "ab_unknown_empty"}
_LOCK = threading.Lock()  # one resolution at a time in this process (two datasets wait for each other)
Progress = Callable[[str], None]


def folder_for(ds: Dataset) -> Path:
    """The resolved assignments' folder next to the derived cache: one per version of the data."""
    return ds.cache_path.with_name(ds.cache_path.stem + SUFFIX)


def files_for(ds: Dataset) -> dict[str, Path]:
    """`ab_members` and `ab_unknown`'s files."""
    return {t: folder_for(ds) / f"{t}.v{FORMAT}.parquet" for t in TABLES}


def needed(ds: Dataset) -> bool:
    """Whether the dataset has contract experiments (only they read the resolved assignments)."""
    return bool(ds.config.experiments)


def is_resolved(ds: Dataset) -> bool:
    """Whether this opened dataset reads the resolved assignments without resolving them first."""
    if _kept(ds).get("ready"):
        return True
    return all(p.exists() for p in files_for(ds).values())


def ensure(ds: Dataset, progress: Progress | None = None) -> None:
    """Make `ab_members` / `ab_unknown` readable on this dataset's cursors (resolved and written on first need)."""
    if ds.engine != "duckdb":
        return  # Spark resolves its own (core/engine/spark_assignments.py); derived_parquet copies DuckDB's
    kept = _kept(ds)
    if kept.get("ready"):
        return
    with _LOCK:
        if kept.get("ready"):
            return
        cur = ds.cursor()
        try:
            if not _defined(cur, "main", "ab_members"):
                _define(ds, cur, progress)
            if ds.schema is not None and not _defined(cur, ds.schema, "ab_members"):
                from core.access import scoped_view

                cur.execute(scoped_view(ds.schema, "ab_members", "_uid", "memory").sql("duckdb"))
        finally:
            cur.close()
        kept["ready"] = True


def build_in_background(ds: Dataset) -> threading.Thread | None:
    """Resolve (or name) the assignments in a daemon thread: a long-lived server has them before the page asks."""
    if ds.engine != "duckdb" or not needed(ds) or _kept(ds).get("ready"):
        return None
    return background.start("ab-members", lambda: ensure(ds), log, "A/B assignments: the background resolution failed")


# --- internals ------------------------------------------------------------------------------------


def _kept(ds: Dataset) -> dict:
    from core.dataset.caches import dataset_cache  # core.dataset imports the models, which import analyses

    return dataset_cache(ds, "ab_members")


def _defined(cur: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(cur.execute(load_query("ab_members_defined"), {"schema": schema, "name": name}).fetchone()[0])


def _main(name: str) -> exp.Table:
    return exp.table_(name, db="main", catalog="memory")


def _create(kind: str, name: str, select: exp.Expression) -> str:
    return exp.Create(this=_main(name), kind=kind, expression=select, replace=True).sql("duckdb")


def _define(ds: Dataset, cur: duckdb.DuckDBPyConnection, progress: Progress | None) -> None:
    """Views over the files (written first when missing); in-memory tables when no file can be kept."""
    say = progress or (lambda _m: None)
    if not _defined(cur, "main", "assignments"):  # no assignments file: no rows
        for name in TABLES:
            cur.execute(_create("VIEW", name, named_query(_EMPTY[name])))
        return
    files = files_for(ds)
    if not all(p.exists() for p in files.values()):
        say("resolving the experiments' assignments per member (once per version of the data)")
        try:
            files[TABLES[0]].parent.mkdir(parents=True, exist_ok=True)
            for name in TABLES:
                _write(cur, named_query(_BUILD[name]), files[name])
        except (OSError, duckdb.IOException, duckdb.PermissionException) as e:
            log.warning(
                "resolved assignments not kept in %s (%s): kept in memory while the dataset is open", folder_for(ds), e
            )
            for name in TABLES:
                cur.execute(_create("TABLE", name, named_query(_BUILD[name])))
            return
        _remove_other_versions(ds, folder_for(ds))
    for name in TABLES:
        # a view's file is a literal (a view takes no parameter), like the Parquet views of the dataset's files
        source = exp.func("read_parquet", exp.Literal.string(str(files[name])))
        cur.execute(_create("VIEW", name, exp.select(exp.Star()).from_(source)))


_write = side_folders.write_parquet  # a name of this module: the tests replace it to see no second resolution


def _remove_other_versions(ds: Dataset, keep: Path) -> None:
    side_folders.remove_other_versions(ds, SUFFIX, keep)  # this dataset's only, never another `demo`'s
    for stale in keep.glob("*.parquet"):  # an older FORMAT's files
        if stale not in files_for(ds).values():
            with contextlib.suppress(OSError):
                stale.unlink()
