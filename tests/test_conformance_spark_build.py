"""The derived tables built by Spark (core/engine/spark_build.py) are DuckDB's, row for row.

The same dataset is built by the DuckDB build (open_dataset) and by the Spark build; every
table Spark writes (`profile` with RFM, AIPL, lifecycle, counters and tags; `event_rows`; the
Overview's `events`) must hold the same rows, column names and types as DuckDB's. The sample
dataset (NULL-heavy, midnight and late-evening events, hostile text), then hypothesis-generated
awkward data: window edges to the microsecond, NULL and awkward amounts, NULL event names,
events of unknown members and after as_of, users split over two files with time-zone-aware
signups in a non-UTC dataset. Counters and tag flags are also read plainly with pandas.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS
from core.dataset import open_dataset
from core.engine import spark as spark_engine
from core.engine.spark_build import BUILT, build_tables, is_built, spark_tables
from core.engine.spark_dataset import on_spark
from core.segments import Attribute, Segment
from core.segments import operations as ops
from tests.segment_oracle import AS_OF, sample_tables, write_sample_dataset
from tests.test_conformance_spark_meta import (
    AWKWARD,
    add_awkward_columns,
    assert_awkward_metadata,
    write_awkward_config,
)

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

MEMBER_TABLES = ("profile", "event_rows", "events")  # the assignments: tests/test_conformance_spark_meta.py


def _norm(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def _sorted(rows) -> list[tuple]:
    return sorted((tuple(_norm(x) for x in r) for r in rows), key=repr)


def _duck_rows(ds, table: str) -> tuple[list[str], list[tuple]]:
    query = exp.select("ts").from_("events") if table == "events" else exp.select("*").from_(table)
    cur = ds.cursor()
    try:
        cur.execute(query.sql("duckdb"))
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        cur.close()


def assert_same_tables(ds, spark, folder) -> None:
    """Every table Spark built equals DuckDB's: names, rows (`_monetary`, an exact sum, too), types (DuckDB's copy)."""
    copies = spark_engine.derived_parquet(ds)
    assert copies != folder
    for table in MEMBER_TABLES:
        built = spark.read.parquet(str(folder / f"{table}.parquet"))
        names, duck = _duck_rows(ds, table)
        assert built.columns == names, table
        assert built.schema == spark.read.parquet(str(copies / f"{table}.parquet")).schema, table
        rows = built.collect()
        assert len(rows) == len(duck), table
        assert _sorted(rows) == _sorted(duck), table


@pytest.fixture(scope="module")
def sample(tmp_path_factory, spark):
    """(DuckDB dataset, session, the folder of its Spark tables) — built by `on_spark` in the Spark cache folder."""
    root = tmp_path_factory.mktemp("spark-build") / "shop"
    write_sample_dataset(root, sample_tables())
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADESK_SPARK_CACHE_DIR", str(root.parent / "spark-cache"))
        sd = on_spark(ds, spark)
        assert spark_tables(ds, spark) == sd.folder  # built once: the second call finds it
    yield ds, sd, sd.folder
    ds.close()


def test_the_sample_builds_the_same_on_spark(sample):
    ds, sd, folder = sample
    assert folder.parent.name == "spark-cache" and all(is_built(folder, t) for t in BUILT)
    assert_same_tables(ds, sd.spark, folder)
    profile = pd.read_parquet(folder / "profile.parquet")
    assert profile["_rfm_class"].nunique() >= 4 and {"L", "P", "none"} <= set(profile["_aipl_stage"])


def test_the_spark_dataset_counts_what_spark_built(sample):
    ds, sd, _folder = sample
    seg = Segment(conditions=(Attribute("age", "gte", 30),))
    assert ops.size(sd, seg) == ops.size(ds, seg, bitmaps=False)
    assert ops.size(sd, seg).count == int((pd.read_parquet(ds.path / "users.parquet")["age"] >= 30).sum())


def test_counters_and_tags_read_plainly(sample):
    """Counters per (event, window) and tag flags of Spark's profile against pandas over the dataset's files."""
    ds, _sd, folder = sample
    profile = pd.read_parquet(folder / "profile.parquet").set_index("user_id")
    events = pd.read_parquet(ds.path / "events")
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    events = events[events["ts"] < end]
    for (event, window), col in ds.catalog.event_counters.items():
        rows = events[events["event"] == event]
        if window is not None:
            rows = rows[rows["ts"] >= end - pd.Timedelta(days=window)]
        want = rows.groupby("user_id").size().reindex(profile.index, fill_value=0)
        assert (profile[col] == want).all(), (event, window)
    assert {w for _e, w in ds.catalog.event_counters} == set(COUNTER_WINDOWS)
    tags = pd.read_parquet(ds.path / "tags.parquet")
    for tag, info in ds.catalog.tags.items():
        holders = set(tags.loc[tags["tag"] == tag, "user_id"])
        assert set(profile.index[profile[info.column]]) == holders, tag


def test_a_duckdb_copy_is_replaced_by_the_spark_build(tmp_path, spark):
    """A cache folder of DuckDB's copies (the way before) gets Spark's tables; ADESK_SPARK_BUILD=duckdb keeps copies."""
    from core.engine.spark_build import build_setting

    root = tmp_path / "shop"
    write_sample_dataset(root, sample_tables(n_users=30, seed=2))
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    try:
        folder = spark_engine.derived_parquet(ds)
        assert (folder / "profile.parquet").is_file() and not is_built(folder, "profile")
        assert build_setting({"ADESK_SPARK_BUILD": "duckdb"}) == "duckdb"
        with pytest.raises(Exception, match="ADESK_SPARK_BUILD"):
            build_setting({"ADESK_SPARK_BUILD": "pandas"})
        assert spark_tables(ds, spark) == folder and all(is_built(folder, t) for t in BUILT)
        assert_same_tables_plain(ds, folder)
    finally:
        ds.close()


def assert_same_tables_plain(ds, folder) -> None:
    """The member numbers and models of Spark's profile, read with pandas, are DuckDB's."""
    cols = ["user_id", "_uid", "_rfm_class", "_aipl_stage", "_lifecycle"]
    got = pd.read_parquet(folder / "profile.parquet", columns=cols).sort_values("user_id", ignore_index=True)
    cur = ds.cursor()
    try:
        want = cur.execute(exp.select(*cols).from_("profile").order_by("user_id").sql("duckdb")).df()
    finally:
        cur.close()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


# --- awkward data generated by hypothesis --------------------------------------------------------

EDGES = [0, 1, -1, 86_400_000_000, 86_400_000_000 - 1]  # microseconds around a window's first moment
# any amount the validator lets through (finite, below 10^12 in size; NaN / ±inf are refused, see
# tests/test_exact_sums.py): sums are exact on both engines, so even 0.1 + 0.2 and values near 10^12 compare exactly
AMOUNTS = st.one_of(
    st.none(),
    st.sampled_from([-0.0, 9.75, 0.1, 0.2, 19.99, -19.99, 5e-7, 2.5e-6, 999999999999.99, -123456789.123456]),
    st.integers(-(10**6), 10**6).map(lambda k: k / 100),
    st.floats(min_value=-1e12, max_value=1e12, exclude_min=True, exclude_max=True, allow_nan=False),
)
NAMES = st.sampled_from(["purchase", "product_view", "review", "ad_impression", None, "Purchase", "购买"])


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    amounts=st.lists(AMOUNTS, min_size=10, max_size=10),
    names=st.lists(NAMES, min_size=10, max_size=10),
    edges=st.lists(st.sampled_from(EDGES), min_size=10, max_size=10),
    split=st.booleans(),
    **AWKWARD,
)
@example(  # found by CI: an edge of one whole day on the window of 0 days puts the latest event on AS_OF + 2
    amounts=[None] * 10,
    names=["purchase"] * 10,
    edges=[0] * 6 + [86_400_000_000] + [0] * 3,
    split=False,
    texts=[None] * 7,
    null_share=0.0,
    at_threshold=False,
    configured_as_of=False,
)
def test_awkward_data_builds_the_same(
    tmp_path_factory, spark, amounts, names, edges, split, texts, null_share, at_threshold, configured_as_of
):
    """…and gives the same catalog metadata and resolved assignments (tests/test_conformance_spark_meta.py)."""
    tables = sample_tables(n_users=210, seed=9)
    expected = add_awkward_columns(tables, texts, null_share, at_threshold)
    events = tables["events"]
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    windows = [w for w in COUNTER_WINDOWS if w is not None] + [45, 0]
    n = len(events)
    events["amount"] = [amounts[i % len(amounts)] for i in range(n)]
    events["event"] = [names[i % len(names)] if i % 3 == 0 else e for i, e in enumerate(events["event"])]
    edge = [
        end - pd.Timedelta(days=windows[i % len(windows)]) + pd.Timedelta(microseconds=edges[i % len(edges)])
        for i in range(n)
    ]
    events["ts"] = events["ts"].where(np.arange(n) % 2 == 1, pd.Series(edge))
    unknown = events.head(5).assign(user_id="nobody")
    tables["events"] = pd.concat([events, unknown], ignore_index=True)
    root = tmp_path_factory.mktemp("awkward-build") / "shop"
    write_sample_dataset(root, tables)
    if split:  # users in two files, signups time-zone-aware, the dataset in Shanghai time
        users = tables["users"]
        users["signup_at"] = users["signup_at"].dt.tz_localize("UTC")
        (root / "users.parquet").unlink()
        (root / "users").mkdir()
        users.iloc[:17].to_parquet(root / "users" / "part-0.parquet", index=False)
        users.iloc[17:].to_parquet(root / "users" / "part-1.parquet", index=False)
    write_awkward_config(root, configured_as_of, tables["assignments"], "Asia/Shanghai" if split else None)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    try:
        folder = build_tables(ds, spark, root.parent / "built.spark")
        assert_same_tables(ds, spark, folder)
        assert_awkward_metadata(ds, spark, folder, expected)
        if split:  # the second file's members are numbered after the first's, as DuckDB numbers them
            uids = dict(spark.read.parquet(str(folder / "profile.parquet")).select("user_id", "_uid").collect())
            assert uids[tables["users"]["user_id"].iloc[17]] == 17
        # configured, or the latest event's day (naive times: the wall clock's day; an edge can reach AS_OF + 2)
        latest = tables["events"]["ts"].max().date()
        assert latest > AS_OF and ds.as_of == (AS_OF if configured_as_of else latest)
    finally:
        ds.close()
