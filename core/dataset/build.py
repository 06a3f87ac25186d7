"""Building the derived cache: a handful of DuckDB statements into a temporary file renamed when complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from core.config import DatasetConfig
from core.dataset.build_events import (
    build_event_rows,
    build_uids,
    create_table,
    event_properties,
)
from core.dataset.build_rollup import build_user_events
from core.dataset.build_tables import build_metadata, build_profile, build_tags
from core.dataset.connection import connect, register_parquet_views
from core.messages import msg
from core.models.rfm import class_rule
from core.problems import DatasetError, Problem, ValidationReport
from core.queries import load_query

if TYPE_CHECKING:
    pass


# --- building the cache -------------------------------------------------------------------------
#
# The build at 10M members / 100M events is a handful of DuckDB statements, each shaped so
# that it stays in memory and touches memory in order:
#   1. `_uids`: every member's number (`_uid`, its row across the users files).
#   2. `event_rows`: the events up to as_of, keyed by `_uid` with the event name as a small
#      code (`_ei`), sorted by (event, time). Kept in the cache: clauses the counters cannot
#      answer (`where`, `between`, other windows) read a slice of it instead of the Parquet files.
#   3. the per-member roll-up reads a copy sorted by member: a hash aggregate whose input
#      arrives member by member updates states that are already in the CPU cache, about twice
#      as fast as the same aggregate over the events in file order. (A numpy roll-up over
#      `event_rows`' (event, time) slices was tried: no faster at 10M and ~2.5 GB more memory.)
#   4. tags as bit masks, then `profile`: one row per member, joined on `_uid`.


def build_cache(
    root: Path,
    config: DatasetConfig,
    files: dict[str, list[Path]],
    cache_path: Path,
    progress: Callable[[str], None] | None,
    warnings: tuple[Problem, ...],
) -> None:
    say = progress or (lambda _msg: None)
    tmp = cache_path.with_name(f"{cache_path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = connect(str(tmp), timezone=config.timezone, preserve_insertion_order=False)
    # the build may use more memory than a reader: the per-user aggregation is the peak
    con.execute("SET memory_limit = $m", {"m": os.environ.get("ADESK_BUILD_MEMORY_LIMIT", "5GB")})
    try:
        register_parquet_views(con, files)
        as_of = config.as_of or con.execute(load_query("dataset_latest_event")).fetchone()[0]
        if as_of is None:
            raise DatasetError(
                ValidationReport(
                    str(root),
                    (Problem.of("events", "ts", msg("dataset.no_events"), msg("dataset.no_events.fix")),),
                )
            )
        as_of_end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
        events = [
            r[0]
            for r in con.execute("select distinct event from events where event is not null order by event").fetchall()
        ]
        props = event_properties(con, root)
        say("members")
        build_uids(con, files["users"])
        say("events: a copy keyed by member, sorted by event and time")
        unknown = build_event_rows(con, events, props, as_of_end)
        say("per-member event roll-up")
        counter_cols = build_user_events(con, config, events, as_of_end, [n for n, _ in props])
        say("model tags: RFM, AIPL")
        # the models' rules at as_of (core/models), over this build's roll-up; AIPL's is a CASE in the profile
        create_table(con, "rfm", *class_rule(exp.to_table("user_events"), as_of), temp=True)
        say("tags")
        tag_cols = build_tags(con, files)
        # the contract's assignments are resolved per member on first need, not here (core/analyses/ab_members.py)
        con.execute("drop table _uids")  # memory for the profile's join
        say("profile")
        build_profile(con, config, as_of_end, events, counter_cols, tag_cols)
        # the profile's inputs (~3 GB at 10M members) go before the catalog reads the profile back
        con.execute("drop table if exists rfm; drop table if exists user_events; drop table if exists tag_pivot;")
        say("catalog: column types, distinct values, tag holders")
        # one transaction: each autocommitted row of executemany is a commit (an fsync), ~3 s for the
        # catalog's ~150 rows on this machine's disk
        con.execute("begin transaction")
        build_metadata(con, root, config, as_of, events, props, counter_cols, tag_cols, warnings, unknown)
        con.execute("commit")
        # only `profile`, `event_rows` and the metadata stay; the views name absolute file paths
        con.execute(
            "drop view if exists users_n; drop view if exists users; drop view if exists events;"
            " drop view if exists tags;"
            " drop view if exists tag_catalog; drop view if exists assignments;"
        )
        say("writing the cache file")
        con.execute("checkpoint")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    con.close()
    os.replace(tmp, cache_path)
