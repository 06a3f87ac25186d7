"""Building the AIPL stage history (core/models/aipl_history.py) from `event_rows`.

A, I and P: one pass over the events in blocks of L days (L = `aipl.lookback_days`), one range
read per event and block (`event_rows` is sorted by event and time). Within a block no two event
days are more than L − 1 apart, so islands split only between blocks and per member, class and
block only the first and last event day matter: numpy `minimum.at` / `maximum.at` over dense
member numbers, no hash table. L: the purchases and loyalty events sorted by member and time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from core.queries import load_query

if TYPE_CHECKING:
    from core.dataset import Dataset

Progress = Callable[[float, str], None]
DAY_US = 86_400_000_000  # microseconds in a day: timestamps are wall-clock time in the dataset's zone


def _codes(ds: Dataset, names) -> list[int]:
    return [ds.catalog.event_code(n) for n in names if n in ds.catalog.events]


def _by_member(uid: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The order by (member, first day) of rows made of a few sorted runs: timsort merges them in linear time."""
    key = (uid.astype(np.int64) << 32) | (first.astype(np.int64) + (1 << 31))
    return np.argsort(key, kind="stable")


def _islands(uid: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranges sorted by (member, first day) merged where they overlap or touch: one row per island."""
    if len(uid) == 0:
        return uid, first, last
    # the running end within a member: members in the high bits keep one member's maximum from the next's
    key = (uid.astype(np.int64) << 32) | (last.astype(np.int64) + (1 << 31))
    run_end = (np.maximum.accumulate(key) & 0xFFFFFFFF) - (1 << 31)
    start = np.ones(len(uid), dtype=bool)
    start[1:] = (uid[1:] != uid[:-1]) | (first[1:] > run_end[:-1] + 1)
    at = np.flatnonzero(start)
    ends = np.r_[at[1:], len(uid)] - 1
    return uid[at], first[at], run_end[ends]


def _columns(ds: Dataset, name: str, params: dict[str, object]) -> list[np.ndarray]:
    """The columns of a named query's rows as numpy arrays (one Arrow table: a result here is one event's block)."""
    cur = ds.cursor()
    try:
        table = cur.sql(load_query(name), params=params).to_arrow_table()
    finally:
        cur.close()
    return [c.to_numpy() for c in table.columns]


def _day_numbers(ts: np.ndarray, origin_us: int) -> np.ndarray:
    """Day numbers from `origin_us` of TIMESTAMP values (wall-clock microseconds: whole days of them)."""
    return ((ts.astype("datetime64[us]").view(np.int64) - origin_us) // DAY_US).astype(np.int32)


def _lookup(ds: Dataset, groups: list[tuple[int, list[str]]]) -> np.ndarray:
    """A table from event code to the highest value among the groups that name the event (0: none)."""
    table = np.zeros(max(ds.catalog.event_codes.values(), default=0) + 1, dtype=np.uint8)
    for value, names in groups:
        for c in _codes(ds, names):
            table[c] = max(table[c], value)
    return table


def _class_ranges(
    ds: Dataset, origin_us: int, span: int, size: int, lookback: int, say: Progress
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The islands of levels A, I, P: one pass over the events, block by block of `lookback` days."""
    cfg = ds.config.aipl
    classes = _lookup(ds, [(1, list(cfg.awareness)), (2, list(cfg.interest)), (3, [ds.config.purchase_event])])
    none_day = np.iinfo(np.int32).min // 2
    # per level: the open island of each member (first day, last event day), none_day when none
    open_first = [np.full(size, none_day, dtype=np.int32) for _ in range(3)]
    open_last = [np.full(size, none_day, dtype=np.int32) for _ in range(3)]
    found: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[], [], []]
    blocks = (span + lookback - 1) // lookback
    lo = np.empty((3, size), dtype=np.int32)  # per class: the first and last event day in the block
    hi = np.empty((3, size), dtype=np.int32)
    for b in range(blocks):
        say(b / (blocks + 1), f"AIPL history: events of block {b + 1} of {blocks}")
        lo.fill(np.iinfo(np.int32).max)
        hi.fill(none_day)
        start = origin_us + b * lookback * DAY_US
        span_params = {"origin_us": origin_us, "start": _timestamp(start), "end": _timestamp(start + lookback * DAY_US)}
        for code in np.flatnonzero(classes):
            k = int(classes[code]) - 1
            uid, day = _columns(ds, "aipl_history_days", {**span_params, "code": int(code)})
            np.minimum.at(lo[k], uid, day)
            np.maximum.at(hi[k], uid, day)
            del uid, day
        # level X counts the classes X and above: fold purchase into interest, then into awareness
        for k in (1, 0):
            np.minimum(lo[k], lo[k + 1], out=lo[k])
            np.maximum(hi[k], hi[k + 1], out=hi[k])
        for k in range(3):
            # only the members with an event of the level in the block: a new island where the gap from
            # their last event day is more than `lookback` days (or they had none yet)
            idx = np.flatnonzero(hi[k] != none_day)
            first_day, last_day = lo[k][idx], hi[k][idx]
            open_f, open_l = open_first[k][idx], open_last[k][idx]
            gap = first_day - open_l > lookback  # none_day is far below any day: a first island is a gap
            closing = gap & (open_l != none_day)
            if closing.any():
                found[k].append((idx[closing].astype(np.int32), open_f[closing], open_l[closing] + lookback - 1))
            open_first[k][idx] = np.where(gap, first_day, open_f)
            open_last[k][idx] = last_day
    del lo, hi
    out = []
    for k in range(3):
        still = np.flatnonzero(open_last[k] != none_day)
        found[k].append((still.astype(np.int32), open_first[k][still], open_last[k][still] + lookback - 1))
        uid = np.concatenate([f[0] for f in found[k]])
        first = np.concatenate([f[1] for f in found[k]])
        last = np.concatenate([f[2] for f in found[k]])
        order = _by_member(uid, first)
        out.append((uid[order], first[order], last[order]))
    return out


def _timestamp(us: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=us)


def _loyal_ranges(ds: Dataset, origin_us: int, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The islands of level L from the purchases and loyalty events, by member and time."""
    cfg = ds.config.aipl
    purchase, loyalty = _codes(ds, [ds.config.purchase_event]), _codes(ds, cfg.loyalty_events)
    if not purchase:  # no purchase event in the data: nobody is L (K ≥ 1, and loyalty counts after a purchase)
        none = np.zeros(0, dtype=np.int32)
        return none, none, none
    # by member, time, and at equal times the loyalty row first (it does not count after that purchase)
    if set(purchase) & set(loyalty):
        uid, is_buy, ts = _columns(ds, "aipl_history_buys_both", {"purchase": purchase, "loyalty": loyalty})
    else:
        uid, is_buy, ts = _columns(
            ds, "aipl_history_buys", {"purchase": purchase, "codes": sorted({*purchase, *loyalty})}
        )
    day = _day_numbers(ts, origin_us)
    del ts
    n = len(uid)
    # the next loyalty row after each row
    pos = np.where(is_buy, n, np.arange(n))
    next_loyal = np.minimum.accumulate(pos[::-1])[::-1] if n else pos
    buys = np.flatnonzero(is_buy)
    pu, pd = uid[buys], day[buys]
    k = ds.config.aipl.loyalty_min_purchases
    parts = []
    # K purchases in the window: the i-th and the (i+K-1)-th of the same member
    if len(pu) >= k:
        j = np.arange(k - 1, len(pu))
        i = j - (k - 1)
        ok = (pu[j] == pu[i]) & (pd[j] <= pd[i] + lookback - 1)
        parts.append((pu[i][ok], pd[j][ok], pd[i][ok] + lookback - 1))
    # a loyalty event after the window's first purchase
    nl = next_loyal[buys]
    has = nl < n
    nl_c = np.where(has, nl, 0)
    has &= uid[nl_c] == pu
    prev_same = np.zeros(len(pu), dtype=bool)
    prev_same[1:] = pu[1:] == pu[:-1]
    prev_day = np.r_[np.int32(0), pd[:-1]].astype(np.int32)
    first = np.maximum(pd, day[nl_c])
    first = np.where(prev_same, np.maximum(first, prev_day + lookback), first)
    last = pd + lookback - 1
    ok = has & (first <= last)
    parts.append((pu[ok], first[ok], last[ok]))
    u = np.concatenate([p[0] for p in parts]).astype(np.int32)
    f = np.concatenate([p[1] for p in parts]).astype(np.int32)
    la = np.concatenate([p[2] for p in parts]).astype(np.int32)
    order = _by_member(u, f)
    return _islands(u[order], f[order], la[order])


def build_ranges(
    ds: Dataset, progress: Progress | None = None
) -> tuple[date, int, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """(origin, size, uid, first, last, bounds) of `History`: `event_rows` read once in blocks, purchases once."""
    say = progress or (lambda _f, _m: None)
    lookback = ds.config.aipl.lookback_days
    cur = ds.cursor()
    try:
        (first_ts,) = cur.execute(load_query("aipl_history_first_day")).fetchone()
        (top,) = cur.execute(load_query("aipl_history_members")).fetchone()
    finally:
        cur.close()
    size = int(top) + 1 if top is not None else 0
    origin = first_ts.date() if first_ts is not None else ds.as_of
    origin_us = (origin - date(1970, 1, 1)).days * DAY_US
    span = (ds.as_of - origin).days + 1
    ranges = _class_ranges(ds, origin_us, span, size, lookback, say)
    say(0.9, "AIPL history: purchases and loyalty events")
    ranges.append(_loyal_ranges(ds, origin_us, lookback))
    small = span + lookback + 2 < np.iinfo(np.int16).max
    dtype = np.int16 if small else np.int32
    bounds = [0]
    for u, _, _ in ranges:
        bounds.append(bounds[-1] + len(u))
    say(1.0, "done")
    return (
        origin,
        size,
        np.concatenate([r[0] for r in ranges]).astype(np.int32),
        np.concatenate([r[1] for r in ranges]).astype(dtype),
        np.concatenate([r[2] for r in ranges]).astype(dtype),
        tuple(bounds),
    )
