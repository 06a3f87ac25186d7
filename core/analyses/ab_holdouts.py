"""An export's holdout resolved per member once per data version, kept in a Parquet file next to the derived cache.

The export's holdout file (or an older export's SQLite rows) names users by their text id; reading it
meant joining every id to `profile` and grouping per user on every read (~1 µs a member: ~5 s for a
5 M-member export at 10 M members). Like the contract's `ab_members` in the derived cache, the result
of that join and grouping (`queries/ab_holdout_resolve.sql`: member number, first assignment, variant,
multiple exposure; ids not in `users` with no number) is written once per (data version, export) to
`<cache>.holdouts/<digest>.parquet` and read by `queries/ab_resolve_holdout.sql` (a data scope filters
it there). The digest covers the export id and its holdout file's SHA-256. Deleting the folder changes
nothing but the time; when it cannot be written, the rows are resolved on each read as before.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from core.dataset import side_folders
from core.queries import named_query

if TYPE_CHECKING:
    from core.analyses.experiments import Experiment
    from core.dataset import Dataset
    from core.store import AppStore

log = logging.getLogger(__name__)
SUFFIX = ".holdouts"
_LOCK = threading.Lock()


def folder_for(ds: Dataset) -> Path:
    """The resolved holdouts' folder next to the derived cache: one per version of the data."""
    return ds.cache_path.with_name(ds.cache_path.stem + SUFFIX)


def file_for(ds: Dataset, experiment: Experiment) -> Path:
    """The export's resolved file: a digest of its id and its holdout file's SHA-256 (older exports: their rows)."""
    source = experiment.holdout_sha256 or "sqlite-rows"
    digest = hashlib.sha256(f"{experiment.name}|{source}".encode()).hexdigest()[:32]
    return folder_for(ds) / f"{digest}.parquet"


def _remove_other_versions(ds: Dataset, keep: Path) -> None:
    side_folders.remove_other_versions(ds, SUFFIX, keep)  # this dataset's only, never another `demo`'s


def _write(ds: Dataset, experiment: Experiment, store: AppStore | None, path: Path) -> None:
    from core.analyses.ab_assignments import assignments_cursor, assignments_tree, with_ctes

    params: dict[str, Any] = {"experiment": experiment.name}
    source = assignments_tree(ds, [experiment], params)
    select = with_ctes(named_query("ab_holdout_resolve"), [("ab_assignments", source)])
    with assignments_cursor(ds, store, [experiment]) as cur:
        side_folders.write_parquet(cur, select, path, params)


def resolved_file(ds: Dataset, experiment: Experiment, store: AppStore | None) -> Path | None:
    """The export's resolved holdout file, written on first use; None when it cannot be kept (read the rows then)."""
    path = file_for(ds, experiment)
    if path.exists():
        return path
    if experiment.legacy and store is None:
        return None  # its rows are in a store we were not given
    with _LOCK:
        if path.exists():
            return path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write(ds, experiment, store, path)
        except (OSError, duckdb.IOException, duckdb.PermissionException) as e:
            log.warning(
                "resolved holdout of %s not kept in %s (%s): resolving it on each read", experiment.name, path, e
            )
            return None
        _remove_other_versions(ds, path.parent)
    return path


def resolved_ctes(
    ds: Dataset, path: Path | None, params: dict[str, Any], *, table: str | None = None
) -> list[tuple[str, exp.Expression]]:
    """CTEs `ab_per_user`, `ab_names`, `ab_excluded` over the resolved file (a data scope keeps its members only).

    `table`: the resolved rows are that table instead (Spark's view: core/engine/spark_assignments.py).
    """
    in_scope: exp.Expression = exp.true()
    if ds.schema is not None:
        members = exp.select(exp.column("_uid")).from_("profile")  # the scope's profile on its cursors
        in_scope = exp.In(this=exp.column("_uid"), query=exp.Subquery(this=members))
    query = named_query("ab_resolve_holdout", in_scope=in_scope)
    if table is None:
        params["resolved_file"] = str(path)
    else:
        for source in list(query.find_all(exp.ReadParquet)):
            source.parent.replace(exp.to_table(table))
    return [(c.alias, c.this) for c in query.ctes]
