"""A/B statistics: gbstats' golden values, and independent scipy/statsmodels computations from raw data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from core.analyses.ab_stats import Arm, Moments, compare, holm, srm_p_value

REL = 1e-6


def close(a, b, rel=REL):
    return a == pytest.approx(b, rel=rel, abs=1e-12)


# --- golden values from gbstats' own tests ---------------------------------------------------------


def test_gbstats_golden_proportions():
    r = compare(Arm(Moments(28, 14, 14, True)), Arm(Moments(30, 16, 16, True)))
    assert close(round(r.lift, 5), 0.06667) and close(round(r.ci_low, 5), -0.47767)
    assert close(round(r.ci_high, 5), 0.61101) and close(round(r.p_value, 5), 0.80707)


def test_gbstats_golden_means_relative_and_absolute():
    a, b = Arm(Moments(3407, 1396.87, 52377.9767)), Arm(Moments(3461, 2422.7, 134698.29))
    r = compare(a, b)
    assert [round(x, 5) for x in (r.lift, r.ci_low, r.ci_high, r.p_value)] == [0.70732, -0.03526, 1.44989, 0.06191]
    r = compare(a, b, relative=False)
    assert [round(x, 5) for x in (r.lift, r.ci_low, r.ci_high, r.p_value)] == [0.29, 0.04538, 0.53462, 0.02016]


# --- independent computations on generated per-user data ------------------------------------------


def moments(x: np.ndarray, proportion: bool = False) -> Moments:
    return Moments(len(x), float(x.sum()), float((x * x).sum()), proportion)


def revenue(rng, n, p, scale):
    return np.where(rng.random(n) < p, rng.gamma(2.0, scale, n), 0.0)


def test_absolute_means_match_statsmodels_welch():
    rng = np.random.default_rng(3)
    a, b = revenue(rng, 4000, 0.2, 40.0), revenue(rng, 3800, 0.23, 42.0)
    r = compare(Arm(moments(a)), Arm(moments(b)), relative=False)
    cm = CompareMeans(DescrStatsW(b), DescrStatsW(a))
    low, high = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    _t, p, dof = cm.ttest_ind(usevar="unequal")
    assert close(r.lift, b.mean() - a.mean()) and close(r.ci_low, low) and close(r.ci_high, high)
    assert close(r.p_value, p) and close(r.dof, dof)


def _relative_oracle(ma, va, na, mb, vb, nb, alpha=0.05):
    """Delta-method relative lift with Welch df and Student t, from the definition."""
    lift = (mb - ma) / abs(ma)
    var = vb / (ma**2 * nb) + va * mb**2 / (ma**4 * na)
    dof = (vb / nb + va / na) ** 2 / (vb**2 / (nb**2 * (nb - 1)) + va**2 / (na**2 * (na - 1)))
    se = math.sqrt(var)
    half = stats.t.ppf(1 - alpha / 2, dof) * se
    p = 2 * stats.t.sf(abs(lift) / se, dof)
    return lift, se, lift - half, lift + half, p, dof


@pytest.mark.parametrize("kind", ["proportion", "revenue"])
def test_relative_lift_matches_the_delta_method_oracle(kind):
    rng = np.random.default_rng(5)
    if kind == "proportion":
        a, b = (rng.random(5000) < 0.22).astype(float), (rng.random(5200) < 0.255).astype(float)
        va, vb = a.mean() * (1 - a.mean()), b.mean() * (1 - b.mean())
    else:
        a, b = revenue(rng, 5000, 0.22, 30.0), revenue(rng, 5200, 0.25, 30.0)
        va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    r = compare(Arm(moments(a, kind == "proportion")), Arm(moments(b, kind == "proportion")))
    lift, se, low, high, p, dof = _relative_oracle(a.mean(), va, len(a), b.mean(), vb, len(b))
    for got, want in zip(
        (r.lift, r.se, r.ci_low, r.ci_high, r.p_value, r.dof), (lift, se, low, high, p, dof), strict=True
    ):
        assert close(got, want)
    # Bayesian flat prior: posterior N(lift, se²); chance to win and expected losses by integration
    assert close(r.chance_to_win, 1 - stats.norm.cdf(0, lift, se))
    loss_treatment, _ = integrate.quad(
        lambda x: -x * stats.norm.pdf(x, lift, se), -np.inf, 0, epsabs=1e-14, epsrel=1e-10
    )
    loss_control, _ = integrate.quad(lambda x: x * stats.norm.pdf(x, lift, se), 0, np.inf, epsabs=1e-14, epsrel=1e-10)
    assert close(r.risk_treatment, loss_treatment) and close(r.risk_control, loss_control)


@pytest.mark.parametrize("kind", ["proportion", "revenue"])
def test_sequential_confidence_sequence(kind):
    rng = np.random.default_rng(11)
    prop = kind == "proportion"
    if prop:
        a, b = (rng.random(3000) < 0.3).astype(float), (rng.random(3100) < 0.34).astype(float)
    else:
        a, b = revenue(rng, 3000, 0.3, 20.0), revenue(rng, 3100, 0.34, 20.0)
    fixed = compare(Arm(moments(a, prop)), Arm(moments(b, prop)))
    r = compare(Arm(moments(a, prop)), Arm(moments(b, prop)), sequential=True)
    n = len(a) + len(b)
    rho = math.sqrt((-2 * math.log(0.05) + math.log(-2 * math.log(0.05) + 1)) / 5000)
    s2 = fixed.se**2 * n
    half = math.sqrt(s2) * math.sqrt(2 * (n * rho**2 + 1) * math.log(math.sqrt(n * rho**2 + 1) / 0.05) / (n * rho) ** 2)
    evalue = math.exp(rho**2 * (fixed.lift**2 * n / fixed.se**2) / (2 * (n * rho**2 + 1))) / math.sqrt(n * rho**2 + 1)
    assert close(r.lift, fixed.lift)
    assert close(r.ci_low, fixed.lift - half) and close(r.ci_high, fixed.lift + half)
    assert close(r.p_value, min(1.0, 1 / evalue))
    assert r.ci_high - r.ci_low > fixed.ci_high - fixed.ci_low  # always-valid intervals are wider


@pytest.mark.parametrize("kind", ["proportion", "revenue"])
def test_cuped_from_raw_regression(kind):
    rng = np.random.default_rng(17)
    prop = kind == "proportion"
    n_a, n_b = 4000, 4100
    pre_a, pre_b = revenue(rng, n_a, 0.4, 25.0), revenue(rng, n_b, 0.4, 25.0)
    if prop:
        post_a = (rng.random(n_a) < 0.15 + 0.004 * np.minimum(pre_a, 50)).astype(float)
        post_b = (rng.random(n_b) < 0.17 + 0.004 * np.minimum(pre_b, 50)).astype(float)
    else:
        post_a = 0.6 * pre_a + revenue(rng, n_a, 0.2, 20.0)
        post_b = 0.6 * pre_b + revenue(rng, n_b, 0.24, 20.0)
    arm = lambda post, pre: Arm(moments(post, prop), moments(pre), float((post * pre).sum()))  # noqa: E731
    r = compare(arm(post_a, pre_a), arm(post_b, pre_b), cuped=True)
    # oracle: θ from both arms pooled; adjusted means and variances from the per-user values
    y, x = np.concatenate([post_a, post_b]), np.concatenate([pre_a, pre_b])
    theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)

    def stat(post, pre):
        v_post = post.mean() * (1 - post.mean()) if prop else np.var(post, ddof=1)
        var = v_post + theta**2 * np.var(pre, ddof=1) - 2 * theta * np.cov(post, pre, ddof=1)[0, 1]
        return post.mean() - theta * pre.mean(), var, post.mean()

    ma, va, ua = stat(post_a, pre_a)
    mb, vb, ub = stat(post_b, pre_b)
    lift = (mb - ma) / ua
    var = vb / (ua**2 * n_b) + va * ub**2 / (ua**4 * n_a)
    dof = (vb / n_b + va / n_a) ** 2 / (vb**2 / (n_b**2 * (n_b - 1)) + va**2 / (n_a**2 * (n_a - 1)))
    half = stats.t.ppf(0.975, dof) * math.sqrt(var)
    assert close(r.lift, lift) and close(r.se, math.sqrt(var))
    assert close(r.ci_low, lift - half) and close(r.ci_high, lift + half)
    assert close(r.p_value, 2 * stats.t.sf(abs(lift) / math.sqrt(var), dof))
    plain = compare(Arm(moments(post_a, prop)), Arm(moments(post_b, prop)))
    assert r.se < plain.se  # the covariate explains variance


def test_srm_matches_scipy_chisquare():
    for users, weights in (([31_950, 28_410], [0.5, 0.5]), ([1000, 2100, 2950], [0.2, 0.3, 0.5])):
        expected = np.array(weights) / sum(weights) * sum(users)
        assert close(srm_p_value(users, weights), stats.chisquare(users, expected).pvalue)
    assert srm_p_value([0, 0], [0.5, 0.5]) is None


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, 0.005, None]
    got = holm(p)
    want = multipletests([x for x in p if x is not None], method="holm")[1]
    assert [close(g, w) for g, w in zip(got[:-1], want, strict=True)] == [True] * 5 and got[-1] is None


def test_degenerate_data_says_not_enough_data_never_nan():
    cases = [
        (Moments(0, 0, 0, True), Moments(10, 3, 3, True)),  # empty arm
        (Moments(1, 1, 1, True), Moments(10, 3, 3, True)),  # one user
        (Moments(100, 0, 0, True), Moments(100, 5, 5, True)),  # control mean 0
        (Moments(100, 100, 100, True), Moments(100, 100, 100, True)),  # every user converted
        (Moments(50, 0, 0), Moments(50, 0, 0)),  # no revenue anywhere
    ]
    for a, b in cases:
        for kw in ({}, {"sequential": True}, {"relative": False}):
            r = compare(Arm(a), Arm(b), **kw)
            assert not r.enough_data and r.reason.startswith("not enough data")
            assert r.lift is None and r.p_value is None and r.chance_to_win is None


def test_gbstats_golden_sequential():
    a, b = Moments(3000, 1396.87, 52377.9767), Moments(3461, 2422.7, 134698.29)
    r = compare(Arm(a), Arm(b), sequential=True, tuning=1000)
    assert [round(x, 5) for x in (r.lift, r.ci_low, r.ci_high, r.se, r.p_value)] == [
        0.50336,
        -0.55844,
        1.56516,
        0.33341,
        1,
    ]
    r = compare(Arm(Moments(3000, 1396, 1396, True)), Arm(Moments(3461, 2422, 2422, True)), sequential=True)
    assert [round(x, 5) for x in (r.lift, r.ci_low, r.ci_high, r.se, r.p_value)] == [
        0.50386,
        0.40098,
        0.60675,
        0.03386,
        0.0,
    ]
    # regression-adjusted with gbstats' fixed θ = 0.5
    ra = compare(
        Arm(a, Moments(3000, 16.87, 527.9767), 12525),
        Arm(b, Moments(3461, 22.7, 1348.29), 3333),
        cuped=True,
        sequential=True,
        theta=0.5,
    )
    assert [round(x, 5) for x in (ra.lift, ra.ci_low, ra.ci_high, ra.se, ra.p_value)] == [
        0.50236,
        -0.43745,
        1.44217,
        0.3093,
        1,
    ]
