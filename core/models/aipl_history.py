"""The AIPL stage history: for every member, the days on which each stage was reached (DATA_CONTRACT.md, AIPL).

The stage at day d reads the events of the whole days [d − L + 1, d] (L = `aipl.lookback_days`).
"Reached X at d" (stage X or higher) is a union of day ranges per member:

- A, I, P: an event of the class or a higher one (awareness < interest < purchase) on day x
  counts on the days [x, x + L − 1]. Runs of such days split only where two consecutive event
  days are more than L apart, so per member they are a few ranges ("islands").
- L: at least K purchases in the window (purchases p_i ≤ … ≤ p_{i+K−1} by time: the days
  [p_{i+K−1}, p_i + L − 1]), or a loyalty event strictly after the window's first purchase
  (purchase p_j is the first on the days [max(p_j, p_{j−1} + L), p_j + L − 1]; with the next
  loyalty event after it on day l, the days from max(…, l) count).

The ranges nest (L within P within I within A), so the stage at d is the number of a member's
ranges that hold d: a range filter and a count, no aggregate over the events. The history is
computed once per version of the data (a file next to the derived cache) and answers every day
exactly as the rule over the events (`queries/aipl_at.sql`) does; the tests compare the two.

A, I and P come from one pass over the events in blocks of L days: within a block no two event
days are more than L − 1 apart, so per member and block only the first and last event day
matter (numpy `minimum.at` / `maximum.at` over dense member numbers, no hash table).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlglot import exp

from core.catalog import AIPL_STAGES, UID
from core.queries import load_query, named_query

if TYPE_CHECKING:
    from core.dataset import Dataset

log = logging.getLogger("core.models")
Progress = Callable[[float, str], None]
LEVELS = (1, 2, 3, 4)  # A, I, P, L: a member's stage code is how many of their ranges hold the day
CODES = ("none", "A", "I", "P", "L")  # stage code -> label
_LOCK = threading.Lock()
FORMAT = 1  # bump when the file's layout or the rule changes: older files are then rebuilt


@dataclass(frozen=True)
class History:
    """Ranges of days (numbers from `origin`, both ends included) on which a member had reached a stage.

    Rows are sorted by level, then member: `uid[bounds[k]:bounds[k + 1]]` are the ranges of
    level k + 1 (A, I, P, L). A member has at most one range of a level holding any one day.
    """

    origin: date
    size: int  # stage arrays hold this many members (the largest `_uid` + 1)
    uid: np.ndarray
    first: np.ndarray
    last: np.ndarray
    bounds: tuple[int, ...]  # 5 offsets

    def day_number(self, day: date) -> int:
        """`day` as a number from `origin`, clipped into the range the arrays' type holds."""
        info = np.iinfo(self.first.dtype)
        return int(min(max((day - self.origin).days, info.min + 1), info.max - 1))

    def _holding(self, level: int, d: int) -> np.ndarray:
        s = slice(self.bounds[level - 1], self.bounds[level])
        return self.uid[s][(self.first[s] <= d) & (self.last[s] >= d)]

    def reached(self, day: date) -> dict[int, int]:
        """How many members had reached each level (1..4) at `day`."""
        d = self.day_number(day)
        return {level: int(np.count_nonzero((self.first[s] <= d) & (self.last[s] >= d))) for level in LEVELS for s in [slice(self.bounds[level - 1], self.bounds[level])]}

    def stages(self, day: date) -> np.ndarray:
        """Every member's stage code at `day` (0 none, 1 A, 2 I, 3 P, 4 L), indexed by `_uid`."""
        d = self.day_number(day)
        out = np.zeros(self.size, dtype=np.uint8)
        for level in LEVELS:  # each level's members are unique: plain assignments, higher levels last
            out[self._holding(level, d)] = level
        return out


# --- building -------------------------------------------------------------------------------------


def supported(ds: Dataset) -> bool:
    """Whether the history answers this dataset's rule (a loyalty threshold below 1 purchase reads the events)."""
    return ds.config.aipl.loyalty_min_purchases >= 1


def _codes(ds: Dataset, names) -> list[int]:
    return [ds.catalog.event_code(n) for n in names if n in ds.catalog.events]


def _by_member(uid: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The order by (member, first day) of rows made of a few runs already in that order: timsort merges runs in linear time."""
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


DAY_US = 86_400_000_000  # microseconds in a day: timestamps are wall-clock time in the dataset's zone


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


def _class_ranges(ds: Dataset, origin_us: int, span: int, size: int, lookback: int, say: Progress) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
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
    # by member, time, and at equal times the loyalty row first (it does not count after that purchase)
    if set(purchase) & set(loyalty):
        uid, is_buy, ts = _columns(ds, "aipl_history_buys_both", {"purchase": purchase, "loyalty": loyalty})
    else:
        uid, is_buy, ts = _columns(ds, "aipl_history_buys", {"purchase": purchase, "codes": sorted({*purchase, *loyalty})})
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


def build(ds: Dataset, progress: Progress | None = None) -> History:
    """The history from `event_rows` (one pass over the events in blocks, and one over the purchases)."""
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
    return History(
        origin=origin,
        size=size,
        uid=np.concatenate([r[0] for r in ranges]).astype(np.int32),
        first=np.concatenate([r[1] for r in ranges]).astype(dtype),
        last=np.concatenate([r[2] for r in ranges]).astype(dtype),
        bounds=tuple(bounds),
    )


# --- kept per version of the data ---------------------------------------------------------------


def file_for(ds: Dataset) -> Path:
    """The history's file next to the derived cache (same name, another suffix): one per version of the data."""
    return ds.cache_path.with_name(ds.cache_path.stem + ".aipl-history.npz")


def load(path: Path, ds: Dataset) -> History | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = z["meta"]
            if int(meta[0]) != FORMAT or int(meta[1]) != ds.config.aipl.lookback_days or int(meta[2]) != ds.config.aipl.loyalty_min_purchases:
                return None
            origin = date.fromordinal(int(meta[3]))
            return History(origin, int(meta[4]), z["uid"], z["first"], z["last"], tuple(int(b) for b in z["bounds"]))
    except (OSError, KeyError, ValueError) as e:
        log.warning("AIPL history %s unreadable (%s): computing it again", path, e)
        return None


def save(path: Path, h: History, ds: Dataset) -> None:
    meta = np.array([FORMAT, ds.config.aipl.lookback_days, ds.config.aipl.loyalty_min_purchases, h.origin.toordinal(), h.size], dtype=np.int64)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, meta=meta, uid=h.uid, first=h.first, last=h.last, bounds=np.array(h.bounds, dtype=np.int64))
        os.replace(tmp, path)
        # older versions of the same dataset
        for old in path.parent.glob(f"{ds.path.name}-*.aipl-history.npz"):
            if old != path:
                with contextlib.suppress(OSError):
                    old.unlink()
    except OSError as e:
        log.warning("AIPL history not kept in %s (%s)", path, e)
        with contextlib.suppress(OSError):
            tmp.unlink()


def history(ds: Dataset, progress: Progress | None = None) -> History | None:
    """This dataset's history (computed on first use and kept in a file), or None when the rule needs the events."""
    if not supported(ds):
        return None
    found = ds.memo.get("aipl_history")
    if found is not None:
        return found
    with _LOCK:
        found = ds.memo.get("aipl_history")
        if found is not None:
            return found
        # a data scope sees only its members' events: its history is its own and not kept in a file
        path = file_for(ds) if ds.schema is None else None
        h = load(path, ds) if path is not None and path.exists() else None
        if h is None:
            h = build(ds, progress)
            if path is not None:
                save(path, h, ds)
        ds.memo["aipl_history"] = h
        return h


def build_in_background(ds: Dataset) -> threading.Thread | None:
    """Compute (or read back) the history in a daemon thread: a long-lived server has it before the AIPL page asks."""
    if not supported(ds) or ds.memo.get("aipl_history") is not None:
        return None

    def work() -> None:
        try:
            history(ds)
        except Exception:  # the page computes it again when asked, and says what failed then
            log.exception("AIPL history: the background computation failed")

    thread = threading.Thread(target=work, name="aipl-history", daemon=True)
    thread.start()
    return thread


# --- answers at a day -----------------------------------------------------------------------------

STAGES_KEPT = 13  # stage arrays kept per opened dataset (a 12-month trend and one more; 10 MB each at 10M members)


def stages_at(ds: Dataset, h: History, day: date) -> np.ndarray:
    """Every member's stage code at `day` (see `History.stages`), kept for the last few days asked."""
    kept: dict[date, np.ndarray] = ds.memo.setdefault("aipl_stages", {})
    found = kept.pop(day, None)
    if found is None:
        found = h.stages(day)
    kept[day] = found  # the most recent last
    while len(kept) > STAGES_KEPT:
        kept.pop(next(iter(kept)))
    return found


def members(ds: Dataset, where: exp.Expression | None = None, params: dict[str, object] | None = None) -> np.ndarray:
    """The `_uid`s of the members in `profile` (all of them, or those `where` holds for)."""
    cur = ds.cursor()
    try:
        query = named_query("aipl_base_members", segment=where if where is not None else exp.true())
        return cur.execute(query.sql("duckdb"), params or None).fetchnumpy()["_uid"]
    finally:
        cur.close()


def create_table(ds: Dataset, h: History, day: date, table: exp.Table) -> None:
    """CREATE TABLE `table` (`_uid`, `value` ENUM) of every member's stage at `day`: the table a dated condition reads."""
    import pandas as pd

    # every member number is a member unless a data scope keeps some (then its `profile` says which)
    uids = np.arange(h.size, dtype=np.int32) if ds.schema is None and h.size == ds.total_users else members(ds)
    order = {code: AIPL_STAGES.index(label) for code, label in enumerate(CODES)}  # stage code -> ENUM position
    to_enum = np.array([order[c] for c in range(len(CODES))], dtype=np.int8)
    frame = pd.DataFrame({UID: uids.astype(np.int32), "value": pd.Categorical.from_codes(to_enum[stages_at(ds, h, day)[uids]], categories=list(AIPL_STAGES))})
    name = f"_aipl_stages_{threading.get_ident()}"
    enum = exp.DataType.build("ENUM(" + ", ".join(f"'{v}'" for v in AIPL_STAGES) + ")", dialect="duckdb")
    select = exp.select(exp.column(UID, quoted=True), exp.alias_(exp.Cast(this=exp.column("value", quoted=True), to=enum), "value", quoted=True)).from_(exp.to_table(name, quoted=True))
    cur = ds.cursor()
    try:
        cur.register(name, frame)
        try:
            cur.execute(exp.Create(this=table, kind="TABLE", replace=True, expression=select).sql("duckdb"))
        finally:
            cur.unregister(name)
    finally:
        cur.close()
