"""The named-query loader: slots filled by trees, missing or unknown slots refused; doctests run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
from sqlglot import exp

import core
from core.queries import QuerySlotError, named_query, query_names, query_slots


def test_slots_are_found_and_filled():
    assert query_slots("breakdown_categories") == {"value", "segment"}
    tree = named_query("breakdown_categories", value=exp.column("city", quoted=True), segment=exp.true())
    sql = tree.sql("duckdb")
    assert "__" not in sql and '"city"' in sql and "$x_limit" in sql


def test_missing_and_unknown_slots_are_refused():
    with pytest.raises(QuerySlotError, match="not filled: segment"):
        named_query("breakdown_categories", value=exp.column("city"))
    with pytest.raises(QuerySlotError, match="has no slot"):
        named_query("breakdown_edges", value=exp.column("age"), other=exp.true())


def test_a_filled_tree_is_a_copy():
    a = named_query("breakdown_edges", value=exp.column("age"))
    b = named_query("breakdown_edges", value=exp.column("city"))
    assert "age" in a.sql() and "city" in b.sql() and "age" not in b.sql()


def test_list_slot_splices_select_items(tmp_path, monkeypatch):
    import core.queries as q

    monkeypatch.setattr(q, "load_query", lambda name: "select __columns__, 1 as one from t")
    q._parsed.cache_clear()
    try:
        tree = q.named_query("x", columns=[exp.column("a"), exp.column("b")])
        assert tree.sql() == "SELECT a, b, 1 AS one FROM t"
    finally:
        q._parsed.cache_clear()


@pytest.mark.parametrize("name", query_names())
def test_every_slot_name_is_well_formed(name):
    for slot in query_slots(name):
        assert slot.islower(), (name, slot)


def _core_modules():
    for info in pkgutil.walk_packages(core.__path__, "core."):
        yield info.name


@pytest.mark.parametrize("module_name", sorted(_core_modules()))
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    failures, _tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0, module_name
