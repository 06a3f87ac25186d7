"""The profile's build shortcuts keep its answers: tag flags unpacked from several 64-bit masks, the AIPL
stage computed in the profile's select (no `aipl` table), and each column type stored with a named method."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.dataset import MASK_BITS, open_dataset
from tests.datasets import random_dataset, write_dataset


def _plain(values: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in values]


def _events(users: list[str], rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": rng.choice(users, n),
            "event": rng.choice(["purchase", "view", "share", "ad"], n),
            "ts": pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 500 * 86400, n), unit="s"),
            "amount": rng.integers(1, 500, n).astype(float),
        }
    )


def test_tag_flags_and_values_over_three_masks_match_pandas(tmp_path):
    """150 tags: three masks, with holders on bit 0, bit 63 and the first bit of the next mask."""
    rng = np.random.default_rng(21)
    ids = [f"u{i:03d}" for i in range(300)]
    users = pd.DataFrame({"user_id": ids})
    names = [f"t/{i:03d}" for i in range(150)]  # sorted: tag i is bit i % 64 of mask i // 64
    rows = pd.DataFrame({"user_id": rng.choice(ids[:280], 4000), "tag": rng.choice(names, 4000)})
    rows = pd.concat([rows, pd.DataFrame({"user_id": ids[:3], "tag": names[63:66]})], ignore_index=True)
    valued = {names[i] for i in (0, 63, 64, 127, 149)}
    rows["value"] = [f"v{rng.integers(0, 9)}" if t in valued else None for t in rows["tag"]]
    ds = open_dataset(write_dataset(tmp_path / "d", users, _events(ids, rng, 500), rows), cache_dir=tmp_path / "c")
    profile = ds.cursor().execute("select * from profile").df().set_index("user_id").reindex(ids)
    assert len(ds.catalog.tags) == 150 > 2 * MASK_BITS
    for tag in names:
        info = ds.catalog.tags[tag]
        holders = set(rows.loc[rows["tag"] == tag, "user_id"])
        want = np.array([u in holders for u in ids])
        got = profile[info.column].to_numpy()
        assert got.dtype == bool and (got == want).all(), tag
        assert info.users == len(holders)
        if tag in valued:
            best = rows[rows["tag"] == tag].groupby("user_id")["value"].max().reindex(ids)
            assert _plain(profile[info.value_column]) == _plain(best), tag
        else:
            assert info.value_column is None
    assert not profile.loc[ids[280:], [ds.catalog.tags[t].column for t in names]].to_numpy().any()
    ds.close()


def test_aipl_stage_with_a_loyalty_threshold_matches_pandas(tmp_path):
    """The stage's CASE reads the roll-up in the profile's select; its bound threshold (3) is honoured."""
    rng = np.random.default_rng(22)
    ids = [f"u{i:03d}" for i in range(400)]
    users = pd.DataFrame({"user_id": ids})
    events = _events(ids[:350], rng, 3000)  # the last 50 members have no events at all
    toml = (
        'as_of = "2026-09-30"\npurchase_event = "purchase"\n[aipl]\nawareness = ["ad"]\ninterest = ["view"]\n'
        'loyalty_events = ["share"]\nloyalty_min_purchases = 3\nlookback_days = 60\n'
    )
    ds = open_dataset(write_dataset(tmp_path / "d", users, events, toml=toml), cache_dir=tmp_path / "c")
    end = pd.Timestamp("2026-10-01")
    window = events[(events["ts"] >= end - pd.Timedelta(days=60)) & (events["ts"] < end)]
    want = {}
    for uid in ids:
        ev = window[window["user_id"] == uid]
        buys = ev.loc[ev["event"] == "purchase", "ts"]
        if len(buys) >= 3 or (len(buys) >= 1 and (ev.loc[ev["event"] == "share", "ts"] > buys.min()).any()):
            want[uid] = "L"
        elif len(buys):
            want[uid] = "P"
        elif (ev["event"] == "view").any():
            want[uid] = "I"
        elif (ev["event"] == "ad").any():
            want[uid] = "A"
        else:
            want[uid] = "none"
    got = dict(ds.cursor().execute("select user_id, _aipl_stage from profile").fetchall())
    assert got == want
    assert set(want.values()) == {"A", "I", "P", "L", "none"}  # every branch of the rule is exercised
    ds.close()


def test_each_column_type_is_stored_with_its_method_and_reads_back_unchanged(tmp_path):
    root = random_dataset(tmp_path / "shop")
    ds = open_dataset(root, cache_dir=tmp_path / "c")
    cur = ds.cursor()
    types = dict(
        cur.execute("select column_name, data_type from duckdb_columns() where table_name = 'profile'").fetchall()
    )
    stored = cur.execute(
        "select column_name, list(distinct compression) from pragma_storage_info('cache.profile')"
        " where segment_type <> 'VALIDITY' group by 1"
    ).fetchall()
    expected = {"BOOLEAN": ["Roaring"], "INTEGER": ["BitPacking"], "TINYINT": ["BitPacking"]}
    expected |= {"TIMESTAMP": ["BitPacking"], "BIGINT": ["BitPacking"], "VARCHAR": ["DICT_FSST"]}
    checked = 0
    for column, methods in stored:
        want = ["Uncompressed"] if column == "user_id" else expected.get(types[column])
        if want is not None:
            assert methods == want, (column, types[column], methods)
            checked += 1
    assert checked >= 0.9 * len(types)
    # the users' attributes read back as pandas reads the file
    users = pd.read_parquet(root / "users.parquet").set_index("user_id")
    got = cur.execute("select user_id, signup_at, city, age, sms_opt_in from profile").df().set_index("user_id")
    got = got.reindex(users.index)
    for col in ("signup_at", "city", "age", "sms_opt_in"):
        assert _plain(got[col]) == _plain(users[col]), col
    ds.close()
