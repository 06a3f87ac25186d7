"""A/B statistics as gbstats 0.8.0 computes them, from per-arm aggregates, with scipy's distributions.

- An arm's metric is a mean over its users: a proportion (variance p(1−p)) or a sample mean
  (variance with n − 1). With CUPED each arm also carries its pre-period covariate.
- Relative lift (m_t − m_c)/|m_c|, its delta-method variance v_t/(n_t m_c²) + v_c m_t²/(n_c m_c⁴);
  absolute lift m_t − m_c with v_t/n_t + v_c/n_c.
- Frequentist: Welch–Satterthwaite degrees of freedom; Student t for the two-sided CI and p-value.
- Sequential: Waudby-Smith et al. (2023) confidence sequences, tuning N* = 5000 (eq. 9, 155, 161).
- Bayesian, flat prior: the lift's posterior is N(lift, SE²); chance to win P(lift > 0); risk of
  each choice from the truncated-normal means.
- CUPED: θ = cov(post, pre)/var(pre) pooled over the two arms compared; each arm's adjusted
  mean m − θ·x̄ and variance v + θ² v_x − 2θ c; the relative lift is over the unadjusted control mean.
- SRM: Pearson χ² of users per arm against the expected weights, df = arms − 1.
- Holm–Bonferroni adjusted p-values.

Where gbstats answers with a default (zero variance, an empty arm, a zero baseline), this module
says "not enough data" with the reason instead, so no NaN ever reaches a page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import chi2, norm, t, truncnorm

ALPHA = 0.05
SEQUENTIAL_TUNING = 5000.0


@dataclass(frozen=True)
class Moments:
    """One metric of one arm: users, sum and sum of squares (a proportion when values are 0/1)."""

    n: int
    sum: float
    sum_sq: float
    proportion: bool = False

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """p(1−p) for a proportion; the n − 1 sample variance for a mean (gbstats' conventions)."""
        if self.proportion:
            return self.mean * (1 - self.mean)
        if self.n < 2:
            return 0.0
        return max(0.0, (self.sum_sq - self.sum * self.sum / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Arm:
    """An arm's metric, with its pre-period covariate and their sum of products for CUPED."""

    post: Moments
    pre: Moments | None = None
    sum_products: float = 0.0

    @property
    def n(self) -> int:
        return self.post.n


@dataclass(frozen=True)
class Adjusted:
    """An arm's statistic as the tests use it: mean, variance, n, and the unadjusted mean."""

    n: int
    mean: float
    variance: float
    unadjusted_mean: float


def _covariance(n: int, sum_a: float, sum_b: float, sum_products: float) -> float:
    return (sum_products - sum_a * sum_b / n) / (n - 1) if n > 1 else 0.0


def cuped_theta(control: Arm, treatment: Arm) -> float:
    """θ over the two arms pooled (gbstats `compute_theta`): cov(post, pre) / var(pre); 0 when var(pre) is 0."""
    if control.pre is None or treatment.pre is None:
        return 0.0
    n = control.n + treatment.n
    pre = Moments(
        n, control.pre.sum + treatment.pre.sum, control.pre.sum_sq + treatment.pre.sum_sq, control.pre.proportion
    )
    post_sum = control.post.sum + treatment.post.sum
    if pre.variance == 0 or n < 2:
        return 0.0
    return _covariance(n, post_sum, pre.sum, control.sum_products + treatment.sum_products) / pre.variance


def adjusted(arm: Arm, theta: float | None = None) -> Adjusted:
    """The arm's statistic; with θ (CUPED) the regression-adjusted mean and variance."""
    post = arm.post
    if theta is None or arm.pre is None:
        return Adjusted(post.n, post.mean, post.variance, post.mean)
    pre = arm.pre
    cov = _covariance(post.n, post.sum, pre.sum, arm.sum_products)
    variance = post.variance + theta * theta * pre.variance - 2 * theta * cov
    return Adjusted(post.n, post.mean - theta * pre.mean, variance, post.mean)


@dataclass(frozen=True)
class Comparison:
    """One treatment arm against the control on one metric; `reason` is set when there is not enough data."""

    lift: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    dof: float | None = None
    chance_to_win: float | None = None
    risk_control: float | None = None  # expected loss of keeping the control (on the lift's scale)
    risk_treatment: float | None = None  # expected loss of choosing the treatment
    reason: str | None = None

    @property
    def enough_data(self) -> bool:
        return self.reason is None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def welch_dof(a: Adjusted, b: Adjusted) -> float:
    num = (b.variance / b.n + a.variance / a.n) ** 2
    den = b.variance**2 / (b.n**2 * (b.n - 1)) + a.variance**2 / (a.n**2 * (a.n - 1))
    return num / den


def lift_and_variance(a: Adjusted, b: Adjusted, relative: bool) -> tuple[float, float]:
    """The point estimate and its variance (delta method for the relative lift)."""
    if relative:
        m_a = a.unadjusted_mean
        m_b = b.unadjusted_mean
        estimate = (b.mean - a.mean) / abs(m_a)
        variance = b.variance / (m_a**2 * b.n) + a.variance * m_b**2 / (m_a**4 * a.n)
        return estimate, variance
    return b.mean - a.mean, b.variance / b.n + a.variance / a.n


def sequential_rho(alpha: float = ALPHA, tuning: float = SEQUENTIAL_TUNING) -> float:
    """ρ of the normal-mixture confidence sequence (eq. 161 of arXiv 2103.06476v7)."""
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)


def sequential_halfwidth(variance: float, n: int, alpha: float = ALPHA, tuning: float = SEQUENTIAL_TUNING) -> float:
    """The confidence sequence's half-width (eq. 9), with s² = variance · N over both arms."""
    rho = sequential_rho(alpha, tuning)
    s2 = variance * n
    nr2 = n * rho * rho
    return math.sqrt(s2) * math.sqrt(2 * (nr2 + 1) * math.log(math.sqrt(nr2 + 1) / alpha) / (n * rho) ** 2)


def sequential_p_value(
    estimate: float, variance: float, n: int, alpha: float = ALPHA, tuning: float = SEQUENTIAL_TUNING
) -> float:
    """The always-valid p-value: 1 / e-value, capped at 1 (eq. 155)."""
    rho2 = sequential_rho(alpha, tuning) ** 2
    st2 = estimate * estimate * n / variance
    tr2p1 = n * rho2 + 1
    log_e = rho2 * st2 / (2 * tr2p1) - 0.5 * math.log(tr2p1)
    return min(1.0, math.exp(-log_e)) if log_e > -700 else 1.0


def risks(mu: float, sigma: float) -> tuple[float, float]:
    """(risk of keeping the control, risk of choosing the treatment) for a N(mu, sigma²) lift."""
    p_ctrl_better = norm.cdf(0.0, loc=mu, scale=sigma)
    mean_neg = truncnorm.mean(a=-math.inf, b=-mu / sigma, loc=mu, scale=sigma)
    mean_pos = truncnorm.mean(a=-mu / sigma, b=math.inf, loc=mu, scale=sigma)
    risk_control = (1.0 - p_ctrl_better) * mean_pos if p_ctrl_better < 1 else 0.0
    risk_treatment = -p_ctrl_better * mean_neg if p_ctrl_better > 0 else 0.0
    # a tail of probability ~1e-300 has no finite truncated mean; its loss is 0 to any precision
    return (
        float(risk_control) if math.isfinite(risk_control) else 0.0,
        float(risk_treatment) if math.isfinite(risk_treatment) else 0.0,
    )


def not_enough(control: Arm, treatment: Arm, a: Adjusted, b: Adjusted, relative: bool) -> str | None:
    """Why the comparison cannot be made, in words; None when it can."""
    if control.n < 2 or treatment.n < 2:
        return "not enough data: fewer than 2 users in an arm"
    if relative and a.unadjusted_mean == 0:
        return "not enough data: the control's mean is 0, so a relative lift is undefined"
    if a.variance <= 0 or b.variance <= 0:
        return "not enough data: no variation in an arm (every user has the same value)"
    return None


def compare(
    control: Arm,
    treatment: Arm,
    *,
    relative: bool = True,
    cuped: bool = False,
    sequential: bool = False,
    alpha: float = ALPHA,
    tuning: float = SEQUENTIAL_TUNING,
    theta: float | None = None,
) -> Comparison:
    """The treatment against the control: lift, CI, p-value (fixed-horizon or sequential), chance to win, risk.

    With `cuped`, θ is estimated from both arms unless given (gbstats' tests fix it).
    """
    if cuped and theta is None:
        theta = cuped_theta(control, treatment)
    elif not cuped:
        theta = None
    a, b = adjusted(control, theta), adjusted(treatment, theta)
    reason = not_enough(control, treatment, a, b, relative)
    if reason:
        return Comparison(reason=reason)
    estimate, variance = lift_and_variance(a, b, relative)
    if not variance > 0 or not math.isfinite(variance):
        return Comparison(reason="not enough data: the lift's variance is 0")
    se = math.sqrt(variance)
    dof = welch_dof(a, b)
    if sequential:
        n = a.n + b.n
        half = sequential_halfwidth(variance, n, alpha, tuning)
        p_value = sequential_p_value(estimate, variance, n, alpha, tuning)
    else:
        half = float(t.ppf(1 - alpha / 2, dof)) * se
        p_value = float(2 * t.sf(abs(estimate / se), dof))
    ctw = float(norm.sf(0.0, loc=estimate, scale=se))
    risk_control, risk_treatment = risks(estimate, se)
    return Comparison(estimate, se, estimate - half, estimate + half, p_value, dof, ctw, risk_control, risk_treatment)


def srm_p_value(users: Sequence[int], weights: Sequence[float]) -> float | None:
    """Pearson χ² p-value of users per arm against expected weights (df = arms − 1); None without users."""
    pairs = [(u, w) for u, w in zip(users, weights, strict=True) if w > 0]
    total_w = sum(w for _, w in pairs)
    total = sum(u for u, _ in pairs)
    if total == 0 or len(pairs) < 2:
        return None
    stat = sum((u - total * w / total_w) ** 2 / (total * w / total_w) for u, w in pairs)
    return float(chi2.sf(stat, len(pairs) - 1))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm–Bonferroni adjusted p-values (None stays None and is not counted as a comparison)."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
