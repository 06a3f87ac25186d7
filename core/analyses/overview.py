"""The Overview page's numbers: the base, its event span, and the model-tag distributions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES
from core.dataset import Dataset
from core.problems import Problem

ORDER = {"aipl": AIPL_STAGES, "rfm": RFM_CLASSES, "lifecycle": LIFECYCLE_STATES}


@dataclass(frozen=True)
class Distribution:
    dimension: str  # aipl | rfm | lifecycle
    values: tuple[tuple[str, int], ...]  # (value, users) in the model's own order, zeros included

    def share(self, value: str) -> float:
        total = sum(n for _, n in self.values)
        return dict(self.values).get(value, 0) / total if total else 0.0


@dataclass(frozen=True)
class Overview:
    dataset: str
    as_of: date
    users: int
    buyers: int
    users_with_events: int
    events: int
    first_event: date | None
    last_event: date | None
    distributions: tuple[Distribution, ...]
    health: tuple[Problem, ...]

    def distribution(self, dimension: str) -> Distribution:
        return next(d for d in self.distributions if d.dimension == dimension)

    @property
    def aipl_reached(self) -> tuple[tuple[str, int], ...]:
        """Users who reached each stage or a later one (A ≥ I ≥ P ≥ L): the funnel's bars."""
        counts = dict(self.distribution("aipl").values)
        reached, running = {}, 0
        for stage in ("L", "P", "I", "A"):
            running += counts.get(stage, 0)
            reached[stage] = running
        return tuple((s, reached[s]) for s in ("A", "I", "P", "L"))

    @property
    def aipl_conversion(self) -> tuple[tuple[str, float | None], ...]:
        """Stage-to-stage conversion (A→I, I→P, P→L): reached the next stage / reached this one."""
        reached = dict(self.aipl_reached)
        steps = (("A", "I"), ("I", "P"), ("P", "L"))
        return tuple((f"{a}→{b}", reached[b] / reached[a] if reached[a] else None) for a, b in steps)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "as_of": self.as_of.isoformat(),
            "users": self.users,
            "buyers": self.buyers,
            "users_with_events": self.users_with_events,
            "events": self.events,
            "first_event": self.first_event.isoformat() if self.first_event else None,
            "last_event": self.last_event.isoformat() if self.last_event else None,
            "distributions": {d.dimension: dict(d.values) for d in self.distributions},
            "aipl_reached": dict(self.aipl_reached),
            "aipl_conversion": dict(self.aipl_conversion),
            "health": [p.to_dict() for p in self.health],
        }


def overview(ds: Dataset) -> Overview:
    users, buyers, with_events, first_event, last_event, events = ds.query("overview_summary").fetchone()
    counts: dict[str, dict[str, int]] = {d: {} for d in ORDER}
    for dimension, value, n in ds.query("overview_distribution").fetchall():
        counts[dimension][value] = n
    distributions = tuple(
        Distribution(dim, tuple((v, counts[dim].get(v, 0)) for v in order)) for dim, order in ORDER.items()
    )
    return Overview(
        dataset=ds.name,
        as_of=ds.as_of,
        users=users,
        buyers=buyers,
        users_with_events=with_events,
        events=events,
        first_event=first_event,
        last_event=last_event,
        distributions=distributions,
        health=ds.report.problems,
    )
