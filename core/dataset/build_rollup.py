"""The cache build's per-member roll-up of the events (`user_events`) and its packed counters.

Split from core/dataset/build_events.py (the event steps) when that module passed 400 lines.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
from sqlglot import exp

from core.catalog import COUNTER_WINDOWS, EI, UID, event_codes
from core.config import DatasetConfig
from core.dataset.build_events import create_table
from core.dataset.connection import SLOT_BITS
from core.messages import msg
from core.models.rfm import monetary_sum
from core.problems import DatasetError, Problem, ValidationReport

COUNTER_LIMIT = 1 << SLOT_BITS  # events of one kind per member a counter slot holds


def _window_name(w: int | None) -> str:
    return "all" if w is None else str(w)


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
        # the exact sum (DECIMAL), the same on every engine and in any order of the rows
        exp.alias_(
            monetary_sum(exp.column("amount"), exp.and_(purchase, since(config.rfm_window_days))),
            "rfm_monetary",
            quoted=True,
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
                    Problem.of(
                        "events",
                        "user_id",
                        msg("dataset.counter_overflow", limit=COUNTER_LIMIT),
                        msg("dataset.counter_overflow.fix"),
                    ),
                ),
            )
        )
    return cols
