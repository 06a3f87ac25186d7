"""Tests mirror the package layout: every core package and module names the test files that cover it.

The convention (README, "Tests"): a test file is `tests/test_<area>[_<topic>].py`, where <area> is the core
package or module it tests (`test_segment_*` for core/segments/, `test_export_*` for core/export/); pages are
`test_<page>_apptest.py` (AppTest) and `test_browser_<page>.py` (Chromium); commands `test_cli_<area>.py`.
Files are not renamed to fit (others add tests in parallel); LAYOUT below maps each part of core to the
prefixes that cover it, and this test fails when a package or module has none, or a prefix matches no file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))

# core package (trailing /) or module -> the test-file prefixes that test it
LAYOUT: dict[str, tuple[str, ...]] = {
    "core/access.py": ("test_access",),
    "core/analyses/": (
        "test_aipl",
        "test_ab_",
        "test_funnels",
        "test_retention",
        "test_experiments_",
        "test_browser_overview",
    ),
    "core/background.py": ("test_ab_members", "test_aipl_history"),  # their background starts
    "core/bench/": ("test_bench",),
    "core/bitmaps/": ("test_bitmaps",),
    "core/catalog.py": ("test_segment_", "test_catalog_"),
    "core/config.py": ("test_validate", "test_demo"),
    "core/dataset/": ("test_derived", "test_dataset_"),
    "core/demo/": ("test_demo",),
    "core/engine/": ("test_engine_", "test_conformance_spark", "test_cli_spark"),
    "core/export/": ("test_export", "test_downloads"),
    "core/funnel_store.py": ("test_funnel_store",),
    "core/messages.py": ("test_messages",),
    "core/models/": ("test_aipl", "test_segment_kinds", "test_dataset_caches"),
    "core/privacy.py": ("test_export",),
    "core/problems.py": ("test_validate", "test_messages"),
    "core/queries.py": ("test_queries",),
    "core/roles.py": ("test_access",),
    "core/segments/": ("test_segment_", "test_builder_state", "test_funnel_segment"),
    "core/store/": ("test_store",),
    "core/tags.py": ("test_tags",),
    "core/validate/": ("test_validate",),
    "core/values.py": ("test_tags",),
}


def core_parts() -> list[str]:
    """Every package and top-level module of core, as LAYOUT names them."""
    core = ROOT / "core"
    packages = [f"core/{p.name}/" for p in core.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    modules = [f"core/{p.name}" for p in core.glob("*.py") if p.name != "__init__.py"]
    return sorted(packages + modules)


def test_every_core_package_and_module_has_its_tests():
    missing = [part for part in core_parts() if part not in LAYOUT]
    assert not missing, f"no tests named for {missing}: add tests/test_<area>_*.py and a LAYOUT line"
    assert not sorted(set(LAYOUT) - set(core_parts())), "LAYOUT names parts core no longer has"


@pytest.mark.parametrize("part", sorted(LAYOUT))
def test_each_prefix_matches_a_test_file(part):
    for prefix in LAYOUT[part]:
        assert any(name.startswith(prefix) for name in TESTS), f"{part}: no tests/{prefix}*.py"
