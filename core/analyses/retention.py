"""Cohort retention (ANALYSES.md §4): of the members who started in a period, how many came back later.

A member's **start** is their `signup_at`, or their first event ever (up to `as_of`) matching the
start event and its filters; their **cohort** is the calendar period (ISO week from Monday, or
month) of the start. Cohorts are the whole periods that meet `[first, last]`, up to the one
containing `as_of`. Period k of cohort C is period C + k; a member is retained in it (k ≥ 1) with a
return event in it (mode `on`) or in it or later (mode `on_or_after`). Period 0 is the cohort size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlglot import exp

from core.dataset import Dataset
from core.messages import CodedError, msg
from core.queries import named_query
from core.segments.compile import compile_event_rows
from core.segments.model import EventFilter, Segment, SegmentError, parse_event_filters
from core.segments.operations import segment_condition

Period = Literal["week", "month"]
Mode = Literal["on", "on_or_after"]
PERIODS: tuple[str, ...] = ("week", "month")
MODES: tuple[str, ...] = ("on", "on_or_after")
SIGNUP = "signup"
# A member's return periods travel as the bits of one 64-bit number (queries/retention_*.sql):
# at most 64 periods from the first cohort's to the one containing as_of.
MAX_PERIODS = 64
_MONDAY_1900 = date(1900, 1, 1)  # a Monday: week numbers count whole weeks from it
_WEEK_US = 7 * 86_400 * 1_000_000
_MONDAY_1900_US = 2_208_988_800 * 1_000_000  # microseconds from 1900-01-01 to 1970-01-01


class RetentionError(CodedError, ValueError):
    """A retention question the dataset cannot answer (unknown event, bad filter, empty range)."""


@dataclass(frozen=True)
class RetentionSpec:
    """What to count: start, return, period, the range of cohorts and the mode."""

    period: Period
    first: date  # cohorts are the periods meeting [first, last]
    last: date
    start: str = SIGNUP  # "signup" or an event name
    start_where: tuple[EventFilter, ...] = ()
    return_event: str | None = None  # None = any event
    return_where: tuple[EventFilter, ...] = ()
    mode: Mode = "on"

    def to_dict(self) -> dict:
        return {
            "period": self.period,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "start": self.start,
            "start_where": [f.to_dict() for f in self.start_where],
            "return": self.return_event or "any",
            "return_where": [f.to_dict() for f in self.return_where],
            "mode": self.mode,
        }


def parse_filters(raw: object, what: str) -> tuple[EventFilter, ...]:
    """`--start-where` / `--return-where` JSON (a list of event filters); RetentionError says what is wrong."""
    if raw is None or raw == "" or raw == []:
        return ()
    try:
        return parse_event_filters(raw, what)
    except SegmentError as err:
        raise RetentionError(_problems(err)) from None


def _problems(err: SegmentError) -> str:
    """Every issue of a SegmentError on one line each (the place, then what is wrong)."""
    return "; ".join(str(issue) for issue in err.issues)


# --- calendar periods ----------------------------------------------------------------------------


def period_index(day: date, period: Period) -> int:
    """The period's number: months since year 0, or whole weeks since Monday 1900-01-01."""
    if period == "month":
        return day.year * 12 + day.month - 1
    return (day - _MONDAY_1900).days // 7


def period_start(index: int, period: Period) -> date:
    """The first day of the period with this number."""
    if period == "month":
        return date(index // 12, index % 12 + 1, 1)
    return _MONDAY_1900 + timedelta(days=7 * index)


def period_last_day(index: int, period: Period) -> date:
    """The last day of the period with this number."""
    return period_start(index + 1, period) - timedelta(days=1)


def _period_tree(ts: exp.Expression, period: Period) -> exp.Expression:
    """The SQL twin of `period_index` for a TIMESTAMP (wall clock in the dataset's zone)."""
    if period == "month":
        months = exp.Mul(this=exp.func("year", ts), expression=exp.Literal.number(12))
        return exp.Sub(
            this=exp.Add(this=months, expression=exp.func("month", ts.copy())), expression=exp.Literal.number(1)
        )
    shifted = exp.Add(this=exp.func("epoch_us", ts), expression=exp.Literal.number(_MONDAY_1900_US))
    return exp.IntDiv(this=exp.paren(shifted), expression=exp.Literal.number(_WEEK_US))


# --- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """One row of the table: the members who started in one period, and how many returned."""

    index: int  # the period's number (see `period_index`)
    start: date  # first day of the period
    end: date  # last day of the period
    size: int
    retained: tuple[int, ...]  # [size, n1, n2, …] up to the last period that has begun by as_of
    complete: tuple[bool, ...]  # per period: it ended by the end of the as_of day

    @property
    def shares(self) -> tuple[float | None, ...]:
        """Each period's count over the cohort size (None for an empty cohort)."""
        return tuple(n / self.size if self.size else None for n in self.retained)

    def to_dict(self) -> dict:
        return {
            "cohort": self.start.isoformat(),
            "size": self.size,
            "retained": list(self.retained),
            "complete": list(self.complete),
        }


@dataclass(frozen=True)
class Retention:
    """The cohort table, and per column the size-weighted mean over the cohorts where it is complete."""

    spec: RetentionSpec
    as_of: date
    cohorts: tuple[Cohort, ...]
    segment: Segment | None = field(default=None, compare=False)

    @property
    def columns(self) -> int:
        """Number of period columns (k = 0 … columns - 1)."""
        return max((len(c.retained) for c in self.cohorts), default=0)

    @property
    def total(self) -> int:
        """Members in all cohorts."""
        return sum(c.size for c in self.cohorts)

    @property
    def mean(self) -> tuple[float | None, ...]:
        """Column k: retained in k / size, summed over the cohorts whose period k is complete (None if none is)."""
        out: list[float | None] = []
        for k in range(self.columns):
            rows = [c for c in self.cohorts if k < len(c.complete) and c.complete[k]]
            size = sum(c.size for c in rows)
            out.append(sum(c.retained[k] for c in rows) / size if size else None)
        return tuple(out)

    @property
    def incomplete_cohorts(self) -> int:
        """Cohorts with at least one incomplete period shown."""
        return sum(1 for c in self.cohorts if not all(c.complete))

    def to_dict(self) -> dict:
        return {
            "period": self.spec.period,
            "mode": self.spec.mode,
            "cohorts": [c.to_dict() for c in self.cohorts],
            "mean": list(self.mean),
        }


# --- computing it --------------------------------------------------------------------------------


def _prefixed(
    expression: exp.Expression, params: dict[str, object], prefix: str
) -> tuple[exp.Expression, dict[str, object]]:
    """Placeholders renamed `<prefix><name>` so the start, return and base filters share one query."""

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in params:
            return exp.Placeholder(this=prefix + node.name)
        return node

    return expression.copy().transform(rename), {prefix + k: v for k, v in params.items()}


def _event_rows(
    ds: Dataset, event: str | None, where: tuple[EventFilter, ...], what: str, prefix: str
) -> tuple[exp.Expression, dict[str, object]]:
    try:
        compiled = compile_event_rows(event, where, ds.catalog, path=f"{what} ")
    except SegmentError as err:
        raise RetentionError(_problems(err)) from None
    return _prefixed(compiled.expression, compiled.params, prefix)


def check(ds: Dataset, spec: RetentionSpec) -> None:
    """Raise RetentionError for a question this dataset cannot answer."""
    if spec.period not in PERIODS:
        raise RetentionError(msg("retention.period", periods=", ".join(PERIODS), period=spec.period))
    if spec.mode not in MODES:
        raise RetentionError(msg("retention.mode", modes=", ".join(MODES), mode=spec.mode))
    if spec.first > spec.last:
        raise RetentionError(msg("retention.range_swapped", first=spec.first, last=spec.last))
    if spec.first > ds.as_of:
        raise RetentionError(msg("retention.after_as_of", first=spec.first, as_of=ds.as_of))
    if spec.start == SIGNUP:
        if "signup_at" not in ds.catalog.attributes:
            raise RetentionError(msg("retention.no_signup"))
        if spec.start_where:
            raise RetentionError(msg("retention.signup_filters"))
    count = period_index(ds.as_of, spec.period) - period_index(spec.first, spec.period) + 1
    if count > MAX_PERIODS:
        by_month = msg("retention.or_by_month") if spec.period == "week" else ""
        raise RetentionError(
            msg(
                "retention.too_many_periods",
                first=spec.first,
                as_of=ds.as_of,
                count=count,
                period=spec.period,
                limit=MAX_PERIODS,
                by_month=by_month,
            )
        )


def retention(ds: Dataset, spec: RetentionSpec, base: Segment | None = None, resolve=None) -> Retention:
    """The cohort table for `spec`, over the members of `base` (evaluated at as_of; None = all members)."""
    check(ds, spec)
    p = spec.period
    first = period_index(spec.first, p)
    last = min(period_index(spec.last, p), period_index(ds.as_of, p))  # cohorts start by as_of
    today = period_index(ds.as_of, p)
    params: dict[str, object] = {
        "cohorts_start": datetime.combine(period_start(first, p), time()),
        "cohorts_end": min(datetime.combine(period_start(last + 1, p), time()), ds.as_of_end),
        "returns_start": datetime.combine(period_start(first + 1, p), time()),
        "as_of_end": ds.as_of_end,
        "mode": spec.mode,
        "columns": today - first + 1,
    }
    if base is None:
        base_tree: exp.Expression = exp.true()
    else:
        try:
            base_tree, base_params = segment_condition(ds, base, resolve, "s_")
        except SegmentError as err:
            raise RetentionError("the segment cannot be used here: " + _problems(err)) from None
        params.update(base_params)
    return_rows, return_params = _event_rows(ds, spec.return_event, spec.return_where, "return", "r_")
    params.update(return_params)
    cohort_slots: dict[str, exp.Expression] = {"base": base_tree}
    if spec.start == SIGNUP:
        name = "retention_members_signup"
        cohort_slots["cohort_period"] = _period_tree(exp.column("signup_at", quoted=True), p)
    else:
        name = "retention_members_event"
        cohort_slots["start_rows"], start_params = _event_rows(ds, spec.start, spec.start_where, "start", "st_")
        params.update(start_params)
        cohort_slots["cohort_period"] = _period_tree(exp.column("_start_ts", quoted=True), p)
    tree = named_query(
        "retention",
        members=named_query(name, **cohort_slots).subquery("cohort_members"),
        return_rows=return_rows,
        return_period=_period_tree(exp.column("ts", table="ev"), p),
    )
    rows = ds.run(tree, params)
    counts: dict[tuple[str, int, int], int] = {(m, c, k): n for m, c, k, n in rows}
    cohorts = []
    for c in range(first, last + 1):
        span = today - c + 1  # periods C .. the one containing as_of
        size = counts.get(("size", c, 0), 0)
        if spec.mode == "on":
            retained = [size] + [counts.get(("on", c, k), 0) for k in range(1, span)]
        else:  # returned in k or later = last return in k or later
            retained = [size] + [sum(counts.get(("last", c, j), 0) for j in range(k, span)) for k in range(1, span)]
        complete = [period_start(c + k + 1, p) <= ds.as_of + timedelta(days=1) for k in range(span)]
        cohorts.append(Cohort(c, period_start(c, p), period_last_day(c, p), size, tuple(retained), tuple(complete)))
    return Retention(spec, ds.as_of, tuple(cohorts), base)


# --- the members of one cohort as a segment definition ---------------------------------------------


def first_event_day(ds: Dataset) -> date | None:
    """The day of the earliest event up to as_of (the start of 'no start event before this cohort')."""
    found = ds.run(named_query("retention_first_event_day"))[0][0]
    return found.date() if found is not None else None


def cohort_definition(
    spec: RetentionSpec, cohort: Cohort, as_of: date, first_day: date | None, base: Segment | None = None
) -> dict:
    """A segment definition (SEGMENT_SPEC.md) that holds exactly the members of `cohort`.

    Signup cohorts: `signup_at` between the period's first and last day (up to as_of). Event
    starts: the start event (with its filters) at least once in the period, and never from the
    dataset's first event day to the day before the period. With a base, AND the base's conditions.
    """
    last = min(cohort.end, as_of)
    conditions: list[dict] = []
    if spec.start == SIGNUP:
        conditions.append(
            {
                "kind": "attribute",
                "field": "signup_at",
                "op": "between",
                "values": [cohort.start.isoformat(), last.isoformat()],
            }
        )
    else:
        where = [f.to_dict() for f in spec.start_where]
        started = {
            "kind": "event",
            "event": spec.start,
            "op": ">=",
            "count": 1,
            "between": [cohort.start.isoformat(), last.isoformat()],
        }
        conditions.append({**started, "where": where} if where else started)
        if first_day is not None and first_day < cohort.start:
            before = {
                "kind": "event",
                "event": spec.start,
                "op": "=",
                "count": 0,
                "between": [first_day.isoformat(), (cohort.start - timedelta(days=1)).isoformat()],
            }
            conditions.append({**before, "where": where} if where else before)
    if base is not None and base.conditions:
        conditions.append({"kind": "group", "match": base.match, "conditions": base.to_dict()["conditions"]})
    return {"version": 1, "match": "all", "conditions": conditions}
