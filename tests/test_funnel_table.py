"""The one-pass funnel (core/analyses/funnel_paths.py) and its stored members tables (core/analyses/funnel_table.py).

Against the plain-Python oracle of tests/funnel_oracle.py: many rows at one moment, repeated
events, up to 6 steps; the `funnel` condition read from the stored table (size, members) against
the same oracle; reuse of the table when only other conditions change; scopes and engines.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.access import scoped_dataset
from core.analyses import funnel_table
from core.analyses.funnel_sql import PENDING
from core.analyses.funnels import funnel, funnel_members
from core.dataset import open_dataset
from core.segments.counts import segment_condition
from core.segments.model import parse_segment
from core.segments.operations import size
from tests.datasets import random_dataset, write_dataset
from tests.funnel_oracle import oracle
from tests.oracles import (
    FUNNEL_EVENTS,
    assert_members_match,
    funnel_rows,
    funnel_specs,
    funnel_users,
    open_random,
)

AS_OF = date(2026, 6, 30)
T = pd.Timestamp
RANDOM_ROWS = funnel_rows((2, 6), [0, 0, 0, 1, 1, 59, 60, 1440, 1441], 2, "2026-06-27")  # many rows share a moment
RANDOM_SPECS = funnel_specs(
    6,
    ["2026-06-27", "2026-06-28"],
    ["2026-06-28", "2026-06-29"],
    [{"value": 1, "unit": "minute"}, {"value": 1, "unit": "hour"}, {"value": 1, "unit": "day"}],
)


def _ids(ds, definition: dict) -> set[str]:
    """The members by the path the app takes: segment_condition (stored members tables)."""
    condition, params = segment_condition(ds, parse_segment(definition), None)
    rows = ds.run(exp.select(exp.column("user_id", quoted=True)).from_("profile").where(condition), params)
    return {r[0] for r in rows}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=RANDOM_ROWS, specs=st.lists(RANDOM_SPECS, min_size=2, max_size=2))
def test_crowded_moments_and_long_funnels_match_the_oracle(tmp_path_factory, data, specs):
    n_users, rows = data
    ghost = [("ghost", e, T("2026-06-20"), "x") for e in FUNNEL_EVENTS]
    events = pd.DataFrame(rows + ghost, columns=["user_id", "event", "ts", "cat"])
    users = funnel_users([f"u{i}" for i in range(n_users)])
    ds = open_dataset(
        write_dataset(tmp_path_factory.mktemp("fc"), users, events, toml=f'as_of = "{AS_OF}"\n'),
        tmp_path_factory.mktemp("fcc"),
    )
    try:
        for spec in specs:
            want = oracle(events, users, spec, AS_OF, step1_property="cat")
            assert_members_match(funnel_members(ds, spec, start_property="cat"), want["members"], start_value=True)
            # the condition as the app counts it (the stored table), every operator and step
            everyone = set(users["user_id"])
            for step in range(1, len(spec["steps"]) + 1):
                cond = {"kind": "funnel", "funnel": spec, "step": step}
                reached = {u for u, m in want["members"].items() if not m["excluded"] and m["deepest"] >= step}
                assert _ids(ds, {"conditions": [{**cond, "op": "reached"}]}) == reached
                assert _ids(ds, {"conditions": [{**cond, "op": "not_reached"}]}) == everyone - reached
                if step < len(spec["steps"]):
                    dropped = {u for u, m in want["members"].items() if not m["excluded"] and m["deepest"] == step}
                    assert size(ds, parse_segment({"conditions": [{**cond, "op": "dropped_after"}]})).count == len(
                        dropped
                    )
    finally:
        ds.close()


FUNNEL = {"steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
          "from": "2026-01-01", "to": "2026-06-30", "window": {"value": 30, "unit": "day"},
          "exclusions": [{"event": "review"}]}  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    ds, users, events = open_random(tmp_path_factory, "funnel_table", seed=5)
    yield ds, users, events
    ds.close()


def test_the_table_is_computed_once_and_reused_when_other_conditions_change(data, monkeypatch):
    ds, users, events = data
    funnel_table.clear(ds)
    computed = []
    real = funnel_table.walk_table
    monkeypatch.setattr(funnel_table, "walk_table", lambda *a, **k: computed.append(1) or real(*a, **k))
    want = oracle(events, users, FUNNEL, AS_OF)["members"]
    dropped2 = {u for u, m in want.items() if not m["excluded"] and m["deepest"] == 2}
    city = dict(zip(users["user_id"], users["city"], strict=True))
    for cities in (["Shanghai"], ["Beijing", "Shenzhen"], ["Hangzhou"]):
        definition = {"conditions": [{"kind": "funnel", "funnel": FUNNEL, "op": "dropped_after", "step": 2},
                                     {"kind": "attribute", "field": "city", "op": "in", "values": cities}]}  # fmt: skip
        assert _ids(ds, definition) == {u for u in dropped2 if city[u] in cities}
    assert len(computed) == 1
    # the page reads the same table: no second walk, the same members
    result = funnel(ds, FUNNEL)
    assert len(computed) == 1
    assert result.steps[1].users - result.steps[2].users == len(dropped2)
    # another funnel is another table
    other = {**FUNNEL, "window": {"value": 1, "unit": "day"}}
    funnel(ds, other)
    assert len(computed) == 2


def test_dropped_tables_are_computed_again_with_the_same_answer(data, monkeypatch):
    ds, users, events = data
    funnel_table.clear(ds)
    monkeypatch.setattr(funnel_table, "MAX_TABLES", 2)
    specs = [{**FUNNEL, "window": {"value": d, "unit": "day"}} for d in (1, 3, 7, 30)]
    for _ in range(2):
        for spec in specs:
            want = oracle(events, users, spec, AS_OF)
            assert [s.users for s in funnel(ds, spec).steps] == want["users"]
    held = (
        ds.cursor()
        .execute("select count(*) from duckdb_tables() where table_name like '\\_funnel\\_%' escape '\\'")
        .fetchone()[0]
    )
    assert held <= 2


def test_a_scope_has_its_own_table(data):
    ds, users, events = data
    scope = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]})
    scoped = scoped_dataset(ds, scope)
    shanghai = set(users.loc[users["city"] == "Shanghai", "user_id"])
    want = oracle(events, users, FUNNEL, AS_OF, base=shanghai)
    everyone = oracle(events, users, FUNNEL, AS_OF)
    assert [s.users for s in funnel(ds, FUNNEL).steps] == everyone["users"]  # the unscoped table first
    assert [s.users for s in funnel(scoped, FUNNEL).steps] == want["users"]
    assert want["users"] != everyone["users"]
    definition = {"conditions": [{"kind": "funnel", "funnel": FUNNEL, "op": "reached", "step": 2}]}
    assert _ids(scoped, definition) == {
        u for u, m in want["members"].items() if not m["excluded"] and m["deepest"] >= 2
    }


def test_the_condition_reads_the_table_whatever_the_engine_setting(data, monkeypatch):
    """The dataset picks the members table (Spark's is its own view: core/engine/spark_funnels.py), not
    ADESK_ENGINE: a DuckDB dataset reads its stored table under either setting, never the ASOF plan."""
    ds = data[0]
    definition = parse_segment({"conditions": [{"kind": "funnel", "funnel": FUNNEL, "op": "reached", "step": 2}]})
    for engine in ("spark", "duckdb"):
        monkeypatch.setenv("ADESK_ENGINE", engine)
        condition, _ = segment_condition(ds, definition, None)
        sql = condition.sql("duckdb")
        assert "ASOF" not in sql and funnel_table.PREFIX in sql and PENDING not in sql


def test_the_plain_tree_and_the_walk_agree_on_a_larger_dataset(tmp_path):
    """Every member's place, path and step-1 value, on a denser random dataset (both plans of our code)."""
    root = random_dataset(tmp_path / "d", n_users=300, n_events=9000, seed=9)
    ds = open_dataset(root, tmp_path / "c")
    try:
        for spec in (
            FUNNEL,
            {
                "steps": [{"event": "purchase"}, {"event": "purchase"}, {"event": "purchase"}],
                "window": {"value": 90, "unit": "day"},
            },
        ):
            walked = funnel_members(ds, spec, start_property="product_category")
            plain = funnel_members(ds, spec, start_property="product_category", plain=True)
            assert walked == plain and len(walked) > 20
    finally:
        ds.close()
