"""RFM class at a date (DATA_CONTRACT.md): `queries/rfm_at.sql` over a roll-up of the purchases in the window."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlglot import exp

from core.models.aipl import day_end
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset


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
    rollup = exp.alias_(exp.Subquery(this=named_query("rfm_rollup_at", amount=amount)), "ru")
    classes, rule_params = class_rule(rollup, day)
    query = exp.select(
        exp.column("_uid", quoted=True), exp.alias_(exp.column("rfm_class"), "value", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=classes), "s"))
    return query, {**params, **rule_params}
