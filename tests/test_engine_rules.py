"""Each Spark rendering rule (core/engine/spark_sql.py): the same expression on the same values,
run by DuckDB in-process and by a local Spark, gives the same answers (or both refuse)."""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from core.engine import EngineError, engine_settings
from core.engine.spark_sql import to_spark
from core.export import (
    escape_formula,
    holdout_expression,
    holdout_threshold,
    in_holdout,
    needs_formula_escape,
)

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _norm(value):
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def both(spark, sql: str, params: dict | None = None) -> tuple[list, list]:
    """(DuckDB rows, Spark rows) of one DuckDB-dialect query."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    duck = [tuple(_norm(v) for v in r) for r in con.execute(tree.sql("duckdb"), params or None).fetchall()]
    text, args = to_spark(tree, params)
    sparked = [tuple(_norm(v) for v in r) for r in spark.sql(text, args=args or None).collect()]
    return duck, sparked


def same(spark, sql: str, params: dict | None = None, want: list | None = None) -> list:
    duck, sparked = both(spark, sql, params)
    assert duck == sparked, (
        f"{sql}\nduckdb {duck}\nspark  {sparked}\n{to_spark(sqlglot.parse_one(sql, read='duckdb'), params)[0]}"
    )
    if want is not None:  # what the definition says, written here, so both cannot be wrong together
        assert duck == want
    return duck


def test_list_position_miss_is_null(spark):
    same(
        spark,
        "select list_position(l, x) from (values ([1, 2, 3], 2), ([1, 2, 3], 5), ([4], 4)) t(l, x) order by x",
        want=[(2,), (1,), (None,)],
    )
    same(spark, "select list_position($l, 20), list_position($l, 99)", {"l": [10, 20]}, want=[(2, None)])


def test_list_index_by_a_column_is_one_based(spark):
    """`[a, b, c][i]` (the funnel's step times by the deepest step): 1-based, NULL out of range, as DuckDB."""
    same(
        spark,
        "select [10, 20, 30][i], [10, 20, 30][i + 1], [10, 20, 30][2] from (values (1), (3), (4), (0)) t(i) order by i",
        want=[(None, 10, 20), (10, 20, 20), (30, None, 20), (None, None, 20)],
    )


def test_unnests_in_one_select_are_zipped(spark):
    """Two `unnest` in one SELECT (the funnel histogram's bins) pair up element by element, NULL-padded."""
    same(
        spark,
        "select * from (select unnest($lo) as lo, unnest($hi) as hi) order by lo",
        {"lo": [0.0, 60.0, 300.0], "hi": [60.0, 300.0]},
        want=[(0.0, 60.0), (60.0, 300.0), (300.0, None)],
    )


def test_len_of_list_and_of_text(spark):
    same(spark, "select len($l), len([1, 2, 3]), len('héllo')", {"l": ["a", "b"]}, want=[(2, 3, 5)])


def test_date_diff_counts_boundaries(spark):
    rows = [
        ("2026-01-01 23:00:00", "2026-01-02 01:00:00"),
        ("2026-01-31 12:00:00", "2026-02-01 00:00:00"),
        ("2025-12-31 23:59:59", "2026-01-01 00:00:00"),
        ("2026-03-05 10:59:00", "2026-03-01 11:01:00"),
        ("2026-01-01 00:00:00", "2026-01-14 00:00:00"),
    ]
    values = ", ".join(f"(timestamp '{a}', timestamp '{b}')" for a, b in rows)
    got = same(
        spark,
        "select date_diff('day', a, b), date_diff('month', a, b), date_diff('year', a, b), "
        "date_diff('hour', a, b), date_diff('minute', a, b), date_diff('week', cast(a as date), cast(b as date)) "
        f"from (values {values}) t(a, b) order by a",
    )
    # boundaries crossed, from the calendar: 23:00 -> 01:00 is one day; 31 Dec -> 1 Jan one year
    by_start = {r[0]: g for r, g in zip(sorted(rows), got, strict=True)}
    assert by_start["2026-01-01 23:00:00"][0] == 1
    assert by_start["2025-12-31 23:59:59"][:3] == (1, 1, 1)
    assert by_start["2026-03-05 10:59:00"][0] == -4
    assert by_start["2026-01-01 00:00:00"][5] == 1


def test_day_of_week_and_iso(spark):
    days = [date(2026, 11, 30 + i) if i < 1 else date(2026, 12, i) for i in range(7)]
    values = ", ".join(f"(date '{d.isoformat()}')" for d in days)
    got = same(spark, f"select d, dayofweek(d), isodow(d) from (values {values}) t(d) order by d")
    for d, dow, iso in got:
        assert iso == d.isoweekday() and dow == d.isoweekday() % 7


def test_ordered_list_aggregate_keeps_order(spark):
    data = "(values (1, 'c', 3), (1, 'a', 1), (1, 'n', null), (1, 'b', 2), (2, 'z', 9), (2, 'y', null))"
    same(
        spark,
        f"select g, list(v order by k), list(v order by k desc) from {data} t(g, v, k) group by g order by g",
        want=[(1, ["a", "b", "c", "n"], ["c", "b", "a", "n"]), (2, ["z", "y"], ["z", "y"])],
    )


def test_integer_casts_round_like_duckdb(spark):
    values = ", ".join(f"(cast({x} as double))" for x in (2.5, 3.5, -2.5, 2.4, 2.6, -0.5))
    same(
        spark,
        f"select x, cast(x as integer), cast(x as bigint) from (values {values}) t(x) order by x",
        want=[(x, round(x), round(x)) for x in sorted((2.5, 3.5, -2.5, 2.4, 2.6, -0.5))],  # half to even
    )
    same(spark, "select cast(2.5 as integer), cast(-2.5 as integer), cast('7' as integer)", want=[(3, -3, 7)])


def test_division_by_zero_and_overflow(spark):
    got = same(
        spark,
        "select x / y from (values (1, 0, 1), (-1, 0, 2), (0, 0, 3), (null, 0, 4), (7, 2, 5)) t(x, y, o) order by o",
    )
    assert got == [(math.inf,), (-math.inf,), ("NaN",), (None,), (3.5,)]
    for sql in (
        "select x + 1 from (values (cast(9223372036854775807 as bigint))) t(x)",
        "select x % 0 from (values (5)) t(x)",
    ):
        tree = sqlglot.parse_one(sql, read="duckdb")
        with pytest.raises(duckdb.Error):
            duckdb.connect().execute(tree.sql("duckdb")).fetchall()
        with pytest.raises(Exception, match="ARITHMETIC_OVERFLOW|DIVIDE_BY_ZERO|REMAINDER_BY_ZERO"):
            spark.sql(to_spark(tree)[0]).collect()


def test_windows_across_dst_compare_elapsed_seconds(spark):
    # New York's clocks jump at 02:00 on 8 March 2026: 01:30 EST -> 03:30 EDT is ONE hour apart
    a, b = "2026-03-08 01:30:00-05", "2026-03-08 03:30:00-04"
    same(
        spark,
        "select epoch(b) - epoch(a), epoch(b) - epoch(a) <= 3600 "
        f"from (values (cast('{a}' as timestamptz), cast('{b}' as timestamptz))) t(a, b)",
        want=[(3600.0, True)],
    )


def test_sha256_and_the_holdout_rule(spark):
    ids = ["u1", "会员-007", "x|y", "", "O'Brien"]
    values = ", ".join("('" + i.replace("'", "''") + "')" for i in ids)
    got = same(spark, f"select user_id, sha256(user_id) from (values {values}) t(user_id) order by user_id")
    assert [g[1] for g in got] == [hashlib.sha256(i.encode()).hexdigest() for i in sorted(ids)]
    held = (
        exp.select(exp.column("user_id"), exp.alias_(holdout_expression(), "held"))
        .from_(sqlglot.parse_one(f"select * from (values {values}) t(user_id)", read="duckdb").subquery("v"))
        .order_by("user_id")
    )
    params = {"x_export_id": "exp-42", "x_threshold": holdout_threshold(0.5)}
    got = same(spark, held.sql("duckdb"), params)
    assert got == [(i, in_holdout("exp-42", i, 0.5)) for i in sorted(ids)]


def test_engine_hash_is_refused():
    with pytest.raises(EngineError, match="SHA-256"):
        to_spark(sqlglot.parse_one("select hash(user_id) from profile", read="duckdb"))


def test_local_files_are_refused_with_the_reason():
    """A file named in a query is not read on Spark (an export's holdout goes through spark_assignments): refused."""
    for sql in ("select * from read_parquet($a_files)", "select hash(variant) from read_parquet($a_files)"):
        with pytest.raises(EngineError, match="ADESK_ENGINE=duckdb"):
            to_spark(sqlglot.parse_one(sql, read="duckdb"), {"a_files": ["/tmp/x.parquet"]})


def test_parameters_stay_bound(spark):
    sql = "select $t >= cast('2026-01-01 23:00:00' as timestamp), $d, $s, $n"
    params = {"t": datetime(2026, 1, 2, 0, 0), "d": date(2026, 5, 1), "s": "'; drop table x; --", "n": 2**40}
    text, args = to_spark(sqlglot.parse_one(sql, read="duckdb"), params)
    assert "drop table" not in text and ":s" in text and args["s"] == params["s"]
    same(spark, sql, params, want=[(True, date(2026, 5, 1), params["s"], 2**40)])


def test_engine_setting():
    assert engine_settings({}).engine == "duckdb"
    s = engine_settings({"ADESK_ENGINE": "Spark", "ADESK_SPARK_REMOTE": "sc://spark.internal:15002"})
    assert (s.engine, s.is_connect) == ("spark", True)
    with pytest.raises(EngineError, match="ADESK_ENGINE"):
        engine_settings({"ADESK_ENGINE": "oracle"})
    with pytest.raises(EngineError, match="ADESK_SPARK_REMOTE"):
        engine_settings({"ADESK_ENGINE": "spark", "ADESK_SPARK_REMOTE": "http://x"})


def test_formula_escape_regexps(spark):
    cells = ["=1+1", "+8613800138000", "-12.5", "+1x5", "+1.5", "\tx", "@a", "plain", "-", "a=b"]
    values = ", ".join("('" + c + "')" for c in cells)
    query = (
        exp.select(exp.column("c"), exp.alias_(escape_formula(exp.column("c")), "e"))
        .from_(sqlglot.parse_one(f"select * from (values {values}) t(c)", read="duckdb").subquery("v"))
        .order_by("c")
    )
    got = same(spark, query.sql("duckdb"))
    assert got == [(c, "'" + c if needs_formula_escape(c) else c) for c in sorted(cells)]


def test_text_read_as_boolean_is_not_trimmed(spark):
    """DuckDB's TRY_CAST(text AS BOOLEAN): t/true/y/yes/1, f/false/n/no/0 in any case, nothing trimmed."""
    words = ["true", "TRUE", " TRUE ", "t", "Y", "yes", "1", "on", "false", "F", "no", "0", "off", "", " 1", "2"]
    rows = same(
        spark,
        "select v, try_cast(v as boolean) from (select unnest($w) as v) order by v nulls last",
        {"w": words},
    )
    truth = {
        "true": True,
        "t": True,
        "y": True,
        "yes": True,
        "1": True,
        "false": False,
        "f": False,
        "no": False,
        "0": False,
    }
    assert dict(rows) == {w: truth.get(w.lower()) for w in words}
    same(
        spark,
        "select try_cast(2 as boolean), try_cast(0 as boolean), try_cast(true as boolean),"
        " try_cast(cast(null as varchar) as boolean)",
        want=[(True, False, True, None)],
    )
