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

import dataclasses
import hashlib
from types import SimpleNamespace

import pandas as pd
import pytest
from hypothesis import strategies as st
from sqlglot import exp

from core.dataset.metadata import TABLES
from core.engine.spark_build import read_contract_table
from core.engine.spark_metadata import as_of_day, read_metadata, spark_catalog
from core.queries import named_query
from core.validate import table_files
from tests.segment_oracle import AS_OF

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _duck(ds, table: str, order: tuple[str, ...] = ()) -> list[tuple]:
    cur = ds.cursor()
    try:
        query = exp.select("*").from_(table)
        return cur.execute((query.order_by(*order) if order else query).sql("duckdb")).fetchall()
    finally:
        cur.close()


def _spark(spark, folder, table: str, order: tuple[str, ...]) -> list[tuple]:
    return [tuple(r) for r in spark.read.parquet(str(folder / f"{table}.parquet")).orderBy(*order).collect()]


def assert_same_metadata(ds, folder) -> dict[str, list[tuple]]:
    """Every metadata row Spark wrote in `folder` is DuckDB's, in DuckDB's order; so are the catalog, as_of, health."""
    tables = read_metadata(folder)["tables"]
    assert set(tables) == set(TABLES)
    for table in TABLES:
        assert [tuple(r) for r in tables[table]] == _duck(ds, table), table
    as_of, catalog, health = spark_catalog(ds, folder)
    assert catalog == ds.catalog and as_of == ds.as_of and health == ds.report.problems
    assert [(p.detail, p.fix_detail) for p in health] == [(p.detail, p.fix_detail) for p in ds.report.problems]
    return {t: [tuple(r) for r in tables[t]] for t in TABLES}


def variant_key(variant: str) -> int:
    """Spark's variant key, read plainly: the first 15 hex digits of the variant's SHA-256."""
    return int(hashlib.sha256(variant.encode()).hexdigest()[:15], 16)


def assert_same_assignments(ds, spark, folder) -> None:
    """`ab_members` row for row but the key (Spark's is SHA-256's); `ab_unknown` exactly."""
    from core.analyses import ab_members

    ab_members.ensure(ds)  # DuckDB resolves them on first need (views on the opened connection)
    order = ("experiment", "_uid")
    duck, got = _duck(ds, "ab_members", order), _spark(spark, folder, "ab_members", order)
    assert len(duck) == len(got)
    for d, s in zip(duck, got, strict=True):
        experiment, uid, assigned_at, _v, variant, multiple = d
        assert s[:3] == (experiment, uid, assigned_at) and s[5] == multiple
        if not multiple:  # a multiple exposure keeps the variant of the smallest key, which no answer reads
            assert s[3:5] == (variant_key(variant), variant)
    assert _spark(spark, folder, "ab_unknown", ("experiment",)) == _duck(ds, "ab_unknown", ("experiment",))


def test_the_demo_metadata_is_the_same_on_spark(spark_demo):
    ds, sd = spark_demo
    rows = assert_same_metadata(ds, sd.folder)
    assert sd.catalog == ds.catalog and sd.catalog is not ds.catalog  # the Spark dataset reads Spark's catalog
    assert sd.as_of == ds.as_of and sd.report == ds.report
    # the distinct values read plainly: every attribute over users, every property over members' events to as_of
    users = pd.read_parquet(ds.path / "users.parquet")
    for name, _type, distinct in rows["_attributes"]:
        assert distinct == users[name].nunique(), name
    events = pd.read_parquet(ds.path / "events")
    events = events[events["user_id"].isin(users["user_id"]) & (events["ts"] < pd.Timestamp(ds.as_of_end))]
    for name, _type, distinct in rows["_event_properties"]:
        assert distinct == events[name].nunique(), name
    # without a configured as_of, each engine takes the latest event's day
    unset = SimpleNamespace(config=dataclasses.replace(ds.config, as_of=None))
    events_on_spark = read_contract_table(sd.spark, ds, table_files(ds.path)["events"], "events")
    ((latest,),) = ds.run(named_query("dataset_latest_event"))
    assert as_of_day(unset, events_on_spark) == latest == events["ts"].max().date()


def test_the_demo_assignments_are_the_same_on_spark(spark_demo):
    ds, sd = spark_demo
    assert_same_assignments(ds, sd.spark, sd.folder)
    # users per variant read plainly for each experiment: known members' rows, those in two variants left out
    a = pd.read_parquet(ds.path / "assignments.parquet").dropna(subset=["experiment", "variant", "assigned_at"])
    a = a[a["user_id"].isin(pd.read_parquet(ds.path / "users.parquet", columns=["user_id"])["user_id"])]
    per = a.groupby(["experiment", "user_id"])["variant"].agg(["nunique", "min"]).reset_index()
    plain = per[per["nunique"] == 1].groupby(["experiment", "min"]).size().to_dict()
    members = sd.spark.read.parquet(str(sd.folder / "ab_members.parquet")).where("not multiple")
    got = {(r[0], r[1]): r[2] for r in members.groupBy("experiment", "variant").count().collect()}
    assert got == plain and len(plain) >= 4


# --- awkward data: added to the derived build's hypothesis test (one build serves both) ----------------

TEXT = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "A", " a", "é", "é", "购买", "🙂", "\u200b"]))
AWKWARD = {
    "texts": st.lists(TEXT, min_size=7, max_size=7),
    "null_share": st.sampled_from([0.0, 0.9, 1.0]),
    "at_threshold": st.booleans(),
    "configured_as_of": st.booleans(),
}


def add_awkward_columns(tables, texts, null_share, at_threshold) -> dict[str, int]:
    """NULL-heavy, empty, unicode and one-valued columns, and columns at (or one past) the 12 and 200 thresholds;
    assignments with multiple exposure, unknown ids and NULLs. The expected distinct values of the new columns."""
    users, events = tables["users"], tables["events"]
    n = len(users)
    extra = 0 if at_threshold else 1
    users["awkward"] = pd.array([texts[i % len(texts)] for i in range(n)], dtype="string")
    users["nullish"] = pd.array([None if (i % 10) < null_share * 10 else f"v{i % 3}" for i in range(n)], "string")
    users["one"] = pd.array(["only"] * n, dtype="string")
    users["few"] = pd.array([i % (12 + extra) for i in range(n)], dtype="Int64")
    users["pick"] = pd.array([f"p{i % (200 + extra)}" for i in range(n)], dtype="string")
    events["note"] = pd.array([texts[i % len(texts)] for i in range(len(events))], dtype="string")
    ids, day = users["user_id"].tolist(), pd.Timestamp(AS_OF)
    rows = [("t", ids[i % n], "a" if i % 3 else "b", day - pd.Timedelta(days=i % 40)) for i in range(120)]
    rows += [("t", ids[0], "b", day), ("t", "ghost", "a", day), ("t", "ghost2", "a", day), ("t", "ghost2", "b", day)]
    rows += [("t", ids[5], None, day), ("t", ids[6], "购买", None), (None, ids[7], "a", day)]
    tables["assignments"] = pd.DataFrame(rows, columns=["experiment", "user_id", "variant", "assigned_at"])
    return {
        "one": 1,
        "few": 12 + extra,
        "pick": 200 + extra,
        "awkward": users["awkward"].nunique(),
        "nullish": users["nullish"].nunique(),
    }


def write_awkward_config(root, configured_as_of: bool, assignments: pd.DataFrame, timezone: str | None) -> None:
    """The assignments file and dataset.toml: experiment `t`, `as_of` only when configured, the time zone if given."""
    assignments.to_parquet(root / "assignments.parquet", index=False)
    toml = (f'as_of = "{AS_OF.isoformat()}"\n' if configured_as_of else "") + (
        f'timezone = "{timezone}"\n' if timezone else ""
    )
    toml += '[experiments.t]\ncontrol = "a"\n'
    (root / "dataset.toml").write_text(toml, encoding="utf-8")


def assert_awkward_metadata(ds, spark, folder, expected: dict[str, int]) -> None:
    got = assert_same_metadata(ds, folder)
    attrs = {name: distinct for name, _t, distinct in got["_attributes"]}
    assert {k: attrs[k] for k in expected} == expected
    assert_same_assignments(ds, spark, folder)
    assert {e: (m, u) for e, m, u in _duck(ds, "ab_unknown")} == {"t": (1, 1)}  # ghost2 in two variants, ghost once
