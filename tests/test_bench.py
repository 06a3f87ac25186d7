"""Benchmarks run on request; here only their shape and their built-in cross-checks, on small data."""

from __future__ import annotations

import json

import pytest

from dashboard.cli import main


def test_bench_build_reports_the_documented_fields(tmp_path, capsys):
    assert main(["bench", "build", "--users", "2000", "--out", str(tmp_path / "d"), "--json", "--history"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {
        "users",
        "events",
        "generate_s",
        "generate_peak_mb",
        "build_s",
        "build_peak_mb",
        "build_phases_s",
        "history_s",
        "history_peak_mb",
    }
    assert out["users"] == 2000 and out["events"] > 2000
    assert out["build_s"] > 0 and out["build_peak_mb"] > 0
    # every step of the build is timed, and the steps fit inside the child's wall time
    phases = out["build_phases_s"]
    assert {"members", "events", "per-member event roll-up", "tags", "profile", "catalog"} <= set(phases)
    assert "assignments" not in phases  # resolved on the first experiment question (core/analyses/ab_members.py)
    assert 0 < sum(phases.values()) <= out["build_s"] + 0.5
    assert out["history_s"] is not None and out["history_s"] >= 0


def test_bench_segments_duckdb_and_pandas_agree_on_every_definition(demo_dir, capsys):
    # run() raises if any definition's DuckDB count differs from the pandas masks' count
    assert main(["bench", "segments", str(demo_dir), "--repeat", "1", "--pandas-repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"users", "events", "cores", "bitmap_index", "definitions"}
    assert len(out["definitions"]) >= 20
    for d in out["definitions"]:
        assert set(d) == {
            "name",
            "clauses",
            "has_event_clause",
            "count",
            "p50_ms",
            "p95_ms",
            "pandas_p50_ms",
            "engine",
            "scan_p50_ms",
        }
    # tags, flags and columns of few values come from the bitmap indexes; text search and raw events are scanned
    engine = {d["name"]: d["engine"] for d in out["definitions"]}
    assert engine["tag has"] == engine["age between"] == engine["5 clauses attr+tag"] == "bitmaps"
    assert engine["event: cake purchase in 365 days (where)"] == "scan"
    assert out["bitmap_index"]["columns"] >= 10 and out["bitmap_index"]["megabytes"] > 0
    assert any(d["clauses"] >= 10 for d in out["definitions"])
    assert any(d["has_event_clause"] for d in out["definitions"])
    assert len({d["count"] for d in out["definitions"]}) > 15  # the definitions really differ


def test_bench_segments_pandas_over_the_contract_tables_agrees_too(demo_dir, capsys):
    """--contract-pandas: the same definitions over users / long tags / raw events, counts cross-checked."""
    assert (
        main(
            ["bench", "segments", str(demo_dir), "--repeat", "1", "--pandas-repeat", "1", "--contract-pandas", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    timed = [d for d in out["definitions"] if d["contract_pandas_p50_ms"] is not None]
    skipped = {d["name"] for d in out["definitions"] if d["contract_pandas_p50_ms"] is None}
    assert len(timed) >= 15 and all(d["contract_pandas_p50_ms"] > 0 for d in timed)
    assert skipped == {"rfm in", "aipl + lifecycle"}  # model dimensions need the derived models


def test_bench_on_a_missing_dataset_says_so_without_a_traceback(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    for bench in ("segments", "builder"):
        assert main(["bench", bench, str(missing)]) == 1
        err = capsys.readouterr().err
        assert f"adesk bench: the dataset {missing} cannot be used" in err
        assert "dataset directory not found" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exited:  # export checks first and says how to generate one
        main(["bench", "export", str(missing)])
    assert "no dataset at" in str(exited.value.code) and "adesk demo --users" in str(exited.value.code)
