"""The derived cache's metadata rows (`_meta`, `_events`, `_event_columns`, `_tag_columns`, `_attributes`,
`_event_properties`, `_health`), made the same way by DuckDB's build and by Spark's.

Each engine runs the same counting trees (`metadata_counts`: tag holders, exact distinct values) on its
own `profile` and `event_rows`, and turns them into rows here; `catalog_from_rows` reads them back into a
Catalog. Distinct values are counted exactly (`count(DISTINCT x)`): approximate counts differ between
engines (and between DuckDB and the truth: 41 cities for 40), and they choose the builder's widgets
(≤ 200 values: a pick list) and a breakdown's rows (≤ 12 whole numbers: one row a value).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlglot import exp

from core.catalog import Catalog, Column, ColumnType, TagInfo, event_codes
from core.config import DatasetConfig
from core.messages import counted, dump_message, load_message, msg
from core.problems import Problem

# each table's columns and DuckDB types, in order (the DuckDB build creates them so)
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "_meta": (("key", "varchar"), ("value", "varchar")),
    "_events": (("event", "varchar"), ("code", "integer")),
    "_event_columns": (("event", "varchar"), ("window_days", "integer"), ("col", "varchar")),
    "_tag_columns": (("tag", "varchar"), ("col", "varchar"), ("value_col", "varchar"), ("users", "bigint")),
    "_attributes": (("name", "varchar"), ("type", "varchar"), ("distinct_values", "bigint")),
    "_event_properties": (("name", "varchar"), ("type", "varchar"), ("distinct_values", "bigint")),
    "_health": (
        ("file", "varchar"),
        ("col", "varchar"),
        ("message", "varchar"),
        ("fix", "varchar"),
        ("severity", "varchar"),
        ("detail", "varchar"),
        ("fix_detail", "varchar"),
    ),
}
UNKNOWN_USERS = ("dataset.unknown_users", "dataset.unknown_users.one")  # the health row the build adds


def _count_distinct(name: str) -> exp.Expression:
    return exp.Count(this=exp.Distinct(expressions=[exp.column(name, quoted=True)]))


def metadata_counts(
    con: Any, tag_cols: list[str], attributes: list[str], properties: list[str], *, per_column: bool = False
) -> dict[str, list]:
    """Tag holders and exact distinct values of attributes (`profile`) and properties (`event_rows`).

    `con`: a DuckDB connection or Spark's BuildConnection; both run the same trees. `per_column`: each
    distinct count in a query of its own (DuckDB: ~1.2 s less than one query at 10M members, where the
    near-unique columns' hash tables compete for memory); Spark counts them all in one job.
    """

    def one_row(items: list[exp.Expression], table: str) -> list:
        if not items:
            return []
        return list(con.execute(exp.select(*items).from_(table).sql("duckdb")).fetchone())

    def distinct(names: list[str], table: str) -> list:
        if per_column:
            return [one_row([_count_distinct(n)], table)[0] for n in names]
        return one_row([_count_distinct(n) for n in names], table)

    return {
        "holders": one_row([exp.func("count_if", exp.column(c, quoted=True)) for c in tag_cols], "profile"),
        "attributes": distinct(attributes, "profile"),
        "properties": distinct(properties, "event_rows"),
    }


def health_problems(warnings: tuple[Problem, ...] | list[Problem], unknown: int) -> list[Problem]:
    """The validation warnings, and a warning for the events (up to as_of) of ids not in `users`."""
    health = list(warnings)
    if unknown:
        health.append(
            Problem.of(
                "events",
                "user_id",
                counted("dataset.unknown_users", unknown),
                msg("dataset.unknown_users.fix"),
                "warning",
            )
        )
    return health


def validation_warnings(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    """An opened dataset's health without the build's own unknown-users row: the validator's warnings."""
    return tuple(p for p in problems if p.detail is None or p.detail.code not in UNKNOWN_USERS)


def metadata_rows(
    root: Path,
    config: DatasetConfig,
    as_of: date,
    events: list[str],
    counter_cols: dict[tuple[str, int | None], str],
    tag_cols: list[tuple[str, str, str | None]],
    attributes: list[tuple[str, ColumnType]],
    properties: list[tuple[str, ColumnType]],
    counts: dict[str, list],
    health: list[Problem],
) -> dict[str, list[list]]:
    """Every metadata table's rows, in the order the DuckDB build inserts them."""
    return {
        "_meta": [["as_of", as_of.isoformat()], ["dataset", str(root)], ["config", json.dumps(str(config))]],
        "_events": [[e, code] for e, code in event_codes(events).items()],
        "_event_columns": [[e, w, c] for (e, w), c in counter_cols.items()],
        "_tag_columns": [
            [tag, col, value_col, n] for (tag, col, value_col), n in zip(tag_cols, counts["holders"], strict=True)
        ],
        "_attributes": [[n, t, d] for (n, t), d in zip(attributes, counts["attributes"], strict=True)],
        "_event_properties": [[n, t, d] for (n, t), d in zip(properties, counts["properties"], strict=True)],
        "_health": [
            [w.file, w.column, w.message, w.fix, w.severity, dump_message(w.detail), dump_message(w.fix_detail)]
            for w in health
        ],
    }


def catalog_from_rows(rows: dict[str, list], total_users: int, config: DatasetConfig) -> tuple[date, Catalog, tuple]:
    """(as_of, the catalog, the health problems) from the metadata rows, as the cache's reader makes them."""
    as_of = date.fromisoformat(dict(rows["_meta"])["as_of"])
    codes = dict(sorted((e, c) for e, c in rows["_events"]))
    catalog = Catalog(
        as_of=as_of,
        total_users=total_users,
        attributes={n: Column(n, t, d) for n, t, d in sorted(rows["_attributes"])},
        tags={tag: TagInfo(tag, col, value_col, users) for tag, col, value_col, users in sorted(rows["_tag_columns"])},
        events=tuple(codes),
        event_properties={n: Column(n, t, d) for n, t, d in sorted(rows["_event_properties"])},
        event_counters={(e, w): col for e, w, col in rows["_event_columns"]},
        event_codes=codes,
        timezone=config.timezone,
    )
    health = tuple(
        Problem(*row[:5], load_message(row[5]), load_message(row[6]))  # type: ignore[arg-type]
        for row in rows["_health"]
    )
    return as_of, catalog, health
