"""Story 10 of the demo: the past win-back campaign export and its lift, against an independent pandas computation."""

from __future__ import annotations

import hashlib
import shutil
from fractions import Fraction

import pandas as pd
import pytest

from core.analyses.ab import ABSpec, ab_result
from core.dataset import open_dataset
from core.demo.campaign_record import ALREADY, RECORDED, SKIPPED, record_campaign
from core.store import AppStore
from dashboard.cli import main
from tests.oracles import millionths

USERS, SEED = 20_000, 7  # the session's demo_dir
T0 = pd.Timestamp("2026-10-08 10:00")  # the export's time (the demo's time zone is UTC)


def campaign_by_pandas(root, export_id: str) -> dict[str, tuple[int, int, float]]:
    """(members, converted, revenue) per arm from the Parquet files, by data/README.md story 10 and ANALYSES.md §5."""
    buys = pd.read_parquet(root / "events", columns=["user_id", "ts", "amount"], filters=[("event", "==", "purchase")])
    before = set(buys.loc[(buys.ts >= "2025-10-08") & (buys.ts < "2026-07-10"), "user_id"])
    quiet = set(buys.loc[(buys.ts >= "2026-07-10") & (buys.ts < "2026-10-08"), "user_id"])
    audience = sorted(before - quiet)
    limit = round(0.1 * 2**52)
    held = {u for u in audience if int(hashlib.sha256(f"{export_id}|{u}".encode()).hexdigest()[:13], 16) < limit}
    window = buys[(buys.ts >= T0) & (buys.ts < T0 + pd.Timedelta(days=14))]
    # exact sums in millionths, as the app's (tests/oracles.py says why)
    spent = window.groupby("user_id")["amount"].apply(lambda a: sum(map(millionths, a)))
    out = {}
    for arm, members in (
        ("holdout", [u for u in audience if u in held]),
        ("target", [u for u in audience if u not in held]),
    ):
        mine = spent[spent.index.isin(members)]
        out[arm] = (len(members), len(mine), float(Fraction(sum(int(m) for m in mine), 10**6)))
    return out


@pytest.fixture(scope="module")
def recorded(demo_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("campaign")
    store = AppStore(tmp / "app.db")
    first = record_campaign(demo_dir, store, users=USERS, seed=SEED, out=tmp / "campaign.csv")
    return store, first, tmp


def test_the_demo_campaign_reads_as_pandas_computes_it(demo_dir, recorded):
    store, first, _tmp = recorded
    assert first.status == RECORDED and first.export_id.startswith("exp-20261008-100000-")
    record = store.get_export(first.export_id)
    assert (
        record.created_at.startswith("2026-10-08T10:00:00") and record.holdout_share == 0.1 and record.channel is None
    )
    expected = campaign_by_pandas(demo_dir, first.export_id)
    ds = open_dataset(demo_dir)
    try:
        result = ab_result(ds, ABSpec(first.export_id), store=store)
    finally:
        ds.close()
    got = {v.name: (v.aggregate.users, v.aggregate.conversions, v.aggregate.revenue_sum) for v in result.variants}
    assert set(got) == set(expected)
    for arm, (users, conv, rev) in expected.items():
        assert got[arm] == (users, conv, rev), arm  # revenue to the last bit
    assert (first.members, first.holdout) == (sum(e[0] for e in expected.values()), expected["holdout"][0])
    lift = {v["name"]: v for v in result.to_dict()["variants"]}["target"]["metrics"]["conversion"]["lift"]
    (h_users, h_conv, _), (t_users, t_conv, _) = expected["holdout"], expected["target"]
    assert lift == pytest.approx((t_conv / t_users - h_conv / h_users) / (h_conv / h_users), rel=1e-9) and lift > 0
    assert result.windows_incomplete == 0 and not result.srm_flag


def test_the_coupon_purchases_go_to_targets_only(demo_dir, recorded):
    _store, first, _tmp = recorded
    ev = pd.read_parquet(demo_dir / "events", columns=["user_id", "event", "ts", "channel", "campaign"])
    coupon = ev[ev["campaign"] == "winback_coupon_2026_10"]
    assert len(coupon) > 0 and (coupon["event"] == "purchase").all() and (coupon["channel"] == "store").all()
    assert coupon["ts"].between(T0, T0 + pd.Timedelta(days=14), inclusive="left").all()
    holdout = pd.read_parquet(AppStore(_tmp / "app.db").holdout_file(first.export_id).path)
    variant = holdout.set_index("user_id")["variant"]
    assert (variant.reindex(coupon["user_id"]) == "target").all()
    users = pd.read_parquet(demo_dir / "users.parquet", columns=["user_id", "city"])
    tags = pd.read_parquet(demo_dir / "tags.parquet", columns=["user_id", "tag"])
    churned = set(users[users["city"] == "Wuhan"]["user_id"]) & set(tags[tags["tag"] == "scene/commuter"]["user_id"])
    assert not set(coupon["user_id"]) & churned


def test_recording_again_changes_nothing(demo_dir, recorded, tmp_path):
    store, first, tmp = recorded
    holdout = store.holdout_file(first.export_id)
    before = (len(store.list_exports()), hashlib.sha256(open(holdout.path, "rb").read()).hexdigest())
    again = record_campaign(demo_dir, store, users=USERS, seed=SEED, out=tmp / "campaign.csv")
    assert again.status == ALREADY and "nothing changed" in again.message
    copy = tmp_path / "copy"
    shutil.copytree(demo_dir, copy)
    other = record_campaign(copy, store, users=USERS, seed=SEED, out=tmp_path / "c.csv")
    assert other.status == SKIPPED and str(demo_dir.resolve()) in other.message
    assert (len(store.list_exports()), hashlib.sha256(open(holdout.path, "rb").read()).hexdigest()) == before
    assert [e.export_id for e in store.list_exports()] == [first.export_id]


def test_adesk_demo_twice_records_the_campaign_once(tmp_path, capsys):
    out, db = tmp_path / "demo", tmp_path / "app.db"
    assert main(["demo", "--users", "3000", "--out", str(out), "--db", str(db), "--quiet"]) == 0
    assert "Recorded the win-back campaign of 2026-10-08" in capsys.readouterr().out
    assert main(["demo", "--users", "3000", "--out", str(out), "--db", str(db), "--quiet", "--force"]) == 0
    assert "already recorded for this dataset" in capsys.readouterr().out
    exports = AppStore(db).list_exports()
    assert len(exports) == 1 and exports[0].status == "succeeded"
    assert (
        main(
            [
                "demo",
                "--users",
                "3000",
                "--out",
                str(tmp_path / "d2"),
                "--db",
                str(tmp_path / "x.db"),
                "--quiet",
                "--no-campaign",
            ]
        )
        == 0
    )
    assert not (tmp_path / "x.db").exists()
