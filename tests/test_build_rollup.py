"""The per-member roll-up (`user_events`, one SQL aggregate over `event_rows`), checked column by column
against plain pandas: window edges to the microsecond, ties in time, members without events, an event
with no rows, rows without an event name, rows not in (event, time) order, configs whose windows are not
counter windows, and the counter overflow."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS, event_codes
from core.config import AiplConfig, DatasetConfig
from core.dataset.build_rollup import COUNTER_LIMIT, build_user_events, counter
from core.problems import DatasetError

END = datetime(2026, 11, 1)  # as_of_end
EVENTS = ["ad_impression", "add_to_cart", "never_seen", "product_view", "purchase", "review"]
US = timedelta(microseconds=1)


def _rows(rng: np.random.Generator) -> pd.DataFrame:
    """Random events of members 0..59 (some have none), plus rows exactly on and just before window starts."""
    n = 3000
    codes = event_codes(EVENTS)
    seen = [e for e in EVENTS if e != "never_seen"]
    df = pd.DataFrame(
        {
            "_uid": rng.choice([u for u in range(60) if u % 7 != 3], n).astype("int32"),  # 3, 10, … have none
            "event": rng.choice(seen, n),
            # whole days: many ties in time, within a member too
            "ts": [END - timedelta(days=int(d)) for d in rng.integers(1, 500, n)],
            "amount": np.where(rng.random(n) < 0.3, np.nan, rng.integers(1, 90, n).astype(float)),
        }
    )
    edges = []
    for days in sorted({*(w for w in COUNTER_WINDOWS if w), 45, 60}):
        for u, e in ((1, "purchase"), (2, "review"), (4, "product_view"), (5, "ad_impression")):
            edges += [(u, e, END - timedelta(days=days), 5.0), (u, e, END - timedelta(days=days) - US, 7.0)]
    df = pd.concat([df, pd.DataFrame(edges, columns=df.columns)], ignore_index=True)
    df = pd.concat([df, pd.DataFrame([(77, "review", END - US, None)], columns=df.columns)], ignore_index=True)
    # rows without an event name (`_ei` NULL): they count in n_events and the first / last times only;
    # member 88 has no other row, member 6 one older than all its others
    unnamed = [(6, None, END - timedelta(days=600), None), (88, None, END - timedelta(days=700), None)]
    unnamed += [(88, None, END - US, None), (6, None, END - timedelta(days=2), None)]
    df = pd.concat([df, pd.DataFrame(unnamed, columns=df.columns)], ignore_index=True)
    df["_uid"] = df["_uid"].astype("int32")
    df["_ei"] = df["event"].map(codes).astype("UInt8")
    return df


def _connection(df: pd.DataFrame, order: str, with_amount: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute("SET TimeZone = 'UTC'")
    df = df.sort_values(["_ei", "ts"], kind="stable") if order == "sorted" else df.sample(frac=1, random_state=3)
    rows = df[["_uid", "_ei", "ts", "amount"]] if with_amount else df[["_uid", "_ei", "ts"]]
    con.register("df", rows)
    con.execute("create table event_rows as select * from df")
    con.unregister("df")
    return con


def _want(df: pd.DataFrame, config: DatasetConfig) -> pd.DataFrame:
    """Each member's figures, plain pandas."""
    end = pd.Timestamp(END)
    since = {d: end - pd.Timedelta(days=d) for d in (config.rfm_window_days, config.aipl.lookback_days)}
    out = pd.DataFrame(index=pd.Index(sorted(df["_uid"].unique()), name="_uid"))
    g = df.groupby("_uid")["ts"]
    out["first_event_at"], out["last_event_at"], out["n_events"] = g.min(), g.max(), g.size()
    buy = df[df["event"] == config.purchase_event]
    rfm = buy[buy["ts"] >= since[config.rfm_window_days]]
    look = buy[buy["ts"] >= since[config.aipl.lookback_days]]
    out["rfm_monetary"] = rfm.assign(a=rfm["amount"].fillna(0)).groupby("_uid")["a"].sum()
    out["aipl_first_purchase_at"] = look.groupby("_uid")["ts"].min()
    out["rfm_purchases"] = rfm.groupby("_uid").size().reindex(out.index, fill_value=0)
    out["rfm_last_purchase_at"] = buy.groupby("_uid")["ts"].max().where(out["rfm_purchases"] > 0)
    out["aipl_purchases"] = look.groupby("_uid").size().reindex(out.index, fill_value=0)
    loyal = df[df["event"].isin(config.aipl.loyalty_events)].groupby("_uid")["ts"].max().reindex(out.index)
    out["aipl_last_loyalty_at"] = loyal.where(loyal > out["aipl_first_purchase_at"])
    recent = df[df["ts"] >= since[config.aipl.lookback_days]]
    out["aipl_interested"] = out.index.isin(recent[recent["event"].isin(config.aipl.interest)]["_uid"])
    out["aipl_aware"] = out.index.isin(recent[recent["event"].isin(config.aipl.awareness)]["_uid"])
    return out


CONFIGS = {
    "counter windows": DatasetConfig(),
    # neither window is a counter window: the counts come from their own slices
    "other windows": DatasetConfig(rfm_window_days=60, aipl=AiplConfig(lookback_days=45)),
}


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_user_events_match_pandas(name, order):
    config = CONFIGS[name]
    df = _rows(np.random.default_rng(5))
    con = _connection(df, order)
    cols = build_user_events(con, config, EVENTS, END, ["amount"])
    got = con.execute("select * from user_events").df().set_index("_uid").sort_index()
    want = _want(df, config)
    # only members with events have a row; members 3, 10, … and the numbers above 77 but 88 have none
    assert list(got.index) == list(want.index)
    assert not got["counter_overflow"].any()
    for c in want.columns:
        w, g = want[c], got[c]
        if c == "rfm_monetary":
            assert np.allclose(g.astype(float).fillna(-1), w.astype(float).fillna(-1)), c
        elif w.dtype.kind == "M":
            assert (g.isna() == w.isna()).all() and (g[w.notna()] == w[w.notna()]).all(), c
        else:
            assert (g.to_numpy() == w.to_numpy()).all(), c
    # every (event, window) counter, unpacked as the profile does, against pandas; `never_seen` counts 0
    codes = event_codes(EVENTS)
    select = [exp.alias_(counter(codes[ev], COUNTER_WINDOWS.index(w)), cols[(ev, w)], quoted=True) for ev, w in cols]
    counters = con.execute(exp.select("_uid", *select).from_("user_events").sql("duckdb")).df().set_index("_uid")
    for (ev, w), col in cols.items():
        start = pd.Timestamp(END) - pd.Timedelta(days=w) if w is not None else pd.Timestamp.min
        sel = df[(df["event"] == ev) & (df["ts"] >= start)]
        expect = sel.groupby("_uid").size().reindex(want.index, fill_value=0)
        assert (counters[col].sort_index().to_numpy() == expect.to_numpy()).all(), (ev, w)
    con.close()


def test_the_types_are_those_of_the_sql_roll_up():
    """Counter-window counts are INTEGER (unpacked slots), the others BIGINT (counts)."""
    df = _rows(np.random.default_rng(6))
    types = {}
    for name, config in CONFIGS.items():
        con = _connection(df, "sorted")
        build_user_events(con, config, EVENTS, END, ["amount"])
        types[name] = dict(con.execute("select column_name, column_type from (describe user_events)").fetchall())
        con.close()
    assert types["counter windows"]["rfm_purchases"] == "INTEGER"
    assert types["other windows"]["aipl_purchases"] == "BIGINT"
    for t in types.values():
        assert t["first_event_at"] == "TIMESTAMP" and t["n_events"] == "BIGINT" and t["pk_1_0"] == "UBIGINT"
        assert t["rfm_monetary"] == "DECIMAL(38,6)"  # the exact sum (core.models.rfm.monetary_sum)


def test_without_an_amount_column_the_monetary_sum_is_zero_for_buyers():
    df = _rows(np.random.default_rng(7))
    con = _connection(df, "sorted", with_amount=False)
    build_user_events(con, DatasetConfig(), EVENTS, END, [])
    got = con.execute("select _uid, rfm_monetary from user_events").df().set_index("_uid")["rfm_monetary"]
    buyers = set(df[(df["event"] == "purchase") & (df["ts"] >= END - timedelta(days=365))]["_uid"])
    assert set(got[got.notna()].index) == buyers and (got[got.notna()] == 0).all()
    con.close()


@pytest.mark.parametrize("extra", [0, 1])
def test_counter_overflow_stops_the_build(extra):
    """A member with COUNTER_LIMIT events of one kind gets the coded message; one fewer builds."""
    n = COUNTER_LIMIT - 1 + extra
    con = duckdb.connect()
    con.execute(
        "create table event_rows as select (range % 2)::int as _uid, 1::utinyint as _ei,"
        " timestamp '2026-10-01' as ts, 1.0 as amount from range($n)"
        " union all select 5, 2, timestamp '2026-10-02', 1.0",
        {"n": 2 * n},
    )
    if extra:
        with pytest.raises(DatasetError) as e:
            build_user_events(con, DatasetConfig(), ["purchase", "review"], END, ["amount"])
        (problem,) = e.value.report.problems
        assert problem.detail.code == "dataset.counter_overflow" and problem.detail.params["limit"] == COUNTER_LIMIT
    else:
        build_user_events(con, DatasetConfig(), ["purchase", "review"], END, ["amount"])
        assert con.execute("select n_events from user_events order by _uid").fetchall() == [(n,), (n,), (1,)]
    con.close()
