"""`adesk funnel DIR --funnel FILE|- --json`: the issue's JSON, checked against the oracle; bad funnels exit 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from dashboard.cli import main
from tests.datasets import random_dataset
from tests.funnel_oracle import oracle

SPEC = {
    "steps": [{"event": "product_view"}, {"event": "add_to_cart"},
              {"event": "purchase", "where": [{"field": "product_category", "op": "in", "values": ["cake", "bread"]}]}],
    "from": "2026-03-01", "to": "2026-06-30", "window": {"value": 30, "unit": "day"},
    "exclusions": [{"event": "review"}],
}  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return random_dataset(tmp_path_factory.mktemp("cli_funnel"), n_users=200, n_events=3000, seed=7)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_funnel_json_matches_the_oracle(capsys, tmp_path, data_dir, monkeypatch) -> None:
    monkeypatch.setenv("ADESK_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "f.json"
    path.write_text(json.dumps(SPEC))
    code, out, err = run(
        capsys, "funnel", str(data_dir), "--funnel", str(path), "--trend", "week", "--breakdown", "city", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    users = pd.read_parquet(data_dir / "users.parquet")
    events = pd.read_parquet(data_dir / "events")
    want = oracle(events, users, SPEC, pd.Timestamp("2026-06-30").date())
    assert (got["entered"], got["excluded"]) == (want["entered"], want["excluded"])
    assert [s["users"] for s in got["steps"]] == want["users"]
    first = want["users"][0]
    for s, prev in zip(got["steps"], [first] + want["users"], strict=False):
        assert set(s) >= {
            "step",
            "event",
            "users",
            "conversion_from_previous",
            "conversion_from_first",
            "median_seconds_from_previous",
        }
        assert s["conversion_from_first"] == pytest.approx(s["users"] / first)
        assert s["conversion_from_previous"] == pytest.approx(s["users"] / prev)
    assert [s["median_seconds_from_previous"] for s in got["steps"]] == [
        pytest.approx(m) if m is not None else None for m in want["medians"]
    ]
    assert sum(b["steps"][0]["users"] for b in got["breakdown"]) == want["users"][0]
    assert {"period", "entered", "converted", "complete"} <= set(got["trend"][0])
    assert sum(t["entered"] for t in got["trend"]) == want["users"][0]


@pytest.mark.parametrize(
    ("funnel", "words"),
    [
        ({"steps": [{"event": "purchase"}]}, "2 to 8 steps"),
        ({"steps": [{"event": "purchase"}] * 9}, "2 to 8 steps"),
        ({"steps": [{"event": "purchase"}, {"event": "nope"}]}, "unknown event 'nope'"),
        (
            {
                "steps": [
                    {"event": "purchase", "where": [{"field": "colour", "op": "eq", "value": "x"}]},
                    {"event": "review"},
                ]
            },
            "unknown event property 'colour'",
        ),
        ({"steps": [{"event": "purchase"}, {"event": "review"}], "window": {"value": -1, "unit": "hour"}}, "> 0"),
        ({"steps": [{"event": "purchase"}, {"event": "review"}], "from": "2026-06-02", "to": "2026-06-01"}, "swap"),
        ("not json", "not JSON"),
    ],
)
def test_bad_funnels_exit_2_with_the_reason(capsys, tmp_path, data_dir, monkeypatch, funnel, words) -> None:
    monkeypatch.setenv("ADESK_CACHE_DIR", str(tmp_path / "cache"))
    text = funnel if isinstance(funnel, str) else json.dumps(funnel)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, err = run(capsys, "funnel", str(data_dir), "--funnel", "-", "--json")
    assert code == 2 and out == ""
    assert words in err and "Traceback" not in err
