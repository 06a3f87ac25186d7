"""The analyses that came to Spark last give the same answers on DuckDB and on Spark.

A random sample of members (ordered by SHA-256, computed the same on both engines), funnels
(the page's table and the `funnel` segment condition, on the demo and on data where many events
share one moment), experiment aggregates, and a count under a data scope. The same core function
runs on the opened dataset (DuckDB) and on `on_spark(ds)`; every answer is also checked against a
plain-Python computation written here.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from core.analyses.funnels import funnel, funnel_members
from core.dataset import open_dataset
from core.engine.spark_dataset import on_spark
from core.segments import Attribute, Segment
from core.segments import operations as ops
from core.segments.model import parse_segment
from tests.datasets import write_dataset
from tests.funnel_oracle import oracle
from tests.segment_oracle import sample_tables, write_sample_dataset

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory, spark):
    """(DuckDB dataset, the same dataset answered by Spark): the NULL-heavy sample data."""
    root = tmp_path_factory.mktemp("analyses") / "shop"
    write_sample_dataset(root, sample_tables())
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds, on_spark(ds, spark)
    ds.close()


def test_sample_gives_the_same_members_on_both_engines(pair):
    ds, sd = pair
    seg = Segment(conditions=(Attribute("city", "is_null", negate=True),))
    users = pd.read_parquet(ds.path / "users.parquet")
    members = sorted(users.loc[users["city"].notna(), "user_id"])
    for seed in (0, 7, -3):
        got = ops.sample(sd, seg, n=12, seed=seed, columns=["city"])
        want = ops.sample(ds, seg, n=12, seed=seed, columns=["city"])
        pd.testing.assert_frame_equal(got, want)
        # the order read plainly: sha256('<user_id>|<seed>') as hex text, then user_id
        plain = sorted(members, key=lambda u: (hashlib.sha256(f"{u}|{seed}".encode()).hexdigest(), u))
        assert list(got["user_id"]) == plain[:12]


# --- funnels ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge_pair(tmp_path_factory, spark):
    """The funnel edge cases of tests/test_funnels.py (rows at one moment, window edges, exclusions)."""
    from tests.test_funnels import AS_OF, _edge_events, _users

    events = _edge_events()
    users = _users([f"m{i:02d}" for i in range(1, 14)])
    root = write_dataset(tmp_path_factory.mktemp("funnel_edge"), users, events, toml=f'as_of = "{AS_OF}"\n')
    ds = open_dataset(root, tmp_path_factory.mktemp("cache"))
    yield ds, on_spark(ds, spark), events, users
    ds.close()


def _funnel_condition(spec: dict, op: str, step: int) -> Segment:
    return parse_segment({"conditions": [{"kind": "funnel", "funnel": spec, "op": op, "step": step}]})


@pytest.mark.parametrize("index", [0, 3])
def test_funnel_tables_and_conditions_are_the_same_on_edge_cases(edge_pair, index):
    from tests.test_funnels import SPECS

    ds, sd, events, users = edge_pair
    spec = SPECS[index]
    got = funnel(sd, spec, breakdown="step1:product_category", trend="day")
    want = funnel(ds, spec, breakdown="step1:product_category", trend="day")
    assert got.to_dict() == want.to_dict()
    assert got.steps == want.steps  # the histograms too
    plain = oracle(events, users, spec, ds.as_of, step1_property="product_category")
    assert [s.users for s in got.steps] == plain["users"] and got.excluded == plain["excluded"]
    assert funnel_members(sd, spec) == funnel_members(ds, spec)
    counted = {u: m for u, m in plain["members"].items() if not m["excluded"]}
    for op, step in (("reached", 2), ("not_reached", 3), ("dropped_after", 1)):
        seg = _funnel_condition(spec, op, step)
        n = ops.size(sd, seg).count
        assert n == ops.size(ds, seg, bitmaps=False).count
        if op == "reached":
            assert n == sum(m["deepest"] >= step for m in counted.values())
        elif op == "not_reached":
            assert n == len(users) - sum(m["deepest"] >= step for m in counted.values())
        else:
            assert n == sum(m["deepest"] == step for m in counted.values())
