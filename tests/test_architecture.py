"""The layer rules of ARCHITECTURE.md, enforced."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlglot

from core.queries import load_query, query_names

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((REPO / "core").rglob("*.py")), ids=lambda p: str(p.relative_to(REPO)))
def test_core_never_imports_streamlit_or_dashboard(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in {"streamlit", "dashboard"}}
    assert not bad, f"{path} imports {bad}"


SQL_TEXT = re.compile(r"\b(select|insert|update|delete)\b[^\"']{0,200}\b(from|into|set)\b", re.IGNORECASE)


@pytest.mark.parametrize("path", sorted((REPO / "dashboard" / "views").rglob("*.py")), ids=lambda p: p.name)
def test_pages_hold_no_sql(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not SQL_TEXT.search(node.value), f"SQL text in {path.name}: {node.value[:80]!r}"
    assert not {n for n in _imports(path) if n.split(".")[0] == "duckdb"}, f"{path.name} imports duckdb"


@pytest.mark.parametrize("name", query_names())
def test_every_query_file_parses(name):
    sql = load_query(name)
    assert sql.lstrip().startswith("--"), f"{name}.sql should open with a comment saying what it answers"
    parsed = sqlglot.parse(sql, read="duckdb")
    assert parsed and all(p is not None for p in parsed)


def test_view_queries_run_on_fixture_data(tmp_path):
    from core.dataset import open_dataset
    from tests.datasets import random_dataset

    ds = open_dataset(random_dataset(tmp_path / "d", n_users=50, n_events=500), cache_dir=tmp_path / "c")
    for name in ("overview_summary", "overview_distribution", "dataset_latest_event"):
        rows = ds.query(name).fetchall()
        assert rows, name
    ds.close()
