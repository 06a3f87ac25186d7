"""Sums of amounts are exact and the same on DuckDB and Spark (core/models/rfm.py: `amount_micros`, `monetary_sum`).

The same expression trees run on both engines (Spark's through core/engine/spark_sql.py, as the app renders
them) over awkward amounts — ties at half a millionth, 0.1, 19.99, values near 10^12, negatives, -0.0, random
bit patterns — and are checked against the rule restated in pure Python (`decimal` / `fractions`): an amount
is round(amount × 10^6) in double precision, half away from zero, in whole millionths; a sum is the exact sum of
those. Then: the RFM rule's tie at the buyers' mean (a double mean would say "high"), the validator's refusal
of amounts a millionth count cannot hold, and the experiments' pass on sums past 64 bits.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from core.analyses import ab_read
from core.dataset import open_dataset
from core.engine.spark_sql import to_spark
from core.models.rfm import MAX_AMOUNT, amount_micros, from_micros, monetary_sum
from core.validate import validate_dataset
from tests.datasets import write_dataset
from tests.oracles import expected_models


def on_spark(test):
    """A test that uses the shared local Spark (its xdist group)."""
    return pytest.mark.spark(pytest.mark.xdist_group("spark")(test))


AWKWARD = [0.1, 0.2, 0.3, 19.99, -19.99, 5e-7, -5e-7, 1.5e-6, 2.5e-6, -2.5e-6, 1.0000005, 1.005, 2.675, 4.35]
AWKWARD += [0.0, -0.0, 1 / 3, 999999999999.99, -999999999999.9999, 999999999999.0, 4503599627.3704995, 1e11 + 0.5]
TIES = st.builds(  # (k + 1/2) millionths, scaled: the rounding mode shows
    lambda k, d, sign: sign * (k + 0.5) / 10**d,
    st.integers(0, 10**11),
    st.integers(0, 7),
    st.sampled_from([1, -1]),
)
AMOUNT = st.one_of(
    st.sampled_from(AWKWARD),
    TIES,
    st.floats(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT, exclude_min=True, exclude_max=True, allow_nan=False),
    st.integers(-(10**6), 10**6).map(lambda k: k / 100),
)


def micros(x: float | None) -> int:
    """The rule in Python: x × 10^6 as IEEE doubles multiply it, rounded half away from zero (ROUND_HALF_UP)."""
    return 0 if x is None else int(Decimal(x * 1e6).to_integral_value(rounding=ROUND_HALF_UP))


def _query() -> exp.Expression:
    """Per group g: the millionths of every value, their exact sum (DECIMAL(38, 6)) and that sum as a DOUBLE."""
    value = exp.column("x")
    per_row = exp.select(exp.column("i"), exp.column("g"), exp.alias_(amount_micros(value), "m")).from_("t")
    total = monetary_sum(value.copy())
    per_group = (
        exp.select(
            exp.column("g"),
            exp.alias_(total, "s"),
            exp.alias_(exp.Cast(this=total.copy(), to=exp.DataType.build("DOUBLE")), "d"),
            exp.alias_(monetary_sum(value.copy(), exp.GT(this=exp.column("i"), expression=exp.Literal.number(1))), "f"),
        )
        .from_("t")
        .group_by(exp.column("g"))
    )
    return per_row, per_group


def _both(spark, rows: list[tuple[int, int, float | None]]) -> tuple[list, list]:
    """(DuckDB's rows, Spark's rows) of both queries, sorted."""
    con = duckdb.connect()
    try:
        con.execute("create table t (i integer, g integer, x double)")
        con.executemany("insert into t values (?, ?, ?)", rows)
        duck = [sorted(con.execute(q.sql("duckdb")).fetchall()) for q in _query()]
    finally:
        con.close()
    spark.createDataFrame(rows, "i int, g int, x double").createOrReplaceTempView("t")
    ours = []
    for q in _query():
        sql, args = to_spark(q, {})
        ours.append(sorted(tuple(r) for r in spark.sql(sql, args=args or None).collect()))
    spark.catalog.dropTempView("t")
    return duck, ours


@on_spark
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.none(), AMOUNT), min_size=1, max_size=40))
def test_millionths_and_sums_are_the_same_on_both_engines(spark, values):
    rows = [(i, i % 3, v) for i, v in enumerate(values)]
    (duck_rows, duck_sums), (spark_rows, spark_sums) = _both(spark, rows)
    assert duck_rows == spark_rows == [(i, g, micros(v)) for i, g, v in rows]
    want = []
    for g in sorted({g for _i, g, _v in rows}):
        mine = [(i, v) for i, gg, v in rows if gg == g]
        s = sum(micros(v) for _i, v in mine)
        later = [micros(v) for i, v in mine if i > 1]
        filtered = Decimal(sum(later)).scaleb(-6) if later else None
        want.append((g, Decimal(s).scaleb(-6), float(Fraction(s, 10**6)), filtered))
    assert duck_sums == spark_sums == want  # Decimals compare by value; the DOUBLE to its last bit


@on_spark
def test_the_awkward_values_themselves(spark):
    """The hand-picked values in one go (hypothesis may not draw them all), and what a plain CAST would do instead."""
    rows = [(i, 0, v) for i, v in enumerate(AWKWARD)]
    (duck_rows, _), (spark_rows, _) = _both(spark, rows)
    assert duck_rows == spark_rows == [(i, 0, micros(v)) for i, _g, v in rows]
    assert dict((i, m) for i, _g, m in duck_rows)[AWKWARD.index(5e-7)] == 1  # half a millionth: away from zero
    assert micros(19.99) == 19_990_000 and micros(0.1) == 100_000 and micros(-2.5e-6) == -3
    # why not CAST(x AS DECIMAL(18, 6)): DuckDB multiplies in double precision, Spark reads the shortest text
    con = duckdb.connect()
    try:
        duck = con.execute("select cast(999999999999.0::double as decimal(18, 6))").fetchone()[0]
    finally:
        con.close()
    on_spark = spark.sql("select cast(cast(999999999999.0 as double) as decimal(18, 6))").collect()[0][0]
    assert duck != on_spark == Decimal("999999999999.000000")


def test_from_micros_is_correctly_rounded():
    for s in (1, -1, 10**6 * 3 + 1, 2**53 + 1, 10**30 + 7, -(10**25) - 3):
        assert from_micros(s) == float(Fraction(s, 10**6))
        assert from_micros(Decimal(s), squared=True) == float(Fraction(s, 10**12))
    assert from_micros(None) == 0.0


# --- the RFM rule: a tie at the buyers' mean ----------------------------------------------------

AS_OF = datetime(2026, 6, 30)


def _tie_dataset(root):
    """Buyers b1 19.04, b2 12.59 (two purchases: 12 + 0.59), b3 16.61, b4 2.12 (ten 0.1 and 1.12): b2 is the mean.

    Exactly, 19.04 + 12.59 + 16.61 + 2.12 = 50.36 = 4 × 12.59: b2's monetary is not above the mean (low). Added
    as doubles in that order the mean is 12.589999999999998, so a comparison with a double mean calls it high.
    """
    users = pd.DataFrame({"user_id": ["b1", "b2", "b3", "b4", "n1"], "signup_at": pd.Timestamp("2025-01-01")})
    buys = [("b1", 19.04), ("b2", 12.0), ("b2", 0.59), ("b3", 16.61)] + [("b4", 0.1)] * 10 + [("b4", 1.12)]
    events = pd.DataFrame(
        {
            "user_id": [u for u, _a in buys] + ["n1"],
            "event": ["purchase"] * len(buys) + ["product_view"],
            "ts": [AS_OF.replace(day=1 + i % 28, hour=12) for i in range(len(buys) + 1)],
            "amount": [a for _u, a in buys] + [None],
        }
    )
    return users, events, write_dataset(root, users, events)


def _models(rows) -> dict[str, tuple]:
    return {u: (m, c, s) for u, m, c, s in rows}


PROFILE = exp.select(*(exp.column(c, quoted=True) for c in ("user_id", "_monetary", "_rfm_class", "_m_score"))).from_(
    "profile"
)


def test_the_mean_tie_is_low_on_duckdb(tmp_path):
    users, events, root = _tie_dataset(tmp_path / "tie")
    assert 12.0 + 0.59 > (19.04 + (12.0 + 0.59) + 16.61 + sum([0.1] * 10 + [1.12])) / 4  # a double mean: "high"
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    try:
        got, as_of = _models(ds.run(PROFILE)), ds.as_of
    finally:
        ds.close()
    want = expected_models(users, events, as_of)
    assert want.loc["b2", "rfm"].startswith("general_")  # the oracle sums exactly: b2 is at the mean, not above
    for u in ("b1", "b2", "b3", "b4"):
        assert got[u] == (want.loc[u, "monetary"], want.loc[u, "rfm"], want.loc[u, "m_score"]), u
    assert got["b4"][0] == 2.12 and got["b2"][0] == 12.59


@on_spark
def test_the_mean_tie_is_low_on_spark(tmp_path, spark):
    from core.engine.spark_build import build_tables

    _users, _events, root = _tie_dataset(tmp_path / "tie")
    ds = open_dataset(root, cache_dir=tmp_path / "cache")
    try:
        folder = build_tables(ds, spark, tmp_path / "built.spark")
        built = spark.read.parquet(str(folder / "profile.parquet"))
        spark_rows = [tuple(r) for r in built.select("user_id", "_monetary", "_rfm_class", "_m_score").collect()]
        assert _models(spark_rows) == _models(ds.run(PROFILE))
    finally:
        ds.close()


# --- amounts a count of millionths cannot hold --------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 1e12, -2e15])
def test_amounts_that_are_not_finite_or_too_large_are_refused(tmp_path, bad):
    users, events, root = _tie_dataset(tmp_path / "shop")
    table = pa.Table.from_pandas(events, preserve_index=False)
    amounts = [bad if i == 3 else None if math.isnan(v) else v for i, v in enumerate(events["amount"].tolist())]
    table = table.set_column(3, "amount", pa.array(amounts, type=pa.float64(), from_pandas=False))
    for f in (root / "events").rglob("*.parquet"):
        f.unlink()
    pq.write_table(table, root / "events" / "part-0.parquet")
    report = validate_dataset(root, deep=False)
    assert not report.usable
    (problem,) = [p for p in report.problems if p.column == "amount"]
    assert "1 amount is not a finite number below 10^12" in problem.message and problem.fix


# --- experiments: sums of millionths past 64 bits ------------------------------------------------


def test_the_experiment_pass_stays_exact_past_64_bits():
    """Member sums near 2^63 millionths take Python integers; squares always do (they pass 2^64)."""
    day = 86_400_000_000
    big = int(MAX_AMOUNT * 1e6) - 1  # the largest amount the validator lets through, in millionths
    n_events = 12
    members = ab_read.Members(
        uid=np.array([0, 1], dtype=np.int32),
        t0=np.array([10 * day, 10 * day], dtype=np.int64),
        code=np.array([0, 0]),
        names=("A",),
    )
    events = ab_read.Events(
        uid=np.array([0] * n_events + [1], dtype=np.int32),
        ts=np.full(n_events + 1, 10 * day + 1, dtype=np.int64),
        conversion=np.zeros(n_events + 1, dtype=bool),
        purchase=np.ones(n_events + 1, dtype=bool),
        amount=np.array([big] * n_events + [-3], dtype=np.int64),
    )
    (a,) = ab_read.per_variant(members, events, 2 * day, 20 * day)
    per_member = [big * n_events, -3]
    assert per_member[0] > 2**63  # int64 would have wrapped
    assert a.revenue_sum == float(Fraction(sum(per_member), 10**6))
    assert a.revenue_sum_sq == float(Fraction(sum(x * x for x in per_member), 10**12))


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1)), max_size=30),
    chunk=st.sampled_from([1, 3, 1 << 20]),
)
def test_exact_dot_is_python_integer_arithmetic(pairs, chunk):
    """Σ a and Σ a·b by 21-bit limbs in numpy equal Python's integers, across chunk boundaries and at int64's ends."""
    a = np.array([x for x, _y in pairs], dtype=np.int64)
    b = np.array([y for _x, y in pairs], dtype=np.int64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ab_read, "CHUNK", chunk)
        assert ab_read.exact_dot(a) == sum(x for x, _y in pairs)
        assert ab_read.exact_dot(a, b) == sum(x * y for x, y in pairs)
        assert ab_read.exact_dot(a, a) == sum(x * x for x, _y in pairs)
