"""Model tags (RFM, AIPL, lifecycle) checked user by user against an independent pandas computation."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

import core.dataset.build_events as dataset_module  # CODED_MAX lives with the event steps of the build
from core.dataset import open_dataset
from tests.datasets import namesake, random_dataset, write_dataset
from tests.oracles import expected_models


def actual_models(ds) -> pd.DataFrame:
    return (
        ds.cursor()
        .execute(
            "select user_id, _recency_days, _frequency, _monetary, _rfm_class, _r_score, _f_score, _m_score, "
            "_aipl_stage, _lifecycle from profile"
        )
        .df()
        .set_index("user_id")
    )


def assert_models_match(ds, users, events, as_of):
    exp_ = expected_models(users, events, as_of)
    act = actual_models(ds).reindex(exp_.index)
    assert list(act.index) == list(exp_.index)
    mismatched = act.index[act["_rfm_class"] != exp_["rfm"]]
    assert mismatched.empty, f"RFM class differs for {list(mismatched[:5])}"
    buyers = exp_["recency"].notna()
    assert (act.loc[buyers, "_recency_days"] == exp_.loc[buyers, "recency"]).all()
    assert (act.loc[buyers, "_frequency"] == exp_.loc[buyers, "frequency"]).all()
    assert (act.loc[buyers, "_monetary"] == exp_.loc[buyers, "monetary"]).all()  # exact sums: to the last bit
    for s in ("r_score", "f_score", "m_score"):
        assert (act.loc[buyers, f"_{s}"] == exp_.loc[buyers, s]).all(), s
    assert act.loc[~buyers, "_frequency"].eq(0).all() and act.loc[~buyers, "_r_score"].isna().all()
    bad = act.index[act["_aipl_stage"] != exp_["aipl"]]
    assert bad.empty, (
        f"AIPL differs for {list(bad[:5])}: {act.loc[bad[:5], '_aipl_stage'].tolist()} "
        f"vs {exp_.loc[bad[:5], 'aipl'].tolist()}"
    )
    bad = act.index[act["_lifecycle"] != exp_["lifecycle"]]
    assert bad.empty, f"lifecycle differs for {list(bad[:5])}"


@pytest.fixture(scope="module")
def random_ds(tmp_path_factory):
    root = random_dataset(tmp_path_factory.mktemp("rand") / "shop")
    ds = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    yield ds, root
    ds.close()


def test_random_dataset_models_match_pandas(random_ds):
    ds, root = random_ds
    users = pd.read_parquet(root / "users.parquet")
    events = pd.read_parquet(root / "events")
    assert_models_match(ds, users, events, "2026-06-30")
    # the random data exercises every class and stage, so the comparison means something
    act = actual_models(ds)
    assert set(act["_aipl_stage"]) == {"A", "I", "P", "L", "none"}
    assert len(set(act["_rfm_class"])) >= 6
    assert set(act["_lifecycle"]) == {"new", "active", "dormant", "churned", "never_active"}


def test_time_zone_aware_timestamps_count_in_the_dataset_time_zone(tmp_path):
    """DATA_CONTRACT: every timestamp is compared in the dataset's time zone.

    The random dataset's wall-clock times (many exactly at midnight or a second before) are
    stored as UTC instants of Asia/Shanghai times, with `timezone = "Asia/Shanghai"`: every
    model tag must equal the pandas computation on the local wall-clock times. Read as UTC
    they would move by 8 hours and across days.
    """
    local_root = random_dataset(tmp_path / "local")
    users = pd.read_parquet(local_root / "users.parquet")
    events = pd.read_parquet(local_root / "events")

    def instants(s: pd.Series) -> pd.Series:
        return s.dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")

    toml = 'timezone = "Asia/Shanghai"\nas_of = "2026-06-30"\n'
    root = write_dataset(
        tmp_path / "aware",
        users.assign(signup_at=instants(users["signup_at"])),
        events.assign(ts=instants(events["ts"])),
        toml=toml,
    )
    ds = open_dataset(root, cache_dir=tmp_path / "c")
    assert ds.catalog.timezone == "Asia/Shanghai"
    assert_models_match(ds, users, events, "2026-06-30")
    got = (
        ds.cursor()
        .execute("select user_id, _last_event_at from profile where _last_event_at is not null")
        .df()
        .set_index("user_id")["_last_event_at"]
    )
    want = events[events["ts"] < pd.Timestamp("2026-07-01")].groupby("user_id")["ts"].max()
    assert got.sort_index().to_dict() == want.sort_index().to_dict()
    # the same instants read as UTC give other answers: the test can tell the difference
    utc = open_dataset(
        write_dataset(
            tmp_path / "utc",
            users.assign(signup_at=instants(users["signup_at"])),
            events.assign(ts=instants(events["ts"])),
            toml='as_of = "2026-06-30"\n',
        ),
        cache_dir=tmp_path / "c2",
    )
    with pytest.raises(AssertionError):
        assert_models_match(utc, users, events, "2026-06-30")
    ds.close()
    utc.close()


def test_as_of_from_config_and_catalog(random_ds):
    ds, _ = random_ds
    assert ds.as_of == date(2026, 6, 30)
    assert ds.catalog.total_users == 400
    assert ds.catalog.attributes["age"].type == "integer"
    assert ds.catalog.attributes["signup_at"].type == "timestamp"
    assert ds.catalog.attributes["sms_opt_in"].type == "boolean"
    assert "purchase" in ds.catalog.events
    assert ds.catalog.tags["value/ltv"].value_column is not None
    assert ds.catalog.tags["identity/kol"].value_column is None
    assert "product_category" in ds.catalog.event_properties


def test_event_counters_match_pandas(random_ds):
    ds, root = random_ds
    events = pd.read_parquet(root / "events")
    end = pd.Timestamp("2026-07-01")
    prof = ds.cursor().execute("select * from profile").df().set_index("user_id")
    for (event, window), col in ds.catalog.event_counters.items():
        sel = (events["event"] == event) & (events["ts"] < end)
        if window is not None:
            sel &= events["ts"] >= end - pd.Timedelta(days=window)
        expected = events[sel].groupby("user_id").size().reindex(prof.index, fill_value=0)
        assert (prof[col] == expected).all(), (event, window)


def test_tag_columns_match_long_table(random_ds):
    ds, root = random_ds
    tags = pd.read_parquet(root / "tags.parquet")
    prof = ds.cursor().execute("select * from profile").df().set_index("user_id")
    for tag, info in ds.catalog.tags.items():
        holders = set(tags.loc[tags["tag"] == tag, "user_id"])
        assert set(prof.index[prof[info.column]]) == holders, tag
        assert info.users == len(holders)


def edge_case_dataset(root):
    as_of = "2026-06-30"
    users = pd.DataFrame(
        {
            "user_id": [
                "none",
                "today",
                "edge_in",
                "edge_out",
                "nullamt",
                "tie_a",
                "tie_b",
                "tie_c",
                "loyal",
                "late",
                "newbie",
            ],
            "signup_at": pd.to_datetime(["2020-01-01"] * 10 + ["2026-06-01"]),
        }
    )
    t = pd.Timestamp
    rows = [
        ("none", "ad_impression", t("2026-06-29 10:00"), None),
        ("today", "purchase", t("2026-06-30 23:59:59"), 30.0),  # exactly on as_of: recency 0, inside every window
        ("edge_in", "purchase", t("2025-07-01 00:00:00"), 30.0),  # first moment of the 365-day window
        ("edge_out", "purchase", t("2025-06-30 23:59:59"), 30.0),  # last moment before it: no RFM class
        ("edge_out", "product_view", t("2026-01-02 00:00:00"), None),  # first moment of AIPL's 180-day window
        ("nullamt", "purchase", t("2026-06-01"), None),  # NULL amount counts as 0
        ("tie_a", "purchase", t("2026-05-31"), 10.0),
        ("tie_b", "purchase", t("2026-04-30"), 20.0),
        ("tie_b", "purchase", t("2026-04-30 01:00"), 20.0),
        ("tie_c", "purchase", t("2026-03-31"), 30.0),
        ("loyal", "purchase", t("2026-06-10"), 50.0),
        ("loyal", "review", t("2026-06-11"), None),
        ("late", "purchase", t("2026-07-01 00:00:00"), 99.0),  # after as_of: invisible
        ("newbie", "article_view", t("2026-04-01"), None),
    ]
    events = pd.DataFrame(rows, columns=["user_id", "event", "ts", "amount"])
    return write_dataset(root, users, events, toml=f'as_of = "{as_of}"\n'), users, events


def test_hand_made_edge_cases(tmp_path):
    root, users, events = edge_case_dataset(tmp_path / "edges")
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    assert_models_match(ds, users, events, "2026-06-30")
    act = actual_models(ds)
    assert act.loc["today", "_recency_days"] == 0
    assert act.loc["edge_in", "_rfm_class"] != "none" and act.loc["edge_out", "_rfm_class"] == "none"
    assert act.loc["edge_out", "_aipl_stage"] == "I"
    assert act.loc["nullamt", "_monetary"] == 0
    assert act.loc["loyal", "_aipl_stage"] == "L" and act.loc["tie_b", "_aipl_stage"] == "L"
    assert act.loc["late", "_rfm_class"] == "none" and act.loc["late", "_lifecycle"] == "never_active"
    assert act.loc["newbie", "_lifecycle"] == "new"
    assert act.loc["none", "_aipl_stage"] == "A"
    # the buyers' mean frequency is exactly 8/7 and tie_b's 2 is above it, 1 is not: F high only for tie_b
    f_high = {"important_value", "important_retention", "general_value", "general_retention"}
    assert act.loc["tie_b", "_rfm_class"] in f_high
    assert not (act.loc[act["_frequency"] == 1, "_rfm_class"].isin(f_high)).any()
    ds.close()


def test_tie_exactly_at_mean_is_low(tmp_path):
    """Buyers with recency 10, 20, 30 days: mean 20, so the middle one is not 'high R'."""
    users = pd.DataFrame({"user_id": ["a", "b", "c"]})
    events = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "event": ["purchase"] * 3,
            "ts": pd.to_datetime(["2026-06-20", "2026-06-10", "2026-05-31"]),
            "amount": [10.0, 20.0, 30.0],
        }
    )
    ds = open_dataset(
        write_dataset(tmp_path / "tie", users, events, toml='as_of = "2026-06-30"\n'), cache_dir=tmp_path / "c"
    )
    got = dict(ds.cursor().execute("select user_id, _rfm_class from profile").fetchall())
    # a: recent (10 < 20), M low (10 < 20); b: at the mean on both -> low, low; c: old, M high
    assert got == {"a": "general_development", "b": "general_recovery", "c": "important_recovery"}
    ds.close()


def test_cache_reused_and_rebuilt_when_files_change(tmp_path):
    root, users, events = edge_case_dataset(tmp_path / "d")
    ds1 = open_dataset(root, cache_dir=tmp_path / "cache")
    assert ds1.build_seconds is not None
    ds2 = open_dataset(root, cache_dir=tmp_path / "cache")
    assert ds2.build_seconds is None and ds2.cache_path == ds1.cache_path
    more = pd.concat([users, pd.DataFrame({"user_id": ["extra"], "signup_at": [pd.Timestamp("2021-01-01")]})])
    more.to_parquet(root / "users.parquet", index=False)
    ds3 = open_dataset(root, cache_dir=tmp_path / "cache")
    assert ds3.build_seconds is not None and ds3.cache_path != ds1.cache_path
    assert ds3.total_users == len(users) + 1
    assert not any(p.suffix == ".tmp" for p in (tmp_path / "cache").iterdir())
    for d in (ds1, ds2, ds3):
        d.close()


def test_two_datasets_of_the_same_name_keep_their_caches(tmp_path):
    """Two folders named `shop` in one cache directory: each keeps its cache (neither open rebuilds the other's),
    a new version of one removes only that one's older cache, and a cache named the old way (name + fingerprint,
    no path) goes with it."""
    first, users, _events = edge_case_dataset(tmp_path / "a")
    second = namesake(first, tmp_path / "b")
    cache = tmp_path / "cache"
    legacy = cache / f"{first.name}-{'0' * 20}.duckdb"  # how caches were named before
    cache.mkdir()
    legacy.write_bytes(b"")
    a1, b1 = open_dataset(first, cache_dir=cache), open_dataset(second, cache_dir=cache)
    a2, b2 = open_dataset(first, cache_dir=cache), open_dataset(second, cache_dir=cache)
    try:
        assert a1.build_seconds is not None and b1.build_seconds is not None
        assert a2.build_seconds is None and b2.build_seconds is None  # before: each open rebuilt the other's
        assert a1.cache_path.exists() and b1.cache_path.exists() and a1.cache_path != b1.cache_path
        assert not legacy.exists()
        pd.concat([users, pd.DataFrame({"user_id": ["extra"]})]).to_parquet(second / "users.parquet", index=False)
        b3 = open_dataset(second, cache_dir=cache)
        assert b3.build_seconds is not None and b3.total_users == len(users) + 1
        assert not b1.cache_path.exists() and a1.cache_path.exists()  # its own older version only
        assert sorted(p.name for p in cache.glob("*.duckdb")) == sorted([a1.cache_path.name, b3.cache_path.name])
        b3.close()
    finally:
        for d in (a1, b1, a2, b2):
            d.close()


_OPEN = (
    "import json, sys; from core.dataset import open_dataset; "
    "ds = open_dataset(sys.argv[1], cache_dir=sys.argv[2]); "
    "print(json.dumps([ds.total_users, ds.build_seconds is not None]))"
)


def test_two_processes_open_at_once_build_once(tmp_path):
    import json
    import subprocess
    import sys

    root = random_dataset(tmp_path / "shared", n_users=300, n_events=20000)
    cache = tmp_path / "cache"
    procs = [
        subprocess.Popen([sys.executable, "-c", _OPEN, str(root), str(cache)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert [r[0] for r in results] == [300, 300]
    assert sum(r[1] for r in results) == 1  # exactly one of them built
    assert len(list(cache.glob("*.duckdb"))) == 1


def test_cache_is_outside_the_dataset(tmp_path):
    root, _, _ = edge_case_dataset(tmp_path / "d")
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    assert root not in ds.cache_path.parents
    assert math.isclose(ds.catalog.total_users, 11)
    ds.close()


def test_members_numbered_across_several_users_files(tmp_path):
    """Members get one number each across users files, and each event row carries its member's number."""
    root = random_dataset(tmp_path / "p")
    one = open_dataset(root, cache_dir=tmp_path / "one")
    users = pd.read_parquet(root / "users.parquet")
    (root / "users.parquet").unlink()
    (root / "users").mkdir()
    shuffled = users.sample(frac=1, random_state=3)
    for i, part in enumerate((shuffled.iloc[:100], shuffled.iloc[100:250], shuffled.iloc[250:])):
        part.to_parquet(root / "users" / f"part-{i}.parquet", index=False)
    many = open_dataset(root, cache_dir=tmp_path / "many")
    q = "select * exclude (_uid) from profile order by user_id"
    assert one.cursor().execute(q).df().equals(many.cursor().execute(q).df())
    numbers = many.cursor().execute("select _uid from profile").df()["_uid"]
    assert sorted(numbers) == list(range(len(users)))  # dense and distinct
    # every member's events, counted through the numbers, equal a count of the raw events by user_id
    got = (
        many.cursor()
        .execute("select p.user_id, count(*) as n from event_rows e join profile p using (_uid) group by p.user_id")
        .df()
    )
    events = pd.read_parquet(root / "events")
    events = events[(events["ts"] < pd.Timestamp(many.as_of_end)) & events["user_id"].isin(users["user_id"])]
    want = events.groupby("user_id").size()
    assert dict(zip(got["user_id"], got["n"], strict=True)) == want.to_dict()
    one.close()
    many.close()


def test_event_rows_hold_the_raw_events_sorted_by_event_and_time(tmp_path, monkeypatch):
    """The cache's copy of the events: the same rows and property values as the files, in (event, ts) order.

    Text properties travel through the build's sort as small codes; one has a free-text
    property with too many values to code, which must come through as it is.
    """
    monkeypatch.setattr(dataset_module, "CODED_MAX", 1000)  # `note` has ~4,300 values, `category` 4
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(300)]})
    rng = np.random.default_rng(5)
    n = 5000
    events = pd.DataFrame(
        {
            "user_id": rng.choice([*users["user_id"], "ghost"], n),
            "event": rng.choice(["purchase", "view", "share"], n),
            "ts": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
            "amount": np.where(rng.random(n) < 0.3, np.nan, rng.random(n) * 100),
            "category": rng.choice(["cake", "coffee", "100%_juice", "", None], n),
            "note": [f"free text {i}" if i % 7 else None for i in range(n)],  # one value per row
        }
    )
    ds = open_dataset(write_dataset(tmp_path / "e", users, events), cache_dir=tmp_path / "c")
    cur = ds.cursor()
    got = cur.execute(
        "select p.user_id, e._ei, e.ts, e.amount, e.category, e.note"
        " from (select rowid as r, * from cache.event_rows) e join profile p using (_uid) order by e.r"
    ).df()
    names = sorted(events["event"].unique())
    got["event"] = [names[i - 1] for i in got["_ei"]]
    keys = list(zip(got["_ei"], got["ts"], strict=True))
    assert keys == sorted(keys)  # stored in (event, time) order: a clause reads one slice
    want = events[(events["ts"] < pd.Timestamp(ds.as_of_end)) & (events["user_id"] != "ghost")]
    cols = ["user_id", "event", "ts", "amount", "category", "note"]

    def rows(df):
        return sorted(tuple(None if pd.isna(v) else v for v in r) for r in df[cols].itertuples(index=False))

    assert rows(got) == rows(want)
    ds.close()


def test_profile_column_storage(random_ds):
    ds, _ = random_ds
    compression = dict(
        ds.cursor()
        .execute(
            "select column_name, any_value(compression) from pragma_storage_info('cache.profile') "
            "where segment_type = 'BOOLEAN' group by 1"
        )
        .fetchall()
    )
    tag_cols = [info.column for info in ds.catalog.tags.values()]
    assert tag_cols and {compression[c] for c in tag_cols} == {"Roaring"}
    # user_id (one value per member) is stored as it is
    (user_id,) = (
        ds.cursor()
        .execute(
            "select distinct compression from pragma_storage_info('cache.profile') "
            "where column_name = 'user_id' and segment_type = 'VARCHAR'"
        )
        .fetchall()
    )
    assert user_id == ("Uncompressed",)


def test_catalog_distinct_counts_match_pandas(random_ds):
    """The build counts each column's distinct values in its own query: the catalog's counts are pandas' nunique."""
    ds, root = random_ds
    users = pd.read_parquet(root / "users.parquet")
    attributes = {n: c.distinct for n, c in ds.catalog.attributes.items()}
    assert attributes and attributes == {n: users[n].nunique() for n in attributes}
    events = pd.read_parquet(root / "events")
    events = events[events["user_id"].isin(users["user_id"]) & (events["ts"] < pd.Timestamp(ds.as_of_end))]
    properties = {n: c.distinct for n, c in ds.catalog.event_properties.items()}
    assert properties and properties == {n: events[n].nunique() for n in properties}


def test_tags_without_value_column(tmp_path):
    users = pd.DataFrame({"user_id": ["a", "b", "c"]})
    events = pd.DataFrame(
        {"user_id": ["a"], "event": ["purchase"], "ts": pd.to_datetime(["2026-06-01"]), "amount": [5.0]}
    )
    tags = pd.DataFrame({"user_id": ["a", "b", "b"], "tag": ["x/y", "x/y", "x/z"]})  # no `value` (optional)
    ds = open_dataset(write_dataset(tmp_path / "t", users, events, tags), cache_dir=tmp_path / "c")
    assert {t: i.users for t, i in ds.catalog.tags.items()} == {"x/y": 2, "x/z": 1}
    assert all(i.value_column is None for i in ds.catalog.tags.values())
    ds.close()


def test_validation_runs_once_per_version_of_the_files(tmp_path, monkeypatch):
    """Reopening unchanged files skips validation (a full pass at 10M members) but keeps its warnings."""
    import core.validate

    users = pd.DataFrame({"user_id": ["a", "b"], "HomeCity": ["x", "y"]})  # not snake_case: a warning
    events = pd.DataFrame(
        {
            "user_id": ["a", "zz"],
            "event": ["purchase"] * 2,
            "ts": pd.to_datetime(["2026-06-01"] * 2),
            "amount": [1.0, 2.0],
        }
    )
    root = write_dataset(tmp_path / "w", users, events, toml='as_of = "2026-06-30"\n')
    first = open_dataset(root, cache_dir=tmp_path / "c")
    warnings = sorted(p.message for p in first.report.warnings)
    assert any("HomeCity" in m or "snake" in m for m in warnings)
    assert any("users not in users" in m for m in warnings)  # the build's own health check

    def refuse(*_a, **_k):
        raise AssertionError("validated again although the files did not change")

    monkeypatch.setattr(core.validate, "validate_dataset", refuse)
    second = open_dataset(root, cache_dir=tmp_path / "c")
    assert second.build_seconds is None
    assert sorted(p.message for p in second.report.warnings) == warnings
    first.close()
    second.close()
