"""The tests' shared references: the models in plain pandas, and the funnel tests' random data and checks.

`expected_models` is DATA_CONTRACT.md's AIPL / RFM / lifecycle written directly in pandas (tests/test_derived.py
checks the cache build with it, tests/test_aipl*.py the models at a past date). The funnel part generates
random events and funnels for hypothesis and compares the engine's members with tests/funnel_oracle.py.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from core.dataset import open_dataset
from tests.datasets import random_dataset

AWARE = {"ad_impression", "article_view", "live_view"}
INTEREST = {"product_view", "add_to_cart", "favorite", "follow", "coupon_claim"}
LOYAL = {"review", "share", "member_join"}
CLASSES = {
    (True, True, True): "important_value",
    (True, False, True): "important_development",
    (False, True, True): "important_retention",
    (False, False, True): "important_recovery",
    (True, True, False): "general_value",
    (True, False, False): "general_development",
    (False, True, False): "general_retention",
    (False, False, False): "general_recovery",
}


# --- the models ------------------------------------------------------------------------------


def millionths(amount: object) -> int:
    """An amount as written (its shortest decimal text) in whole millionths, rounded half away from zero; missing: 0.

    The oracles add amounts exactly, as the app does (core/models/rfm.py), never as a float64 sum: a sum of
    doubles depends on the order of addition (DuckDB's parallel SUM fixes none), so its last bits — and a
    member within them of the buyers' mean — are not an answer. For amounts with at most six decimals below
    10^9 (all the tests' data) this is the app's rule, round(amount × 10^6) in double precision.
    """
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return 0
    return int((Decimal(repr(float(amount))) * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))


def exact_sum(amounts) -> Fraction:
    """The exact sum of amounts (missing = 0)."""
    return Fraction(sum(millionths(a) for a in amounts), 1_000_000)


def expected_models(users: pd.DataFrame, events: pd.DataFrame, day: date | str) -> pd.DataFrame:
    """Every member's models at the end of `day` with the default settings, straight from the contract.

    Columns: recency, frequency, monetary and r/f/m_score (buyers only), rfm (the class), aipl (the
    stage), lifecycle; the index is users' user_id. Events of user_ids not in users count for nobody.
    """
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    ev = events[(events["ts"] < end) & events["user_id"].isin(users["user_id"])]
    out = pd.DataFrame(index=pd.Index(users["user_id"], name="user_id"))

    buys = ev[(ev["event"] == "purchase") & (ev["ts"] >= end - pd.Timedelta(days=365))]
    g = buys.groupby("user_id")
    rec = (pd.Timestamp(day) - g["ts"].max().dt.normalize()).dt.days
    freq = g.size()
    # monetary exactly (Fractions): the comparison with the buyers' mean and the ranks are exact too
    mon = g["amount"].apply(lambda s: exact_sum(s.tolist()))
    rfm = pd.DataFrame({"recency": rec, "frequency": freq, "monetary": mon})
    mean_m = sum(mon, Fraction(0)) / len(mon) if len(mon) else Fraction(0)
    rfm["rfm"] = [
        CLASSES[(r < rfm["recency"].mean(), f > rfm["frequency"].mean(), m > mean_m)]
        for r, f, m in zip(rfm["recency"], rfm["frequency"], rfm["monetary"], strict=True)
    ]
    rfm["r_score"] = (6 - np.ceil(5 * rfm["recency"].rank(method="max", pct=True))).clip(lower=1)
    rfm["f_score"] = np.ceil(5 * rfm["frequency"].rank(method="max", pct=True))
    micros = pd.Series([int(m * 1_000_000) for m in mon], index=mon.index, dtype="int64")
    rfm["m_score"] = np.ceil(5 * micros.rank(method="max", pct=True))
    rfm["monetary"] = [float(m) for m in mon]  # the stored DOUBLE: the exact sum, correctly rounded
    out = out.join(rfm)
    out["rfm"] = out["rfm"].astype(object).fillna("none")

    stages = {}
    for uid, grp in ev[ev["ts"] >= end - pd.Timedelta(days=180)].groupby("user_id"):
        p = grp[grp["event"] == "purchase"]
        if len(p) >= 2 or (len(p) == 1 and (grp.loc[grp["event"].isin(LOYAL), "ts"] > p["ts"].min()).any()):
            stages[uid] = "L"
        elif len(p) == 1:
            stages[uid] = "P"
        elif grp["event"].isin(INTEREST).any():
            stages[uid] = "I"
        elif grp["event"].isin(AWARE).any():
            stages[uid] = "A"
    out["aipl"] = pd.Series(stages, dtype=object).reindex(out.index).fillna("none")

    last = ev.groupby("user_id")["ts"].max().reindex(out.index)
    signup = users.set_index("user_id")["signup_at"] if "signup_at" in users else pd.Series(pd.NaT, index=out.index)
    states = []
    for uid in out.index:
        s, t = signup.get(uid), last.get(uid)
        if pd.notna(s) and end - pd.Timedelta(days=30) <= s < end:
            states.append("new")
        elif pd.notna(t) and t >= end - pd.Timedelta(days=30):
            states.append("active")
        elif pd.notna(t) and t >= end - pd.Timedelta(days=90):
            states.append("dormant")
        elif pd.notna(t):
            states.append("churned")
        else:
            states.append("never_active")
    out["lifecycle"] = states
    return out


# --- funnels: random data, and the engine's members against tests/funnel_oracle.py -------------

FUNNEL_EVENTS = ["a", "b", "c"]


def funnel_users(ids: list[str]) -> pd.DataFrame:
    """users with these ids and a city that is sometimes missing."""
    return pd.DataFrame({"user_id": ids, "city": [["Shanghai", "Beijing", None][i % 3] for i in range(len(ids))]})


@st.composite
def funnel_rows(draw, n_users: tuple[int, int], minutes: list[int], days: int, start: str):
    """(n_users, rows of (user_id, event, ts, cat)): a few events per member at a few distinct moments."""
    n = draw(st.integers(*n_users))
    rows = []
    for u in range(n):
        for _ in range(draw(st.integers(0, 7))):
            minute = draw(st.sampled_from(minutes))
            day = draw(st.integers(0, days))
            rows.append(
                (
                    f"u{u}",
                    draw(st.sampled_from(FUNNEL_EVENTS)),
                    pd.Timestamp(start) + pd.Timedelta(days=day, minutes=minute),
                    draw(st.sampled_from(["x", "y", None])),
                )
            )
    return n, rows


FUNNEL_STEP = st.fixed_dictionaries(
    {"event": st.sampled_from(FUNNEL_EVENTS)},
    optional={
        "where": st.lists(
            st.fixed_dictionaries({"field": st.just("cat"), "op": st.just("eq"), "value": st.sampled_from(["x", "y"])}),
            max_size=1,
        )
    },
)


def funnel_specs(max_steps: int, starts: list[str], ends: list[str], windows: list[dict]):
    """Random funnels over FUNNEL_EVENTS: 2 to `max_steps` steps, an entry range, a window, maybe an exclusion."""
    return st.fixed_dictionaries(
        {
            "steps": st.lists(FUNNEL_STEP, min_size=2, max_size=max_steps),
            "from": st.sampled_from(starts),
            "to": st.sampled_from(ends),
            "window": st.sampled_from(windows),
            "exclusions": st.lists(FUNNEL_STEP, max_size=1),
        }
    )


def assert_members_match(got: dict, want: dict, start_value: bool) -> None:
    """funnel_members' answer against the oracle's members: the same people, depth, exclusion, times."""
    assert set(got) == set(want)
    for uid, m in want.items():
        g = got[uid]
        assert (g["deepest"], g["excluded"], g["open"]) == (m["deepest"], m["excluded"], m["open"]), uid
        assert [pd.Timestamp(t) for t in g["times"]] == [pd.Timestamp(t) for t in m["times"]], uid
        if start_value:
            assert g["start_value"] == m["start_value"], uid


def segment_members(ds, definition: dict) -> set[str]:
    """The user_ids of a definition by the compiler's members query (not the counting path)."""
    from core.segments.compile import compile_where, members_query
    from core.segments.model import parse_segment

    sql, params = members_query(compile_where(parse_segment(definition), ds.catalog))
    cur = ds.cursor()
    try:
        return {r[0] for r in cur.execute(sql, params).fetchall()}
    finally:
        cur.close()


def open_random(tmp_path_factory, name: str, seed: int, n_users: int = 150, n_events: int = 1800):
    """A random dataset (150 members by default) opened: (ds, users, events) as the oracle reads them."""
    root = random_dataset(tmp_path_factory.mktemp(name), n_users=n_users, n_events=n_events, seed=seed)
    ds = open_dataset(root, tmp_path_factory.mktemp("cache"))
    return ds, pd.read_parquet(root / "users.parquet"), pd.read_parquet(root / "events")
