"""Experiments and their per-variant aggregates in DuckDB (ANALYSES.md §5).

Two sources of experiments, read the same way:
- the contract's `assignments` for every `[experiments.X]` in dataset.toml, resolved per member once per
  data version into files next to the derived cache, read as `ab_members`, `ab_unknown` (core/analyses/ab_members.py);
- every succeeded export of this dataset with a holdout: experiment = export id, variants
  `target` / `holdout`, control `holdout`, assigned at the export's time. Its assignments are the
  Parquet file the export wrote beside the app store (core/export/); exports made before that
  file existed have rows in the store's SQLite table, read into an Arrow table here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from core.dataset import Dataset
from core.models.rfm import amount_micros, from_micros
from core.queries import named_query

if TYPE_CHECKING:
    from core.segments.model import Segment
    from core.store import AppStore

LEGACY_TABLE = "_adesk_legacy_holdouts"
EXPORT_WINDOW_DAYS = 14


class UnknownExperiment(LookupError):
    """An experiment name that is not configured and is no export with a holdout."""

    def __init__(self, name: str, known: list[str]):
        self.name, self.known = name, known
        super().__init__(f"Unknown experiment {name!r}. Known experiments: {', '.join(known) or '(none)'}.")


@dataclass(frozen=True)
class Experiment:
    """One experiment: where its assignments come from and how it is read."""

    name: str
    kind: str  # "contract" | "export"
    control: str | None  # None: the first variant by name
    window_days: int
    conversion_event: str
    expected_split: tuple[tuple[str, float], ...] = ()  # empty: equal shares
    holdout_path: str | None = None  # an export's Parquet file
    legacy: bool = False  # an export whose assignments are SQLite rows
    created_at: str | None = None  # an export's time (UTC, ISO)
    segment_id: str | None = None  # the saved segment an export came from
    holdout_sha256: str | None = None  # the export's holdout file's SHA-256 (keys its resolved copy)

    def weights(self, variants: list[str]) -> list[float]:
        """Expected share of each variant, in the order given (equal when no split is configured)."""
        split = dict(self.expected_split)
        if not split:
            return [1.0] * len(variants)
        return [split.get(v, 0.0) for v in variants]


@dataclass(frozen=True)
class VariantAggregate:
    """One variant's users and sums over them (the input of every statistic)."""

    name: str
    users: int
    conversions: int
    revenue_sum: float
    revenue_sum_sq: float
    pre_conversions: int = 0
    conversion_products: int = 0  # Σ conversion × pre-period conversion
    pre_revenue_sum: float = 0.0
    pre_revenue_sum_sq: float = 0.0
    revenue_products: float = 0.0  # Σ revenue × pre-period revenue
    unfinished: int = 0  # users whose window is not over at the end of as_of
    first_assigned: datetime | None = None
    last_assigned: datetime | None = None


@dataclass(frozen=True)
class Aggregates:
    variants: tuple[VariantAggregate, ...]
    multiple_exposure: int
    unknown_users: int


def experiments(ds: Dataset, store: AppStore | None = None) -> tuple[Experiment, ...]:
    """The dataset's configured experiments, then its exports with a holdout (newest first)."""
    found = [
        Experiment(
            name=c.name,
            kind="contract",
            control=c.control,
            window_days=c.metric_window_days,
            conversion_event=c.conversion_event or ds.config.purchase_event,
            expected_split=c.expected_split,
        )
        for c in ds.config.experiments
    ]
    if store is not None:
        found.extend(export_experiments(ds, store))
    return tuple(found)


def export_experiments(ds: Dataset, store: AppStore) -> list[Experiment]:
    """Succeeded exports of this dataset directory with a holdout, as experiments."""
    out = []
    here = str(ds.path.resolve())
    for record in store.list_exports(limit=10_000, status="succeeded"):
        if record.holdout_share <= 0 or record.dataset_path != here:
            continue
        recorded = store.holdout_file(record.export_id)
        out.append(
            Experiment(
                name=record.export_id,
                kind="export",
                control="holdout",
                window_days=EXPORT_WINDOW_DAYS,
                conversion_event=ds.config.purchase_event,
                expected_split=(("holdout", record.holdout_share), ("target", 1 - record.holdout_share)),
                holdout_path=recorded.path if recorded is not None else None,
                holdout_sha256=recorded.sha256 if recorded is not None else None,
                legacy=recorded is None,
                created_at=record.created_at,
                segment_id=record.segment_id,
            )
        )
    return out


def find(ds: Dataset, name: str, store: AppStore | None = None) -> Experiment:
    """The experiment called `name`, or UnknownExperiment listing the known names."""
    known = experiments(ds, store)
    for e in known:
        if e.name == name:
            return e
    raise UnknownExperiment(name, [e.name for e in known])


# --- the assignments relation ---------------------------------------------------------------------


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


def _run(
    ds: Dataset, tree: exp.Expression, params: dict[str, Any], store: AppStore | None, chosen: list[Experiment]
) -> list[tuple]:
    with assignments_cursor(ds, store, chosen) as cur:
        return cur.execute(tree.sql("duckdb"), used_params(tree, params)).fetchall()


def used_params(tree: exp.Expression, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters `tree` names (DuckDB refuses unused ones; the sources of an experiment name different ones)."""
    named = {p.name for p in tree.find_all(exp.Placeholder)}
    return {k: v for k, v in params.items() if k in named}


# --- queries --------------------------------------------------------------------------------------


def listing(ds: Dataset, known: tuple[Experiment, ...], store: AppStore | None = None) -> dict[str, list[tuple]]:
    """Per experiment: (variant, users, first assigned, last assigned) after the exclusions.

    Contract experiments: one grouping of `ab_members` (resolved per member once per data version:
    ab_members.py; at 10 M members the per-read text join and grouping took 11 s for the demo's three).
    Each export: one query over its resolved holdout (core/analyses/ab_holdouts.py).
    """
    out: dict[str, list[tuple]] = {e.name: [] for e in known}
    contract = {e.name for e in known if e.kind == "contract"}
    if contract:
        from core.analyses import ab_members

        ab_members.ensure(ds)
        for name, variant, users, first, last in ds.run(named_query("ab_members_list")):
            if name in contract:
                out[name].append((variant, int(users), first, last))
    for e in known:
        if e.kind == "contract":
            continue
        params: dict[str, Any] = {"experiment": e.name}
        tree = with_ctes(named_query("ab_resolved_list"), resolved(ds, e, params, store))
        out[e.name] = [
            (variant, int(users), first, last) for variant, users, first, last in _run(ds, tree, params, store, [e])
        ]
    return out


def _segment_filter(ds: Dataset, segment: Segment | None, resolve, params: dict[str, Any]) -> exp.Expression:
    """`_uid IN (members of the base segment)`, or true; its parameters go into `params`."""
    from core.segments.operations import segment_condition

    if segment is None:
        return exp.true()
    condition, seg_params = segment_condition(ds, segment, resolve, prefix="s_")
    params.update(seg_params)
    members = exp.select(exp.column("_uid")).from_("profile").where(condition)
    return exp.In(this=exp.column("_uid"), query=exp.Subquery(this=members))


def aggregates(
    ds: Dataset,
    experiment: Experiment,
    *,
    segment: Segment | None = None,
    resolve=None,
    store: AppStore | None = None,
) -> Aggregates:
    """Per-variant aggregates of one experiment within an optional base segment, and the exclusions.

    One pass in numpy over its members and its period's metric events (core/analyses/ab_read.py), kept
    per opened dataset, experiment and segment; another engine runs the reference SQL (`aggregates_sql`).
    """
    from core.analyses import ab_read

    if ds.engine != "duckdb":
        return aggregates_sql(ds, experiment, segment=segment, resolve=resolve, store=store)
    params: dict[str, Any] = {"experiment": experiment.name}
    in_segment = _segment_filter(ds, segment, resolve, params)
    key = (experiment, in_segment.sql("duckdb"), repr(sorted((k, repr(v)) for k, v in params.items())))
    found = ab_read.recall(ds, key)
    if found is not None:
        return found
    ctes = resolved(ds, experiment, params, store)
    codes = ds.catalog.event_codes
    with assignments_cursor(ds, store, [experiment]) as cur:
        agg = ab_read.compute(
            cur,
            ds,
            ctes,
            in_segment,
            params,
            window_days=experiment.window_days,
            # an event name the data never saw converts nobody: code -1 matches no row
            conversion=codes.get(experiment.conversion_event, -1),
            purchase=codes.get(ds.config.purchase_event, -1),
        )
    ab_read.keep(ds, key, agg)
    return agg


def amount_expression(ds: Dataset) -> exp.Expression:
    """A metric event's amount (NULL when the dataset has none: counted as 0)."""
    return exp.column("amount", table="e", quoted=True) if "amount" in ds.catalog.event_properties else exp.null()


def aggregates_sql(
    ds: Dataset,
    experiment: Experiment,
    *,
    segment: Segment | None = None,
    resolve=None,
    store: AppStore | None = None,
    keep: bool = True,
) -> Aggregates:
    """The same aggregates by one SQL query (`queries/ab_variant_aggregates.sql`): reference and other engines' path."""
    params: dict[str, Any] = {}
    in_segment = _segment_filter(ds, segment, resolve, params)
    ctes = resolved(ds, experiment, params, store, keep=keep)
    codes = ds.catalog.event_codes
    amount = exp.Cast(this=amount_micros(amount_expression(ds)), to=exp.DataType.build("DECIMAL(18, 0)"))
    # an event name the data never saw converts nobody: code -1 matches no row
    query_params = {
        **params,
        "experiment": experiment.name,
        "window": timedelta(days=experiment.window_days),
        "as_of_end": ds.as_of_end,
        "conversion": codes.get(experiment.conversion_event, -1),
        "purchase": codes.get(ds.config.purchase_event, -1),
    }
    tree = with_ctes(named_query("ab_variant_aggregates", in_segment=in_segment, amount=amount), ctes)
    rows = _run(ds, tree, query_params, store, [experiment])
    variants = tuple(
        VariantAggregate(
            name=r[0],
            users=int(r[1]),
            conversions=int(r[2] or 0),
            revenue_sum=from_micros(r[3]),
            revenue_sum_sq=from_micros(r[4], squared=True),
            pre_conversions=int(r[5] or 0),
            conversion_products=int(r[6] or 0),
            pre_revenue_sum=from_micros(r[7]),
            pre_revenue_sum_sq=from_micros(r[8], squared=True),
            revenue_products=from_micros(r[9], squared=True),
            unfinished=int(r[10] or 0),
            first_assigned=r[11],
            last_assigned=r[12],
        )
        for r in rows
        if r[0] is not None
    )
    multiple, unknown = (rows[0][13], rows[0][14]) if rows else (0, 0)
    return Aggregates(variants, int(multiple or 0), int(unknown or 0))
