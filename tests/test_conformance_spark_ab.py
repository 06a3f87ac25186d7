"""Experiments from an export's holdout, and every `adesk ab` command, give the same answers on Spark.

The demo's win-back campaign (data/README.md story 10: an export with a 10 % holdout) is read by the
same core functions on DuckDB and on `on_spark(ds)` (its holdout resolved by Spark: core/engine/
spark_assignments.py), also as an older export whose rows are in SQLite; its arms are also computed
plainly with pandas and hashlib (tests/test_demo_campaign.py). `adesk ab list` and `adesk ab DIR
--experiment X` (a contract experiment and the export; a base segment, CUPED, sequential) print the
same JSON with ADESK_ENGINE=spark.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pandas as pd
import pytest

from core.analyses.ab import ABSpec, ab_result, experiment_list
from core.analyses.experiments import aggregates, find
from core.demo.campaign_record import record_campaign
from core.store import AppStore
from dashboard.cli import main
from tests.test_demo_campaign import campaign_by_pandas

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

USERS, SEED = 1_500, 11  # conftest's spark_demo
BASE = {"conditions": [{"kind": "attribute", "field": "age", "op": "gte", "value": 30}]}


def same(got, want, path: str = "") -> None:
    """Equal; counts, names and flags exactly, floats to 1e-9 relative."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for k in want:
            same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            same(a, b, f"{path}[{i}]")
    elif isinstance(want, float):
        # exact once sums are DECIMAL: revenue sums of doubles (and the statistics made from them) may
        # differ in their last bits, as the order of addition differs between the engines
        assert isinstance(got, float) and got == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), path
    else:
        assert type(got) is type(want) and got == want, path


@pytest.fixture(scope="module")
def campaign(spark_demo, tmp_path_factory):
    """The demo on both engines and an app store holding its win-back campaign export."""
    ds, sd = spark_demo
    tmp = tmp_path_factory.mktemp("spark-campaign")
    store = AppStore(tmp / "app.db")
    first = record_campaign(ds.path, store, users=USERS, seed=SEED, out=tmp / "campaign.csv")
    return ds, sd, store, first.export_id, tmp


def _legacy_store(store: AppStore, export_id: str, to) -> AppStore:
    """A copy of the store where the export's assignments are SQLite rows (an export made before holdout files)."""
    shutil.copy(store.path, to)
    legacy = AppStore(to)
    frame = pd.read_parquet(store.holdout_file(export_id).path)
    with sqlite3.connect(legacy.path) as conn:
        conn.execute("delete from export_holdouts")
        conn.executemany(
            "insert into experiment_assignments values (?, ?, ?)",
            [(export_id, u, v) for u, v in zip(frame["user_id"], frame["variant"], strict=True)],
        )
    return legacy


def test_the_win_back_campaign_is_the_same_on_spark(campaign):
    ds, sd, store, export_id, tmp = campaign
    for kept in (store, _legacy_store(store, export_id, tmp / "legacy.db")):
        experiment = find(sd, export_id, kept)
        assert experiment == find(ds, export_id, kept) and experiment.legacy == (kept is not store)
        for spec in (ABSpec(export_id), ABSpec(export_id, segment=BASE, cuped=True, sequential=True)):
            same(ab_result(sd, spec, kept).to_dict(), ab_result(ds, spec, kept).to_dict())
        same([s.to_dict() for s in experiment_list(sd, kept)], [s.to_dict() for s in experiment_list(ds, kept)])
    # the arms read plainly: the audience's holdout by SHA-256 of the export id and user id, their purchases
    expected = campaign_by_pandas(ds.path, export_id)
    got = {
        v.name: (v.users, v.conversions, v.revenue_sum)
        for v in aggregates(sd, find(sd, export_id, store), store=store).variants
    }
    assert got.keys() == expected.keys() and expected["holdout"][0] > 0
    for arm, (users, converted, revenue) in expected.items():
        assert got[arm][:2] == (users, converted) and got[arm][2] == pytest.approx(revenue, rel=1e-9), arm


def test_adesk_ab_prints_the_same_on_spark(campaign, monkeypatch, capsys, tmp_path):
    ds, _sd, store, export_id, _tmp = campaign
    monkeypatch.setenv("ADESK_CACHE_DIR", str(ds.cache_path.parent))  # the caches spark_demo built (both engines)
    monkeypatch.setenv("ADESK_SPARK_REMOTE", "local[2]")
    segment = tmp_path / "base.json"
    segment.write_text(json.dumps(BASE), encoding="utf-8")
    contract = ds.config.experiments[0].name
    from core.engine import spark_dataset

    answered_by_spark = []  # each Spark run goes through on_spark (ADESK_ENGINE honoured)
    real = spark_dataset.on_spark
    monkeypatch.setattr(spark_dataset, "on_spark", lambda d, s=None: answered_by_spark.append(d) or real(d, s))
    commands = [
        ["ab", "list", str(ds.path)],
        ["ab", str(ds.path), "--experiment", contract],
        ["ab", str(ds.path), "--experiment", contract, "--segment", str(segment), "--cuped", "--sequential"],
        ["ab", str(ds.path), "--experiment", export_id, "--cuped"],
    ]
    for command in commands:
        printed = {}
        for engine in ("duckdb", "spark"):
            monkeypatch.setenv("ADESK_ENGINE", engine)
            assert main([*command, "--json", "--db", str(store.path)]) == 0, (engine, command)
            printed[engine] = json.loads(capsys.readouterr().out)
        same(printed["spark"], printed["duckdb"], " ".join(command[1:2]))
        assert len(answered_by_spark) == commands.index(command) + 1
        if command[1] == "list":
            names = {e["experiment"] for e in printed["duckdb"]["experiments"]}
            assert export_id in names and contract in names
