"""The contract's assignments resolved per member in the derived cache: `ab_members` and `ab_unknown`.

The A/B engine (core/analyses/experiments.py) reads these instead of joining every assignment's
text id to `profile` and grouping per member on each read: at 10 M members that join and
grouping were most of the experiments list's 11 s. Built once per data version, like `profile`.
Columns: `ab_members` (experiment, _uid, assigned_at, v, variant, multiple); `ab_unknown`
(experiment, multiple_exposure, unknown_users).
"""

from __future__ import annotations

import duckdb

from core.dataset.build_events import create_table
from core.queries import load_query

AB_TABLES = ("ab_members", "ab_unknown")


def build_assignments(con: duckdb.DuckDBPyConnection, has_assignments: bool) -> None:
    """`ab_members` and `ab_unknown` (empty tables when there are no assignments); needs `_uids`."""
    if has_assignments:
        create_table(con, "ab_members", load_query("ab_members_build"), {})
        create_table(con, "ab_unknown", load_query("ab_unknown_build"), {})
        return
    create_table(con, "ab_members", load_query("ab_members_empty"), {})
    create_table(con, "ab_unknown", load_query("ab_unknown_empty"), {})
