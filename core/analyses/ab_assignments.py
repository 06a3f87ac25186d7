"""The assignments relation of an experiment: where its (experiment, user_id, variant, assigned_at) rows come
from and the CTEs that resolve them per member (ANALYSES.md §5), for core/analyses/experiments.py and the
resolved holdouts (ab_holdouts.py).

A contract experiment reads `ab_members` (resolved once per data version: ab_members.py); an export's
holdout reads its Parquet file (resolved once per data version into a file next to the cache: ab_holdouts.py,
or by Spark into a view: core/engine/spark_assignments.py), or, for exports made before that file existed,
the app store's SQLite rows registered as an Arrow table (`LEGACY_TABLE`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from core.queries import named_query

if TYPE_CHECKING:
    from core.analyses.experiments import Experiment
    from core.dataset import Dataset
    from core.store import AppStore

LEGACY_TABLE = "_adesk_legacy_holdouts"


def assignments_tree(ds: Dataset, chosen: list[Experiment], params: dict[str, Any]) -> exp.Expression:
    """A SELECT of (experiment, user_id, variant, assigned_at) over the exports' holdouts (files, or older SQLite rows).

    The contract's assignments are not read here: they are resolved per member once (`ab_members`: ab_members.py).
    """
    cols = ("experiment", "user_id", "variant")
    local = exp.func("timezone", exp.Placeholder(this="a_tz"), exp.column("assigned_at"))  # UTC instant -> wall clock
    parts: list[exp.Expression] = []
    files = [e.holdout_path for e in chosen if e.holdout_path]
    if files:
        params["a_files"] = files
        source = exp.func("read_parquet", exp.Placeholder(this="a_files"))
        parts.append(exp.select(*cols, exp.alias_(local, "assigned_at")).from_(source))
    if any(e.legacy for e in chosen):
        parts.append(exp.select(*cols, exp.alias_(local.copy(), "assigned_at")).from_(LEGACY_TABLE))
    if files or any(e.legacy for e in chosen):
        params["a_tz"] = ds.config.timezone
    if not parts:  # nothing to read: an empty relation of the right shape
        empty = [
            exp.alias_(exp.Cast(this=exp.null(), to=exp.DataType.build(t)), c)
            for c, t in (
                ("experiment", "VARCHAR"),
                ("user_id", "VARCHAR"),
                ("variant", "VARCHAR"),
                ("assigned_at", "TIMESTAMP"),
            )
        ]
        return exp.select(*empty).where(exp.false())
    tree = parts[0]
    for part in parts[1:]:
        tree = exp.union(tree, part, distinct=False)
    return tree


def with_ctes(query: exp.Expression, ctes: list[tuple[str, exp.Expression]]) -> exp.Expression:
    """The query with `ctes` (name, tree) defined before its own CTEs."""
    existing = [(cte.alias, cte.this.copy()) for cte in query.ctes]
    query = query.copy()
    query.set("with_", None)
    query.set("with", None)
    for name, tree in [*ctes, *existing]:
        query = query.with_(name, as_=tree, copy=False)
    return query


def resolved(
    ds: Dataset, experiment: Experiment, params: dict[str, Any], store: AppStore | None = None, *, keep: bool = True
) -> list[tuple[str, exp.Expression]]:
    """CTEs `ab_per_user`, `ab_names`, `ab_excluded` of one experiment (and what they read).

    A contract experiment reads `ab_members` (resolved once per data version: ab_members.py); an
    export's holdout is resolved once per data version into a file next to the cache (core/analyses/
    ab_holdouts.py), or, when that cannot be kept (or `keep` is false), here: one text join and one grouping.
    """
    if experiment.kind == "contract":
        from core.analyses import ab_members

        ab_members.ensure(ds)
        params["with_unknown"] = ds.schema is None  # a scope's assignments hold only its members
        return [(c.alias, c.this) for c in named_query("ab_resolve_cached").ctes]
    from core.analyses.ab_holdouts import resolved_ctes, resolved_file

    if ds.engine == "spark":  # resolved by Spark into a view (the same rules; core/engine/spark_assignments.py)
        from core.engine.spark_assignments import holdout_view

        return resolved_ctes(ds, None, params, table=holdout_view(ds, experiment, store))
    path = resolved_file(ds, experiment, store) if keep else None
    if path is not None:
        return resolved_ctes(ds, path, params)
    source = assignments_tree(ds, [experiment], params)
    return [("ab_assignments", source), *((c.alias, c.this) for c in named_query("ab_resolve_rows").ctes)]


def legacy_rows(store: AppStore, chosen: list[Experiment]) -> pa.Table:
    """Older exports' holdout rows from SQLite, assigned at the export's time (a UTC instant)."""
    names, users, variants, times = [], [], [], []
    for e in chosen:
        if not e.legacy:
            continue
        at = datetime.fromisoformat(e.created_at or "1970-01-01T00:00:00+00:00").astimezone(UTC)
        for batch in store.iter_assignments(e.name):
            for user_id, variant in batch:
                names.append(e.name)
                users.append(user_id)
                variants.append(variant)
                times.append(at)
    return pa.table(
        {
            "experiment": pa.array(names, pa.string()),
            "user_id": pa.array(users, pa.string()),
            "variant": pa.array(variants, pa.string()),
            "assigned_at": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )


@contextmanager
def assignments_cursor(ds: Dataset, store: AppStore | None, chosen: list[Experiment]) -> Iterator[Any]:
    """A cursor of the dataset with older exports' SQLite rows registered when `chosen` has such exports."""
    cur = ds.cursor()
    try:
        # Spark reads an export's rows itself (core/engine/spark_assignments.py)
        if store is not None and ds.engine == "duckdb" and any(e.legacy for e in chosen):
            cur.register(LEGACY_TABLE, legacy_rows(store, chosen))
        yield cur
    finally:
        cur.close()


def run_with_assignments(
    ds: Dataset, tree: exp.Expression, params: dict[str, Any], store: AppStore | None, chosen: list[Experiment]
) -> list[tuple]:
    with assignments_cursor(ds, store, chosen) as cur:
        return cur.execute(tree.sql("duckdb"), used_params(tree, params)).fetchall()


def used_params(tree: exp.Expression, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters `tree` names (DuckDB refuses unused ones; the sources of an experiment name different ones)."""
    named = {p.name for p in tree.find_all(exp.Placeholder)}
    return {k: v for k, v in params.items() if k in named}
