"""The one-pass per-variant read (core/analyses/ab_read.py) against an independent pandas computation and SQL.

Generated data with every edge of ANALYSES.md §5: multiple exposure, duplicate assignment rows, unknown users
(also with two variants), rows with no variant or time, windows cut by `as_of`, members assigned after it,
events exactly at the window's and pre-period's ends (and one microsecond inside / outside), purchases
without an amount, a conversion event that is not the purchase, and a base segment / data scope.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from core.analyses import ab_read
from core.analyses.ab import ABSpec, ab_result
from core.analyses.experiments import aggregates, aggregates_sql, find
from core.dataset import open_dataset
from core.segments.model import parse_segment
from tests.datasets import write_dataset
from tests.oracles import millionths


def exact(a: pd.Series, b: pd.Series | None = None) -> int:
    """Σ a (or Σ a·b) of integer columns in Python integers (squares of millionths pass 64 bits)."""
    xs = [int(x) for x in a]
    return sum(xs) if b is None else sum(x * int(y) for x, y in zip(xs, b, strict=True))


AS_OF = "2026-06-30"
END = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
US = pd.Timedelta(microseconds=1)
TOML = f"""as_of = "{AS_OF}"

[experiments.edges]
control = "A"
metric_window_days = 5

[experiments.claims]
metric_window_days = 3
conversion_event = "coupon_claim"
expected_split = {{ x = 0.5, y = 0.3, z = 0.2 }}
"""
WUHAN = {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wuhan"}]}


def _data(seed: int = 11):
    rng = np.random.default_rng(seed)
    n = 500
    users = pd.DataFrame({"user_id": [f"u{i:03d}" for i in range(n)], "city": rng.choice(["Wuhan", "Xiamen"], n)})
    rows, events = [], []
    for i in range(n):
        uid = f"u{i:03d}"
        for name, window, variants in (("edges", 5, ["A", "B"]), ("claims", 3, ["x", "y", "z"])):
            if i % 9 == 0 and name == "claims":
                continue  # not in this experiment: its events must not count
            # most in June; some within the window's length of as_of (cut) and a few after it (empty window)
            day = int(rng.choice([rng.integers(1, 25), rng.integers(26, 31), 31, 33]))
            t0 = pd.Timestamp("2026-06-01") + pd.Timedelta(days=day - 1, seconds=int(rng.integers(0, 86400)))
            variant = str(rng.choice(variants))
            rows.append((name, uid, variant, t0))
            if i % 7 == 0:  # a later duplicate row in the same variant: the earliest counts
                rows.append((name, uid, variant, t0 + pd.Timedelta(hours=30)))
            if i % 19 == 0:  # a row in another variant: multiple exposure
                rows.append((name, uid, next(v for v in variants if v != variant), t0 - pd.Timedelta(hours=2)))
            w = pd.Timedelta(days=window)
            edges = [pd.Timedelta(0), w, w - US, -w, -w - US, -US, pd.Timedelta(hours=int(rng.integers(-200, 200)))]
            for offset in rng.choice(len(edges), int(rng.integers(0, 6))):
                kind = str(rng.choice(["purchase", "purchase", "coupon_claim", "product_view"]))
                amount = float(rng.choice([np.nan, 9.5, 20.25, 35.0])) if kind == "purchase" else np.nan
                events.append((uid, kind, t0 + edges[offset], amount))
    for j in range(9):  # ids not in `users`; the even ones with two variants (multiple exposure)
        rows.append(("edges", f"ghost{j}", "A", pd.Timestamp("2026-06-05")))
        if j % 2 == 0:
            rows.append(("edges", f"ghost{j}", "B", pd.Timestamp("2026-06-06")))
        events.append((f"ghost{j}", "purchase", pd.Timestamp("2026-06-05 12:00"), 5.0))
    rows.append(("edges", "u001", None, pd.Timestamp("2026-05-01")))  # no variant: ignored
    rows.append(("edges", "u002", "B", pd.NaT))  # no time: ignored
    events += [
        ("u003", "purchase", END - US, 3.0),
        ("u003", "purchase", END, 4.0),
    ]  # the last moment of as_of, the first after
    assignments = pd.DataFrame(rows, columns=["experiment", "user_id", "variant", "assigned_at"])
    return users, pd.DataFrame(events, columns=["user_id", "event", "ts", "amount"]), assignments


def oracle(users, events, assignments, experiment, window_days, conversion, members=None):
    """Per variant by ANALYSES.md §5 in plain pandas, vectorized (the other test file loops per member)."""
    a = assignments[(assignments["experiment"] == experiment)].dropna(subset=["user_id", "variant", "assigned_at"])
    per = a.groupby("user_id").agg(n=("variant", "nunique"), variant=("variant", "first"), t0=("assigned_at", "min"))
    known = per.index.isin(users["user_id"])
    multiple = per["n"] > 1
    units = per[~multiple & known]
    if members is not None:
        units = units[units.index.isin(members)]
    w = pd.Timedelta(days=window_days)
    units = units.assign(t1=np.minimum(units["t0"] + w, END))
    ev = events[events["ts"] < END].merge(units[["t0", "t1"]], left_on="user_id", right_index=True)
    post = (ev["ts"] >= ev["t0"]) & (ev["ts"] < ev["t1"])
    pre = (ev["ts"] >= ev["t0"] - w) & (ev["ts"] < np.minimum(ev["t0"], ev["t1"]))
    # amounts in whole millionths, summed as integers: exact, as the app's sums (tests/oracles.py: why)
    amount = ev["amount"].map(millionths).where(ev["event"] == "purchase", 0).astype("int64")
    converts = ev["event"] == conversion
    by_user = pd.DataFrame(
        {
            "conv": (post & converts).groupby(ev["user_id"]).max(),
            "pre_conv": (pre & converts).groupby(ev["user_id"]).max(),
            "rev": amount.where(post, 0).groupby(ev["user_id"]).sum(),
            "pre_rev": amount.where(pre, 0).groupby(ev["user_id"]).sum(),
        }
    )
    u = units.join(by_user).fillna({"conv": False, "pre_conv": False, "rev": 0, "pre_rev": 0})
    u["conv"], u["pre_conv"] = u["conv"].astype(int), u["pre_conv"].astype(int)
    out = {}
    for variant, g in u.groupby("variant"):
        out[variant] = dict(
            users=len(g),
            conversions=int(g["conv"].sum()),
            revenue_sum=float(Fraction(exact(g["rev"]), 10**6)),
            revenue_sum_sq=float(Fraction(exact(g["rev"], g["rev"]), 10**12)),
            pre_conversions=int(g["pre_conv"].sum()),
            conversion_products=int((g["conv"] * g["pre_conv"]).sum()),
            pre_revenue_sum=float(Fraction(exact(g["pre_rev"]), 10**6)),
            pre_revenue_sum_sq=float(Fraction(exact(g["pre_rev"], g["pre_rev"]), 10**12)),
            revenue_products=float(Fraction(exact(g["rev"], g["pre_rev"]), 10**12)),
            unfinished=int((g["t0"] + w > END).sum()),
            first_assigned=g["t0"].min().to_pydatetime(),
            last_assigned=g["t0"].max().to_pydatetime(),
        )
    return out, int(multiple.sum()), int((~multiple & ~known).sum())


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    users, events, assignments = _data()
    root = write_dataset(tmp_path_factory.mktemp("abr") / "abr", users, events, toml=TOML, assignments=assignments)
    d = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    d.test_frames = (users, events, assignments)
    yield d
    d.close()


def check(agg, expected):
    want, multiple, unknown = expected
    assert (agg.multiple_exposure, agg.unknown_users) == (multiple, unknown)
    got = {v.name: v for v in agg.variants}
    assert list(got) == sorted(want)  # variants by name
    for name, fields in want.items():
        for key, value in fields.items():
            assert getattr(got[name], key) == value, (name, key)  # sums too: exact, to the last bit


def same(a, b):
    """The one-pass read equals the SQL reference exactly (revenue sums too: exact sums, correctly rounded)."""
    assert (a.multiple_exposure, a.unknown_users) == (b.multiple_exposure, b.unknown_users)
    assert [v.name for v in a.variants] == [v.name for v in b.variants]
    for x, y in zip(a.variants, b.variants, strict=True):
        for f in x.__dataclass_fields__:
            vx, vy = getattr(x, f), getattr(y, f)
            assert vx == vy, (x.name, f)


@pytest.mark.parametrize(("name", "window", "conversion"), [("edges", 5, "purchase"), ("claims", 3, "coupon_claim")])
def test_one_pass_matches_pandas_and_the_sql(ds, name, window, conversion):
    ab_read.forget(ds)
    agg = aggregates(ds, find(ds, name))
    expected = oracle(*ds.test_frames, name, window, conversion)
    check(agg, expected)
    same(agg, aggregates_sql(ds, find(ds, name)))
    want = expected[0]
    assert sum(v["unfinished"] for v in want.values()) > 0 and sum(v["conversions"] for v in want.values()) > 0
    assert sum(v["pre_conversions"] for v in want.values()) > 0 and sum(v["conversion_products"] for v in want.values())
    if name == "edges":
        assert expected[1] > 0 and expected[2] == 4  # ghosts 1, 3, 5, 7 (u001 and u002 have rows that are ignored)


def test_within_a_segment_and_under_a_scope(ds):
    from core.access import scoped_dataset

    users, events, assignments = ds.test_frames
    wuhan = users[users["city"] == "Wuhan"]
    ab_read.forget(ds)
    agg = aggregates(ds, find(ds, "edges"), segment=parse_segment(WUHAN))
    check(agg, oracle(users, events, assignments, "edges", 5, "purchase", members=set(wuhan["user_id"])))
    same(agg, aggregates_sql(ds, find(ds, "edges"), segment=parse_segment(WUHAN)))
    scoped = scoped_dataset(ds, parse_segment(WUHAN))
    mine = assignments[assignments["user_id"].isin(wuhan["user_id"])]
    check(aggregates(scoped, find(scoped, "edges")), oracle(wuhan, events, mine, "edges", 5, "purchase"))


def test_answers_are_kept_per_experiment_and_segment(ds):
    ab_read.forget(ds)
    e = find(ds, "edges")
    first = aggregates(ds, e)
    assert aggregates(ds, e) is first  # kept: CUPED / sequential / Bayesian switches reuse it
    within = aggregates(ds, e, segment=parse_segment(WUHAN))
    assert within is not first and sum(v.users for v in within.variants) < sum(v.users for v in first.variants)
    ab_read.forget(ds)
    again = aggregates(ds, e)
    assert again is not first
    same(again, first)
    plain, cuped = ab_result(ds, ABSpec("edges")), ab_result(ds, ABSpec("edges", cuped=True))
    assert plain.variants[1].aggregate is cuped.variants[1].aggregate


def test_the_pass_on_hand_made_arrays():
    """Member 7 has events before, at and after its window; member 3 none; uid 50 is nobody in the experiment."""
    day = 86_400_000_000
    members = ab_read.Members(
        uid=np.array([7, 3], dtype=np.int32),
        t0=np.array([10 * day, 12 * day], dtype=np.int64),
        code=np.array([1, 0]),
        names=("A", "B"),
    )
    ts = np.array([10 * day, 12 * day - 1, 12 * day, 9 * day, 8 * day - 1, 11 * day], dtype=np.int64)
    events = ab_read.Events(
        uid=np.array([7, 7, 7, 7, 7, 50], dtype=np.int32),
        ts=ts,
        conversion=np.array([True, True, True, False, True, True]),
        purchase=np.array([True, True, True, True, True, True]),
        amount=np.array([1, 2, 4, 8, 16, 32], dtype=np.int64) * 1_000_000,  # whole millionths
    )
    a, b = ab_read.per_variant(members, events, 2 * day, 13 * day)
    assert (a.name, a.users, a.conversions, a.revenue_sum, a.unfinished) == ("A", 1, 0, 0.0, 1)
    # window [10, 12) days: 1 + 2; pre [8, 10): 8 (the 16 is one µs before it; the 4 is at the window's end)
    assert (b.name, b.users, b.conversions, b.revenue_sum, b.pre_revenue_sum, b.pre_conversions) == (
        "B",
        1,
        1,
        3.0,
        8.0,
        0,
    )
    assert (b.revenue_products, b.unfinished) == (24.0, 0)
