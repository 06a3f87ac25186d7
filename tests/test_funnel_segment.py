"""The segment kind `funnel`: reached / not_reached / dropped_after, live, combined, described, counted, exported."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from core.dataset import open_dataset
from core.export import ExportOptions, plan_export, write_export
from core.roles import RoleInfo
from core.segments.builder_state import from_segment, to_segment
from core.segments.describe import describe
from core.segments.model import SegmentError, parse_segment
from core.segments.operations import size
from core.store import AppStore
from dashboard.cli import main
from tests.datasets import random_dataset
from tests.funnel_oracle import oracle
from tests.oracles import open_random, segment_members

AS_OF = date(2026, 6, 30)
FUNNELS = [
    {"steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
     "from": "2026-01-01", "to": "2026-06-30", "window": {"value": 30, "unit": "day"},
     "exclusions": [{"event": "review"}]},
    {"steps": [{"event": "purchase", "where": [{"field": "product_category", "op": "eq", "value": "cake"}]},
               {"event": "purchase"}], "window": {"value": 60, "unit": "day"}},
]  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    ds, users, events = open_random(tmp_path_factory, "funnel_seg", seed=11)
    yield ds, users, events
    ds.close()


@pytest.mark.parametrize("funnel", FUNNELS)
def test_reached_not_reached_dropped_after_against_the_oracle(data, funnel):
    ds, users, events = data
    want = oracle(events, users, funnel, AS_OF)["members"]
    everyone = set(users["user_id"])
    k = len(funnel["steps"])
    for step in range(1, k + 1):
        reached = {u for u, m in want.items() if not m["excluded"] and m["deepest"] >= step}
        cond = {"kind": "funnel", "funnel": funnel, "step": step}
        got_reached = segment_members(ds, {"conditions": [{**cond, "op": "reached"}]})
        got_not = segment_members(ds, {"conditions": [{**cond, "op": "not_reached"}]})
        assert got_reached == reached
        assert got_not == everyone - reached  # the exact complement, members with no events included
        assert len(got_reached) + len(got_not) == len(everyone) == ds.total_users
        if step < k:
            dropped = {u for u, m in want.items() if not m["excluded"] and m["deepest"] == step}
            assert segment_members(ds, {"conditions": [{**cond, "op": "dropped_after"}]}) == dropped


def test_combined_with_other_conditions_and_counted(data):
    ds, users, events = data
    funnel = FUNNELS[0]
    want = oracle(events, users, funnel, AS_OF)["members"]
    shanghai = set(users.loc[users["city"] == "Shanghai", "user_id"])
    reached2 = {u for u, m in want.items() if not m["excluded"] and m["deepest"] >= 2}
    definition = {"match": "all", "conditions": [
        {"kind": "funnel", "funnel": funnel, "op": "reached", "step": 2},
        {"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"},
        {"kind": "group", "match": "any", "conditions": [
            {"kind": "funnel", "funnel": FUNNELS[1], "op": "not_reached", "step": 1},
            {"kind": "funnel", "funnel": funnel, "op": "dropped_after", "step": 1}]},
    ]}  # fmt: skip
    second = oracle(events, users, FUNNELS[1], AS_OF)["members"]
    reached_b = {u for u, m in second.items() if not m["excluded"]}
    dropped1 = {u for u, m in want.items() if not m["excluded"] and m["deepest"] == 1}
    expected = reached2 & shanghai & ((set(users["user_id"]) - reached_b) | dropped1)
    assert size(ds, parse_segment(definition)).count == len(expected)
    assert segment_members(ds, definition) == expected


def test_count_and_export_from_the_command_line_and_core(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ADESK_CACHE_DIR", str(data[0].cache_path.parent))
    ds, users, events = data
    funnel = FUNNELS[0]
    want = oracle(events, users, funnel, AS_OF)["members"]
    dropped = sorted(u for u, m in want.items() if not m["excluded"] and m["deepest"] == 2)
    definition = {"conditions": [{"kind": "funnel", "funnel": funnel, "op": "dropped_after", "step": 2}]}
    path = tmp_path / "seg.json"
    path.write_text(json.dumps(definition))
    assert main(["count", str(ds.path), "--segment", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["count"] == len(dropped) and "but not step 3" in out["description"]
    plan = plan_export(ds, definition, ExportOptions(), role=RoleInfo("none", "test"))
    result = write_export(ds, plan, AppStore(tmp_path / "app.db"), out=tmp_path / "out.csv")
    written = pd.read_csv(result.path, dtype=str, encoding="utf-8-sig")
    assert list(written["user_id"]) == dropped


def test_described_round_tripped_and_refused_when_wrong(data):
    ds = data[0]
    cond = {"kind": "funnel", "funnel": FUNNELS[0], "op": "dropped_after", "step": 2}
    segment = parse_segment({"conditions": [cond]})
    en, zh = describe(segment, ds.catalog), describe(segment, ds.catalog, lang="zh")
    assert (
        "step 2 (add_to_cart) but not step 3" in en and "product_view → add_to_cart → purchase" in en and "review" in en
    )
    assert "第 2 步" in zh and "第 3 步" in zh
    assert to_segment(from_segment(segment)).segment == segment
    for bad, words in [
        ({**cond, "step": 3}, "nobody drops after the last step"),
        ({**cond, "op": "reached", "step": 0}, "from 1 to 3"),
        ({**cond, "op": "passed"}, "unknown operator"),
        ({**cond, "funnel": {**FUNNELS[0], "steps": [{"event": "product_view"}]}}, "2 to 8 steps"),
    ]:
        with pytest.raises(SegmentError, match=words):
            parse_segment({"conditions": [bad]})
    with pytest.raises(SegmentError, match="unknown event 'purchace'"):
        size(
            ds,
            parse_segment(
                {
                    "conditions": [
                        {
                            **cond,
                            "funnel": {**FUNNELS[0], "steps": [{"event": "product_view"}, {"event": "purchace"}]},
                            "step": 1,
                        }
                    ]
                }
            ),
        )


def test_live_on_current_data(tmp_path):
    """The default entry range follows the dataset's as_of: a new day of data changes the members."""
    root = random_dataset(Path(tmp_path) / "d", n_users=80, n_events=1500, seed=2)
    funnel = {"steps": [{"event": "product_view"}, {"event": "purchase"}]}
    definition = {"conditions": [{"kind": "funnel", "funnel": funnel, "op": "reached", "step": 2}]}
    users = pd.read_parquet(root / "users.parquet")
    for as_of in ("2026-06-30", "2026-05-31"):
        (root / "dataset.toml").write_text(f'as_of = "{as_of}"\n')
        ds = open_dataset(root, tmp_path / "cache")
        try:
            events = pd.read_parquet(root / "events")
            want = {
                u
                for u, m in oracle(events, users, funnel, date.fromisoformat(as_of))["members"].items()
                if m["deepest"] >= 2
            }
            assert segment_members(ds, definition) == want
        finally:
            ds.close()
