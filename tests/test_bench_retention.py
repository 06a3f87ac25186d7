"""`adesk bench retention`: its shape, and its built-in check that plain pandas gives the same tables."""

from __future__ import annotations

import json

from dashboard.cli import main


def test_bench_retention_pandas_agrees_and_fields_are_documented(demo_dir, capsys):
    # run() exits if any scenario's pandas table differs from ours
    assert (
        main(
            [
                "bench",
                "retention",
                str(demo_dir),
                "--repeat",
                "1",
                "--pandas-repeat",
                "1",
                "--segment-size",
                "5000",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "dataset",
        "users",
        "events_loaded_for_pandas",
        "as_of",
        "threads",
        "open_seconds",
        "pandas_load_seconds",
        "scenarios",
    }
    shapes = {s["name"]: (s["cohorts"], s["columns"]) for s in out["scenarios"]}
    assert shapes == {
        "monthly 12 × 12, all members": (12, 12),
        "weekly 26 × 26, all members": (26, 26),
        "monthly 12 × 12, 1M-member segment": (12, 12),
    }
    members = {s["name"]: s["members"] for s in out["scenarios"]}
    assert 0 < members["monthly 12 × 12, 1M-member segment"] < members["monthly 12 × 12, all members"]
    assert all(s["seconds_p50"] > 0 and s["pandas_seconds_p50"] > 0 for s in out["scenarios"])
