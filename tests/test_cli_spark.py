"""`adesk count DIR --segment F --json` with ADESK_ENGINE=spark: the same count as DuckDB's."""

from __future__ import annotations

import json

import pytest

from dashboard.cli import main
from tests.datasets import write_dataset
from tests.test_cli_segments import write
from tests.test_segment_operations import AS_OF, make_frames

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

DEFINITION = {
    "match": "any",
    "conditions": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"},
        {"kind": "attribute", "field": "member_level", "op": "gte", "value": 3, "negate": True},
    ],
}


def test_count_on_spark_equals_duckdb_and_pandas(capsys, monkeypatch, tmp_path, spark):
    users, *rest = make_frames()
    data = write_dataset(tmp_path / "shop", users, *rest, toml=f'as_of = "{AS_OF}"\n')
    seg = write(tmp_path, DEFINITION)
    assert main(["count", str(data), "--segment", seg, "--json"]) == 0
    duck = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("ADESK_ENGINE", "spark")
    monkeypatch.setenv("ADESK_SPARK_REMOTE", "local[2]")
    assert main(["count", str(data), "--segment", seg, "--json"]) == 0
    on_spark = json.loads(capsys.readouterr().out)
    # the definition read plainly: Shanghai, or a member level that is not >= 3 (missing included)
    want = int(((users["city"] == "Shanghai") | ~(users["member_level"] >= 3)).sum())
    assert on_spark["engine"] == "spark" and "engine" not in duck
    assert on_spark["count"] == duck["count"] == want
    assert on_spark["total_users"] == duck["total_users"] == len(users)


def test_a_bad_engine_setting_is_a_usage_error(capsys, monkeypatch, tmp_path):
    users, *rest = make_frames()
    data = write_dataset(tmp_path / "shop", users, *rest, toml=f'as_of = "{AS_OF}"\n')
    monkeypatch.setenv("ADESK_ENGINE", "oracle")
    assert main(["count", str(data), "--segment", write(tmp_path, DEFINITION), "--json"]) == 2
    assert "ADESK_ENGINE" in capsys.readouterr().err
