"""A funnel's paths in one linear pass over its candidate rows (numpy): the members table's numbers.

The same plan as the SQL of core/analyses/funnel_sql.py, which stays the reference (and what an
engine without this pass runs), but with every link a lookup instead of an ASOF JOIN:

1. rows (member, time, bit mask of the steps each matches), sorted by (member, time), are grouped
   into moments (one member, one time); per moment and step s, `adv[s]` = how many consecutive
   steps s, s+1, … its rows can serve, each row serving one step (Hall's condition over every set
   of steps when several rows share the moment, as `queries/funnel_advance.sql`);
2. per step s, `nxt[s][p]` = the first moment at or after p that serves step s (a running minimum
   from the end), so "the earliest later moment serving the next step" is one array lookup;
3. every start (a moment in the entry range serving step 1) follows k-1 links at once, each kept
   when the moment is the same member's and inside the window (greedy earliest is optimal:
   a later moment never serves more);
4. per member: the deepest step, the path = the latest start reaching it, its step times.

Times are integers (microseconds since the epoch) throughout; nothing here reads the database.
The module needs only numpy and pyarrow: Spark ships it by value to its executors, which walk the
rows of their members there (core/engine/spark_funnels.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

NO_TIME = np.iinfo(np.int64).min  # a step the path does not reach


@dataclass(frozen=True)
class Paths:
    """One entry per entered member, in member order."""

    uid: np.ndarray  # int32
    deepest: np.ndarray  # int8, 1..k
    open_start: np.ndarray  # bool: some start's window ends at or after the end of as_of
    times: np.ndarray  # int64 (k, members): t1 … tk on the path, NO_TIME past the deepest step


def _advance(mask: np.ndarray, starts: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """adv[s, m] for s in 0..k (row 0 unused): consecutive steps from s that moment m's rows can serve."""
    m_mask = np.bitwise_or.reduceat(mask, starts)
    adv = np.zeros((k + 1, len(starts)), dtype=np.int8)
    for s in range(1, k + 1):  # one row: any one step it matches
        adv[s] = (m_mask >> (s - 1)) & 1
    shared = np.flatnonzero(counts > 1)
    if not len(shared):
        return adv
    # several rows at one moment: steps s … e are served by distinct rows unless some set of steps
    # inside [s, e] is matched by fewer rows than it has steps (Hall); adv = min(hi of such sets) - s
    rows = np.concatenate([np.arange(starts[m], starts[m] + counts[m]) for m in shared])
    bounds = np.concatenate(([0], np.cumsum(counts[shared])[:-1]))
    r_mask = mask[rows]
    min_hi = np.full((k + 1, len(shared)), k + 1, dtype=np.int16)
    for bits in range(1, 1 << k):
        size = bin(bits).count("1")
        lo = (bits & -bits).bit_length()
        hi = bits.bit_length()
        hit = np.add.reduceat(((r_mask & bits) != 0).astype(np.int16), bounds)
        short = hit < size
        for s in range(1, lo + 1):  # sets with lo >= s
            min_hi[s] = np.where(short, np.minimum(min_hi[s], hi), min_hi[s])
    for s in range(1, k + 1):
        adv[s, shared] = min_hi[s] - s
    return adv


@dataclass(frozen=True)
class _Chain:
    """The moments' links: follow each path to the earliest later moment serving its next step."""

    nxt: np.ndarray  # (k + 1, moments + 1): the first moment at or after p serving step s
    adv: np.ndarray  # (k + 1, moments)
    m_ts: np.ndarray  # moments + 1 times: a last one later than any window ends the chains
    k: int

    def follow(
        self, state: np.ndarray, at: np.ndarray, end: np.ndarray, until: np.ndarray, times: np.ndarray | None = None
    ) -> np.ndarray:
        """Each path's final state from (state, moment `at`); a link is kept when the moment is
        before `end` (the member's last moment + 1) and at or before `until`. `times[j-1]` gets
        the time of the moment serving step j."""
        k = self.k
        state, at = state.copy(), at.copy()
        live = np.flatnonzero(state <= k)
        for _ in range(k - 1):
            if not len(live):
                break
            q = self.nxt[state[live], at[live] + 1]
            ok = (q < end[live]) & (self.m_ts[q] <= until[live])
            live, q = live[ok], q[ok]
            now = state[live]
            step = self.adv[now, q]
            if times is not None:
                t = self.m_ts[q]
                for j in range(2, k + 1):  # the moment serves steps now … now + step - 1
                    hit = (now <= j) & (j < now + step)
                    times[j - 1, live[hit]] = t[hit]
            state[live] = now + step
            at[live] = q
            live = live[state[live] <= k]
        return state


def member_time_order(uid: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """The permutation putting rows in (member, time) order: a stable sort by time (the rows come as
    a few time-ordered runs, one per event), then stable radix sorts by the member's low and high
    16 bits (numpy sorts 16-bit keys by radix: linear, unlike a comparison sort of 3.5M pairs)."""
    order = np.argsort(ts, kind="stable")
    members = np.asarray(uid).astype(np.uint32)[order]
    low = np.argsort((members & 0xFFFF).astype(np.uint16), kind="stable")
    order, members = order[low], members[low]
    return order[np.argsort((members >> 16).astype(np.uint16), kind="stable")]


def walk(
    uid: np.ndarray,
    ts: np.ndarray,
    mask: np.ndarray,
    *,
    k: int,
    from_us: int,
    to_end_us: int,
    window_us: int,
    as_of_end_us: int,
) -> Paths:
    """The paths of every member with a start in [from_us, to_end_us); rows sorted by (uid, ts), mask ≠ 0."""
    uid = np.asarray(uid, dtype=np.int32)
    ts = np.asarray(ts, dtype=np.int64)
    mask = np.asarray(mask, dtype=np.int16)  # up to 8 step bits
    n = len(uid)
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (uid[1:] != uid[:-1]) | (ts[1:] != ts[:-1])
    starts = np.flatnonzero(new)
    moments = len(starts)
    if moments == n:  # no two rows share a moment (the usual case): the rows are the moments
        m_uid, m_ts = uid, ts
        adv = np.empty((k + 1, n), dtype=np.int8)
        for s in range(1, k + 1):
            adv[s] = (mask >> (s - 1)) & 1
    else:
        m_uid, m_ts = uid[starts], ts[starts]
        adv = _advance(mask, starts, np.diff(np.append(starts, n)), k)

    # nxt[s, p]: the first moment >= p serving step s (`moments` when none); one spare column.
    # Links look up steps 2..k only (a path's state is at least 2 once it has started).
    nxt = np.empty((k + 1, moments + 1), dtype=np.int32)
    nxt[:, moments] = moments
    positions = np.arange(moments, dtype=np.int32)
    for s in range(2, k + 1):
        here = np.where(adv[s] > 0, positions, np.int32(moments))
        np.minimum.accumulate(here[::-1], out=nxt[s, moments - 1 :: -1] if moments else nxt[s, :0])
    # the end of each member's moments (one past its last)
    if moments:
        m_first = np.flatnonzero(np.concatenate(([True], m_uid[1:] != m_uid[:-1])))
        m_end = np.repeat(np.append(m_first[1:], moments), np.diff(np.append(m_first, moments))).astype(np.int32)
    else:
        m_end = np.zeros(0, dtype=np.int32)

    first = np.flatnonzero((adv[1] > 0) & (m_ts >= from_us) & (m_ts < to_end_us))
    s_adv = adv[1, first]
    s_ts = m_ts[first]
    until = s_ts + window_us
    s_uid, s_end = m_uid[first], m_end[first]
    # each start's step times: its own moment serves steps 1 … adv; the links record the rest
    times = np.empty((k, len(first)), dtype=np.int64)
    times[0] = s_ts
    for j in range(2, k + 1):
        times[j - 1] = np.where(s_adv >= j, s_ts, NO_TIME)

    chain = _Chain(nxt, adv, np.append(m_ts, np.iinfo(np.int64).max), k)
    state = chain.follow(1 + s_adv.astype(np.int16), first, s_end, until, times)

    # per member: the highest state, then the latest start (starts are in (member, time) order)
    group = np.flatnonzero(np.concatenate(([True], s_uid[1:] != s_uid[:-1]))) if len(first) else first
    best = np.maximum.reduceat(state, group) if len(group) else state
    sizes = np.diff(np.append(group, len(first)))
    top = state == np.repeat(best, sizes)
    chosen = np.maximum.reduceat(np.where(top, np.arange(len(first)), -1), group) if len(group) else group
    open_start = np.logical_or.reduceat(until >= as_of_end_us, group) if len(group) else np.zeros(0, dtype=bool)
    return Paths(s_uid[chosen], (state[chosen] - 1).astype(np.int8), open_start, times[:, chosen])


@dataclass(frozen=True)
class WalkBounds:
    """The walk's numbers besides its rows: k steps, the entry range, the window and the end of as_of (µs)."""

    k: int
    from_us: int
    to_end_us: int
    window_us: int
    as_of_end_us: int


def paths_arrow(paths: Paths, k: int, tz: str | None = None) -> pa.Table:
    """The walk's members as an Arrow table: `_uid, deepest, open_start, t1 … t8` (timestamps, NULL past the path)."""
    stamp = pa.timestamp("us", tz=tz)
    cols: dict[str, pa.Array] = {
        "_uid": pa.array(paths.uid, type=pa.int32()),
        "deepest": pa.array(paths.deepest, type=pa.int32()),
        "open_start": pa.array(paths.open_start, type=pa.bool_()),
    }
    for j in range(1, 9):
        if j <= k:
            t = paths.times[j - 1]
            times = pa.array(t.view("datetime64[us]"), mask=t == NO_TIME, type=pa.timestamp("us"))
            cols[f"t{j}"] = times if tz is None else times.cast(stamp)
        else:
            cols[f"t{j}"] = pa.nulls(len(paths.uid), type=stamp)
    return pa.table(cols)


def walk_table(got: pa.Table, bounds: WalkBounds, tz: str | None = None) -> pa.Table:
    """The walk over candidate rows `got` (`_uid, ts, mask`; any order; all of each member's rows) as
    the members' Arrow table; times naive, or in zone `tz` (Spark reads UTC instants)."""
    uid, ts, bits = (got[c].to_numpy() for c in ("_uid", "ts", "mask"))
    del got
    order = member_time_order(uid, ts)
    paths = walk(
        uid[order], ts[order], bits[order], k=bounds.k, from_us=bounds.from_us, to_end_us=bounds.to_end_us,
        window_us=bounds.window_us, as_of_end_us=bounds.as_of_end_us,
    )  # fmt: skip
    return paths_arrow(paths, bounds.k, tz)


def walk_batches(
    batches: Iterable[pa.RecordBatch], bounds: WalkBounds, tz: str | None = "UTC"
) -> Iterator[pa.RecordBatch]:
    """One Spark partition's walk (`mapInArrow`): its candidate rows in, its members out. The partition
    must hold every row of each of its members (the caller partitions by member)."""
    got = [batch for batch in batches if batch.num_rows]
    if got:  # a partition may hold no member at all
        yield from walk_table(pa.Table.from_batches(got), bounds, tz).to_batches()
