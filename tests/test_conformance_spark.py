"""DuckDB and Spark give the same answers on the same derived tables.

The sample dataset (tests/segment_oracle.py: NULL-heavy attributes, late-evening and midnight
events, hostile text) is built by our DuckDB build; its `profile` and `event_rows` are written
as Parquet and read by a local Spark. Random definitions (the strategies of
tests/test_segment_properties.py), their complements, window edges and hostile values are
compiled once and counted by both engines; a breakdown's rows and an export file's bytes too.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.dataset import open_dataset
from core.engine import spark as spark_engine
from core.engine.spark_dataset import on_spark
from core.export import ExportOptions, copy_statement, export_select, file_sha256, plan_export
from core.queries import named_query
from core.roles import RoleInfo
from core.segments import Attribute, Event, Group, Segment, Tag, compile_where, count_query
from core.segments.compile import where_form
from core.segments.counts import segment_condition
from tests.segment_oracle import AS_OF, CITIES, sample_tables, write_sample_dataset
from tests.test_segment_hostile import HOSTILE_TEXT
from tests.test_segment_properties import SAVED, resolve, segments

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


@pytest.fixture(scope="module")
def both(tmp_path_factory, spark):
    """(DuckDB dataset, the same derived tables registered in Spark)."""
    root = tmp_path_factory.mktemp("conformance") / "shop"
    write_sample_dataset(root, sample_tables())
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    spark_engine.register(spark, spark_engine.derived_parquet(ds))
    with pytest.MonkeyPatch.context() as mp:
        # on_spark here reads DuckDB's copies too (tests/test_conformance_spark_build.py tests Spark's own build)
        mp.setenv("ADESK_SPARK_BUILD", "duckdb")
        yield ds, spark
    ds.close()


def _norm(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return v


def _rows(rows) -> list[tuple]:
    return sorted((tuple(_norm(x) for x in r) for r in rows), key=repr)


@pytest.mark.parametrize("table", ["profile", "event_rows"])
def test_spark_reads_the_derived_tables_exactly(both, table):
    ds, spark = both
    duck = ds.cursor().execute(exp.select("*").from_(table).sql("duckdb"))
    names = [d[0] for d in duck.description]
    duck_rows = duck.fetchall()
    df = spark.table(table)
    assert df.columns == names
    assert len(duck_rows) > 100
    assert _rows(duck_rows) == _rows(df.collect())


def _duck_count(ds, segment: Segment) -> int:
    sql, params = count_query(compile_where(segment, ds.catalog, resolve))
    return ds.cursor().execute(sql, params).fetchone()[0]


def _spark_counts(ds, spark, segs: list[Segment]) -> list[int]:
    """Every definition's count in ONE Spark query (a UNION ALL of per-definition counts)."""
    selects, params = [], {}
    for i, seg in enumerate(segs):
        condition, seg_params = segment_condition(ds, seg, resolve, prefix=f"d{i}_")
        params.update(seg_params)
        selects.append(
            exp.select(exp.alias_(exp.Literal.number(i), "i"), exp.alias_(exp.Count(this=exp.Star()), "n"))
            .from_("profile")
            .where(where_form(condition))
        )
    query = selects[0]
    for s in selects[1:]:
        query = exp.union(query, s, distinct=False)
    got = dict(spark_engine.run(spark, query, params))
    return [int(got[i]) for i in range(len(segs))]


def _complement(seg: Segment) -> Segment:
    return Segment(conditions=(Group(seg.match, seg.conditions, negate=True),))


def _check_all(both, segs: list[Segment], *, complements: bool = True) -> None:
    ds, spark = both
    if complements:
        segs = segs + [_complement(s) for s in segs]
    want = [_duck_count(ds, s) for s in segs]
    got = _spark_counts(ds, spark, segs)
    diffs = [(s, w, g) for s, w, g in zip(segs, want, got, strict=True) if w != g]
    assert not diffs, "\n".join(
        f"duckdb {w} spark {g}: {compile_where(s, ds.catalog, resolve).sql}" for s, w, g in diffs[:5]
    )
    half = len(segs) // 2
    assert not complements or all(a + b == ds.total_users for a, b in zip(got[:half], got[half:], strict=True))


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(segments, min_size=6, max_size=6))
def test_random_definitions_count_the_same(both, segs):
    _check_all(both, segs)


def _edges() -> list[Segment]:
    """Window edges: as_of itself, midnight, the first and last day of each window, after as_of."""
    out = []
    for days in (1, 30, 365):
        out.append(
            Segment(
                conditions=(
                    Event("purchase", ">=", 1, within_days=days),
                    Attribute("signup_at", "within_last_days", days),
                )
            )
        )
    for d in (AS_OF, AS_OF + timedelta(days=1), date(2025, 7, 1)):
        iso = d.isoformat()
        out.append(
            Segment(
                match="any",
                conditions=tuple(Attribute("signup_at", op, iso, negate=op == "gt") for op in ("eq", "gt", "lte")),
            )
        )
        out.append(Segment(conditions=(Event("review", "=", 0, between=(iso, iso)),)))
        out.append(
            Segment(conditions=(Attribute("birthday", "between", values=(iso, (d + timedelta(days=400)).isoformat())),))
        )
    return out


def _nulls_and_hostile() -> list[Segment]:
    out = [
        Segment(conditions=(Attribute(f, op),))
        for f in ("city", "age", "score", "vip", "signup_at", "birthday")
        for op in ("is_null",)
    ]
    # one definition per operator over every hostile text: each value bound, none inlined
    out += [
        Segment(match="any", conditions=tuple(Attribute("city", op, t) for t in HOSTILE_TEXT + CITIES))
        for op in ("eq", "contains", "gt")
    ]
    out.append(Segment(conditions=(Attribute("city", "in", values=tuple(HOSTILE_TEXT)),)))
    out.append(
        Segment(conditions=(Attribute("user_id", "in", values=tuple(f"u{i:04d}" for i in range(0, 300, 3))),))
    )  # a long list
    out += [Segment(conditions=(Tag("level/score", op, value=v),)) for op, v in (("gt", 12.5), ("lte", 1e308))]
    out += [Segment(conditions=(Tag("pref/color", "in", values=("red", "'; DROP TABLE profile; --")),))]
    out += [
        Segment(match="any", conditions=(Attribute("vip", "eq", True), Attribute("score", "between", values=(0, 50))))
    ]
    out += [
        Segment(
            conditions=(
                Event(
                    "purchase",
                    ">=",
                    2,
                    where=(__import__("core.segments", fromlist=["EventFilter"]).EventFilter("amount", "gt", 49.5),),
                ),
            )
        )
    ]
    return out


def test_window_edges_count_the_same(both):
    _check_all(both, _edges(), complements=False)


def test_null_heavy_and_hostile_values_count_the_same(both):
    _check_all(both, _nulls_and_hostile()[:-1], complements=False)
    _check_all(
        both,
        _nulls_and_hostile()[-1:]
        + [
            Segment(conditions=(__import__("core.segments", fromlist=["SegmentRef"]).SegmentRef(k, "not_in"),))
            for k in SAVED
        ],
    )


@pytest.mark.parametrize("by", ["city", "score", "_rfm_class"])
def test_breakdown_rows_are_the_same(both, by):
    """The breakdown's scan queries (categories, numeric bins) give the same rows on both engines."""
    ds, spark = both
    seg = Segment(conditions=(Attribute("age", "gte", 30), Tag("interest/food/baking", "has", negate=True)))
    condition, params = segment_condition(ds, seg, None)
    column = exp.column(by, quoted=True)
    if by == "score":
        ((edges,),) = ds.run(named_query("breakdown_edges", value=column), {})
        query = named_query("breakdown_bins", value=column, segment=condition)
        params = {**params, **{f"x_edge_{i + 1}": e for i, e in enumerate(edges)}}
    else:
        query = named_query("breakdown_categories", value=column, segment=condition)
        params = {**params, "x_limit": 5}
    want = _rows(ds.run(query, params))
    assert len(want) >= 3
    assert want == _rows(spark_engine.run(spark, query, params))


@pytest.mark.parametrize(
    "options",
    [
        ExportOptions(columns=("city", "age", "score", "signup_at", "birthday", "vip")),
        ExportOptions(columns=("city", "score"), holdout=0.3, bom=True),
        ExportOptions(columns=("city",), raw_text=True, format="parquet"),
    ],
)
def test_export_file_has_the_same_sha256(both, tmp_path, options):
    ds, spark = both
    seg = Segment(match="any", conditions=(Attribute("score", "gte", 20), Attribute("city", "is_null")))
    plan = plan_export(ds, seg, options, role=RoleInfo("none", "test"), export_id="conformance-1")
    rows_select, params = export_select(ds, plan)
    duck_file = tmp_path / f"duck.{plan.extension}"
    ds.cursor().execute(copy_statement(rows_select, duck_file, options.format), params)
    spark_file = tmp_path / f"spark.{plan.extension}"
    # the same COPY, given to a Spark dataset's cursor: Spark computes the rows, DuckDB writes them
    ((written,),) = [
        on_spark(ds, spark).cursor().execute(copy_statement(rows_select, spark_file, options.format), params).fetchone()
    ]
    assert written == plan.rows_to_write > 50
    if options.format == "csv":
        text = duck_file.read_text(encoding="utf-8")
        assert text.count("\n") == written + 1
    assert file_sha256(spark_file) == file_sha256(duck_file)  # Parquet too: user_id stays REQUIRED


def test_parameters_are_bound_not_inlined(both):
    ds, _spark = both
    seg = Segment(
        conditions=(Attribute("city", "eq", "'; DROP TABLE profile; --"), Attribute("signup_at", "gte", "2026-01-01"))
    )
    condition, params = segment_condition(ds, seg, None)
    sql, args = spark_engine.to_spark(exp.select("*").from_("profile").where(where_form(condition)), params)
    assert "DROP" not in sql and "2026" not in sql
    assert sorted(args.values(), key=str) == sorted(
        ["'; DROP TABLE profile; --", datetime(2026, 1, 1).isoformat(sep=" ")], key=str
    )
