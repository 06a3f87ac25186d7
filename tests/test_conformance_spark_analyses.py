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

from core.dataset import open_dataset
from core.engine.spark_dataset import on_spark
from core.segments import Attribute, Segment
from core.segments import operations as ops
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
