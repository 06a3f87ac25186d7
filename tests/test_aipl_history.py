"""The AIPL stage history (core/models/aipl_history.py) against an independent pandas stage at every day.

Datasets are small but dense in edges: events at the first and last microsecond of a window,
a purchase and a loyalty event at the same moment, two purchases at the same moment, events
named in two lists, members with no events and members who signed up late; every day of the
span is checked, for several lookbacks and loyalty thresholds.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from core.analyses import aipl
from core.dataset import open_dataset
from core.dataset.caches import dataset_cache
from core.models import aipl_history
from tests.datasets import namesake, new_version, write_dataset

AS_OF = date(2026, 6, 30)
AWARE = ["ad_impression", "article_view"]
INTEREST = ["product_view", "add_to_cart"]
LOYAL = ["review", "share"]
NAMES = [*AWARE, *INTEREST, *LOYAL, "purchase", "other"]


def pandas_stage(events: pd.DataFrame, user_ids: list[str], day: date, cfg: dict) -> pd.Series:
    """The contract's AIPL stage of every user at the end of `day`, from the raw rows."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    w = events[(events["ts"] >= end - pd.Timedelta(days=cfg["lookback"])) & (events["ts"] < end)]
    is_buy = w["event"].isin(cfg["purchase"])
    per = (
        pd.DataFrame(
            {
                "user_id": w["user_id"],
                "buy": is_buy,
                "buy_ts": w["ts"].where(is_buy),
                "loyal_ts": w["ts"].where(w["event"].isin(cfg["loyalty"])),
                "interest": w["event"].isin(cfg["interest"]),
                "aware": w["event"].isin(cfg["awareness"]),
            }
        )
        .groupby("user_id")
        .agg(
            buys=("buy", "sum"),
            first_buy=("buy_ts", "min"),
            last_loyal=("loyal_ts", "max"),
            interest=("interest", "any"),
            aware=("aware", "any"),
        )
    )
    per = per.reindex(user_ids)
    buys = per["buys"].fillna(0)
    stage = np.select(
        [
            buys >= cfg["k"],
            (buys >= 1) & (per["last_loyal"] > per["first_buy"]),
            buys >= 1,
            per["interest"].fillna(False).astype(bool),
            per["aware"].fillna(False).astype(bool),
        ],
        ["L", "L", "P", "I", "A"],
        "none",
    )
    return pd.Series(stage, index=user_ids)


def edge_events(lookback: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random events over ~2.5 lookbacks, plus hand-placed ones on the edges."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp
    users = [f"u{i:02d}" for i in range(40)]
    start = t(AS_OF) + pd.Timedelta(days=1) - pd.Timedelta(days=int(lookback * 2.5))
    n = 700
    rows = pd.DataFrame(
        {
            "user_id": rng.choice(users[:32], n),  # u32..u39 have no random events
            "event": rng.choice(NAMES, n, p=[0.2, 0.15, 0.15, 0.1, 0.05, 0.05, 0.17, 0.13]),
            # whole minutes: equal moments happen
            "ts": start + pd.to_timedelta(rng.integers(0, int(lookback * 2.5) * 24 * 60, n), unit="m"),
        }
    )
    d = t("2026-05-01")
    edges = [
        ("u32", "product_view", d), ("u32", "purchase", d + pd.Timedelta(days=lookback) - pd.Timedelta(microseconds=1)),
        ("u33", "purchase", d), ("u33", "review", d),  # loyalty at the purchase's moment: not after it
        ("u33", "share", d + pd.Timedelta(microseconds=1)),  # one microsecond later: after it
        ("u34", "purchase", d), ("u34", "purchase", d),  # two purchases at one moment
        # a gap of exactly the lookback
        ("u35", "ad_impression", d - pd.Timedelta(days=lookback)), ("u35", "ad_impression", d),
        ("u36", "ad_impression", d - pd.Timedelta(days=lookback + 1)), ("u36", "add_to_cart", d),  # one day more
        ("u37", "review", d), ("u37", "purchase", d + pd.Timedelta(days=3)),  # loyalty before the purchase only
        ("u38", "purchase", d - pd.Timedelta(days=lookback - 1)), ("u38", "share", d + pd.Timedelta(days=2)),
        ("u38", "purchase", d + pd.Timedelta(days=1)),  # the first purchase leaves the window, the second stays
        ("u39", "other", d),  # an event in no list
    ]  # fmt: skip
    events = pd.concat([rows, pd.DataFrame(edges, columns=["user_id", "event", "ts"])], ignore_index=True)
    events["amount"] = np.where(events["event"] == "purchase", 5.0, np.nan)
    signup = [t("2025-01-01")] * 38 + [t("2026-06-20"), t("2026-06-29")]  # two signed up late
    users_df = pd.DataFrame({"user_id": users + ["never1", "never2"], "signup_at": signup + [t("2025-01-01")] * 2})
    return users_df, events


def toml_for(cfg: dict) -> str:
    q = lambda xs: "[" + ", ".join(f'"{x}"' for x in xs) + "]"  # noqa: E731
    return (
        f'as_of = "{AS_OF}"\npurchase_event = "purchase"\n[aipl]\n'
        f"awareness = {q(cfg['awareness'])}\ninterest = {q(cfg['interest'])}\n"
        f"loyalty_events = {q(cfg['loyalty'])}\nloyalty_min_purchases = {cfg['k']}\nlookback_days = {cfg['lookback']}\n"
    )


CONFIGS = {
    "default": {"lookback": 30, "k": 2, "awareness": AWARE, "interest": INTEREST, "loyalty": LOYAL},
    "k1": {"lookback": 20, "k": 1, "awareness": AWARE, "interest": INTEREST, "loyalty": LOYAL},
    "k3": {"lookback": 45, "k": 3, "awareness": AWARE, "interest": INTEREST, "loyalty": LOYAL},
    # names in two lists: a purchase that is also a loyalty event, an interest event also awareness
    "overlap": {
        "lookback": 25,
        "k": 2,
        "awareness": [*AWARE, "product_view"],
        "interest": INTEREST,
        "loyalty": [*LOYAL, "purchase"],
    },
    "one_day": {"lookback": 1, "k": 2, "awareness": AWARE, "interest": INTEREST, "loyalty": LOYAL},
}


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def dataset(request, tmp_path_factory):
    cfg = {**CONFIGS[request.param], "purchase": ["purchase"]}
    users, events = edge_events(cfg["lookback"], seed=len(request.param))
    root = write_dataset(tmp_path_factory.mktemp("hist") / "shop", users, events, toml=toml_for(cfg))
    ds = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    yield ds, users, events, cfg
    ds.close()


def uid_of(ds) -> pd.Series:
    cur = ds.cursor()
    try:
        return cur.execute("select user_id, _uid from profile").df().set_index("user_id")["_uid"]
    finally:
        cur.close()


def test_history_equals_pandas_on_every_day(dataset):
    ds, users, events, cfg = dataset
    h = aipl_history.build(ds)
    uids = uid_of(ds)
    ids = list(users["user_id"])
    first = events["ts"].min().date()
    days = [first - timedelta(days=2) + timedelta(days=i) for i in range((AS_OF - first).days + 3)]
    for day in days:
        codes = h.stages(day)
        got = pd.Series([aipl_history.CODES[codes[uids[u]]] for u in ids], index=ids)
        want = pandas_stage(events, ids, day, cfg)
        assert got.to_dict() == want.to_dict(), day
        reached = h.reached(day)
        rank = {"none": 0, "A": 1, "I": 2, "P": 3, "L": 4}
        assert reached == {x: int((want.map(rank) >= x).sum()) for x in aipl_history.LEVELS}, day


def test_the_edges_land_where_the_contract_puts_them(dataset):
    """Guards the fixture: the hand-placed members take the stages the edges are about."""
    _ds, users, events, cfg = dataset
    d = date(2026, 5, 1)
    lb = cfg["lookback"]
    ids = list(users["user_id"])
    at_d = pandas_stage(events, ids, d, cfg)
    assert at_d["u39"] == "none" and at_d["never1"] == "none"
    if cfg["k"] == 2 and "purchase" not in cfg["loyalty"] and lb >= 3:
        assert at_d["u33"] == "L"  # the share one microsecond after the purchase
        # the first purchase has left the window: the share counts after the second one
        assert pandas_stage(events, ids, d + timedelta(days=1), cfg)["u38"] == "P"
        assert pandas_stage(events, ids, d + timedelta(days=2), cfg)["u38"] == "L"
    assert pandas_stage(events, ids, d + timedelta(days=lb), cfg)["u34"] == "none"


def test_funnel_flow_and_dated_counts_use_the_history_and_equal_pandas(dataset):
    ds, users, events, cfg = dataset
    ids = list(users["user_id"])
    d1, d2 = date(2026, 5, 1), date(2026, 6, 10)
    a, b = pandas_stage(events, ids, d1, cfg), pandas_stage(events, ids, d2, cfg)
    f = aipl.funnel(ds, d1)
    assert f.in_stage == {s: int((a == s).sum()) for s in aipl.ALL_STAGES}
    flow = aipl.flow(ds, d1, d2)
    assert flow.matrix == {r: {c: int(((a == r) & (b == c)).sum()) for c in aipl.ALL_STAGES} for r in aipl.ALL_STAGES}
    assert sum(flow.summary.values()) == flow.base_size == len(ids)
    assert dataset_cache(ds, "aipl_history").get("aipl_history") is not None  # the answers came from the history


def test_the_history_is_kept_in_a_file_and_read_back(tmp_path):
    users, events = edge_events(30, seed=3)
    cfg = {**CONFIGS["default"], "purchase": ["purchase"]}
    root = write_dataset(tmp_path / "shop", users, events, toml=toml_for(cfg))
    cache = tmp_path / "cache"
    ds = open_dataset(root, cache_dir=cache)
    h = aipl_history.history(ds)
    path = aipl_history.file_for(ds)
    assert path.exists()
    ds.close()
    again = open_dataset(root, cache_dir=cache)
    back = aipl_history.history(again)
    assert back.bounds == h.bounds and back.origin == h.origin
    assert all(np.array_equal(getattr(back, c), getattr(h, c)) for c in ("uid", "first", "last"))
    again.close()
    # a damaged file is computed again, not trusted
    path.write_bytes(b"not a history")
    third = open_dataset(root, cache_dir=cache)
    rebuilt = aipl_history.history(third)
    assert np.array_equal(rebuilt.first, h.first)
    third.close()


def test_two_datasets_of_the_same_name_keep_their_histories(tmp_path):
    """Another `shop` (other data) in the same cache directory keeps its history file; a new version of one
    dataset removes only its own older history."""
    users, events = edge_events(30, seed=3)
    cfg = {**CONFIGS["default"], "purchase": ["purchase"]}
    first = write_dataset(tmp_path / "a" / "shop", users, events, toml=toml_for(cfg))
    second = namesake(first, tmp_path / "b")
    cache = tmp_path / "cache"
    a, b = open_dataset(first, cache_dir=cache), open_dataset(second, cache_dir=cache)
    try:
        aipl_history.history(a)
        aipl_history.history(b)
        assert aipl_history.file_for(a).exists() and aipl_history.file_for(b).exists()  # before: b's removed a's
    finally:
        a.close()
        b.close()
    new_version(second)
    newer = open_dataset(second, cache_dir=cache)
    try:
        aipl_history.history(newer)
        assert not aipl_history.file_for(b).exists() and aipl_history.file_for(a).exists()
        assert len(list(cache.glob("*.aipl-history.npz"))) == 2
    finally:
        newer.close()


def test_a_loyalty_threshold_below_one_reads_the_events(tmp_path):
    """No history for K < 1 (every member with an AIPL-list event is L): the rule over the events answers."""
    users, events = edge_events(30, seed=4)
    cfg = {**CONFIGS["default"], "k": 0, "purchase": ["purchase"]}
    root = write_dataset(tmp_path / "shop", users, events, toml=toml_for(cfg))
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    assert aipl_history.history(ds) is None
    ids = list(users["user_id"])
    day = date(2026, 6, 1)
    w = events[
        (events["ts"] >= pd.Timestamp(day) - pd.Timedelta(days=29))
        & (events["ts"] < pd.Timestamp(day) + pd.Timedelta(days=1))
    ]
    listed = set(w.loc[w["event"].isin([*AWARE, *INTEREST, *LOYAL, "purchase"]), "user_id"])
    assert aipl.funnel(ds, day).in_stage["L"] == len(listed & set(ids))
    ds.close()


def test_no_purchase_in_the_data(tmp_path):
    """Without a single purchase nobody is P or L; the other stages still equal pandas."""
    users, events = edge_events(30, seed=5)
    events = events[events["event"] != "purchase"].reset_index(drop=True)
    cfg = {**CONFIGS["default"], "purchase": ["purchase"]}
    root = write_dataset(tmp_path / "shop", users, events, toml=toml_for(cfg))
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    h = aipl_history.history(ds)
    uids = uid_of(ds)
    ids = list(users["user_id"])
    for day in (date(2026, 5, 1), date(2026, 6, 1), AS_OF):
        want = pandas_stage(events, ids, day, cfg)
        assert not want.isin(["P", "L"]).any()
        codes = h.stages(day)
        assert [aipl_history.CODES[codes[uids[u]]] for u in ids] == want.tolist()
    ds.close()
