"""A/B results (ANALYSES.md §5): a spec in, per-variant metrics with gbstats' statistics out.

The page and `adesk ab` both call `ab_result`; the statistics are core/analyses/ab_stats.py,
the aggregates core/analyses/experiments.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from core.analyses.ab_stats import ALPHA, Arm, Comparison, Moments, compare, holm, srm_p_value
from core.analyses.experiments import (
    Aggregates,
    Experiment,
    VariantAggregate,
    aggregates,
    experiments,
    find,
    listing,
)
from core.dataset import Dataset

if TYPE_CHECKING:
    from core.store import AppStore

METRICS = ("conversion", "revenue")
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class ABSpec:
    experiment: str
    segment: dict[str, Any] | None = None  # a base segment (SEGMENT_SPEC JSON): results within it
    cuped: bool = False
    sequential: bool = False


def arm(v: VariantAggregate, metric: str) -> Arm:
    """The variant's metric as the statistics take it, with the pre-period covariate for CUPED."""
    if metric == "conversion":
        return Arm(
            Moments(v.users, v.conversions, v.conversions, True),
            Moments(v.users, v.pre_conversions, v.pre_conversions, True),
            v.conversion_products,
        )
    return Arm(
        Moments(v.users, v.revenue_sum, v.revenue_sum_sq),
        Moments(v.users, v.pre_revenue_sum, v.pre_revenue_sum_sq),
        v.revenue_products,
    )


@dataclass(frozen=True)
class MetricResult:
    metric: str
    mean: float | None  # conversion rate, or revenue per user; None for an empty variant
    comparison: Comparison | None  # None for the control
    p_value_adjusted: float | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        stat = (lambda name: getattr(c, name)) if c is not None and c.enough_data else (lambda _name: None)
        return {
            "mean": self.mean,
            "lift": stat("lift"),
            "ci_low": stat("ci_low"),
            "ci_high": stat("ci_high"),
            "p_value": stat("p_value"),
            "p_value_adjusted": self.p_value_adjusted,
            "chance_to_win": stat("chance_to_win"),
            "risk": stat("risk_treatment"),
        }


@dataclass(frozen=True)
class VariantResult:
    aggregate: VariantAggregate
    is_control: bool
    metrics: tuple[MetricResult, ...]

    @property
    def name(self) -> str:
        return self.aggregate.name

    def metric(self, name: str) -> MetricResult:
        return next(m for m in self.metrics if m.metric == name)

    def to_dict(self) -> dict[str, Any]:
        a = self.aggregate
        return {
            "name": a.name,
            "users": a.users,
            "conversions": a.conversions,
            "revenue_sum": a.revenue_sum,
            "revenue_sum_sq": a.revenue_sum_sq,
            "metrics": {m.metric: m.to_dict() for m in self.metrics},
        }


@dataclass(frozen=True)
class Verdict:
    """What the result says, for words on the page: kind is srm, not_enough_data, wins, loses or no_difference."""

    kind: str
    variant: str | None = None
    metric: str = "conversion"
    lift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    chance_to_win: float | None = None


@dataclass(frozen=True)
class ABResult:
    experiment: Experiment
    spec: ABSpec
    as_of: date
    control: str
    variants: tuple[VariantResult, ...]
    excluded_multiple_exposure: int
    excluded_unknown_users: int
    srm_p_value: float | None
    segment_description: str | None = None

    @property
    def srm_flag(self) -> bool:
        return self.srm_p_value is not None and self.srm_p_value < SRM_THRESHOLD

    @property
    def windows_incomplete(self) -> int:
        return sum(v.aggregate.unfinished for v in self.variants)

    @property
    def users(self) -> int:
        return sum(v.aggregate.users for v in self.variants)

    @property
    def comparisons(self) -> int:
        """Treatment variants × metrics with a p-value: Holm adjusts over these."""
        return sum(
            1 for v in self.variants for m in v.metrics if m.comparison is not None and m.comparison.p_value is not None
        )

    def treatments(self) -> tuple[VariantResult, ...]:
        return tuple(v for v in self.variants if not v.is_control)

    def verdict(self, *, bayesian: bool = False, adjusted: bool = True, metric: str = "conversion") -> Verdict:
        """The decision on `metric`: a broken split first; else the best variant that wins (or the worst that loses)."""
        if self.srm_flag:
            return Verdict("srm", metric=metric)
        rows = [(v.name, v.metric(metric)) for v in self.treatments()]
        rows = [(n, m) for n, m in rows if m.comparison is not None and m.comparison.enough_data]
        if not rows:
            return Verdict("not_enough_data", metric=metric)

        def decided(m: MetricResult) -> int:
            c = m.comparison
            if bayesian:
                return 1 if c.chance_to_win > 1 - ALPHA else -1 if c.chance_to_win < ALPHA else 0
            p = m.p_value_adjusted if adjusted and m.p_value_adjusted is not None else c.p_value
            return (1 if c.lift > 0 else -1) if p < ALPHA else 0

        winners = [(n, m) for n, m in rows if decided(m) > 0]
        losers = [(n, m) for n, m in rows if decided(m) < 0]
        if winners:
            kind, (name, m) = "wins", max(winners, key=lambda r: r[1].comparison.lift)
        elif losers and len(losers) == len(rows):
            kind, (name, m) = "loses", min(losers, key=lambda r: r[1].comparison.lift)
        else:
            kind, (name, m) = "no_difference", max(rows, key=lambda r: r[1].comparison.lift)
        c = m.comparison
        return Verdict(kind, name, metric, c.lift, c.ci_low, c.ci_high, c.chance_to_win)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name,
            "control": self.control,
            "srm_p_value": self.srm_p_value,
            "srm_flag": self.srm_flag,
            "excluded_multiple_exposure": self.excluded_multiple_exposure,
            "excluded_unknown_users": self.excluded_unknown_users,
            "windows_incomplete": self.windows_incomplete,
            "variants": [v.to_dict() for v in self.variants],
        }


def control_of(experiment: Experiment, names: list[str]) -> str | None:
    """The configured control, else the first variant by name."""
    if experiment.control is not None:
        return experiment.control
    return sorted(names)[0] if names else None


def build_result(
    experiment: Experiment, spec: ABSpec, as_of: date, agg: Aggregates, segment_description: str | None = None
) -> ABResult:
    """Statistics over aggregates: every treatment against the control on every metric, Holm over them all."""
    names = [v.name for v in agg.variants]
    control = control_of(experiment, names)
    order = sorted(agg.variants, key=lambda v: (v.name != control, v.name))
    by_name = {v.name: v for v in order}
    base = by_name.get(control)
    if base is None:  # the control has no users (in this segment): compare against an empty arm
        base = VariantAggregate(control or "", 0, 0, 0.0, 0.0)
        order.insert(0, base)
    comparisons: dict[tuple[str, str], Comparison] = {}
    for v in order[1:]:
        for metric in METRICS:
            comparisons[(v.name, metric)] = compare(
                arm(base, metric), arm(v, metric), cuped=spec.cuped, sequential=spec.sequential
            )
    keys = list(comparisons)
    adjusted = dict(zip(keys, holm([comparisons[k].p_value for k in keys]), strict=True))
    variants = []
    for v in order:
        metrics = []
        for metric in METRICS:
            mean = (v.conversions if metric == "conversion" else v.revenue_sum) / v.users if v.users else None
            key = (v.name, metric)
            metrics.append(MetricResult(metric, mean, comparisons.get(key), adjusted.get(key)))
        variants.append(VariantResult(v, v is base, tuple(metrics)))
    srm = srm_p_value([v.users for v in order], experiment.weights([v.name for v in order]))
    return ABResult(
        experiment,
        spec,
        as_of,
        control or "",
        tuple(variants),
        agg.multiple_exposure,
        agg.unknown_users,
        srm,
        segment_description,
    )


def ab_result(ds: Dataset, spec: ABSpec, store: AppStore | None = None) -> ABResult:
    """One experiment's results (raises UnknownExperiment with the known names)."""
    from core.segments.model import parse_segment

    experiment = find(ds, spec.experiment, store)
    segment = parse_segment(spec.segment) if spec.segment is not None else None
    resolve = store.resolver() if store is not None else None
    agg = aggregates(ds, experiment, segment=segment, resolve=resolve, store=store)
    description = None
    if segment is not None:
        from core.segments.describe import describe

        description = describe(segment, ds.catalog)
    return build_result(experiment, spec, ds.as_of, agg, description)


@dataclass(frozen=True)
class ExperimentSummary:
    """One line of the experiments list."""

    experiment: Experiment
    variants: tuple[tuple[str, int], ...]  # (variant, users), control first
    first_assigned: Any
    last_assigned: Any
    window_complete: bool  # every user's metric window is over by the end of as_of
    srm_p_value: float | None
    control: str | None = None

    @property
    def users(self) -> int:
        return sum(n for _, n in self.variants)

    @property
    def srm_flag(self) -> bool:
        return self.srm_p_value is not None and self.srm_p_value < SRM_THRESHOLD

    @property
    def status(self) -> str:
        """srm (broken split) before window complete before running; 'no users' when nobody was assigned."""
        if self.srm_flag:
            return "srm"
        if not self.variants:
            return "no_users"
        return "window_complete" if self.window_complete else "running"

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name,
            "kind": self.experiment.kind,
            "control": self.control,
            "variants": [{"name": n, "users": u} for n, u in self.variants],
            "users": self.users,
            "first_assigned": self.first_assigned.isoformat() if self.first_assigned else None,
            "last_assigned": self.last_assigned.isoformat() if self.last_assigned else None,
            "metric_window_days": self.experiment.window_days,
            "status": self.status,
            "srm_p_value": self.srm_p_value,
        }


def experiment_list(ds: Dataset, store: AppStore | None = None) -> tuple[ExperimentSummary, ...]:
    """Every experiment with its users per variant, dates and status, in one query."""
    from datetime import timedelta

    known = experiments(ds, store)
    rows = listing(ds, known, store)
    out = []
    for e in known:
        found = rows.get(e.name, [])
        control = control_of(e, [r[0] for r in found])
        found = sorted(found, key=lambda r: (r[0] != control, r[0]))
        first = min((r[2] for r in found), default=None)
        last = max((r[3] for r in found), default=None)
        complete = last is not None and last + timedelta(days=e.window_days) <= ds.as_of_end
        srm = srm_p_value([r[1] for r in found], e.weights([r[0] for r in found])) if found else None
        out.append(ExperimentSummary(e, tuple((r[0], r[1]) for r in found), first, last, complete, srm, control))
    return tuple(out)
