"""The demo's three A/B tests: their settings, who is assigned, and the conversions they cause."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from core.demo.arrays import labels, ts_array
from core.demo.schemas import ASSIGNMENTS_SCHEMA
from core.demo.timeframe import CAMPAIGNS, DAY, day_index
from core.demo.vocab import COUPON, PURCHASE


@dataclass(frozen=True)
class Experiment:
    name: str
    variants: tuple[str, str]  # (control, treatment)
    expected_split: tuple[float, float]
    observed_split: tuple[float, float]  # differs from expected = sample ratio mismatch
    first_day: date
    last_day: date
    window_days: int
    share: float  # of eligible members
    control_boost: float  # chance a non-buyer buys because of the campaign
    relative_lift: float  # treatment conversion / control conversion - 1
    excludes_churn_group: bool


EXPERIMENTS = (
    # Story 5a: variant B's coupon copy converts ~15% better (relative).
    Experiment(
        name="coupon_copy_test",
        variants=("A", "B"),
        expected_split=(0.5, 0.5),
        observed_split=(0.5, 0.5),
        first_day=date(2026, 9, 1),
        last_day=date(2026, 9, 5),
        window_days=14,
        share=0.85,
        control_boost=0.20,
        relative_lift=0.15,
        excludes_churn_group=True,
    ),
    # Story 5b: push time makes no difference.
    Experiment(
        name="push_time_test",
        variants=("morning", "evening"),
        expected_split=(0.5, 0.5),
        observed_split=(0.5, 0.5),
        first_day=date(2026, 7, 6),
        last_day=date(2026, 7, 10),
        window_days=7,
        share=0.5,
        control_boost=0.03,
        relative_lift=0.0,
        excludes_churn_group=True,
    ),
    # Story 5c: a broken split (about 53/47 observed, 50/50 expected), no real effect.
    Experiment(
        name="banner_color_test",
        variants=("blue", "orange"),
        expected_split=(0.5, 0.5),
        observed_split=(0.53, 0.47),
        first_day=date(2026, 5, 11),
        last_day=date(2026, 5, 24),
        window_days=14,
        share=0.5,
        control_boost=0.0,
        relative_lift=0.0,
        excludes_churn_group=False,
    ),
)


class ExperimentsMixin:
    """Part of Chunk: experiment assignments and the purchases the campaigns add."""

    # -------------------------------------------------------- experiments
    def _experiments(self) -> None:
        rng, n = self.rng, self.n
        ev = self.events
        buys = np.flatnonzero(ev["ev"] == PURCHASE)
        buy_u, buy_ts = ev["u"][buys].astype(np.int64), ev["ts"][buys]
        self.assignments: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for e_index, exp in enumerate(EXPERIMENTS):
            lo, hi = day_index(exp.first_day), day_index(exp.last_day)
            eligible = ~self.never & (self.start_day < lo) & (self.end_day > hi + exp.window_days + 1)
            if exp.excludes_churn_group:
                eligible &= ~self.churn_group
            users = np.flatnonzero(eligible & (rng.random(n) < exp.share))
            m = len(users)
            variant = (rng.random(m) >= exp.observed_split[0]).astype(np.int8)
            at = (lo + rng.integers(0, hi - lo + 1, m)) * DAY + rng.integers(9 * 3600, 21 * 3600, m)
            self.assignments.append((e_index, users, variant, at))
            if exp.control_boost <= 0 or m == 0:
                continue
            # Who already bought inside the metric window without any campaign?
            slot = np.full(n, -1, np.int64)
            slot[users] = np.arange(m)
            s = slot[buy_u]
            mine = s >= 0
            dt = buy_ts[mine] - at[s[mine]]
            converted = np.zeros(m, bool)
            converted[s[mine][(dt >= 0) & (dt < exp.window_days * DAY)]] = True
            # Top up conversions so control converts p_a and treatment p_a * (1 + lift), in expectation.
            p0 = converted.mean()
            p_a = p0 + (1 - p0) * exp.control_boost
            q_b = min(1.0, max(0.0, (p_a * (1 + exp.relative_lift) - p0) / max(1 - p0, 1e-9)))
            q = np.where(variant == 1, q_b, exp.control_boost)
            extra = users[~converted & (rng.random(m) < q)]
            at_x = at[slot[extra]]
            camp = len(CAMPAIGNS) + e_index
            claim_ts = at_x + rng.integers(60, 3 * 3600, len(extra))
            self._add(extra, COUPON, claim_ts, camp=camp)
            buy_ts_x = claim_ts + rng.integers(600, (exp.window_days - 1) * DAY, len(extra))
            cat = self._categories(extra, 0.6)
            self._purchase_rows(extra, buy_ts_x, cat, self._amounts(cat), camp=camp)

    def assignments_table(self) -> pa.Table:
        parts = []
        for e_index, users, variant, at in self.assignments:
            exp = EXPERIMENTS[e_index]
            order = np.argsort(users, kind="stable")
            parts.append(
                pa.Table.from_arrays(
                    [
                        pa.array(np.full(len(users), exp.name, dtype=object), pa.string()),
                        self.user_ids.take(pa.array(users[order])),
                        labels(exp.variants, variant[order]),
                        ts_array(at[order]),
                    ],
                    schema=ASSIGNMENTS_SCHEMA,
                )
            )
        return pa.concat_tables(parts)
