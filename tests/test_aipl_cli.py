"""`adesk aipl`, `aipl trend`, `aipl flow`, `adesk count` with a dated condition: JSON vs pandas, bad input exits 2."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from dashboard.cli import main
from tests.datasets import random_dataset
from tests.oracles import expected_models


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = random_dataset(tmp_path_factory.mktemp("cli") / "shop", n_users=200, n_events=3000, seed=3)
    return root, pd.read_parquet(root / "users.parquet"), pd.read_parquet(root / "events")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def stage_counts(users, events, day: date, mask=None) -> dict[str, int]:
    s = expected_models(users, events, day)["aipl"]
    if mask is not None:
        s = s[mask.reindex(s.index)]
    c = s.value_counts()
    return {k: int(c.get(k, 0)) for k in ("A", "I", "P", "L", "none")}


def test_funnel_json(capsys, tmp_path, shop):
    root, users, events = shop
    seg = tmp_path / "s.json"
    seg.write_text(json.dumps({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Beijing"}]}))
    code, out, err = run(capsys, "aipl", str(root), "--segment", str(seg), "--as-of", "2026-01-31", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert set(r) == {"as_of", "segment_size", "stages", "reached", "conversion"}
    mask = users.set_index("user_id")["city"].eq("Beijing")
    want = stage_counts(users, events, date(2026, 1, 31), mask)
    assert r["as_of"] == "2026-01-31" and r["stages"] == want and r["segment_size"] == int(mask.sum())
    assert r["reached"]["I"] == want["I"] + want["P"] + want["L"]
    assert set(r["conversion"]) == {"A_to_I", "I_to_P", "P_to_L"}


def test_trend_and_flow_json(capsys, shop):
    root, users, events = shop
    code, out, err = run(capsys, "aipl", "trend", str(root), "--months", "3", "--json")
    assert code == 0, err
    points = json.loads(out)["points"]
    assert [p["date"] for p in points] == ["2026-04-30", "2026-05-31", "2026-06-30"]
    assert points[0]["stages"] == stage_counts(users, events, date(2026, 4, 30))
    code, out, err = run(capsys, "aipl", "flow", str(root), "--from", "2026-02-28", "--to", "2026-06-30", "--json")
    assert code == 0, err
    r = json.loads(out)
    a = expected_models(users, events, date(2026, 2, 28))["aipl"]
    b = expected_models(users, events, date(2026, 6, 30))["aipl"]
    assert r["from"] == "2026-02-28" and r["to"] == "2026-06-30" and r["base_size"] == len(users)
    assert r["matrix"]["I"]["P"] == int(((a == "I") & (b == "P")).sum())
    assert r["matrix"]["none"]["none"] == r["summary"]["absent"] == int(((a == "none") & (b == "none")).sum())
    assert sum(r["summary"].values()) == len(users)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--as-of", "2026-07-01"], "after the dataset's as_of"),
        (["--as-of", "2026-6-1"], "not a date"),
        (["flow", "--from", "2026-05-01", "--to", "2026-05-01"], "must be before"),
        (["flow", "--from", "2026-05-01", "--to", "2027-01-01"], "after the dataset's as_of"),
        (["trend", "--months", "0"], "months"),
    ],
)
def test_bad_input_exits_2(capsys, shop, argv, message):
    root = str(shop[0])
    args = ["aipl", argv[0], root, *argv[1:]] if argv[0] in ("flow", "trend") else ["aipl", root, *argv]
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err


def test_count_with_a_dated_condition(capsys, tmp_path, shop):
    root, users, events = shop
    seg = tmp_path / "s.json"
    seg.write_text(json.dumps({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-03-31"}]}))
    code, out, err = run(capsys, "count", str(root), "--segment", str(seg), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["count"] == stage_counts(users, events, date(2026, 3, 31))["I"]
    assert r["description"] == "AIPL stage on 2026-03-31 is Interest"
    seg.write_text(json.dumps({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-08-31"}]}))
    code, _, err = run(capsys, "count", str(root), "--segment", str(seg), "--json")
    assert code == 2 and "after the dataset's as_of" in err


def test_export_and_saved_segment_with_a_dated_condition(capsys, tmp_path, shop, monkeypatch):
    root, users, events = shop
    monkeypatch.setenv("ADESK_EXPORT_DIR", str(tmp_path / "exports"))
    dated = {"conditions": [{"kind": "aipl", "op": "in", "values": ["P", "L"], "as_of": "2026-01-31"}]}
    want = expected_models(users, events, date(2026, 1, 31))["aipl"].isin(["P", "L"])
    seg = tmp_path / "s.json"
    seg.write_text(json.dumps(dated))
    out = tmp_path / "out.csv"
    code, _, err = run(capsys, "export", str(root), "--segment", str(seg), "--out", str(out), "--json")
    assert code == 0, err
    assert set(pd.read_csv(out, dtype=str)["user_id"]) == set(want[want].index)

    db = str(tmp_path / "app.db")
    code, saved, err = run(
        capsys, "segments", "save", "--db", db, "--name", "buyers in January", "--segment", str(seg), "--json"
    )
    assert code == 0, err
    sid = json.loads(saved)["id"]
    seg.write_text(json.dumps({"conditions": [{"kind": "segment", "op": "not_in", "segment": sid}]}))
    code, out_text, err = run(capsys, "count", str(root), "--segment", str(seg), "--db", db, "--json")
    assert code == 0, err
    assert json.loads(out_text)["count"] == int((~want).sum())
