"""Event funnels (ANALYSES.md §3): members per step, conversions, times, drop-off, breakdown, trend.

`funnel(ds, spec, …)` gets the funnel's members table (core/analyses/funnel_table.py: computed
by one pass over the candidate rows, or reused when this funnel was asked before) and reads
every number from it; the page and `adesk funnel` render the same `FunnelResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlglot import exp

from core.analyses.funnel_spec import FunnelError, FunnelSpec, parse_funnel
from core.analyses.funnel_sql import members_tree
from core.analyses.funnel_table import members_table
from core.catalog import MODEL_COLUMNS
from core.dataset import Dataset
from core.messages import hint, msg
from core.queries import named_query
from core.segments.model import SegmentIssue

TOP_VALUES = 10  # breakdown: the most frequent values; the rest are `(other)`
# time-to-convert histogram bins (seconds): minutes, hours, days
BIN_EDGES = (
    0,
    60,
    300,
    900,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    3 * 86400,
    7 * 86400,
    14 * 86400,
    30 * 86400,
)
MEMBERS = "funnel_members"  # the table the named queries read: a temporary view of the stored table


@dataclass(frozen=True)
class StepResult:
    step: int  # 1-based
    event: str
    users: int
    median_seconds_from_previous: float | None
    histogram: tuple[tuple[float, int], ...] = ()  # (bin's lower edge in seconds, members)


@dataclass(frozen=True)
class BreakdownRow:
    value: str
    users: tuple[int, ...]  # per step


@dataclass(frozen=True)
class TrendPoint:
    period: date
    entered: int
    converted: int
    complete: bool

    @property
    def conversion(self) -> float | None:
        return self.converted / self.entered if self.entered else None


@dataclass(frozen=True)
class FunnelResult:
    spec: FunnelSpec
    start: date
    end: date
    as_of: date
    entered: int  # members with a start in the entry range, before exclusions
    excluded: int  # removed from every step by an exclusion on their path
    open: int  # counted members whose window is still open at as_of and who have not reached the last step
    steps: tuple[StepResult, ...]
    breakdown: tuple[BreakdownRow, ...] = ()
    breakdown_field: str | None = None
    trend: tuple[TrendPoint, ...] = ()
    trend_unit: str | None = None
    extra: dict = field(default_factory=dict)

    def conversion_from_previous(self, k: int) -> float | None:
        prev = self.steps[k - 2].users if k > 1 else self.steps[0].users
        return self.steps[k - 1].users / prev if prev else None

    def conversion_from_first(self, k: int) -> float | None:
        first = self.steps[0].users
        return self.steps[k - 1].users / first if first else None

    @property
    def dropped(self) -> tuple[int, ...]:
        """Drop-off at step k: reached k, not k+1 (0 at the last step)."""
        users = [s.users for s in self.steps]
        return tuple(users[i] - (users[i + 1] if i + 1 < len(users) else users[i]) for i in range(len(users)))

    @property
    def overall_conversion(self) -> float | None:
        return self.conversion_from_first(len(self.steps))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "entered": self.entered,
            "excluded": self.excluded,
            "open": self.open,
            "steps": [
                {
                    "step": s.step,
                    "event": s.event,
                    "users": s.users,
                    "conversion_from_previous": self.conversion_from_previous(s.step),
                    "conversion_from_first": self.conversion_from_first(s.step),
                    "median_seconds_from_previous": s.median_seconds_from_previous,
                    "dropped": self.dropped[s.step - 1],
                }
                for s in self.steps
            ],
        }
        if self.breakdown_field is not None:
            d["breakdown_field"] = self.breakdown_field
            d["breakdown"] = [{"value": b.value, "steps": [{"users": u} for u in b.users]} for b in self.breakdown]
        if self.trend_unit is not None:
            d["trend_unit"] = self.trend_unit
            d["trend"] = [
                {"period": t.period.isoformat(), "entered": t.entered, "converted": t.converted, "complete": t.complete}
                for t in self.trend
            ]
        return d


def _breakdown_value(ds: Dataset, name: str) -> tuple[exp.Expression | None, str | None]:
    """(a tree over `profile pr`, or None with the step-1 property's name) for a breakdown field.

    `attribute:NAME` or a bare attribute name; `tag:PATH` (its value, else has/has not);
    `rfm` / `aipl` / `lifecycle` (or `model:…`); `step1:PROPERTY` (the path's step-1 row).
    """
    cat = ds.catalog
    kind, _, rest = name.partition(":") if ":" in name else ("", "", name)
    if kind == "step1":
        return None, rest
    if kind in ("", "model") and rest in MODEL_COLUMNS:
        return exp.column(MODEL_COLUMNS[rest], table="pr", quoted=True), None
    if kind == "tag":
        info = cat.tags.get(rest)
        if info is None:
            raise FunnelError(
                [SegmentIssue.of("breakdown", msg("segment.unknown_tag", tag=rest, hint=hint(rest, list(cat.tags))))]
            )
        return exp.column(info.value_column or info.column, table="pr", quoted=True), None
    if kind in ("", "attribute") and rest in cat.attributes:
        return exp.column(rest, table="pr", quoted=True), None
    known = list(cat.attributes) + list(MODEL_COLUMNS)
    raise FunnelError(
        [SegmentIssue.of("breakdown", msg("funnel.unknown_breakdown", name=name, hint=hint(rest, known)))]
    )


_TEXTS: dict[tuple[str, ...], str] = {}  # a named query with its slots, as text (generating SQL costs ~10 ms)


def _text(name: str, **slots: exp.Expression | list[exp.Expression]) -> str:
    """queries/<name>.sql with these slots as DuckDB text, generated once per distinct slots."""
    key = (
        name,
        *(
            f"{k}={[t.sql('duckdb') for t in v] if isinstance(v, list) else v.sql('duckdb')}"
            for k, v in sorted(slots.items())
        ),
    )
    if key not in _TEXTS:
        if len(_TEXTS) > 256:
            _TEXTS.clear()
        _TEXTS[key] = named_query(name, **slots).sql("duckdb")
    return _TEXTS[key]


def _reached(k: int, table: str = "m") -> list[exp.Expression]:
    """Per step j: `count(*) FILTER (WHERE deepest >= j)`, the members who reached it."""
    deepest = exp.column("deepest", table=table)
    return [
        exp.Filter(
            this=exp.Count(this=exp.Star()),
            expression=exp.Where(this=exp.GTE(this=deepest.copy(), expression=exp.Literal.number(j))),
        )
        for j in range(1, k + 1)
    ]


def _medians(k: int) -> list[exp.Expression]:
    """Per step j > 1: the median of (t_j - t_(j-1)) in seconds over the members who reached j."""

    def us(j: int) -> exp.Expression:
        return exp.func("epoch_us", exp.column(f"t{j}", table="m"))

    out: list[exp.Expression] = []
    for j in range(2, k + 1):
        seconds = exp.Div(
            this=exp.paren(exp.Sub(this=us(j), expression=us(j - 1))), expression=exp.Literal.number("1000000.0")
        )
        where = exp.Where(this=exp.GTE(this=exp.column("deepest", table="m"), expression=exp.Literal.number(j)))
        out.append(exp.Filter(this=exp.func("median", seconds), expression=where))
    return out


def _periods(start: date, end: date, unit: str) -> list[date]:
    first = start - timedelta(days=start.weekday()) if unit == "week" else start
    step = timedelta(days=7 if unit == "week" else 1)
    out, d = [], first
    while d <= end:
        out.append(d)
        d += step
    return out


def funnel(
    ds: Dataset,
    spec: FunnelSpec | dict,
    *,
    segment: object | None = None,
    resolve: Any = None,
    breakdown: str | None = None,
    trend: str | None = None,
) -> FunnelResult:
    """The funnel over all members (or the base segment's), per ANALYSES.md §3."""
    from core.segments.operations import segment_condition

    spec = parse_funnel(spec)
    if trend not in (None, "day", "week"):
        raise FunnelError([SegmentIssue.of("trend", msg("funnel.trend", trend=trend))])
    value_tree, start_property = _breakdown_value(ds, breakdown) if breakdown else (None, None)
    base, base_params = (None, {})
    if segment is not None:
        base, base_params = segment_condition(ds, segment, resolve, prefix="s_")
    table = members_table(ds, spec, base=base, base_params=base_params, start_property=start_property)
    k = len(spec.steps)
    start, end = spec.entry_range(ds.as_of)

    sql = _text
    cur = ds.cursor()
    try:
        # the named queries read `funnel_members`: on this cursor, a view of the stored members table
        view = exp.Create(
            this=exp.to_table(MEMBERS),
            kind="VIEW",
            replace=True,
            properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            expression=exp.select(exp.Star()).from_(table),
        )
        cur.execute(view.sql("duckdb"))
        entered, excluded, open_ = cur.execute(sql("funnel_totals")).fetchone()
        (row,) = cur.execute(sql("funnel_steps", columns=_reached(k) + _medians(k))).fetchall()
        rows = [(s, row[s - 1], row[k + s - 2] if s > 1 else None) for s in range(1, k + 1)]
        lo = [float(x) for x in BIN_EDGES]
        hist: dict[int, list[tuple[float, int]]] = {}
        for s, edge, n in cur.execute(
            sql("funnel_histogram"), {"k": k, "lo": lo, "hi": lo[1:] + [float("inf")]}
        ).fetchall():
            hist.setdefault(s, []).append((edge, n))
        steps = tuple(
            StepResult(s, spec.steps[s - 1].event, users, median, tuple(hist.get(s, ()))) for s, users, median in rows
        )
        breakdown_rows: tuple[BreakdownRow, ...] = ()
        if breakdown:
            value = value_tree if value_tree is not None else exp.column("start_value", table="m")
            q = sql("funnel_breakdown", value=value, counts=_reached(k, "l"))
            per = {label: list(users) for label, *users in cur.execute(q, {"top": TOP_VALUES}).fetchall()}
            ordered = sorted(
                per.items(), key=lambda kv: (kv[0] in ("(other)", "(missing)"), kv[0] == "(missing)", -kv[1][0], kv[0])
            )
            breakdown_rows = tuple(BreakdownRow(label, tuple(users)) for label, users in ordered)
        points: tuple[TrendPoint, ...] = ()
        if trend:
            counts = {p: (e, c) for p, e, c in cur.execute(sql("funnel_trend"), {"unit": trend, "k": k}).fetchall()}
            as_of_end = ds.as_of_end
            pts = []
            for p in _periods(start, end, trend):
                last = min(p + timedelta(days=6 if trend == "week" else 0), end)
                # complete once the window after the period's last day has passed the end of as_of
                done = (
                    last + timedelta(days=1)
                ).toordinal() * 86400 + spec.window.total_seconds() <= as_of_end.date().toordinal() * 86400
                e, c = counts.get(p, (0, 0))
                pts.append(TrendPoint(p, e, c, done))
            points = tuple(pts)
    finally:
        cur.close()
    return FunnelResult(
        spec, start, end, ds.as_of, entered, excluded, open_, steps,
        breakdown_rows, breakdown, points, trend,
    )  # fmt: skip


def funnel_members(
    ds: Dataset, spec: FunnelSpec | dict, *, start_property: str | None = None, plain: bool = False
) -> dict[str, dict]:
    """Each entered member's place (user_id -> deepest, excluded, open, path times, step-1 value): for checks.

    `plain=True` reads the plain-SQL plan (core.analyses.funnel_sql.members_tree) instead of the stored table.
    """
    from core.segments.compile import Compiler, renumber

    spec = parse_funnel(spec)
    if plain:
        ctx = Compiler(ds.catalog, None, None)
        tree = members_tree(ctx, spec, start_property=start_property)
        if ctx.issues:
            raise FunnelError(ctx.issues)
        tree, params = renumber(tree, ctx.params)
        source = exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier("m")))
    else:
        source, params = members_table(ds, spec, start_property=start_property), {}
        source.set("alias", exp.TableAlias(this=exp.to_identifier("m")))
    times = exp.Array(expressions=[exp.column(f"t{j}", table="m") for j in range(1, 9)])
    joined = (
        exp.select(
            exp.column("user_id", table="pr", quoted=True),
            *[exp.column(c, table="m") for c in ("deepest", "excluded", "open", "start_value")],
            times,
        )
        .from_(source)
        .join(
            exp.alias_(exp.to_table("profile"), "pr"),
            on=exp.EQ(this=exp.column("_uid", table="pr"), expression=exp.column("_uid", table="m")),
        )
    )
    out = {}
    for user_id, deepest, excluded, open_, value, times in ds.run(joined, params):
        out[user_id] = {
            "deepest": deepest,
            "excluded": excluded,
            "open": open_,
            "start_value": value,
            "times": list(times[:deepest]),
        }
    return out


def funnel_problems(ds: Dataset, spec: FunnelSpec) -> list[str]:
    """What this dataset cannot answer in the funnel (unknown events or properties, bad values), in words."""
    from core.segments.compile import Compiler

    ctx = Compiler(ds.catalog, None, None)
    members_tree(ctx, spec)
    return [str(i) for i in ctx.issues]
