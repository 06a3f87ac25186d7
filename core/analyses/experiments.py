"""Experiments and their per-variant aggregates in DuckDB (ANALYSES.md §5).

Two sources of experiments, read the same way:
- the contract's `assignments` for every `[experiments.X]` in dataset.toml, resolved per member once per
  data version into files next to the derived cache, read as `ab_members`, `ab_unknown` (core/analyses/ab_members.py);
- every succeeded export of this dataset with a holdout: experiment = export id, variants
  `target` / `holdout`, control `holdout`, assigned at the export's time. Its assignments are the
  Parquet file the export wrote beside the app store (core/export/); exports made before that
  file existed have rows in the store's SQLite table, read into an Arrow table (the assignments
  relation and its resolution per member: core/analyses/ab_assignments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.analyses.ab_assignments import assignments_cursor, resolved, run_with_assignments, with_ctes
from core.dataset import Dataset
from core.models.rfm import amount_micros, from_micros
from core.queries import named_query

if TYPE_CHECKING:
    from core.segments.model import Segment
    from core.store import AppStore

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
            (variant, int(users), first, last)
            for variant, users, first, last in run_with_assignments(ds, tree, params, store, [e])
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
    rows = run_with_assignments(ds, tree, query_params, store, [experiment])
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
