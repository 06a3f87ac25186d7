"""AIPL for leads (ANALYSES.md §2): the funnel of a segment at a day, its monthly trend, the flow d1 → d2.

Stages at a past day come from `core.models` (computed once per day and kept); at `as_of`
from `profile`. Answers are kept per opened dataset (one version of the data) unless the base
names saved segments. A base segment is evaluated at `as_of`. Every number has a definition
(`stage_definition`, `cell_definition`) that the builder counts to the same members.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlglot import exp

from core import models
from core.catalog import UID
from core.dataset import Dataset
from core.dataset.caches import dataset_cache
from core.messages import CodedError, msg
from core.models import aipl_history
from core.queries import named_query
from core.segments.model import Aipl, Condition, Group, Segment, referenced_segments
from core.segments.operations import segment_condition

STAGES = ("A", "I", "P", "L")  # the funnel's order
ALL_STAGES = ("A", "I", "P", "L", "none")  # rows and columns of the flow
RANK = {"none": 0, "A": 1, "I": 2, "P": 3, "L": 4}
SUMMARY = ("moved_up", "entered", "stayed", "fell_back", "lost", "absent")
Progress = Callable[[float, str], None]


class AiplInputError(CodedError, ValueError):
    """A day after `as_of`, a flow whose d1 is not before d2, or a month count out of range."""


@dataclass(frozen=True)
class Funnel:
    """Members of a base per stage at one day."""

    day: date
    segment_size: int
    stages: tuple[tuple[str, int], ...]  # ALL_STAGES order

    @property
    def in_stage(self) -> dict[str, int]:
        return dict(self.stages)

    @property
    def reached(self) -> dict[str, int]:
        """Members whose stage is X or higher (A ≥ I ≥ P ≥ L)."""
        counts, out, running = self.in_stage, {}, 0
        for stage in reversed(STAGES):
            running += counts[stage]
            out[stage] = running
        return {s: out[s] for s in STAGES}

    @property
    def conversion(self) -> dict[str, float | None]:
        """Adjacent stage conversion X→Y: reached Y / reached X (None when nobody reached X)."""
        r = self.reached
        return {f"{a}_to_{b}": (r[b] / r[a] if r[a] else None) for a, b in zip(STAGES, STAGES[1:], strict=False)}

    def to_dict(self) -> dict:
        return {
            "as_of": self.day.isoformat(),
            "segment_size": self.segment_size,
            "stages": self.in_stage,
            "reached": self.reached,
            "conversion": self.conversion,
        }


@dataclass(frozen=True)
class Trend:
    """The funnel at each month end (and `as_of` for the current month)."""

    points: tuple[Funnel, ...]

    def to_dict(self) -> dict:
        return {"points": [{"date": p.day.isoformat(), "stages": p.in_stage} for p in self.points]}


@dataclass(frozen=True)
class Flow:
    """Members of a base per (stage at d1, stage at d2)."""

    day_from: date
    day_to: date
    base_size: int
    cells: tuple[tuple[str, str, int], ...]  # (row, column, members), all 25

    @property
    def matrix(self) -> dict[str, dict[str, int]]:
        out = {r: dict.fromkeys(ALL_STAGES, 0) for r in ALL_STAGES}
        for r, c, n in self.cells:
            out[r][c] = n
        return out

    @property
    def row_shares(self) -> dict[str, dict[str, float | None]]:
        """Each cell as a share of its row (the members in that stage at d1)."""
        m = self.matrix
        return {
            r: {c: (n / sum(row.values()) if sum(row.values()) else None) for c, n in row.items()}
            for r, row in m.items()
        }

    @property
    def summary(self) -> dict[str, int]:
        """moved up / entered / stayed / fell back / lost / absent (ANALYSES.md §2); they add up to the base."""
        out = dict.fromkeys(SUMMARY, 0)
        for r, c, n in self.cells:
            out[transition(r, c)] += n
        return out

    def to_dict(self) -> dict:
        return {
            "from": self.day_from.isoformat(),
            "to": self.day_to.isoformat(),
            "base_size": self.base_size,
            "matrix": self.matrix,
            "summary": self.summary,
        }


def transition(row: str, column: str) -> str:
    """Which of the six summary numbers a move from stage `row` to stage `column` counts in."""
    if row == "none":
        return "absent" if column == "none" else "entered"
    if column == "none":
        return "lost"
    if RANK[column] > RANK[row]:
        return "moved_up"
    return "stayed" if row == column else "fell_back"


# --- checks ---------------------------------------------------------------------------------------


def check_day(ds: Dataset, day: date | None) -> date:
    """The day to read (`as_of` when None); a day after `as_of` is refused."""
    if day is None:
        return ds.as_of
    if day > ds.as_of:
        raise AiplInputError(msg("aipl.after_as_of", day=day, as_of=ds.as_of))
    return day


def month_ends(as_of: date, months: int) -> list[date]:
    """The last `months` month ends up to `as_of`: the last day of each earlier month, and `as_of` for its own."""
    if not 1 <= months <= 120:
        raise AiplInputError(msg("aipl.months", months=months))
    days = [as_of]
    first = as_of.replace(day=1)
    while len(days) < months:
        last = first - timedelta(days=1)
        days.append(last)
        first = last.replace(day=1)
    return sorted(days)


# --- queries --------------------------------------------------------------------------------------


def _everyone(segment: Segment | None) -> bool:
    return segment is None or not segment.conditions


def _base(ds: Dataset, segment: Segment | None, resolve) -> tuple[exp.Expression, dict[str, object]]:
    if _everyone(segment):
        return exp.true(), {}
    return segment_condition(ds, segment, resolve, prefix="b_")


def _base_members(ds: Dataset, segment: Segment | None, resolve) -> np.ndarray | None:
    """The `_uid`s of the base's members; None for everyone when that is every member number (no data scope)."""
    if _everyone(segment):
        return None if ds.schema is None else aipl_history.members(ds)
    where, params = _base(ds, segment, resolve)
    return aipl_history.members(ds, where, params)


def _dated(ds: Dataset, day: date) -> list[tuple[str, date]]:
    """The AIPL table `_stages` reads at `day`: none at `as_of` (the profile's column)."""
    return [] if day == ds.as_of else [("aipl", day)]


def _stages(ds: Dataset, day: date, alias: str) -> exp.Expression:
    """`(SELECT _uid, value FROM <stages at day>) AS alias`."""
    table, column = models.source(ds, "aipl", day)
    select = exp.select(
        exp.column(UID, quoted=True), exp.alias_(exp.column(column, quoted=True), "value", quoted=True)
    ).from_(table)
    return exp.alias_(exp.Subquery(this=select), alias)


def _memo_key(name: str, segment: Segment | None, *days: date) -> tuple | None:
    """A key for answers kept for this version of the data; None (no keeping) when the base names
    saved segments, whose definitions can change under the same dataset."""
    if segment is not None and referenced_segments(segment):
        return None
    return (name, segment.to_json() if segment is not None and segment.conditions else "", *days)


def _remembered(ds: Dataset, key: tuple | None, compute: Callable[[], object]):
    if key is None:
        return compute()
    memo = dataset_cache(ds, "aipl")
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def funnel(ds: Dataset, day: date | None = None, segment: Segment | None = None, resolve=None) -> Funnel:
    """The base's members per AIPL stage at `day` (default `as_of`)."""
    day = check_day(ds, day)

    def compute() -> Funnel:
        history = aipl_history.history(ds) if day != ds.as_of else None
        if history is not None:  # a past day: counted from the stage history
            if _everyone(segment):
                reached = history.reached(day)
                counts = [
                    ds.total_users - reached[1],
                    *(reached[x] - reached.get(x + 1, 0) for x in aipl_history.LEVELS),
                ]
            else:
                base = _base_members(ds, segment, resolve)
                counts = np.bincount(
                    aipl_history.stages_at(ds, history, day)[base], minlength=len(aipl_history.CODES)
                ).tolist()
            rows = dict(zip(aipl_history.CODES, counts, strict=True))
        elif _everyone(segment):  # the stages alone: no join to the profile
            with models.held(ds, _dated(ds, day)):  # the day's table stays until the query has run
                rows = dict(ds.run(named_query("aipl_stage_counts", stages=_stages(ds, day, "s"))))
        else:
            where, params = _base(ds, segment, resolve)
            with models.held(ds, _dated(ds, day)):
                rows = dict(ds.run(named_query("aipl_funnel", segment=where, stages=_stages(ds, day, "s")), params))
        stages = tuple((s, int(rows.get(s, 0))) for s in ALL_STAGES)
        return Funnel(day, sum(n for _, n in stages), stages)

    return _remembered(ds, _memo_key("funnel", segment, day), compute)


def trend(
    ds: Dataset, months: int = 12, segment: Segment | None = None, resolve=None, progress: Progress | None = None
) -> Trend:
    """The funnel at each of the last `months` month ends (the current month: `as_of`)."""
    days = month_ends(ds.as_of, months)
    # the stage history, computed once per version of the data, is the long part: its progress is the first day's
    aipl_history.history(
        ds, (lambda share, _what: progress(share * 0.9 / len(days), days[0].isoformat())) if progress else None
    )
    points = []
    for i, day in enumerate(days):
        if progress:
            progress(i / len(days), day.isoformat())
        points.append(funnel(ds, day, segment, resolve))
    return Trend(tuple(points))


def default_flow_days(as_of: date) -> tuple[date, date]:
    """One month end ago → `as_of` (the last day of the month before `as_of`'s month)."""
    return as_of.replace(day=1) - timedelta(days=1), as_of


def flow(ds: Dataset, day_from: date, day_to: date, segment: Segment | None = None, resolve=None) -> Flow:
    """Members of the base per (stage at `day_from`, stage at `day_to`)."""
    if day_from >= day_to:
        raise AiplInputError(msg("aipl.flow_order", first=day_from, second=day_to))
    check_day(ds, day_from)
    check_day(ds, day_to)

    def compute() -> Flow:
        history = aipl_history.history(ds)
        if history is not None:  # both days from the stage history (at as_of it equals the profile's column)
            a = aipl_history.stages_at(ds, history, day_from)
            b = aipl_history.stages_at(ds, history, day_to)
            base = _base_members(ds, segment, resolve)
            if base is None and history.size != ds.total_users:  # member numbers with gaps: count the members only
                base = aipl_history.members(ds)
            if base is not None:
                a, b = a[base], b[base]
            width = len(aipl_history.CODES)
            n = np.bincount(
                a.astype(np.intp) * width + b, minlength=width * width
            )  # one count per (d1, d2) pair of codes
            index = {c: i for i, c in enumerate(aipl_history.CODES)}
            cells = tuple((r, c, int(n[index[r] * width + index[c]])) for r in ALL_STAGES for c in ALL_STAGES)
            return Flow(day_from, day_to, sum(x for *_, x in cells), cells)
        with models.held(ds, [*_dated(ds, day_from), *_dated(ds, day_to)]):  # both days' tables until it has run
            stages = {"stages_from": _stages(ds, day_from, "a"), "stages_to": _stages(ds, day_to, "b")}
            if _everyone(segment):
                query, params = named_query("aipl_flow_all", **stages), {}
            else:
                where, params = _base(ds, segment, resolve)
                query = named_query("aipl_flow", segment=where, **stages)
            found = {(r, c): int(n) for r, c, n in ds.run(query, params)}
        cells = tuple((r, c, found.get((r, c), 0)) for r in ALL_STAGES for c in ALL_STAGES)
        return Flow(day_from, day_to, sum(n for *_, n in cells), cells)

    return _remembered(ds, _memo_key("flow", segment, day_from, day_to), compute)


# --- definitions the builder counts ------------------------------------------------------------


def _with_base(conditions: list[Condition], base: Segment | None) -> Segment:
    if base is not None and base.conditions:
        if base.match == "all":
            conditions = [*conditions, *base.conditions]
        else:
            conditions = [*conditions, Group(match=base.match, conditions=base.conditions)]
    return Segment(match="all", conditions=tuple(conditions))


def stage_condition(stages: list[str] | tuple[str, ...], day: date | None) -> Aipl:
    """`aipl in [stages]` at `day` (no date: the dataset's as_of, a live definition)."""
    return Aipl(op="in", values=tuple(stages), as_of=day.isoformat() if day else None)


def stage_definition(stages: list[str] | tuple[str, ...], day: date | None, base: Segment | None = None) -> Segment:
    """The base's members whose stage at `day` is one of `stages` (a bar or a trend point)."""
    return _with_base([stage_condition(stages, day)], base)


def reached_stages(stage: str) -> tuple[str, ...]:
    """The stages that count as having reached `stage` (it and the ones above)."""
    return tuple(s for s in STAGES if RANK[s] >= RANK[stage])


def cell_definition(day_from: date, row: str, day_to: date, column: str, base: Segment | None = None) -> Segment:
    """A flow cell: `aipl` at d1 in [row] AND `aipl` at d2 in [column] (AND the base)."""
    return _with_base([stage_condition([row], day_from), stage_condition([column], day_to)], base)
