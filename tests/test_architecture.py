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


CORE = sorted((REPO / "core").rglob("*.py"))
DASHBOARD = sorted((REPO / "dashboard").rglob("*.py"))
PROJECT = ("core", "dashboard", "queries")


def _rel(p: Path) -> str:
    return str(p.relative_to(REPO))


@pytest.mark.parametrize("path", CORE, ids=_rel)
def test_core_never_imports_streamlit_or_dashboard(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in {"streamlit", "dashboard"}}
    assert not bad, f"{path} imports {bad}"
    # nor by name (importlib.import_module("dashboard…")): no string names a module of those layers
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not re.match(r"^(dashboard|streamlit)(\.\w+)*$", node.value), f"{path} names {node.value!r}"


@pytest.mark.parametrize("path", DASHBOARD, ids=_rel)
def test_dashboard_never_imports_duckdb(path):
    """Core runs the queries and wraps the engine's errors (core.problems.EngineError)."""
    assert not {n for n in _imports(path) if n.split(".")[0] == "duckdb"}, f"{path} imports duckdb"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(path: Path) -> list[str]:
    """`from project.module import _name` and `module._name` on an imported project module or name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, imported = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PROJECT:
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            imported |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] in PROJECT}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name):
            if node.value.id in imported:
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", CORE + DASHBOARD, ids=_rel)
def test_no_module_uses_another_modules_private_names(path):
    assert not private_uses(path), f"{_rel(path)} uses private names of other modules: {private_uses(path)}"


def test_the_private_name_check_finds_both_forms(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from core.dataset import _settings\nfrom core import store\nstore._connect()\n")
    assert len(private_uses(bad)) == 2


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


# Dataset is a connection and a catalog: other modules keep their caches in core/dataset/caches.py.
DATASET_FIELDS = {
    "path", "config", "fingerprint", "cache_path", "as_of", "catalog", "report", "build_seconds",
    "_con", "schema", "scope",
}  # fmt: skip


def test_dataset_holds_no_other_modules_caches():
    from dataclasses import fields

    from core.dataset import Dataset

    names = {f.name for f in fields(Dataset)}
    assert names == DATASET_FIELDS, (
        f"Dataset gained or lost fields {sorted(names ^ DATASET_FIELDS)}: a module's cache belongs in "
        "core.dataset.caches.dataset_cache(ds, owner), not on Dataset"
    )
    # and nobody hangs one on it from outside
    for path in CORE + DASHBOARD:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bds\.(memo|_bitmaps|cache)\b", text), f"{_rel(path)} keeps a cache on the Dataset"
