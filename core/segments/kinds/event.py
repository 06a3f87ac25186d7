"""`event`: how many matching events a member has (purchase >= 2 in the last 90 days, where ...)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import EI, UID, Catalog
from core.messages import hint, msg
from core.segments.builder_rows import DEFAULT_WITHIN_DAYS, FilterRow, Row, filter_dict
from core.segments.conditions import (
    EVENT_OPS,
    MAX_CONDITIONS,
    MAX_EVENT_COUNT,
    Event,
    EventFilter,
    join_path,
    parse_date,
    short,
)
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.messages import type_of
from core.segments.sqltrees import EVENT_COMPARE, EVENTS, EVENTS_ALIAS, not_, qcol, two_valued

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> Event | None:
    """An event condition from JSON: count, one window (days or dates) and `where` filters."""
    event = p.name(obj, "event", path, "an event name such as purchase")
    op = p.op(obj, "event", path, EVENT_OPS)
    ok = bool(event and op)
    count = obj.get("count")
    if "count" not in obj:
        if (path, "count") not in p.misspelt:
            p.issue(join_path(path, "count"), msg("segment.event.missing_count"))
        ok = False
    elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_EVENT_COUNT:
        p.issue(join_path(path, "count"), msg("segment.event.bad_count", value=short(count)))
        ok = False
    within = obj.get("within_days")
    if within is not None and not p.whole_days(within, join_path(path, "within_days"), "within_days"):
        ok = False
    between: tuple[str, str] | None = None
    if obj.get("between") is not None:
        at = join_path(path, "between")
        raw = obj["between"]
        if within is not None:
            p.issue(at, msg("segment.event.window_both"))
            ok = False
        elif not isinstance(raw, (list, tuple)) or len(raw) != 2:
            p.issue(at, msg("segment.event.between_dates"))
            ok = False
        else:
            days = [parse_date(x) for x in raw]
            for i, (x, d) in enumerate(zip(raw, days, strict=True)):
                if d is None:
                    p.issue(join_path(at, i), msg("segment.not_a_date", value=short(x)))
                    ok = False
            if days[0] and days[1] and days[0] > days[1]:
                p.issue(at, msg("segment.event.dates_swapped", first=raw[0], second=raw[1]))
                ok = False
            between = (raw[0], raw[1])
    where: list[EventFilter] = []
    raw_where = obj.get("where", [])
    if raw_where is None:
        raw_where = []
    if not isinstance(raw_where, (list, tuple)):
        p.issue(join_path(path, "where"), msg("segment.event.where_not_list", type=type_of(raw_where)))
        ok = False
    else:
        for i, item in enumerate(raw_where):
            at = join_path(join_path(path, "where"), i)
            p.conditions_seen += 1
            if p.conditions_seen > MAX_CONDITIONS:
                if not p.too_many_reported:
                    p.issue(at, msg("segment.event.too_many", limit=MAX_CONDITIONS))
                    p.too_many_reported = True
                ok = False
                break
            f = p.where_filter(item, at)
            if f is None:
                ok = False
            else:
                where.append(f)
    if not ok:
        return None
    return Event(event, op, count, within, between, tuple(where), negate)


def compile(c: Compiler, cond: Event, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """A precomputed counter when one fits, else a count over `event_rows` (every operator through ">= k")."""
    if cond.event not in c.catalog.events:
        c.issue(
            path + ".event", msg("segment.unknown_event", event=cond.event, hint=hint(cond.event, c.catalog.events))
        )
        return exp.true()
    counter = None
    if not cond.where and cond.between is None:
        counter = c.catalog.counter_column(cond.event, cond.within_days)
    if counter is not None:
        # Precomputed per-user count (0 when none): compare it directly.
        count = exp.Coalesce(this=qcol(counter), expressions=[exp.Literal.number(0)])
        return EVENT_COMPARE[cond.op](this=count, expression=c.param(cond.count))
    conditions: list[exp.Expression] = [
        exp.EQ(this=qcol(EI, EVENTS_ALIAS), expression=c.param(c.catalog.event_code(cond.event))),
    ]
    ts = qcol("ts", EVENTS_ALIAS)
    window: tuple[date, date] | None = None
    if cond.within_days is not None:
        window = c.window(cond.within_days)
    elif cond.between is not None:
        start, end = parse_date(cond.between[0]), parse_date(cond.between[1])
        # Events after as_of ("today") are seen by no window, as in the precomputed counters.
        last = min(end + timedelta(days=1), c.catalog.as_of + timedelta(days=1))
        window = (start, last)
    if window is not None:
        conditions.append(exp.GTE(this=ts, expression=c.param(c.day_bound(window[0], "timestamp"))))
        conditions.append(exp.LT(this=ts.copy(), expression=c.param(c.day_bound(window[1], "timestamp"))))
    else:
        # All time ends with as_of too.
        end = c.catalog.as_of + timedelta(days=1)
        conditions.append(exp.LT(this=ts, expression=c.param(c.day_bound(end, "timestamp"))))
    for i, f in enumerate(cond.where):
        conditions.append(c.event_filter(f, f"{path}.where[{i}]"))
    # `event_rows` holds only members' events (never a NULL `_uid`, which would make NOT IN unknown)
    where = exp.and_(*conditions)

    def users_with(cmp: type[exp.Binary], k: int) -> exp.Expression:
        having = cmp(this=exp.Count(this=exp.Star()), expression=c.param(k))
        query = (
            exp.select(qcol(UID, EVENTS_ALIAS))
            .from_(exp.to_table(EVENTS).as_(EVENTS_ALIAS))
            .where(where.copy())
            .group_by(qcol(UID, EVENTS_ALIAS))
            .having(having)
        )
        return two_valued(exp.In(this=qcol(UID), query=exp.Subquery(this=query)))

    # Every operator through the ">= k" set, so users with no events land exactly.
    n = cond.count
    if cond.op == ">=":
        return exp.true() if n <= 0 else users_with(exp.GTE, n)
    if cond.op == ">":
        return users_with(exp.GTE, n + 1)
    if cond.op == "=":
        return not_(users_with(exp.GTE, 1)) if n == 0 else users_with(exp.EQ, n)
    if cond.op == "<":
        return exp.false() if n <= 0 else not_(users_with(exp.GTE, n))
    return not_(users_with(exp.GTE, n + 1))  # "<="


def describe(d: Describer, cond: Event) -> str:
    """ "did purchase at least 2 times in the last 90 days (where ...)"."""
    w = d.words
    window = ""
    if cond.within_days is not None:
        window = w["ev_window"].format(n=cond.within_days)
    elif cond.between is not None:
        window = w["ev_between"].format(a=cond.between[0], b=cond.between[1])
    did_not = (
        (cond.op == "=" and cond.count == 0)
        or (cond.op == "<" and cond.count == 1)
        or (cond.op == "<=" and cond.count == 0)
    )
    if d.lang == "en":
        if did_not:
            text = w["ev_not"].format(event=cond.event) + window
        else:
            times = w["time"] if cond.count == 1 else w["times"]
            text = w["ev_did"].format(event=cond.event, op=d.labels[cond.op], n=cond.count, times=times) + window
    elif did_not:
        text = w["ev_not"].format(window=window, event=cond.event)
    else:
        text = w["ev_did"].format(window=window, event=cond.event, op=d.labels[cond.op], n=cond.count)
    if cond.where:
        filters = w["and"].join(d.event_filter(f) for f in cond.where)
        text += w["ev_where"].format(filters=filters)
    return text


def to_row(cond: Event, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row editing this condition (its filters get ids of their own)."""
    where = []
    for f in cond.where:
        state, fid = state.new_id("f")
        where.append(FilterRow(fid, f.field, f.op, f.value, tuple(f.values or ())))
    window = "days" if cond.within_days is not None else "between" if cond.between is not None else "all"
    row = Row(
        rid, "event", cond.event, cond.op, negate=cond.negate, count=cond.count,
        window=window, within_days=cond.within_days or DEFAULT_WITHIN_DAYS,
        between=tuple(cond.between) if cond.between else None, where=tuple(where),
    )  # fmt: skip
    return state, row


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition (complete filters only), or None until event, count and window are set."""
    if not row.target or row.op is None or row.count is None or row.count < 0:
        return None
    d: dict[str, Any] = {"kind": "event", "event": row.target, "op": row.op, "count": int(row.count)}
    if row.window == "days":
        if not row.within_days:
            return None
        d["within_days"] = int(row.within_days)
    elif row.window == "between":
        if not row.between or len(row.between) != 2 or None in row.between:
            return None
        d["between"] = list(row.between)
    where = [w for w in (filter_dict(f) for f in row.where) if w is not None]
    if where:
        d["where"] = where
    return d


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """The count comparisons."""
    return EVENT_OPS


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """A fresh event row counts "at least"."""
    return ">="


KIND = Kind(
    name="event",
    condition=Event,
    keys=("kind", "event", "op", "count", "within_days", "between", "where", "negate"),
    operators=EVENT_OPS,
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=BuilderRow(to_row, from_row, row_ops, default_op),
)
