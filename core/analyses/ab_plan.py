"""Sample size and duration of a conversion A/B test: members per arm for a baseline, an effect, α and power."""

from __future__ import annotations

import math
from dataclasses import dataclass

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize


@dataclass(frozen=True)
class PlanSpec:
    baseline: float  # the control's conversion rate, 0 < p < 1
    mde: float  # the smallest relative lift worth detecting, e.g. 0.05 for +5%
    alpha: float = 0.05  # two-sided
    power: float = 0.8
    arms: int = 2
    users_per_day: float | None = None  # current assignment rate over all arms


@dataclass(frozen=True)
class Plan:
    spec: PlanSpec
    per_arm: int | None  # None when the inputs cannot be planned (reason says why)
    reason: str | None = None

    @property
    def total(self) -> int | None:
        return None if self.per_arm is None else self.per_arm * self.spec.arms

    @property
    def days(self) -> float | None:
        rate = self.spec.users_per_day
        return None if self.total is None or not rate else self.total / rate


def plan(spec: PlanSpec) -> Plan:
    """Members per arm for a two-sided test of two proportions (Cohen's h, normal approximation)."""
    target = spec.baseline * (1 + spec.mde)
    if not 0 < spec.baseline < 1 or not 0 < target < 1 or spec.mde == 0:
        return Plan(
            spec,
            None,
            "the baseline and the baseline × (1 + effect) must both be between 0% and 100%, and the effect not 0",
        )
    if not 0 < spec.alpha < 1 or not 0 < spec.power < 1:
        return Plan(spec, None, "α and power must be between 0 and 1")
    h = abs(proportion_effectsize(target, spec.baseline))
    n = NormalIndPower().solve_power(
        effect_size=h, alpha=spec.alpha, power=spec.power, ratio=1.0, alternative="two-sided"
    )
    return Plan(spec, int(math.ceil(float(n))))
