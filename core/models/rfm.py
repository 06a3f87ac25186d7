"""RFM class at a date (DATA_CONTRACT.md): `queries/rfm_at.sql` over a roll-up of the purchases in the window.

Also the exact sum of amounts every build and analysis uses (`amount_micros`, `monetary_sum`): a DOUBLE
amount becomes whole millionths (BIGINT), which any engine adds exactly in any order.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlglot import exp

from core.models.aipl import day_end
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset


MICROS = 1_000_000  # amounts are summed exactly in millionths of the currency unit
MAX_AMOUNT = 1e12  # |amount| below this (refused by the validator otherwise): millionths fit a BIGINT, DECIMAL(18, 6)
MONETARY_TYPE = "DECIMAL(38, 6)"  # a sum of amounts, exact (the same type on DuckDB and Spark)


def amount_micros(amount: exp.Expression) -> exp.Expression:
    """An amount (missing = 0) in whole millionths: `CAST(round(CAST(amount AS DOUBLE) * 1e6) AS BIGINT)`.

    Not `CAST(amount AS DECIMAL(18, 6))`: DuckDB converts a DOUBLE to a DECIMAL by multiplying in
    double precision and rounding half to even, Spark from the shortest decimal text rounding half up
    (they differ, e.g. for 999999999999.0 or 5e-7). A product of two DOUBLEs is the same IEEE result
    on both, and both `round` it half away from zero (tests/test_exact_sums.py runs it on both).
    """
    value = exp.Cast(this=exp.func("coalesce", amount, exp.Literal.number(0)), to=exp.DataType.build("DOUBLE"))
    scaled = exp.Mul(this=value, expression=exp.Literal.number(MICROS))
    return exp.Cast(this=exp.func("round", scaled), to=exp.DataType.build("BIGINT"))


def from_micros(total: object, *, squared: bool = False) -> float:
    """An exact sum in millionths (or millionths squared; an int or integral Decimal) as the nearest float.

    Python's int / int is correctly rounded, so the engine that summed does not matter.
    """
    return int(total or 0) / (MICROS * MICROS if squared else MICROS)


def monetary_sum(amount: exp.Expression, where: exp.Expression | None = None) -> exp.Expression:
    """SUM of amounts (missing = 0), exact and the same on every engine: DECIMAL(38, 6) of the millionths' sum.

    The millionths are summed as DECIMAL(18, 0) (DuckDB: DECIMAL(38, 0), Spark: DECIMAL(28, 0), both
    exact in any order) and scaled by 10⁻⁶ in DECIMAL(38, 6) (exact; CAST to DOUBLE afterwards is
    correctly rounded on both). `where`: the aggregate's FILTER (NULL when no row passes it).
    """
    whole = exp.Cast(this=amount_micros(amount), to=exp.DataType.build("DECIMAL(18, 0)"))
    total: exp.Expression = exp.Sum(this=whole)
    if where is not None:
        total = exp.Filter(this=total, expression=exp.Where(this=where.copy()))
    unit = exp.Cast(this=exp.Literal.number("0.000001"), to=exp.DataType.build(MONETARY_TYPE))
    return exp.Cast(this=exp.Mul(this=total, expression=unit), to=exp.DataType.build(MONETARY_TYPE))


def class_rule(rollup: exp.Expression, day: date) -> tuple[exp.Expression, dict[str, object]]:
    """Per buyer: recency, frequency, monetary, scores and class, from a roll-up like `queries/rfm_rollup_at.sql`."""
    return named_query("rfm_at", rollup=rollup), {"as_of": day}


def at(ds: Dataset, day: date) -> tuple[exp.Expression, dict[str, object]]:
    """`_uid, value`: the RFM class at `day` of every buyer in the window (others: none)."""
    end = day_end(day)
    event = ds.config.purchase_event
    amount = exp.column("amount", quoted=True) if "amount" in ds.catalog.event_properties else exp.null()
    params: dict[str, object] = {
        "purchase": ds.catalog.event_code(event) if event in ds.catalog.events else -1,
        "start": end - timedelta(days=ds.config.rfm_window_days),
        "end": end,
    }
    rollup = exp.alias_(exp.Subquery(this=named_query("rfm_rollup_at", monetary=monetary_sum(amount))), "ru")
    classes, rule_params = class_rule(rollup, day)
    query = exp.select(
        exp.column("_uid", quoted=True), exp.alias_(exp.column("rfm_class"), "value", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=classes), "s"))
    return query, {**params, **rule_params}
