"""CSV formula injection (issue 16): formula-like text cells escaped by default, raw on request, logged."""

from __future__ import annotations

import random

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from core.dataset import open_dataset
from core.export import (
    ExportOptions,
    escape_formula,
    needs_formula_escape,
    plan_export,
    recreate_export,
    write_export,
)
from core.roles import RoleInfo
from core.store import AppStore
from tests.datasets import write_dataset
from tests.test_export import spreadsheet_safe

OPERATOR = RoleInfo("none", "test")
ALL = {"conditions": []}
# Each dangerous start, and values that must stay as they are.
NOTES = [
    "=1+2", "=HYPERLINK(\"http://x\")", "@SUM(A1)", "\tcmd", "\r=1", "+1+1", "-2+3", "+cmd|' /C calc'!A0",
    "-", "+", "-1.", "+8613800138000", "-12.5", "+0", "12", "a=b", " =1", "plain", "", "上海", "'quoted",
]  # fmt: skip
PHONES = ["+8613800138000", "13800138000", "-", "=evil()", "+86 138 0013 8000"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("formula") / "shop"
    n = len(NOTES)
    users = pd.DataFrame(
        {
            "user_id": [f"u{i:03d}" for i in range(n - 1)] + ["=user"],  # a user id is text too
            "note": NOTES,
            "phone": [PHONES[i % len(PHONES)] for i in range(n)],
            "age": list(range(20, 20 + n)),
        }
    )
    events = pd.DataFrame({"user_id": ["u000"], "event": ["purchase"], "ts": [pd.Timestamp("2026-06-01")]})
    write_dataset(root, users, events, toml='as_of = "2026-06-30"\n[privacy]\npii_columns = []\n')
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds, users
    ds.close()


def _export(ds, tmp_path, **options):
    store = AppStore(tmp_path / "app.db")
    plan = plan_export(ds, ALL, ExportOptions(columns=("note", "phone", "age"), **options), role=OPERATOR)
    return store, write_export(ds, plan, store, out=tmp_path / f"out.{plan.extension}")


def _cells(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False).set_index("note", drop=False)


def test_every_dangerous_start_is_escaped_and_numbers_stay(shop, tmp_path):
    ds, users = shop
    _store, result = _export(ds, tmp_path)
    written = pd.read_csv(result.path, dtype=str, keep_default_na=False)
    expected = users.sort_values("user_id")
    for column in ("user_id", "note", "phone"):
        assert written[column].tolist() == [spreadsheet_safe(v) for v in expected[column]], column
    as_written = dict(zip(expected["note"], written["note"], strict=True))
    for dangerous in ("=1+2", "@SUM(A1)", "\tcmd", "\r=1", "+1+1", "-2+3", "-", "+", "-1."):
        assert as_written[dangerous] == "'" + dangerous
    for safe in ("+8613800138000", "-12.5", "+0", "12", "a=b", " =1", "plain", "上海", "'quoted"):
        assert as_written[safe] == safe
    assert "'=user" in set(written["user_id"])
    assert written["age"].tolist() == [str(a) for a in expected["age"]]  # numbers are not text


def test_the_sql_rule_and_the_python_rule_agree(shop):
    for value in NOTES + PHONES:
        assert needs_formula_escape(value) == (spreadsheet_safe(value) != value), repr(value)


def test_the_sql_rule_on_random_cells_is_the_rule_by_hand(shop):
    """escape_formula in DuckDB against spreadsheet_safe on cells made of the characters that matter."""
    ds, _ = shop
    rng = random.Random(16)
    alphabet = "=@\t\r+-0123456789.a \n'上"
    cells = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 5))) for _ in range(4000)})
    cell = exp.column("c", quoted=True)
    source = exp.select(exp.alias_(exp.func("unnest", exp.Placeholder(this="cells")), "c", quoted=True))
    query = exp.select(cell, escape_formula(cell)).from_(source.subquery("v"))
    got = dict(ds.run(query, {"cells": cells}))
    assert len(got) == len(cells) > 2000
    assert sum(spreadsheet_safe(c) != c for c in cells) > 500  # many cells need escaping
    assert got == {c: spreadsheet_safe(c) for c in cells}
    assert any(c[:1] in ("+", "-") and c.endswith("\n") for c in cells)  # the case Python's `$` got wrong
    # the Python twin (used to say which cells were escaped) gives the same answer on every cell
    assert {c: needs_formula_escape(c) for c in cells} == {c: spreadsheet_safe(c) != c for c in cells}


def test_raw_text_writes_values_as_stored_and_the_log_says_so(shop, tmp_path):
    ds, users = shop
    store, result = _export(ds, tmp_path, raw_text=True)
    written = pd.read_csv(result.path, dtype=str, keep_default_na=False)
    assert written["note"].tolist() == users.sort_values("user_id")["note"].tolist()
    record = store.get_export(result.export_id)
    assert record.raw_text is True
    store2, escaped = _export(ds, tmp_path / "b", raw_text=False)
    assert store2.get_export(escaped.export_id).raw_text is False


def test_parquet_is_unchanged(shop, tmp_path):
    ds, users = shop
    _store, result = _export(ds, tmp_path, format="parquet")
    table = pq.read_table(result.path).to_pandas()
    assert table["note"].tolist() == users.sort_values("user_id")["note"].tolist()


def test_recreation_follows_the_logged_choice(shop, tmp_path):
    ds, _ = shop
    for raw in (False, True):
        store, result = _export(ds, tmp_path / str(raw), raw_text=raw)
        check = recreate_export(ds, store, result.export_id, role=OPERATOR)
        assert check.matches, raw
