"""The analyses that came to Spark last give the same answers on DuckDB and on Spark.

A random sample of members (ordered by SHA-256, computed the same on both engines), funnels
(the page's table and the `funnel` segment condition, on the demo and on data where many events
share one moment), experiment aggregates, and a count under a data scope. The same core function
runs on the opened dataset (DuckDB) and on `on_spark(ds)`; every answer is also checked against a
plain-Python computation written here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import pandas as pd
import pytest
from sqlglot import exp

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
    from tests.oracles import funnel_users
    from tests.test_funnels import AS_OF, _edge_events

    events = _edge_events()
    users = funnel_users([f"m{i:02d}" for i in range(1, 14)])
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


@pytest.fixture(scope="module")
def demo_pair(spark_demo):
    """A 1,500-member demo (the generator of `adesk demo`) on both engines (conftest: shared by the Spark files)."""
    return spark_demo


def test_funnels_on_the_demo_are_the_same(demo_pair):
    """The page's table (breakdown, trend, base segment) and counts with funnel conditions, on the demo."""
    ds, sd = demo_pair
    start = (ds.as_of - pd.Timedelta(days=59)).isoformat()
    spec = {
        "steps": [
            {"event": "product_view", "where": [{"field": "channel", "op": "in", "values": ["wechat", "app"]}]},
            {"event": "add_to_cart"},
            {"event": "purchase"},
        ],
        "from": start,
        "to": ds.as_of.isoformat(),
        "window": {"value": 3, "unit": "day"},
        "exclusions": [{"event": "review"}],
    }
    base = Segment(conditions=(Attribute("city", "in", values=("Shanghai", "Beijing", "Hangzhou"), negate=True),))
    got = funnel(sd, spec, segment=base, breakdown="city", trend="week")
    assert got.to_dict() == funnel(ds, spec, segment=base, breakdown="city", trend="week").to_dict()
    assert got.steps == funnel(ds, spec, segment=base).steps
    # the steps read plainly: the oracle over the demo's events, limited to the base's members
    events = pd.read_parquet(ds.path / "events")
    users = pd.read_parquet(ds.path / "users.parquet")
    inside = set(users.loc[~users["city"].isin(["Shanghai", "Beijing", "Hangzhou"]), "user_id"])
    plain = oracle(events, users, spec, ds.as_of, base=inside)
    assert [s.users for s in got.steps] == plain["users"] and plain["users"][2] > 0
    for op, step in (("reached", 3), ("dropped_after", 2)):
        seg = Segment(conditions=(*_funnel_condition(spec, op, step).conditions, Attribute("age", "gte", 30)))
        assert ops.size(sd, seg) == ops.size(ds, seg, bitmaps=False)


def test_adesk_funnel_prints_the_same_on_spark(edge_pair, tmp_path, monkeypatch, capsys):
    """`adesk funnel … --json` with ADESK_ENGINE=spark prints DuckDB's JSON."""
    from dashboard.cli import main
    from tests.test_funnels import SPECS

    ds = edge_pair[0]
    spec = tmp_path / "funnel.json"
    spec.write_text(json.dumps(SPECS[0]), encoding="utf-8")
    printed = {}
    for engine in ("duckdb", "spark"):
        monkeypatch.setenv("ADESK_ENGINE", engine)
        command = ["funnel", str(ds.path), "--funnel", str(spec), "--breakdown", "city", "--json"]
        assert main(command) == 0
        printed[engine] = json.loads(capsys.readouterr().out)
    assert printed["spark"] == printed["duckdb"] and printed["duckdb"]["excluded"] == 1


def _split_rows(n_members: int = 40, seed: int = 3) -> pd.DataFrame:
    """Candidate rows (`_uid, ts, mask`) with many rows per member and many at one moment (ties)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    uid = rng.integers(1, n_members + 1, 600).astype("int32")
    ts = (rng.integers(0, 40, 600) * 1_800_000_000).astype("int64")  # half-hour steps: frequent equal times
    bits = rng.integers(1, 8, 600).astype("int16")  # steps 1-3, rows matching several at once
    return pd.DataFrame({"_uid": uid, "ts": ts, "mask": bits})


def test_funnel_walk_on_several_partitions_keeps_each_members_rows_together(spark, edge_pair):
    """The walk runs per partition on the executors: rows of one member spread over several input partitions
    give the driver's one-pass answer, and the funnel over 5 walk partitions stays the plain-Python one."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from core.analyses.funnel_paths import WalkBounds, walk_table
    from core.engine import spark_funnels
    from tests.test_funnels import SPECS

    rows = _split_rows()
    bounds = WalkBounds(k=3, from_us=0, to_end_us=30 * 1_800_000_000, window_us=6 * 1_800_000_000, as_of_end_us=10**15)
    frame = spark.createDataFrame(rows).repartition(4)  # round robin: a member's rows land in several partitions
    placed = frame.withColumn("part", F.spark_partition_id())
    spread = placed.groupBy("_uid").agg(F.countDistinct("part").alias("n")).where("n > 1").count()
    assert spread > 20  # the split a walk without grouping by member would get wrong
    got = spark_funnels.walked_frame(frame, bounds).toPandas().sort_values("_uid", ignore_index=True)
    want = walk_table(pa.Table.from_pandas(rows, preserve_index=False), bounds).to_pandas()
    assert len(got) > 20 and (got["deepest"] == 3).any() and (got["deepest"] == 1).any()
    pd.testing.assert_frame_equal(got[["_uid", "deepest", "open_start"]], want[["_uid", "deepest", "open_start"]])
    for j in (1, 2, 3):  # the path's times (Spark's instants in UTC, the driver's naive UTC)
        assert list(got[f"t{j}"].dt.tz_localize(None).astype("int64")) == list(want[f"t{j}"].astype("int64"))

    # the whole funnel with its walk over 5 partitions (no merging of small ones): DuckDB's and the oracle's
    ds, sd, events, users = edge_pair
    spec = SPECS[0]
    before = {k: spark.conf.get(k) for k in ("spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")}
    spark.conf.set("spark.sql.shuffle.partitions", "5")
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    try:
        spark_funnels.clear(sd)
        got_funnel = funnel(sd, spec)
        spark_funnels.clear(sd)  # the other tests' views are made with the usual settings
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)
    assert got_funnel.to_dict() == funnel(ds, spec).to_dict()
    plain = oracle(events, users, spec, ds.as_of)
    assert [s.users for s in got_funnel.steps] == plain["users"] and got_funnel.excluded == plain["excluded"]


# --- experiments -----------------------------------------------------------------------------------


def _same(got, want) -> bool:
    """Equal to the last bit, floats too (NaN equals NaN): revenue sums are exact sums of millionths on both
    engines (core/models/rfm.py), not sums of doubles in an order neither engine fixes, and every statistic
    derived from them is computed by the same Python code."""
    if dataclasses.is_dataclass(got) and dataclasses.is_dataclass(want):
        return type(got) is type(want) and _same(dataclasses.asdict(got), dataclasses.asdict(want))
    if isinstance(got, dict) and isinstance(want, dict):
        return got.keys() == want.keys() and all(_same(got[k], want[k]) for k in got)
    if isinstance(got, list | tuple) and isinstance(want, list | tuple):
        return len(got) == len(want) and all(_same(a, b) for a, b in zip(got, want, strict=True))
    if isinstance(got, float) and isinstance(want, float):
        return got == want or (math.isnan(got) and math.isnan(want))
    return type(got) is type(want) and got == want


def test_experiment_aggregates_are_the_same(demo_pair):
    """Per-variant aggregates (all members and within a base segment), the results and the list, on the demo."""
    from core.analyses.ab import ABSpec, ab_result, experiment_list
    from core.analyses.experiments import aggregates, experiments

    ds, sd = demo_pair
    known = experiments(ds)
    assert known and experiments(sd) == known
    base = Segment(conditions=(Attribute("age", "gte", 30),))
    for e in known:
        got, want = aggregates(sd, e), aggregates(ds, e)
        assert _same(got, want) and got.variants and [v.users for v in got.variants] == [v.users for v in want.variants]
    spec = ABSpec(known[0].name, segment=base.to_dict(), cuped=True)  # aggregates within a base segment
    assert _same(ab_result(sd, spec).to_dict(), ab_result(ds, spec).to_dict())
    assert _same([s.to_dict() for s in experiment_list(sd)], [s.to_dict() for s in experiment_list(ds)])
    # users per variant read plainly: each known member's earliest row, members in two variants left out
    a = pd.read_parquet(ds.path / "assignments.parquet")
    known_ids = set(pd.read_parquet(ds.path / "users.parquet", columns=["user_id"])["user_id"])
    a = a[(a["experiment"] == known[0].name) & a["user_id"].isin(known_ids)].dropna()
    per = a.groupby("user_id")["variant"].agg(["nunique", "min"])
    plain = per[per["nunique"] == 1]["min"].value_counts().to_dict()
    assert {v.name: v.users for v in aggregates(sd, known[0]).variants} == plain


# --- the pages on Spark (`adesk serve --engine spark`) ---------------------------------------------


def _pages_app(page: str) -> None:
    """The pages with `page` as the landing page (AppTest runs this function's source as the script)."""
    import streamlit as st

    from dashboard import data_access
    from dashboard.views import builder, experiments, exports, funnels, overview

    data_access.lang()
    views = {
        "overview": overview,
        "builder": builder,
        "exports": exports,
        "funnels": funnels,
        "experiments": experiments,
    }
    st.navigation([st.Page(v.main, title=k, url_path=k, default=k == page) for k, v in views.items()]).run()


def _counted(at, tries: int = 600):
    """The builder rerun until its Spark count is done (AppTest does not run the progress fragment's timer)."""
    import time

    from dashboard.spark_count import JOB_KEY

    for _ in range(tries):
        if [m for m in at.metric if m.label == "Audience size"] or at.session_state[JOB_KEY][1].done:
            break
        time.sleep(0.2)
        at = at.run()
    return at.run() if not [m for m in at.metric if m.label == "Audience size"] else at


def test_pages_run_on_spark(demo_pair, monkeypatch):
    """Overview, the builder's count, Exports, Funnels and Experiments load without error with ADESK_ENGINE=spark,
    and the builder's audience size is DuckDB's."""
    from streamlit.testing.v1 import AppTest

    from core.analyses.funnel_spec import encode_funnel, parse_funnel
    from core.segments.urlcodec import encode_segment
    from tests.apptest_harness import metric

    ds, _sd = demo_pair
    monkeypatch.setenv("ADESK_DATA", str(ds.path))
    monkeypatch.setenv("ADESK_ENGINE", "spark")
    seg = Segment(conditions=(Attribute("age", "gte", 30), Attribute("city", "is_null", negate=True)))
    spec = {"steps": [{"event": "product_view"}, {"event": "purchase"}], "window": {"value": 3, "unit": "day"}}
    queries = {
        "overview": {},
        "builder": {"s": encode_segment(seg)},
        "exports": {},
        "funnels": {"f": encode_funnel(parse_funnel(spec))},
        "experiments": {"experiment": "coupon_copy_test"},
    }
    for page, query in queries.items():
        at = AppTest.from_function(_pages_app, args=(page,), default_timeout=300)
        for key, value in query.items():
            at.query_params[key] = value
        at = at.run()
        assert not at.exception, (page, [e.stack_trace for e in at.exception])
        assert not [e.value for e in at.error], (page, [e.value for e in at.error])
        if page == "builder":  # the count runs in the background on Spark: shown once it is done
            at = _counted(at)
            assert metric(at, "Audience size") == f"{ops.size(ds, seg, bitmaps=False).count:,}"
        if page == "funnels":
            assert metric(at, "Entered") == f"{funnel(ds, spec).entered:,}"


def test_builder_count_on_spark_shows_progress_and_can_be_cancelled(demo_pair, spark, monkeypatch, tmp_path):
    """A Spark count runs in the background: a progress bar with Spark's tasks and Cancel, which stops the
    tasks on Spark (they would otherwise wait forever); Count again then shows the plain count."""
    import time

    from streamlit.testing.v1 import AppTest

    from core.segments.urlcodec import encode_segment
    from dashboard import data_access
    from dashboard.spark_count import AGAIN_KEY, CANCEL_KEY, JOB_KEY
    from tests.apptest_harness import metric, texts

    ds, _sd = demo_pair
    monkeypatch.setenv("ADESK_DATA", str(ds.path))
    monkeypatch.setenv("ADESK_ENGINE", "spark")
    release = str(tmp_path / "release")
    real = data_access.segment_size_reach

    def held(*args, **kwargs):  # a Spark job of 6 tasks that wait until `release` exists, then the real count
        def wait(batches):
            import os
            import time

            while not os.path.exists(release):
                time.sleep(0.05)
            yield from batches

        spark.range(0, 6, 1, 6).mapInArrow(wait, "id long").collect()
        return real(*args, **kwargs)

    monkeypatch.setattr(data_access, "segment_size_reach", held)
    seg = Segment(conditions=(Attribute("age", "gte", 30),))
    at = AppTest.from_function(_pages_app, args=("builder",), default_timeout=300)
    at.query_params["s"] = encode_segment(seg)
    at = at.run()
    for _ in range(600):  # until Spark has scheduled the held tasks
        if [b for b in at.get("progress") if "of 6 tasks" in b.text]:
            break
        time.sleep(0.2)
        at = at.run()
    assert [b.text for b in at.get("progress")] == ["Counting on Spark… 0 of 6 tasks done"]
    assert not [m for m in at.metric if m.label == "Audience size"] and not at.exception
    at = at.button(key=CANCEL_KEY).click().run()
    job = at.session_state[JOB_KEY][1]
    assert job.wait(120) and job.cancelled and not (tmp_path / "release").exists()
    at = at.run()
    assert "Count cancelled." in texts(at) and not at.get("progress") and not at.error
    (tmp_path / "release").touch()
    at = _counted(at.button(key=AGAIN_KEY).click().run())
    users = pd.read_parquet(ds.path / "users.parquet")
    assert metric(at, "Audience size") == f"{int((users['age'] >= 30).fillna(False).sum()):,}"


# --- data scopes (team access) ---------------------------------------------------------------------


def test_a_scoped_count_is_the_same(pair):
    """Under a data scope Spark reads only the scope's members: counts, breakdowns and a model at a past day."""
    from core.access import scoped_dataset
    from core.engine import EngineError
    from core.segments import Aipl, Event

    ds, _sd = pair
    scope = Segment(conditions=(Attribute("city", "in", values=("Shanghai", "上海", "Beijing")),))
    scoped = scoped_dataset(ds, scope)
    ss = on_spark(scoped)
    segs = [
        Segment(conditions=(Attribute("age", "gte", 30),)),
        Segment(
            match="any",
            conditions=(Event("purchase", ">=", 1, within_days=90), Aipl("in", ("I", "P"), as_of="2026-03-31")),
        ),
    ]
    for seg in segs:
        assert ops.size(ss, seg) == ops.size(scoped, seg, bitmaps=False)
    assert ops.breakdown(ss, segs[1], "vip") == ops.breakdown(scoped, segs[1], "vip", bitmaps=False)
    # read plainly: members of the scope aged 30 or more
    users = pd.read_parquet(ds.path / "users.parquet")
    inside = users["city"].isin(["Shanghai", "上海", "Beijing"])
    assert ops.size(ss, segs[0]).count == int((inside & (users["age"] >= 30).fillna(False)).sum())
    assert ops.size(ss, segs[0]).total_users == int(inside.sum()) < len(users)
    # the whole dataset on the same session is untouched by the scope's views
    assert ops.size(_sd, segs[1]) == ops.size(ds, segs[1], bitmaps=False)
    with pytest.raises(EngineError, match="scope"):
        ss.run(exp.select(exp.Count(this=exp.Star())).from_("events"))
    # a scope defined by a model at a past day (its table is the whole dataset's; the scope's views hold its members)
    dated = scoped_dataset(ds, Segment(conditions=(Aipl("in", ("I", "P", "L"), as_of="2026-03-31"),)))
    assert ops.size(on_spark(dated), segs[1]) == ops.size(dated, segs[1], bitmaps=False)
