"""Lifecycle state at a date (DATA_CONTRACT.md): `queries/lifecycle_at.sql`, its bounds taken from the date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlglot import exp

from core.config import DatasetConfig
from core.models.aipl import day_end
from core.queries import named_query

if TYPE_CHECKING:
    from core.dataset import Dataset


def bounds(day: date, config: DatasetConfig) -> dict[str, object]:
    """The windows of the rule ending on `day` (the last N days: [day + 1 - N, day + 1))."""
    end = day_end(day)
    lc = config.lifecycle
    return {
        "as_of_end": end,
        "new_start": end - timedelta(days=lc.new_days),
        "active_start": end - timedelta(days=lc.active_days),
        "dormant_start": end - timedelta(days=lc.dormant_days),
    }


def state_rule(
    members: exp.Expression, signup_at: exp.Expression, last_event_at: exp.Expression, has_events: exp.Expression
) -> exp.Expression:
    """`_uid, lifecycle` over `members`; the slots say where signup, the last event and "has events" come from."""
    return named_query(
        "lifecycle_at", members=members, signup_at=signup_at, last_event_at=last_event_at, has_events=has_events
    )


def state_case(signup_at: exp.Expression, last_event_at: exp.Expression, has_events: exp.Expression) -> exp.Expression:
    """The rule's CASE alone, to compute the state inside a bigger select (the cache build's profile)."""
    query = state_rule(exp.to_table("members"), signup_at, last_event_at, has_events)
    return query.find(exp.Case).copy()


def at(ds: Dataset, day: date) -> tuple[exp.Expression, dict[str, object]]:
    """`_uid, value`: the lifecycle state at `day` of every member."""
    params = bounds(day, ds.config)
    signup = exp.column("signup_at", table="p", quoted=True) if "signup_at" in ds.catalog.attributes else exp.null()
    members = exp.alias_(exp.Subquery(this=named_query("lifecycle_members_at", signup_at=signup)), "m")
    rule = state_rule(members, exp.column("signup_at"), exp.column("last_event_at"), exp.column("has_events"))
    query = exp.select(
        exp.column("_uid", quoted=True), exp.alias_(exp.column("lifecycle"), "value", quoted=True)
    ).from_(exp.alias_(exp.Subquery(this=rule), "s"))
    return query, params
