"""The cache build's event steps: member numbers, `event_rows`, and the per-member counters."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS, EI, UID, event_codes
from core.config import DatasetConfig
from core.dataset.connection import SLOT_BITS, is_partition_column, parquet_source, table_view_sql
from core.problems import DatasetError, Problem, ValidationReport

if TYPE_CHECKING:
    pass


def create_table(
    con: duckdb.DuckDBPyConnection,
    name: str,
    select: str | exp.Expression,
    params: dict[str, object],
    *,
    temp: bool = False,
) -> None:
    """CREATE TABLE name AS select; with `temp`, a temporary table: in memory (spilling if it must), never in the cache file."""
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


def _window_name(w: int | None) -> str:
    return "all" if w is None else str(w)


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
    values, its values (a code is a 1-based position in the list). One full pass for both.

    The sort of ~100M event rows is the most expensive step of the build and its cost is the
    width of the rows it moves: a 2-byte code instead of a 16-byte string keeps the sort in
    memory. Free-text properties (more values than a code holds) are sorted as they are.
    Which properties have few values is judged on the first rows (a second full pass cost ~6 s
    at 100M events); a misjudged one only makes its list longer, and a list longer than a code
    holds is not used, so the rows are the same either way.
    """
    text = [n for n, t in props if t == "VARCHAR"]
    where = exp.LT(this=exp.column("ts"), expression=exp.Placeholder(this="as_of_end"))
    with_user = exp.Filter(
        this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.column("user_id").is_(exp.null()).not_())
    )
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
    seen, *lists = con.execute(
        exp.select(
            with_user,
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
    return seen, {n: list(v or []) for n, v in zip(few, lists, strict=True) if len(v or []) <= CODED_MAX}


def build_event_rows(
    con: duckdb.DuckDBPyConnection, events: list[str], props: list[tuple[str, str]], as_of_end: datetime
) -> int:
    """`event_rows(_uid, _ei, ts, <properties>)`: events of known members up to as_of, sorted by (_ei, ts).

    Returns the number of events (up to as_of) of user_ids that are not in users.
    """
    code_type = "UTINYINT" if len(events) < 255 else "USMALLINT" if len(events) < 65_535 else "UINTEGER"
    seen, codes = _events_prepass(con, props, as_of_end)
    params: dict[str, object] = {"events": events, "as_of_end": as_of_end}
    lists = {
        name: f"values_{i}" for i, (name, _) in enumerate(props) if name in codes
    }  # property -> its list parameter
    params.update({lists[name]: values for name, values in codes.items()})
    e, u = "e", "u"

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

    sorted_rows = (
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
            *[carried(name) for name, _ in props],
        )
        .from_(exp.alias_(exp.to_table("events"), e))
        .join(
            exp.alias_(exp.to_table("_uids"), u),
            on=exp.EQ(this=exp.column("user_id", table=u), expression=exp.column("user_id", table=e)),
        )
        .where(exp.LT(this=exp.column("ts", table=e), expression=exp.Placeholder(this="as_of_end")))
        .order_by(exp.column(EI, quoted=True), exp.column("ts"))
    )
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


def _packed(i: int, table: str | None = None) -> exp.Expression:
    """Event `i`'s packed counter sum `pk_<i>` (0 for a member without events)."""
    return exp.func("coalesce", exp.column(f"pk_{i}", table=table, quoted=True), exp.Literal.number(0))


def _slot(packed: exp.Expression, slot: int) -> exp.Expression:
    """Counter slot `slot` of a packed value, as an INTEGER."""
    shifted = exp.BitwiseRightShift(this=packed, expression=exp.Literal.number(SLOT_BITS * slot))
    return exp.Cast(
        this=exp.paren(exp.BitwiseAnd(this=shifted, expression=exp.Literal.number((1 << SLOT_BITS) - 1))),
        to=exp.DataType.build("INTEGER"),
    )


# `user_events` hands the packed sums to the profile as UBIGINT halves of HALF_SLOTS slots each: the
# profile's ~70 counter columns then unpack with 64-bit shifts (HUGEINT ones cost ~1 s per 1M members more)
HALF_SLOTS = 64 // SLOT_BITS


def _half_name(i: int, h: int) -> str:
    return f"pk_{i}_{h}"


def _halves(i: int) -> list[exp.Expression]:
    """Event `i`'s packed sum split into UBIGINT halves `pk_<i>_<h>` (the carry above the top slot is checked apart)."""
    out = []
    for h in range(-(-len(COUNTER_WINDOWS) // HALF_SLOTS)):
        shifted = exp.BitwiseRightShift(this=_packed(i), expression=exp.Literal.number(SLOT_BITS * HALF_SLOTS * h))
        masked = exp.BitwiseAnd(this=shifted, expression=exp.Literal.number((1 << (SLOT_BITS * HALF_SLOTS)) - 1))
        out.append(
            exp.alias_(
                exp.Cast(this=exp.paren(masked), to=exp.DataType.build("UBIGINT", dialect="duckdb")),
                _half_name(i, h),
                quoted=True,
            )
        )
    return out


def counter(i: int, slot: int, table: str | None = None) -> exp.Expression:
    """Counter slot `slot` of event `i`, from the halves in `user_events` (0 for a member without events)."""
    half = exp.func(
        "coalesce", exp.column(_half_name(i, slot // HALF_SLOTS), table=table, quoted=True), exp.Literal.number(0)
    )
    return _slot(half, slot % HALF_SLOTS)


def build_user_events(
    con: duckdb.DuckDBPyConnection, config: DatasetConfig, events: list[str], as_of_end: datetime, props: list[str]
) -> dict[tuple[str, int | None], str]:
    """One aggregate over the event rows: every per-member figure the model tags and the live counts need.

    The per-member counters (one INTEGER column per event and window) are computed with
    one aggregate per event, not one per (event, window): each event row carries a
    HUGEINT with a 1 in a 21-bit slot for every counter window it falls in, and the
    per-member SUM holds all six counts at once. DuckDB pays per distinct filtered
    aggregate per row, so this is ~5x cheaper than 72 FILTERs.
    """
    index = event_codes(events)

    def ei_in(names) -> exp.Expression:
        ids = [index[n] for n in names if n in index]
        if not ids:
            return exp.false()
        return exp.In(this=exp.column("ei"), expressions=[exp.Literal.number(i) for i in ids])

    def since(days: int) -> exp.Expression:
        return exp.GTE(this=exp.column("ts"), expression=exp.Placeholder(this=f"start_{days}"))

    def agg(func: exp.Expression, cond: exp.Expression, name: str) -> exp.Expression:
        return exp.alias_(exp.Filter(this=func, expression=exp.Where(this=cond)), name, quoted=True)

    windows = [w for w in COUNTER_WINDOWS if w is not None]
    params: dict[str, object] = {}
    for w in set(windows) | {config.rfm_window_days, config.aipl.lookback_days}:
        params[f"start_{w}"] = as_of_end - timedelta(days=w)
    purchase = ei_in([config.purchase_event])
    ts = exp.column("ts")
    count = exp.Count(this=exp.Star())

    # slot s (0..5) counts the windows COUNTER_WINDOWS[s]; a row in the newest window b counts in b..5
    packed_case = exp.Case()
    for b, w in enumerate(windows):
        packed_case = packed_case.when(
            since(w), exp.Literal.number(sum(1 << (SLOT_BITS * s) for s in range(b, len(COUNTER_WINDOWS))))
        )
    packed_case = packed_case.else_(exp.Literal.number(1 << (SLOT_BITS * (len(COUNTER_WINDOWS) - 1))))

    inner: list[exp.Expression] = [
        exp.column(UID, quoted=True),
        exp.alias_(exp.Min(this=ts), "first_event_at", quoted=True),
        exp.alias_(exp.Max(this=ts), "last_event_at", quoted=True),
        exp.alias_(count, "n_events", quoted=True),
        agg(
            exp.Sum(this=exp.func("coalesce", exp.column("amount"), exp.Literal.number(0))),
            exp.and_(purchase, since(config.rfm_window_days)),
            "rfm_monetary",
        ),
        # the latest purchase / loyalty event overall: inside a window whenever the window holds one
        agg(exp.Max(this=ts), purchase, "last_purchase_at"),
        agg(exp.Min(this=ts), exp.and_(purchase, since(config.aipl.lookback_days)), "aipl_first_purchase_at"),
        agg(exp.Max(this=ts), ei_in(config.aipl.loyalty_events), "last_loyalty_at"),
    ]
    for i in index.values():
        inner.append(
            agg(
                exp.Sum(this=exp.column("pk")),
                exp.EQ(this=exp.column("ei"), expression=exp.Literal.number(i)),
                f"pk_{i}",
            )
        )

    def events_count(names, days: int) -> exp.Expression:
        """Events of these names in the last `days`: from the counters when that is a counter window."""
        ids = [index[n] for n in names if n in index]
        if days in windows:
            terms = [_slot(_packed(i), windows.index(days)) for i in ids]
            if not terms:
                return exp.Literal.number(0)
            total = terms[0]
            for t in terms[1:]:
                total = exp.Add(this=total, expression=t)
            return total
        name = f"n_{'_'.join(map(str, ids)) or 'none'}_{days}"
        inner.append(agg(count, exp.and_(ei_in(names), since(days)), name))
        return exp.column(name, quoted=True)

    outer: list[exp.Expression] = [
        exp.column(c, quoted=True)
        for c in (UID, "first_event_at", "last_event_at", "n_events", "rfm_monetary", "aipl_first_purchase_at")
    ]
    rfm_purchases = events_count([config.purchase_event], config.rfm_window_days)
    outer += [
        exp.alias_(rfm_purchases, "rfm_purchases", quoted=True),
        exp.alias_(
            exp.If(
                this=exp.GT(this=rfm_purchases.copy(), expression=exp.Literal.number(0)),
                true=exp.column("last_purchase_at"),
                false=exp.null(),
            ),
            "rfm_last_purchase_at",
            quoted=True,
        ),
        exp.alias_(events_count([config.purchase_event], config.aipl.lookback_days), "aipl_purchases", quoted=True),
        exp.alias_(
            exp.If(
                this=exp.GT(this=exp.column("last_loyalty_at"), expression=exp.column("aipl_first_purchase_at")),
                true=exp.column("last_loyalty_at"),
                false=exp.null(),
            ),
            "aipl_last_loyalty_at",
            quoted=True,
        ),
        exp.alias_(
            exp.GT(
                this=events_count(config.aipl.interest, config.aipl.lookback_days), expression=exp.Literal.number(0)
            ),
            "aipl_interested",
            quoted=True,
        ),
        exp.alias_(
            exp.GT(
                this=events_count(config.aipl.awareness, config.aipl.lookback_days), expression=exp.Literal.number(0)
            ),
            "aipl_aware",
            quoted=True,
        ),
    ]
    cols: dict[tuple[str, int | None], str] = {}
    overflow: list[exp.Expression] = []
    for ev, i in index.items():
        # the packed sums stay packed until the profile: 16 bytes a member instead of 24 for six
        # INTEGERs, which keeps the profile's join in memory
        outer.extend(_halves(i))
        for w in COUNTER_WINDOWS:
            cols[(ev, w)] = f"_ev_{i - 1}_{_window_name(w)}"
        # a carry out of the top slot means 2^21 or more events of one kind for one user
        overflow.append(
            exp.GT(
                this=exp.BitwiseRightShift(
                    this=_packed(i), expression=exp.Literal.number(SLOT_BITS * len(COUNTER_WINDOWS))
                ),
                expression=exp.Literal.number(0),
            )
        )
    overflow_any = overflow[0] if overflow else exp.false()
    for o in overflow[1:]:
        overflow_any = exp.or_(overflow_any, o)
    outer.append(exp.alias_(overflow_any, "counter_overflow", quoted=True))

    # The event rows sorted by member (a radix sort of small integers): the aggregate below then
    # finds each member's state where it left it, instead of one cache miss per row and aggregate.
    amount = exp.column("amount", quoted=True) if "amount" in props else exp.alias_(exp.null(), "amount")
    by_member = (
        exp.select(exp.column(UID, quoted=True), exp.alias_(exp.column(EI, quoted=True), "ei"), ts, amount)
        .from_("event_rows")
        .order_by(exp.column(UID, quoted=True))
    )
    create_table(con, "_ev_by_member", by_member, {}, temp=True)
    coded = exp.select(
        exp.column(UID, quoted=True), exp.column("ei"), ts, exp.column("amount"), exp.alias_(packed_case, "pk")
    ).from_("_ev_by_member")
    grouped = exp.select(*inner).from_(exp.alias_(exp.Subquery(this=coded), "e")).group_by(exp.column(UID, quoted=True))
    select = exp.select(*outer).from_(exp.alias_(exp.Subquery(this=grouped), "g"))
    create_table(con, "user_events", select, params, temp=True)
    con.execute("drop table _ev_by_member")
    if con.execute("select count(*) from user_events where counter_overflow").fetchall()[0][0]:
        raise DatasetError(
            ValidationReport(
                "events",
                (
                    Problem(
                        "events",
                        "user_id",
                        f"some members have {1 << SLOT_BITS:,} or more events of one kind; the per-member counters cannot hold that.",
                        "Remove bot or test accounts from events (or ask the developers to widen SLOT_BITS).",
                    ),
                ),
            )
        )
    return cols
