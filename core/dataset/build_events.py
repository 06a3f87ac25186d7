"""The cache build's event steps: member numbers and `event_rows` (the per-member roll-up: build_rollup.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from core.catalog import EI, UID
from core.dataset.connection import is_partition_column, parquet_source, table_view_sql


def create_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    select: str | exp.Expression,
    params: dict[str, object],
    *,
    temp: bool = False,
) -> None:
    """CREATE TABLE name AS select; with `temp`, a temporary table (in memory, spilling if it must; not cached)."""
    if temp:
        query = sqlglot.parse_one(select, dialect="duckdb") if isinstance(select, str) else select
        con.execute(
            exp.Create(
                this=exp.to_table(name, quoted=True),
                kind="TABLE",
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
                expression=query,
            ).sql("duckdb"),
            params or None,
        )
    else:
        con.sql(select if isinstance(select, str) else select.sql("duckdb"), params=params).to_table(name)


def event_properties(con: duckdb.DuckDBPyConnection, root: Path) -> list[tuple[str, str]]:
    """Event properties (name, DuckDB type): every events column but user_id, event, ts and hive partition keys."""
    reserved = {"user_id", "event", "ts", UID, EI}
    return [
        (r[0], r[1])
        for r in con.execute("describe events").fetchall()
        if r[0] not in reserved and not is_partition_column(root, r[0])
    ]


def build_uids(con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
    """`users_n`: the users view plus `_uid`, the member's row across the files; `_uids(user_id, _uid)`.

    The number comes from the Parquet row position (no window function: `row_number()`
    over 10M rows runs on one thread), offset by the rows of the files before it.
    """
    paths = [str(f) for f in files]
    sizes = dict(con.execute("select file_name, num_rows from parquet_file_metadata($f)", {"f": paths}).fetchall())
    offsets, total = [], 0
    for f in paths:
        offsets.append(total)
        total += int(sizes.get(f, 0))
    source = parquet_source(files, row_numbers=True)
    users = sqlglot.parse_one(
        table_view_sql("users", files, con), dialect="duckdb"
    ).expression  # the users view's SELECT
    uid = exp.Add(
        this=exp.column("file_row_number"),
        expression=exp.func(
            "list_extract",
            exp.Array(expressions=[exp.Literal.number(o) for o in offsets]),
            exp.func(
                "list_position", exp.Array(expressions=[exp.Literal.string(f) for f in paths]), exp.column("filename")
            ),
        ),
    )
    numbered = exp.Select(
        expressions=[
            *users.expressions,
            exp.alias_(exp.Cast(this=uid, to=exp.DataType.build("INTEGER")), UID, quoted=True),
        ]
    ).from_(source)
    con.execute(
        exp.Create(
            this=exp.to_table("users_n"), kind="VIEW", replace=True, expression=_exclude_row_columns(numbered)
        ).sql("duckdb")
    )
    create_table(
        con, "_uids", exp.select(exp.column("user_id"), exp.column(UID, quoted=True)).from_("users_n"), {}, temp=True
    )


def _exclude_row_columns(select: exp.Select) -> exp.Select:
    """SELECT * EXCLUDE (file_row_number, filename) REPLACE (...), _uid FROM ... (the star of the users view)."""
    for e in select.expressions:
        if isinstance(e, exp.Star):
            e.set("except", [exp.column("file_row_number"), exp.column("filename")])
    return select


PREPASS_ROWS = 2_000_000  # events read to tell few-valued text properties from free text
CODED_MAX = 65_535  # text properties with at most this many values travel through the sort as USMALLINT codes


def _events_prepass(
    con: duckdb.DuckDBPyConnection, props: list[tuple[str, str]], as_of_end: datetime
) -> tuple[int, dict[str, list[str]]]:
    """The events up to as_of that have a user_id, and for each text property with few distinct
    values, its values (a code is a 1-based position in the list). One full pass over the text properties.

    The sort of ~100M event rows is the most expensive step of the build and its cost is the
    width of the rows it moves: a 2-byte code instead of a 16-byte string keeps the sort in
    memory. Free-text properties (more values than a code holds) are sorted as they are.
    Which properties have few values is judged on the first rows (a second full pass cost ~6 s
    at 100M events); a misjudged one only makes its list longer, and a list longer than a code
    holds is not used, so the rows are the same either way.
    """
    text = [n for n, t in props if t == "VARCHAR"]
    where = exp.LT(this=exp.column("ts"), expression=exp.Placeholder(this="as_of_end"))
    few: list[str] = []
    if text:
        # the first rows the scan meets stand for the rest: a LIMIT stops reading there
        first = exp.select(*[exp.column(n, quoted=True) for n in text]).from_("events").where(where).limit(PREPASS_ROWS)
        approx = con.execute(
            exp.select(*[exp.func("approx_count_distinct", exp.column(n, quoted=True)) for n in text])
            .from_(exp.alias_(exp.Subquery(this=first), "f"))
            .sql("duckdb"),
            {"as_of_end": as_of_end},
        ).fetchall()[0]
        # rows seen hold at most the column's values: a column with few values shows few
        few = [n for n, d in zip(text, approx, strict=True) if (d or 0) <= CODED_MAX // 2]
    # count(user_id) alone: DuckDB answers it from the row groups' statistics wherever every row of a
    # group is before as_of, without reading the user_id strings (read with the lists, ~4 s at 100M events)
    seen = con.execute(
        exp.select(exp.Count(this=exp.column("user_id"))).from_("events").where(where).sql("duckdb"),
        {"as_of_end": as_of_end},
    ).fetchall()[0][0]
    lists = []
    if few:
        lists = con.execute(
            exp.select(
                *[
                    exp.Filter(
                        this=exp.func("list", exp.Distinct(expressions=[exp.column(n, quoted=True)])),
                        expression=exp.Where(this=exp.column(n, quoted=True).is_(exp.null()).not_()),
                    )
                    for n in few
                ],
            )
            .from_("events")
            .where(where)
            .sql("duckdb"),
            {"as_of_end": as_of_end},
        ).fetchall()[0]
    # a property with no value at all travels as it is: decoding from an empty list would type it NULL, not text
    return seen, {n: list(v) for n, v in zip(few, lists, strict=True) if v and len(v) <= CODED_MAX}


def event_code_type(events: list[str]) -> str:
    """The smallest unsigned integer type that holds an event's code (its position in `events`)."""
    return "UTINYINT" if len(events) < 255 else "USMALLINT" if len(events) < 65_535 else "UINTEGER"


def event_rows_select(code_type: str, carried: list[exp.Expression]) -> exp.Select:
    """Events (`e`) of known members (`_uids` `u`) up to `$as_of_end`, coded by `$events`, sorted by (_ei, ts).

    `carried` are the properties as they travel through the sort (the Spark build passes them plain).
    """
    e, u = "e", "u"
    return (
        exp.select(
            exp.alias_(exp.column(UID, table=u, quoted=True), UID, quoted=True),
            exp.alias_(
                exp.Cast(
                    this=exp.func("list_position", exp.Placeholder(this="events"), exp.column("event", table=e)),
                    to=exp.DataType.build(code_type, dialect="duckdb"),
                ),
                EI,
                quoted=True,
            ),
            exp.column("ts", table=e),
            *carried,
        )
        .from_(exp.alias_(exp.to_table("events"), e))
        .join(
            exp.alias_(exp.to_table("_uids"), u),
            on=exp.EQ(this=exp.column("user_id", table=u), expression=exp.column("user_id", table=e)),
        )
        .where(exp.LT(this=exp.column("ts", table=e), expression=exp.Placeholder(this="as_of_end")))
        .order_by(exp.column(EI, quoted=True), exp.column("ts"))
    )


def build_event_rows(
    con: duckdb.DuckDBPyConnection, events: list[str], props: list[tuple[str, str]], as_of_end: datetime
) -> int:
    """`event_rows(_uid, _ei, ts, <properties>)`: events of known members up to as_of, sorted by (_ei, ts).

    Returns the number of events (up to as_of) of user_ids that are not in users.
    """
    code_type = event_code_type(events)
    seen, codes = _events_prepass(con, props, as_of_end)
    params: dict[str, object] = {"events": events, "as_of_end": as_of_end}
    lists = {
        name: f"values_{i}" for i, (name, _) in enumerate(props) if name in codes
    }  # property -> its list parameter
    params.update({lists[name]: values for name, values in codes.items()})
    e = "e"  # the events' alias in event_rows_select

    def carried(name: str) -> exp.Expression:
        """The property as it travels through the sort: its code when it has one."""
        column = exp.column(name, table=e, quoted=True)
        if name not in lists:
            return column
        found = exp.func("list_position", exp.Placeholder(this=lists[name]), column)
        return exp.alias_(exp.Cast(this=found, to=exp.DataType.build("USMALLINT", dialect="duckdb")), name, quoted=True)

    def decoded(name: str) -> exp.Expression:
        column = exp.column(name, quoted=True)
        return (
            exp.alias_(exp.func("list_extract", exp.Placeholder(this=lists[name]), column), name, quoted=True)
            if name in lists
            else column
        )

    sorted_rows = event_rows_select(code_type, [carried(name) for name, _ in props])
    # decoded after the sort: a projection above ORDER BY keeps the order
    select = exp.select(
        exp.column(UID, quoted=True),
        exp.column(EI, quoted=True),
        exp.column("ts"),
        *[decoded(name) for name, _ in props],
    ).from_(exp.alias_(exp.Subquery(this=sorted_rows), "s"))
    create_table(con, "event_rows", select, params)
    kept = con.execute("select count(*) from event_rows").fetchone()[0]
    return seen - kept
