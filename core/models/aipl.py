"""AIPL stage at a date (DATA_CONTRACT.md): `queries/aipl_at.sql` over a roll-up of the lookback window."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlglot import exp

from core.config import DatasetConfig
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset


def day_end(day: date) -> datetime:
    """The first moment after `day`: windows ending on `day` end here, exclusive."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time())


def stage_rule(rollup: exp.Expression, config: DatasetConfig) -> tuple[exp.Expression, dict[str, object]]:
    """`_uid, aipl_stage` from a roll-up with the columns of `queries/aipl_rollup_at.sql`."""
    return named_query("aipl_at", rollup=rollup), {"loyalty_min_purchases": config.aipl.loyalty_min_purchases}


def stage_case(table: str, config: DatasetConfig) -> tuple[exp.Expression, dict[str, object]]:
    """The rule's CASE alone over the roll-up's columns in `table` (the cache build's profile: no join)."""
    query, params = stage_rule(exp.to_table(table), config)
    case = query.find(exp.Case).copy()
    for column in case.find_all(exp.Column):
        column.set("table", exp.to_identifier(table))
    return case, params


def _codes(ds: Dataset, names) -> list[int]:
    return [ds.catalog.event_code(n) for n in names if n in ds.catalog.events]


def at(ds: Dataset, day: date) -> tuple[exp.Expression, dict[str, object]]:
    """`_uid, value`: the stage at `day` of every member with an AIPL event in the window (others: none)."""
    cfg = ds.config.aipl
    end = day_end(day)
    groups = {
        "purchase": _codes(ds, [ds.config.purchase_event]),
        "loyalty": _codes(ds, cfg.loyalty_events),
        "interest": _codes(ds, cfg.interest),
        "awareness": _codes(ds, cfg.awareness),
    }
    params: dict[str, object] = {k: v for k, v in groups.items()}
    params["codes"] = sorted({c for v in groups.values() for c in v})
    params["start"] = end - timedelta(days=cfg.lookback_days)
    params["end"] = end
    rollup = exp.alias_(exp.Subquery(this=named_query("aipl_rollup_at")), "ru")
    stages, rule_params = stage_rule(rollup, ds.config)
    query = exp.select(
        exp.column("_uid", quoted=True), exp.alias_(exp.column("aipl_stage"), "value", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=stages), "s"))
    return query, {**params, **rule_params}
