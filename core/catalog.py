"""What a segment definition may name in one opened dataset, and where it lives.

The derived cache holds one wide table, `profile`: one row per user with
`user_id`, every `users` attribute under its own name, the model tags
(`_rfm_class`, `_aipl_stage`, `_lifecycle`, `_recency_days`, `_frequency`,
`_monetary`, `_r_score`, `_f_score`, `_m_score`), one BOOLEAN column per tag
(`has`), a VARCHAR column per tag that carries values, and INTEGER per-user
event counters for the standard windows (never NULL, 0 when none).
Names starting with `_` are reserved for derived columns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

ColumnType = Literal["string", "integer", "number", "boolean", "timestamp", "date"]

# Windows (days) for which per-user event counters are precomputed; None = all time.
COUNTER_WINDOWS: tuple[int | None, ...] = (7, 30, 90, 180, 365, None)

RFM_CLASSES: tuple[str, ...] = (
    "important_value",
    "important_development",
    "important_retention",
    "important_recovery",
    "general_value",
    "general_development",
    "general_retention",
    "general_recovery",
    "none",
)
AIPL_STAGES: tuple[str, ...] = ("A", "I", "P", "L", "none")
LIFECYCLE_STATES: tuple[str, ...] = ("new", "active", "dormant", "churned", "never_active")

MODEL_COLUMNS = {"rfm": "_rfm_class", "aipl": "_aipl_stage", "lifecycle": "_lifecycle"}

UID = "_uid"  # the member number, in `profile` and `event_rows`
EI = "_ei"  # an event name's code in `event_rows` (see `event_codes`)


def event_codes(events: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Each event name's code: its 1-based position in the sorted list of names.

    The build's SQL twin is `list_position($events, event)` over the same sorted list.
    """
    return {e: i + 1 for i, e in enumerate(sorted(events))}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    distinct: int | None = None  # number of distinct non-null values (None = not counted)


@dataclass(frozen=True)
class TagInfo:
    tag: str  # path, e.g. "interest/food/baking"
    column: str  # BOOLEAN column in `profile`: the user has the tag
    value_column: str | None = None  # VARCHAR column with the tag's value, if the tag has values
    users: int = 0  # users who have it


@dataclass(frozen=True)
class Catalog:
    as_of: date
    total_users: int
    attributes: dict[str, Column] = field(default_factory=dict)  # users columns except user_id
    tags: dict[str, TagInfo] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    event_properties: dict[str, Column] = field(default_factory=dict)  # except user_id, event, ts
    # (event, window_days or None for all time) -> INTEGER column in `profile`
    event_counters: dict[tuple[str, int | None], str] = field(default_factory=dict)
    # event name -> its code in the cache's `event_rows._ei`
    event_codes: dict[str, int] = field(default_factory=dict)
    timezone: str = "UTC"

    def event_code(self, event: str) -> int:
        """The event's code in `event_rows._ei` (as stored by the build; else by the same rule)."""
        return (self.event_codes or event_codes(self.events))[event]

    @functools.cached_property
    def flag_columns(self) -> frozenset[str]:
        """`profile` columns holding a flag or a small count: tags, boolean attributes, event counters."""
        return frozenset(
            [t.column for t in self.tags.values()]
            + [name for name, col in self.attributes.items() if col.type == "boolean"]
            + list(self.event_counters.values())
        )

    def counter_column(self, event: str, window_days: int | None) -> str | None:
        return self.event_counters.get((event, window_days))
