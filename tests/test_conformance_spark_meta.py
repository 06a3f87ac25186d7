"""The catalog's metadata and the resolved assignments, computed by Spark, equal DuckDB's build row for row.

`_meta`, `_events`, `_event_columns`, `_tag_columns`, `_attributes`, `_event_properties`, `_health`
(core/engine/spark_metadata.py) against the DuckDB cache's tables, and the catalog, `as_of` and health a
Spark dataset reads from them against the opened dataset's; `ab_members` / `ab_unknown`
(core/engine/spark_assignments.py) against DuckDB's, the variant key read plainly with hashlib. Data: the
demo at a small size, then hypothesis-generated awkward columns (NULL-heavy, empty strings, unicode, one
value, exactly 12/13 and 200/201 distinct values: the breakdown's and the builder's thresholds), assignments
with multiple exposure, unknown ids and NULLs, and a dataset without a configured `as_of`.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.dataset import open_dataset
from core.dataset.metadata import TABLES
from core.engine.spark_build import spark_folder
from core.engine.spark_dataset import on_spark
from core.engine.spark_metadata import read_metadata
from tests.segment_oracle import AS_OF, sample_tables, write_sample_dataset

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _duck(ds, table: str, order: tuple[str, ...] = ()) -> list[tuple]:
    cur = ds.cursor()
    try:
        query = exp.select("*").from_(table)
        return cur.execute((query.order_by(*order) if order else query).sql("duckdb")).fetchall()
    finally:
        cur.close()


def _spark(sd, table: str, order: tuple[str, ...]) -> list[tuple]:
    return [tuple(r) for r in sd.spark.read.parquet(str(sd.folder / f"{table}.parquet")).orderBy(*order).collect()]


def assert_same_metadata(ds, sd) -> dict[str, list[tuple]]:
    """Every metadata row Spark wrote is DuckDB's, in DuckDB's order; so are the catalog, as_of and health."""
    tables = read_metadata(sd.folder)["tables"]
    assert set(tables) == set(TABLES)
    for table in TABLES:
        assert [tuple(r) for r in tables[table]] == _duck(ds, table), table
    assert sd.catalog == ds.catalog and sd.as_of == ds.as_of and sd.catalog is not ds.catalog
    assert sd.report.problems == ds.report.problems
    assert [(p.detail, p.fix_detail) for p in sd.report.problems] == [
        (p.detail, p.fix_detail) for p in ds.report.problems
    ]
    return {t: [tuple(r) for r in tables[t]] for t in TABLES}


def variant_key(variant: str) -> int:
    """Spark's variant key, read plainly: the first 15 hex digits of the variant's SHA-256."""
    return int(hashlib.sha256(variant.encode()).hexdigest()[:15], 16)


def assert_same_assignments(ds, sd) -> None:
    """`ab_members` row for row but the key (Spark's is SHA-256's); `ab_unknown` exactly."""
    order = ("experiment", "_uid")
    duck, spark = _duck(ds, "ab_members", order), _spark(sd, "ab_members", order)
    assert len(duck) == len(spark)
    for d, s in zip(duck, spark, strict=True):
        experiment, uid, assigned_at, _v, variant, multiple = d
        assert s[:3] == (experiment, uid, assigned_at) and s[5] == multiple
        if not multiple:  # a multiple exposure keeps the variant of the smallest key, which no answer reads
            assert s[3:5] == (variant_key(variant), variant)
    assert _spark(sd, "ab_unknown", ("experiment",)) == _duck(ds, "ab_unknown", ("experiment",))


@pytest.fixture(scope="module")
def demo(tmp_path_factory, spark):
    from core.demo import generate

    root = tmp_path_factory.mktemp("meta-demo") / "demo"
    generate(root, users=1_000, seed=5)
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADESK_SPARK_CACHE_DIR", str(root.parent / "spark-cache"))
        sd = on_spark(ds, spark)
        assert sd.folder == spark_folder(ds)
    yield ds, sd
    ds.close()


def test_the_demo_metadata_is_the_same_on_spark(demo):
    ds, sd = demo
    rows = assert_same_metadata(ds, sd)
    # the distinct values read plainly: every attribute over users, every property over members' events to as_of
    users = pd.read_parquet(ds.path / "users.parquet")
    for name, _type, distinct in rows["_attributes"]:
        assert distinct == users[name].nunique(), name
    events = pd.read_parquet(ds.path / "events")
    events = events[events["user_id"].isin(users["user_id"]) & (events["ts"] < pd.Timestamp(ds.as_of_end))]
    for name, _type, distinct in rows["_event_properties"]:
        assert distinct == events[name].nunique(), name
    assert ds.config.as_of is None or ds.config.as_of == ds.as_of  # the demo's as_of: the latest event's day


def test_the_demo_assignments_are_the_same_on_spark(demo):
    ds, sd = demo
    assert_same_assignments(ds, sd)
    # users per variant read plainly for each experiment: known members' rows, those in two variants left out
    a = pd.read_parquet(ds.path / "assignments.parquet").dropna(subset=["experiment", "variant", "assigned_at"])
    a = a[a["user_id"].isin(pd.read_parquet(ds.path / "users.parquet", columns=["user_id"])["user_id"])]
    per = a.groupby(["experiment", "user_id"])["variant"].agg(["nunique", "min"]).reset_index()
    plain = per[per["nunique"] == 1].groupby(["experiment", "min"]).size().to_dict()
    members = sd.spark.read.parquet(str(sd.folder / "ab_members.parquet")).where("not multiple")
    got = {(r[0], r[1]): r[2] for r in members.groupBy("experiment", "variant").count().collect()}
    assert got == plain and len(plain) >= 4


# --- awkward data generated by hypothesis --------------------------------------------------------

TEXT = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "A", " a", "é", "é", "购买", "🙂", "\u200b"]))


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    texts=st.lists(TEXT, min_size=7, max_size=7),
    null_share=st.sampled_from([0.0, 0.9, 1.0]),
    at_threshold=st.booleans(),
    configured_as_of=st.booleans(),
)
def test_awkward_data_gives_the_same_metadata(
    tmp_path_factory, spark, texts, null_share, at_threshold, configured_as_of
):
    tables = sample_tables(n_users=260, seed=4)
    users, events = tables["users"], tables["events"]
    n = len(users)
    extra = 0 if at_threshold else 1  # exactly at the thresholds (12, 200 values), or one past them
    users["awkward"] = pd.array([texts[i % len(texts)] for i in range(n)], dtype="string")
    users["nullish"] = pd.array([None if (i % 10) < null_share * 10 else f"v{i % 3}" for i in range(n)], "string")
    users["one"] = pd.array(["only"] * n, dtype="string")
    users["few"] = pd.array([i % (12 + extra) for i in range(n)], dtype="Int64")
    users["pick"] = pd.array([f"p{i % (200 + extra)}" for i in range(n)], dtype="string")
    events["note"] = pd.array([texts[i % len(texts)] for i in range(len(events))], dtype="string")
    ids = users["user_id"].tolist()
    rows = [("t", ids[i], "a" if i % 3 else "b", pd.Timestamp(AS_OF) - pd.Timedelta(days=i % 40)) for i in range(120)]
    rows += [("t", ids[0], "b", pd.Timestamp(AS_OF)), ("t", "ghost", "a", pd.Timestamp(AS_OF))]  # two variants; unknown
    rows += [("t", "ghost2", "a", pd.Timestamp(AS_OF)), ("t", "ghost2", "b", pd.Timestamp(AS_OF))]
    rows += [
        ("t", ids[5], None, pd.Timestamp(AS_OF)),
        ("t", ids[6], "购买", None),
        (None, ids[7], "a", pd.Timestamp(AS_OF)),
    ]
    root = tmp_path_factory.mktemp("meta-awkward") / "shop"
    write_sample_dataset(root, tables)
    pd.DataFrame(rows, columns=["experiment", "user_id", "variant", "assigned_at"]).to_parquet(
        root / "assignments.parquet", index=False
    )
    toml = (f'as_of = "{AS_OF.isoformat()}"\n' if configured_as_of else "") + '[experiments.t]\ncontrol = "a"\n'
    (root / "dataset.toml").write_text(toml, encoding="utf-8")
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("ADESK_SPARK_CACHE_DIR", str(root.parent / "spark-cache"))
            sd = on_spark(ds, spark)  # built by Spark, its catalog read from what it wrote
        got = assert_same_metadata(ds, sd)
        attrs = {name: distinct for name, _t, distinct in got["_attributes"]}
        assert attrs["one"] == 1 and attrs["few"] == 12 + extra and attrs["pick"] == 200 + extra
        assert attrs["awkward"] == users["awkward"].nunique() and attrs["nullish"] == users["nullish"].nunique()
        assert_same_assignments(ds, sd)
        unknown = dict(((e, (m, u)) for e, m, u in _duck(ds, "ab_unknown")))
        assert unknown == {"t": (1, 1)}  # ghost2 in two variants, ghost once
    finally:
        ds.close()
