"""Bitmap indexes (core/bitmaps/): counts by set algebra equal DuckDB's own three-valued answer.

The segment property tests (test_segment_properties.py) check bitmap counts of
random definitions against the pandas oracle. Here: raw boolean trees with NULLs
and no COALESCE (the FALSE sets under NOT), what is refused, the memory budget,
background building, and hostile values.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.bitmaps import BitmapIndex, plan
from core.dataset import open_dataset
from core.segments import Attribute, Segment, Tag, compile_where
from core.segments.operations import breakdown, counted_by, size
from tests.segment_oracle import CITIES, sample_tables, write_sample_dataset
from tests.test_segment_properties import resolve as saved_resolve
from tests.test_segment_properties import segments as random_segments


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    root = tmp_path_factory.mktemp("bitmaps") / "shop"
    write_sample_dataset(root, sample_tables())
    ds = open_dataset(root, cache_dir=root.parent / "cache")
    yield ds
    ds.close()


def _scan(ds, condition: exp.Expression, params: dict) -> int:
    """DuckDB's own answer: rows where the condition is TRUE (NULL and FALSE both drop a row)."""
    query = exp.select(exp.Count(this=exp.Star())).from_("profile").where(condition)
    return ds.cursor().execute(query.sql("duckdb"), params or None).fetchone()[0]


def _index(ds, **kw) -> BitmapIndex:
    return BitmapIndex(ds, 10**9, **kw).build_when_needed()


# --- three-valued logic on raw trees ---------------------------------------------------------------

AGE, CITY, LEVEL, VIP = (exp.column(c, quoted=True) for c in ("age", "city", "member_level", "vip"))


@st.composite
def leaves(draw, params: dict):
    def param(value):
        name = f"p{len(params)}"
        params[name] = value
        return exp.Placeholder(this=name)

    kind = draw(
        st.sampled_from(
            ["age_gt", "age_between", "age_null", "city_eq", "city_in", "level_lte", "vip", "const", "two_columns"]
        )
    )
    if kind == "age_gt":
        return exp.GT(this=AGE.copy(), expression=param(draw(st.integers(15, 70))))
    if kind == "age_between":
        a, b = sorted(draw(st.lists(st.integers(15, 70), min_size=2, max_size=2)))
        return exp.Between(this=AGE.copy(), low=param(a), high=param(b))
    if kind == "age_null":
        return exp.Is(this=AGE.copy(), expression=exp.Null())
    if kind == "city_eq":
        return exp.EQ(this=CITY.copy(), expression=param(draw(st.sampled_from(CITIES))))
    if kind == "city_in":
        return exp.In(
            this=CITY.copy(),
            expressions=[param(c) for c in draw(st.lists(st.sampled_from(CITIES), min_size=1, max_size=3))],
        )
    if kind == "level_lte":
        return exp.LTE(this=LEVEL.copy(), expression=param(draw(st.integers(0, 5))))
    if kind == "vip":
        return VIP.copy()
    if kind == "const":
        return draw(st.sampled_from([exp.true(), exp.false()]))
    return exp.GT(this=AGE.copy(), expression=LEVEL.copy())  # two columns in one comparison


def trees(params: dict, depth: int = 3):
    def extend(children):
        return st.one_of(
            st.tuples(children, children).map(lambda ab: exp.and_(exp.paren(ab[0]), exp.paren(ab[1]))),
            st.tuples(children, children).map(lambda ab: exp.or_(exp.paren(ab[0]), exp.paren(ab[1]))),
            children.map(lambda a: exp.not_(exp.paren(a))),
            children.map(lambda a: exp.Coalesce(this=a, expressions=[exp.false()])),
        )

    return st.recursive(leaves(params), extend, max_leaves=8)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_and_or_not_over_nulls_count_what_duckdb_counts(ds, data) -> None:
    params: dict = {}
    condition = data.draw(trees(params))
    index = _index(ds)
    got = index.count(condition, params)
    two_columns = any(len({c.name for c in node.find_all(exp.Column)}) > 1 for node in condition.find_all(exp.GT))
    if two_columns and got is None:
        return  # `age > member_level` reads two columns: no single column's values decide it
    assert got is not None, condition.sql("duckdb")
    assert got == _scan(ds, condition, params), condition.sql("duckdb")
    # the complement: members where the condition is FALSE, and where it is NULL, make up the rest
    negated = exp.not_(exp.paren(condition.copy()))
    unknown = exp.Is(this=exp.paren(condition.copy()), expression=exp.Null())
    assert index.count(negated, params) == _scan(ds, negated, params)
    assert got + _scan(ds, negated, params) + _scan(ds, unknown, params) == ds.total_users


def test_a_null_under_not_is_not_a_member(ds) -> None:
    """NOT (age > 30) keeps neither the over-30s nor those without an age: SQL's rule, not a complement."""
    over = exp.GT(this=AGE.copy(), expression=exp.Placeholder(this="a"))
    index = _index(ds)
    params = {"a": 30}
    n_over = index.count(over, params)
    n_not = index.count(exp.not_(exp.paren(over.copy())), params)
    n_null = _scan(ds, exp.Is(this=AGE.copy(), expression=exp.Null()), {})
    assert n_null > 0  # the sample is NULL-heavy: otherwise this test proves nothing
    assert n_over + n_not + n_null == ds.total_users
    # and COALESCE(…, FALSE) makes it two-valued: then NOT is the complement
    two_valued = exp.Coalesce(this=over.copy(), expressions=[exp.false()])
    assert index.count(exp.not_(two_valued), params) == ds.total_users - n_over


def test_plan_takes_single_column_parts_and_refuses_the_rest() -> None:
    def cond(sql: str) -> exp.Expression:
        return exp.condition(sql, dialect="duckdb")

    assert plan(cond("(age > 1 OR age < 0) AND city = 'x' AND NOT vip")) is not None
    assert plan(cond("age > member_level")) is None
    assert plan(cond("_uid IN (SELECT e._uid FROM event_rows AS e)")) is None
    assert plan(cond("city IN (SELECT UNNEST($p0))")) is not None  # a bound long list
    assert plan(cond("city IN (SELECT city FROM users)")) is None
    assert plan(cond("_uid = 3")) is None  # the member number itself is never indexed


# --- what is refused, the budget, building -------------------------------------------------------------


def test_a_column_with_too_many_values_is_scanned(ds) -> None:
    index = _index(ds, max_values=5)
    over = exp.GT(this=AGE.copy(), expression=exp.Placeholder(this="a"))
    assert index.count(over, {"a": 30}) is None
    assert "distinct values" in index.stats()["refused"]["age"]
    gender_like = exp.column("vip", quoted=True)  # two values and NULL
    assert index.count(gender_like, {}) == _scan(ds, gender_like, {})


def test_the_budget_keeps_the_most_recent_column(ds) -> None:
    index = BitmapIndex(ds, 1, max_values=1024).build_when_needed()  # room for (less than) one column
    city = exp.EQ(this=CITY.copy(), expression=exp.Placeholder(this="c"))
    level = exp.LTE(this=LEVEL.copy(), expression=exp.Placeholder(this="l"))
    assert index.count(city, {"c": "Shanghai"}) == _scan(ds, city, {"c": "Shanghai"})
    assert index.count(level, {"l": 2}) == _scan(ds, level, {"l": 2})
    assert index.ready("member_level") and not index.ready("city")
    both = exp.and_(city.copy(), level.copy())
    # two columns do not fit: the count builds what it lacks, drops the other, and leaves it to a scan
    assert index.count(both, {"c": "Shanghai", "l": 2}) is None
    assert index.stats()["columns"] == 1


def test_background_building_then_counting(ds) -> None:
    index = BitmapIndex(ds, 10**9)
    vip = exp.column("vip", quoted=True)
    assert index.count(vip, {}) is None  # "off" (a one-shot command): nothing is built
    assert index.stats()["columns"] == 0
    index.build_in_background()
    assert index.count(vip, {}) is None or index.ready("vip")  # asked for; a scan answers meanwhile
    index.wait()
    assert index.ready("vip")
    assert index.count(vip, {}) == _scan(ds, vip, {})
    assert index.stats()["columns"] == 1 and index.stats()["build_seconds"]["vip"] > 0  # built once, and timed


def test_closing_the_dataset_stops_the_builder(tmp_path) -> None:
    root = tmp_path / "shop"
    write_sample_dataset(root, sample_tables())
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    index = ds.bitmap_index().build_in_background()
    for column in ("age", "city", "member_level", "score", "birthday"):
        index.count(exp.Is(this=exp.column(column, quoted=True), expression=exp.Null()), {})
    worker = index._worker
    ds.close()  # waits for the column in hand; the rest are dropped
    assert worker is None or not worker.is_alive()  # joined before the connection closed
    assert ds._con is None
    # closed: a later count asks for nothing and starts no thread
    assert index.count(exp.column("vip", quoted=True), {}) is None
    assert index._worker is None or not index._worker.is_alive()


def test_size_uses_the_index_and_counts_the_same(ds) -> None:
    ds.bitmap_index().build_when_needed()
    segment = Segment(conditions=(Tag("interest/food/baking", "has"), Attribute("age", "between", values=(20, 40))))
    by_bitmaps = size(ds, segment)
    assert counted_by(ds, segment) == "bitmaps"
    assert by_bitmaps == size(ds, segment, bitmaps=False)


# --- hostile values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        ["'; DROP TABLE profile; --", "Shanghai"],
        ["O'Brien", "100%_real", "Xi'an 🍰"],
        [f"city {i}" for i in range(99_999)] + ["上海"],
    ],
)
def test_hostile_values_are_bound_and_counted_right(ds, values) -> None:
    index = _index(ds)
    segment = Segment(conditions=(Attribute("city", "in", values=tuple(values)),))
    compiled = compile_where(segment, ds.catalog)
    got = index.count(compiled.expression, compiled.params)
    assert got == _scan(ds, compiled.expression, compiled.params)
    assert size(ds, segment).count == size(ds, segment, bitmaps=False).count
    assert ds.cursor().execute("select count(*) from profile").fetchone()[0] == ds.total_users
    # `%` and `_` are literal in `contains`: only "100%_real" holds them (pandas, on the same users)
    users = sample_tables()["users"]
    expected = int(users["city"].dropna().str.lower().str.contains("%_", regex=False).sum())
    assert expected > 0
    contains = Segment(conditions=(Attribute("city", "contains", value="%_"),))
    compiled = compile_where(contains, ds.catalog)
    assert index.count(compiled.expression, compiled.params) == expected


# --- breakdowns ------------------------------------------------------------------------------------------


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    segment=random_segments,
    by=st.sampled_from(
        [
            "city",
            "member_level",
            "vip",
            "aipl",
            "rfm",
            "lifecycle",
            "interest/food/baking",
            "identity/kol",
            "age",
            "score",
            "birthday",
        ]
    ),
    limit=st.integers(1, 6),
)
def test_breakdown_from_bitmaps_equals_the_scan(ds, segment, by, limit) -> None:
    """Top values, "other" and "missing" with their counts: the same rows from the intersections as from SQL."""
    ds.bitmap_index().build_when_needed()
    from_bitmaps = breakdown(ds, segment, by, saved_resolve, limit)
    scanned = breakdown(ds, segment, by, saved_resolve, limit, bitmaps=False)

    def rows(b):  # the scan's rows come in no promised order for text values
        return sorted((r.kind, r.value, r.count_in_segment, r.count_in_base, str(r.low), str(r.high)) for r in b.rows)

    assert rows(from_bitmaps) == rows(scanned)
    assert (from_bitmaps.segment_size, from_bitmaps.total_users) == (scanned.segment_size, scanned.total_users)
    if by != "city":  # ordered kinds: the order is part of the answer
        assert [r.value for r in from_bitmaps.rows] == [r.value for r in scanned.rows]


# --- found in review ------------------------------------------------------------------------------


def test_breakdown_by_list_and_struct_columns_falls_back_to_the_scan(tmp_path) -> None:
    """Any other column of `users` is allowed: Python cannot order lists with NULLs or dicts as DuckDB does."""
    import duckdb

    root = tmp_path / "nested"
    (root / "events").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        "copy (select 'u' || i as user_id,"
        " case i % 4 when 0 then [1, 2] when 1 then [1, NULL] when 2 then NULL else [3] end as interests,"
        " case i % 3 when 0 then {'a': 1} when 1 then {'a': 2} else NULL end as prefs"
        " from range(1, 1201) t(i)) to $f (format parquet)",
        {"f": str(root / "users.parquet")},
    )
    con.execute(
        "copy (select 'u' || (1 + i % 1200) as user_id, 'purchase' as event, timestamp '2026-06-01' + to_hours(i) as ts"
        " from range(0, 3000) t(i)) to $f (format parquet)",
        {"f": str(root / "events" / "part-0.parquet")},
    )
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    ds.bitmap_index().build_when_needed()
    try:
        for by, want in (
            ("interests", {"[1, 2]": 300, "[1, None]": 300, "[3]": 300}),
            ("prefs", {"{'a': 1}": 400, "{'a': 2}": 400}),
        ):
            got = breakdown(ds, Segment(), by)
            assert got == breakdown(ds, Segment(), by, bitmaps=False)
            assert {r.value: r.count_in_segment for r in got.rows if r.kind == "value"} == want
    finally:
        ds.close()


def test_threads_asking_for_the_same_index_build_it_once(ds) -> None:
    import threading

    index = _index(ds)
    city = exp.EQ(this=CITY.copy(), expression=exp.Placeholder(this="c"))
    want = _scan(ds, city, {"c": "Shanghai"})
    start = threading.Barrier(8)
    got: list = []

    def count() -> None:
        start.wait()
        got.append(index.count(city, {"c": "Shanghai"}))

    threads = [threading.Thread(target=count) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(got) <= {want, None} and want in got  # the others scanned while one built
    assert index.ready("city") and "city" not in index.stats()["refused"]
    assert index.count(city, {"c": "Shanghai"}) == want


def test_a_column_dropped_for_room_is_not_rebuilt_at_once(ds) -> None:
    index = BitmapIndex(ds, 1).build_in_background()  # room for (less than) one column
    city = exp.EQ(this=CITY.copy(), expression=exp.Placeholder(this="c"))
    level = exp.LTE(this=LEVEL.copy(), expression=exp.Placeholder(this="l"))
    index.count(city, {"c": "x"})
    index.wait()
    index.count(level, {"l": 1})
    index.wait()
    assert index.ready("member_level") and not index.ready("city")
    assert index.count(city, {"c": "x"}) is None  # dropped a moment ago: not queued again yet
    index.wait()
    assert not index.ready("city") and index.ready("member_level")


def test_a_bad_budget_setting_falls_back_to_the_default(monkeypatch, caplog) -> None:
    from core.dataset import bitmap_budget

    assert bitmap_budget("512") == 512_000_000
    assert bitmap_budget("0") == 0  # off
    for bad in ("1G", "-5", "nan", ""):
        assert bitmap_budget(bad) == 1_024_000_000
    assert "ADESK_BITMAP_MB" in caplog.text
