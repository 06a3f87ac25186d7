"""The cache build's per-member roll-up of the events (`user_events`) and its packed counters.

Split from core/dataset/build_events.py (the event steps) when that module passed 400 lines.
The roll-up is counted with numpy straight from `event_rows`, which is sorted by (event, time):
each event is a slice, each counter window a suffix of it (found by binary search), so a
counter is a `bincount` over contiguous rows and no copy re-sorted by member is needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS, EI, UID, event_codes
from core.config import DatasetConfig
from core.dataset.build_events import create_table
from core.dataset.connection import SLOT_BITS
from core.messages import msg
from core.models.rfm import monetary_sum
from core.problems import DatasetError, Problem, ValidationReport

COUNTER_LIMIT = 1 << SLOT_BITS  # events of one kind per member a counter slot holds
_BATCH = 1 << 20  # rows per Arrow batch when reading event_rows
_NO_TIME_MIN = np.iinfo(np.int64).max  # "no event yet" for a running minimum of epoch microseconds
_NO_TIME_MAX = np.iinfo(np.int64).min


def _window_name(w: int | None) -> str:
    return "all" if w is None else str(w)


def _slot(packed: exp.Expression, slot: int) -> exp.Expression:
    """Counter slot `slot` of a packed value, as an INTEGER."""
    shifted = exp.BitwiseRightShift(this=packed, expression=exp.Literal.number(SLOT_BITS * slot))
    return exp.Cast(
        this=exp.paren(exp.BitwiseAnd(this=shifted, expression=exp.Literal.number((1 << SLOT_BITS) - 1))),
        to=exp.DataType.build("INTEGER"),
    )


# `user_events` hands the packed counters to the profile as UBIGINT halves of HALF_SLOTS slots each: the
# profile's ~70 counter columns then unpack with 64-bit shifts (HUGEINT ones cost ~1 s per 1M members more)
HALF_SLOTS = 64 // SLOT_BITS
N_HALVES = -(-len(COUNTER_WINDOWS) // HALF_SLOTS)


def _half_name(i: int, h: int) -> str:
    return f"pk_{i}_{h}"


def counter(i: int, slot: int, table: str | None = None) -> exp.Expression:
    """Counter slot `slot` of event `i`, from the halves in `user_events` (0 for a member without events)."""
    half = exp.func(
        "coalesce", exp.column(_half_name(i, slot // HALF_SLOTS), table=table, quoted=True), exp.Literal.number(0)
    )
    return _slot(half, slot % HALF_SLOTS)


def epoch_us(t: datetime) -> int:
    """A naive timestamp as microseconds since 1970-01-01 (DuckDB's epoch_us of a TIMESTAMP)."""
    return (t - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def read_event_rows(con: duckdb.DuckDBPyConnection, n_codes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`event_rows`' (_uid, _ei, ts as epoch microseconds) in the table's order, checked sorted by (_ei, ts).

    A row without an event name (`_ei` NULL, sorted last) reads as the code type's largest value (`null_code`):
    it counts in `n_events` and the first / last event times, as in the SQL roll-up, and in no counter.

    The arrays are filled batch by batch (no second copy of ~100M rows); a table scan keeps the
    stored order only with `preserve_insertion_order`, set for this read. Were the rows ever not
    in (_ei, ts) order, they are sorted here, so the roll-up never depends on it.
    """
    n = con.execute("select count(*) from event_rows").fetchone()[0]
    code = np.uint8 if n_codes < 255 else np.uint16 if n_codes < 65_535 else np.uint32  # as event_code_type
    uid, ei, ts = np.empty(n, np.int32), np.empty(n, code), np.empty(n, np.int64)
    kept = con.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = true")
    try:
        query = exp.select(
            exp.column(UID, quoted=True),
            exp.func("coalesce", exp.column(EI, quoted=True), exp.Literal.number(int(np.iinfo(code).max))),
            exp.func("epoch_us", exp.column("ts")),
        ).from_("event_rows")
        at = 0
        for batch in con.sql(query.sql("duckdb")).to_arrow_reader(_BATCH):
            k = batch.num_rows
            uid[at : at + k] = batch.column(0).to_numpy(zero_copy_only=False)
            ei[at : at + k] = batch.column(1).to_numpy(zero_copy_only=False)
            ts[at : at + k] = batch.column(2).to_numpy(zero_copy_only=False)
            at += k
    finally:
        con.execute("SET preserve_insertion_order = $v", {"v": bool(kept)})
    if n > 1:
        if not ((ei[1:] > ei[:-1]) | ((ei[1:] == ei[:-1]) & (ts[1:] >= ts[:-1]))).all():
            order = np.lexsort((ts, ei))
            uid, ei, ts = uid[order], ei[order], ts[order]
    return uid, ei, ts


def null_code(dtype: np.dtype) -> int:
    """The code `read_event_rows` gives a row without an event name: past every event's code, as NULLs sort last."""
    return int(np.iinfo(dtype).max)


class _Rollup:
    """Per-member figures of the event rows sorted by (_ei, ts): one array per figure, indexed by `_uid`."""

    def __init__(self, uid: np.ndarray, ei: np.ndarray, ts: np.ndarray, codes: list[int], members: int) -> None:
        self.uid, self.ts, self.members = uid, ts, members
        lo = np.searchsorted(ei, codes, side="left")
        hi = np.searchsorted(ei, codes, side="right")
        self.slices = {c: (int(a), int(b)) for c, a, b in zip(codes, lo, hi, strict=True)}

    def since(self, code: int, start: int) -> tuple[int, int]:
        """The rows of event `code` at or after `start` (epoch microseconds): a suffix of its slice."""
        a, b = self.slices[code]
        return a + int(np.searchsorted(self.ts[a:b], start, side="left")), b

    def count(self, rows: tuple[int, int]) -> np.ndarray:
        """Rows per member in a contiguous range of rows."""
        return np.bincount(self.uid[rows[0] : rows[1]], minlength=self.members)

    def time(self, codes: list[int], start: int | None, newest: bool) -> np.ndarray:
        """Per member, the newest (or oldest) time of these events at or after `start` (a sentinel if none)."""
        out = np.full(self.members, _NO_TIME_MAX if newest else _NO_TIME_MIN, np.int64)
        reduce = np.maximum if newest else np.minimum
        for c in codes:
            a, b = self.since(c, start) if start is not None else self.slices[c]
            reduce.at(out, self.uid[a:b], self.ts[a:b])
        return out

    def packed(self, code: int, starts: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Event `code`'s count over all time per member and its counters packed in SLOT_BITS slots, in halves.

        A row whose newest window is b counts in the slots b.. of every window from b on; the
        rows of each band between two window starts are contiguous, so each band adds one
        constant per half at its members' places. The last slot (all time) is the count itself.
        """
        total = self.count(self.slices[code])
        halves = [np.zeros(self.members, np.uint64) for _ in range(N_HALVES)]
        last = len(COUNTER_WINDOWS) - 1
        end = self.slices[code][1]
        for band, start in enumerate(starts):
            a = self.since(code, start)[0]
            for h, half in enumerate(halves):
                slots = range(max(band, h * HALF_SLOTS), min((h + 1) * HALF_SLOTS, last))
                step = sum(1 << (SLOT_BITS * (s - h * HALF_SLOTS)) for s in slots)
                if step and a < end:
                    np.add.at(half, self.uid[a:end], np.uint64(step))
            end = a
        return total, halves


def _timestamps(values: np.ndarray, none: int) -> pa.Array:
    """Epoch microseconds as an Arrow TIMESTAMP column (NULL where a member has no such event)."""
    return pa.array(values.view("datetime64[us]"), mask=values == none)


def _overflow_error() -> DatasetError:
    return DatasetError(
        ValidationReport(
            "events",
            (
                Problem.of(
                    "events",
                    "user_id",
                    msg("dataset.counter_overflow", limit=COUNTER_LIMIT),
                    msg("dataset.counter_overflow.fix"),
                ),
            ),
        )
    )


def build_user_events(
    con: duckdb.DuckDBPyConnection, config: DatasetConfig, events: list[str], as_of_end: datetime, props: list[str]
) -> dict[tuple[str, int | None], str]:
    """`user_events`: one row per member with events, every per-member figure the model tags and the live
    counts need, and each event's six counters packed in two UBIGINT halves (SLOT_BITS bits a slot).

    The counts, first/last times and counters come from numpy over `event_rows` (see the module's
    docstring); the purchase amount sum stays a DuckDB aggregate over the purchase rows in the RFM window.
    A member with COUNTER_LIMIT or more events of one kind stops the build with a coded message.
    """
    index = event_codes(events)
    # the ~1 GB of event arrays (10M members) are gone when _figures returns, before DuckDB copies the figures
    columns, types = _figures(con, config, index, as_of_end)
    purchase = sorted({index[config.purchase_event]} if config.purchase_event in index else set())
    rfm_start = as_of_end - timedelta(days=config.rfm_window_days)
    _create(con, pa.table(columns), index, purchase, rfm_start, "amount" in props, types)
    return {(ev, w): f"_ev_{i - 1}_{_window_name(w)}" for ev, i in index.items() for w in COUNTER_WINDOWS}


def _figures(
    con: duckdb.DuckDBPyConnection, config: DatasetConfig, index: dict[str, int], as_of_end: datetime
) -> tuple[dict[str, pa.Array], dict[str, str]]:
    """The per-member figures as Arrow columns indexed by `_uid` (every member; n_events 0 for none), and
    the SQL type of the two purchase counts."""
    windows = [w for w in COUNTER_WINDOWS if w is not None]

    def ids(names) -> list[int]:
        return sorted({index[n] for n in names if n in index})

    def start(days: int) -> int:
        return epoch_us(as_of_end - timedelta(days=days))

    uid, ei, ts = read_event_rows(con, len(index))
    members = int(uid.max()) + 1 if len(uid) else 0
    unnamed = null_code(ei.dtype)  # the rows without an event name
    r = _Rollup(uid, ei, ts, [*index.values(), unnamed], members)
    del ei
    columns: dict[str, pa.Array] = {UID: pa.array(np.arange(members, dtype=np.int32))}
    n_events = r.count(r.slices[unnamed]).astype(np.int64)
    halves: dict[int, list[np.ndarray]] = {}
    top = np.uint64(SLOT_BITS * ((len(COUNTER_WINDOWS) - 1) % HALF_SLOTS))  # the all-time slot in the last half
    for i in index.values():
        total, halves[i] = r.packed(i, [start(w) for w in windows])
        # a member's count of one kind past a slot's width would carry into the next slot
        if total.max(initial=0) >= COUNTER_LIMIT:
            raise _overflow_error()
        halves[i][-1] |= total.astype(np.uint64) << top
        n_events += total

    def events_count(names, days: int) -> tuple[np.ndarray, str]:
        """Events of these names in the last `days` and the SQL type the SQL roll-up gave it."""
        if days in windows:  # read from the counters, as the profile does
            slot = windows.index(days)
            half, shift = slot // HALF_SLOTS, np.uint64(SLOT_BITS * (slot % HALF_SLOTS))
            out = np.zeros(members, np.int32)
            for i in ids(names):
                out += ((halves[i][half] >> shift) & np.uint64(COUNTER_LIMIT - 1)).astype(np.int32)
            return out, "INTEGER"
        out64 = np.zeros(members, np.int64)
        for i in ids(names):
            out64 += r.count(r.since(i, start(days)))
        return out64, "BIGINT"

    purchase = ids([config.purchase_event])
    lookback = config.aipl.lookback_days
    every = [*index.values(), unnamed]
    columns["first_event_at"] = _timestamps(r.time(every, None, newest=False), _NO_TIME_MIN)
    columns["last_event_at"] = _timestamps(r.time(every, None, newest=True), _NO_TIME_MAX)
    columns["n_events"] = pa.array(n_events)
    columns["aipl_first_purchase_at"] = _timestamps(r.time(purchase, start(lookback), newest=False), _NO_TIME_MIN)
    columns["last_purchase_at"] = _timestamps(r.time(purchase, None, newest=True), _NO_TIME_MAX)
    columns["last_loyalty_at"] = _timestamps(r.time(ids(config.aipl.loyalty_events), None, newest=True), _NO_TIME_MAX)
    types: dict[str, str] = {}
    for name, days in (("rfm_purchases", config.rfm_window_days), ("aipl_purchases", lookback)):
        values, types[name] = events_count([config.purchase_event], days)
        columns[name] = pa.array(values)
    columns["aipl_interested"] = pa.array(events_count(config.aipl.interest, lookback)[0] > 0)
    columns["aipl_aware"] = pa.array(events_count(config.aipl.awareness, lookback)[0] > 0)
    for i in index.values():
        for h, half in enumerate(halves.pop(i)):
            columns[_half_name(i, h)] = pa.array(half)
    return columns, types


def _create(
    con: duckdb.DuckDBPyConnection,
    rollup: pa.Table,
    index: dict[str, int],
    purchase: list[int],
    rfm_start: datetime,
    has_amount: bool,
    types: dict[str, str],
) -> None:
    """CREATE TEMP TABLE user_events from the numpy figures (`_rollup`, members with events) and the purchase
    amounts summed by DuckDB (`rfm_monetary`: NULL for a member without a purchase in the RFM window)."""

    def col(name: str, table: str = "r") -> exp.Expression:
        return exp.column(name, table=table, quoted=True)

    amount = exp.column("amount", quoted=True) if has_amount else exp.null()
    is_purchase = (
        exp.In(this=exp.column(EI, quoted=True), expressions=[exp.Literal.number(i) for i in purchase])
        if purchase
        else exp.false()
    )
    monetary = (
        exp.select(
            exp.column(UID, quoted=True),
            exp.alias_(monetary_sum(amount), "rfm_monetary", quoted=True),  # exact: DECIMAL(38, 6)
        )
        .from_("event_rows")
        .where(exp.and_(is_purchase, exp.GTE(this=exp.column("ts"), expression=exp.Placeholder(this="rfm_start"))))
        .group_by(exp.column(UID, quoted=True))
    )

    def typed(name: str) -> exp.Expression:
        return exp.alias_(exp.Cast(this=col(name), to=exp.DataType.build(types[name])), name, quoted=True)

    def if_(cond: exp.Expression, value: str, name: str) -> exp.Expression:
        return exp.alias_(exp.If(this=cond, true=col(value), false=exp.null()), name, quoted=True)

    select = (
        exp.select(
            col(UID),
            col("first_event_at"),
            col("last_event_at"),
            col("n_events"),
            col("rfm_monetary", "m"),
            col("aipl_first_purchase_at"),
            typed("rfm_purchases"),
            if_(
                exp.GT(this=col("rfm_purchases"), expression=exp.Literal.number(0)),
                "last_purchase_at",
                "rfm_last_purchase_at",
            ),
            typed("aipl_purchases"),
            if_(
                exp.GT(this=col("last_loyalty_at"), expression=col("aipl_first_purchase_at")),
                "last_loyalty_at",
                "aipl_last_loyalty_at",
            ),
            col("aipl_interested"),
            col("aipl_aware"),
            *[col(_half_name(i, h)) for i in index.values() for h in range(N_HALVES)],
            exp.alias_(exp.false(), "counter_overflow", quoted=True),
        )
        .from_(exp.alias_(exp.to_table("_rollup"), "r"))
        .join(
            exp.alias_(exp.Subquery(this=monetary), "m"),
            on=exp.EQ(this=col(UID, "m"), expression=col(UID)),
            join_type="left",
        )
        .where(exp.GT(this=col("n_events"), expression=exp.Literal.number(0)))
    )
    con.register("_rollup", rollup)
    try:
        create_table(con, "user_events", select, {"rfm_start": rfm_start}, temp=True)
    finally:
        con.unregister("_rollup")
