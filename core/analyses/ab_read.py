"""One experiment's per-variant aggregates in one pass over its members and its period's metric events (numpy).

The same numbers as `queries/ab_variant_aggregates.sql` (ANALYSES.md §5; it stays the reference and what
another engine runs), read differently: at 10 M members that query's join of every member to the window's
purchase events and its grouping per member were most of a read (6.8 s for 6.2 M members). Here:

1. the members (`queries/ab_member_rows.sql`: member number, first assignment, variant hash) and the
   variants' names with the users left out (`ab_member_meta.sql`) — two reads of the resolved assignments;
2. the conversion and purchase events of the whole period, [first assignment − window, last window end),
   in one range read over `event_rows`' (_ei, ts) order (`ab_metric_events.sql`), no join;
3. each event finds its member by an array lookup (member number → row), is kept when it falls in that
   member's window or pre-period, and is summed per member (`bincount`, `np.add.at`), then per variant.

Answers are kept per opened dataset, experiment and base segment (core/dataset/caches.py): the statistics'
switches (CUPED, sequential, Bayesian) reuse them. Every figure is exact: amounts come as whole millionths
(`core.models.rfm.amount_micros`, computed in SQL), summed per member as integers and per variant exactly
(`exact_dot`: squares need more than 64 bits), then divided once — the SQL's answer, to the last bit, in any order.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from core.models.rfm import amount_micros, from_micros
from core.queries import named_query

if TYPE_CHECKING:
    import duckdb

    from core.analyses.experiments import Aggregates, VariantAggregate
    from core.dataset import Dataset

EPOCH = datetime(1970, 1, 1)
MAX_KEPT = 64  # answers kept per opened dataset (a few hundred bytes each)
_LOCK = threading.Lock()


def _us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive timestamp, as DuckDB's `epoch_us`."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


@dataclass(frozen=True)
class Members:
    """An experiment's members after the exclusions: one entry per member (distinct member numbers)."""

    uid: np.ndarray  # member number
    t0: np.ndarray  # first assignment, µs since the epoch (int64)
    code: np.ndarray  # index into `names`
    names: tuple[str, ...]  # variant names, sorted


@dataclass(frozen=True)
class Events:
    """The conversion and purchase events of the experiment's period (any order)."""

    uid: np.ndarray
    ts: np.ndarray  # µs since the epoch (int64)
    conversion: np.ndarray  # bool: the experiment's conversion event
    purchase: np.ndarray  # bool: the purchase event (revenue = its amount)
    amount: np.ndarray  # int64 whole millionths (core.models.rfm.amount_micros), missing = 0


def per_variant(members: Members, events: Events, window_us: int, as_of_end_us: int) -> list[VariantAggregate]:
    """Per variant (by name): users, conversions, revenue and its square, the pre-period's, windows not over."""
    from core.analyses.experiments import VariantAggregate

    n, k = len(members.uid), len(members.names)
    if n == 0:
        return []
    t0 = members.t0.astype(np.int64, copy=False)
    size = int(members.uid.max()) + 1
    row = np.full(size, -1, dtype=np.int32 if n < 2**31 else np.int64)
    row[members.uid] = np.arange(n, dtype=row.dtype)
    ev_uid = events.uid.astype(np.int64, copy=False)
    inside = ev_uid < size
    at = np.full(len(ev_uid), -1, dtype=row.dtype)
    at[inside] = row[ev_uid[inside]]
    mine = at >= 0
    at, ts = at[mine], events.ts[mine]
    conversion, purchase, amount = events.conversion[mine], events.purchase[mine], events.amount[mine]
    start = t0[at]
    end = np.minimum(start + window_us, as_of_end_us)  # the window [t0, t1), cut at the end of as_of
    post = (ts >= start) & (ts < end)
    pre = (ts >= start - window_us) & (ts < end) & (ts < start)  # [t0 − W, t0), as the SQL's join and case

    def reached(rows: np.ndarray) -> np.ndarray:
        hit = np.zeros(n, dtype=np.int8)
        hit[at[rows]] = 1
        return hit

    def summed(rows: np.ndarray) -> np.ndarray:
        """Per member, the exact sum of the millionths (int64; Python integers if it could overflow)."""
        values, where = amount[rows], at[rows]
        wide = float(np.abs(values).sum(dtype=np.float64)) >= 2.0**62  # any member's sum could pass int64
        out = np.zeros(n, dtype=object if wide else np.int64)
        np.add.at(out, where, values.astype(object) if wide else values)
        return out

    conv, pre_conv = reached(post & conversion), reached(pre & conversion)
    rev, pre_rev = summed(post & purchase), summed(pre & purchase)
    code = members.code
    # only members with an event in their window or pre-period add to the sums (most have none)
    some = np.flatnonzero(conv | pre_conv | (rev != 0) | (pre_rev != 0))
    conv, pre_conv, rev, pre_rev, some_code = conv[some], pre_conv[some], rev[some], pre_rev[some], code[some]

    def count(values: np.ndarray) -> np.ndarray:
        return np.bincount(some_code, weights=values, minlength=k).round().astype(np.int64)

    def total(a: np.ndarray, b: np.ndarray | None = None) -> list[float]:
        """Per variant Σ a (or Σ a·b) over the members, exact, as the nearest float."""
        out = []
        for i in range(k):
            mine = some_code == i
            exact = exact_dot(a[mine], None if b is None else b[mine])
            out.append(from_micros(exact, squared=b is not None))
        return out

    users = np.bincount(code, minlength=k)
    sums = {
        "conversions": count(conv),
        "revenue_sum": total(rev),
        "revenue_sum_sq": total(rev, rev),
        "pre_conversions": count(pre_conv),
        "conversion_products": count(conv * pre_conv),
        "pre_revenue_sum": total(pre_rev),
        "pre_revenue_sum_sq": total(pre_rev, pre_rev),
        "revenue_products": total(rev, pre_rev),
        "unfinished": np.bincount(code[t0 > as_of_end_us - window_us], minlength=k).astype(np.int64),
    }
    out = []
    for i, name in enumerate(members.names):
        if users[i] == 0:
            continue
        times = t0[code == i]
        out.append(
            VariantAggregate(
                name=name,
                users=int(users[i]),
                first_assigned=_moment(times.min()),
                last_assigned=_moment(times.max()),
                **{f: (float(v[i]) if isinstance(v, list) else int(v[i])) for f, v in sums.items()},
            )
        )
    return out


LIMB_BITS = 21  # an int64 as three limbs: limb products < 2^42, so 2^20 of them add up in int64
CHUNK = 1 << 20


def _limbs(a: np.ndarray) -> list[np.ndarray]:
    """int64 values as l0 + l1·2^21 + l2·2^42 (l0, l1 in [0, 2^21), l2 signed, |l2| <= 2^21)."""
    mask = (1 << LIMB_BITS) - 1
    return [a & mask, (a >> LIMB_BITS) & mask, a >> (2 * LIMB_BITS)]


def exact_dot(a: np.ndarray, b: np.ndarray | None = None) -> int:
    """Σ a, or Σ a·b, exactly as a Python integer (int64 arrays by limbs in numpy; object arrays in Python)."""
    if a.dtype == object or (b is not None and b.dtype == object):
        return sum(a.tolist()) if b is None else sum(map(operator.mul, a.tolist(), b.tolist()))
    total = 0
    for start in range(0, len(a), CHUNK):
        la = _limbs(a[start : start + CHUNK])
        if b is None:
            total += sum(int(limb.sum()) << (LIMB_BITS * i) for i, limb in enumerate(la))
            continue
        lb = _limbs(b[start : start + CHUNK])
        for i, x in enumerate(la):
            for j, y in enumerate(lb):
                total += int(np.dot(x, y)) << (LIMB_BITS * (i + j))
    return total


# --- reading ----------------------------------------------------------------------------------------


def _micros(column: pa.ChunkedArray) -> np.ndarray:
    """A timestamp column as int64 µs since the epoch (no copy when it is already µs, as DuckDB's TIMESTAMP)."""
    return column.cast(pa.timestamp("us")).to_numpy().view(np.int64)


def _statement(
    query: exp.Expression, ctes: list[tuple[str, exp.Expression]], params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The query with `ctes` before it, and the parameters it names (DuckDB refuses unused ones)."""
    from core.analyses.ab_assignments import used_params, with_ctes

    tree = with_ctes(query, ctes)
    return tree.sql("duckdb"), used_params(tree, params)


def read_members(
    cur: duckdb.DuckDBPyConnection,
    ctes: list[tuple[str, exp.Expression]],
    in_segment: exp.Expression,
    params: dict[str, Any],
) -> tuple[Members, int, int]:
    """The members (within the segment) and the experiment's exclusions: (members, multiple exposure, unknown)."""
    meta = cur.execute(*_statement(named_query("ab_member_meta"), ctes, params)).fetchall()
    multiple, unknown = (int(meta[0][2] or 0), int(meta[0][3] or 0)) if meta else (0, 0)
    named = sorted((variant, v) for v, variant, _m, _u in meta if variant is not None)
    names = tuple(variant for variant, _ in named)
    sql, used = _statement(named_query("ab_member_rows", in_segment=in_segment), ctes, params)
    got = cur.sql(sql, params=used).to_arrow_table()
    uid = got["_uid"].to_numpy()
    t0 = _micros(got["t0"])
    v = got["v"].to_numpy()
    if named:
        hashes = np.array([h for _, h in named], dtype=np.uint64)
        order = np.argsort(hashes)
        code = order[np.searchsorted(hashes[order], v.astype(np.uint64, copy=False))]
    else:
        code = np.zeros(0, dtype=np.int64)
    return Members(uid, t0, code, names), multiple, unknown


def read_events(
    cur: duckdb.DuckDBPyConnection,
    ds: Dataset,
    members: Members,
    window_us: int,
    conversion: int,
    purchase: int,
) -> Events:
    """The conversion and purchase events from the first pre-period's start to the last window's end."""
    from core.analyses.experiments import amount_expression

    amount = amount_micros(amount_expression(ds))  # whole millionths (BIGINT): summed exactly below
    end_us = _us(ds.as_of_end)
    params = {
        "conversion": conversion,
        "purchase": purchase,
        "from_ts": _moment(int(members.t0.min()) - window_us),
        "to_ts": _moment(min(int(members.t0.max()) + window_us, end_us)),
    }
    got = cur.sql(named_query("ab_metric_events", amount=amount).sql("duckdb"), params=params).to_arrow_table()
    ei = got["_ei"].to_numpy()
    return Events(
        uid=got["_uid"].to_numpy(),
        ts=_micros(got["ts"]),
        conversion=ei == conversion,
        purchase=ei == purchase,
        amount=got["amount"].to_numpy(),
    )


def compute(
    cur: duckdb.DuckDBPyConnection,
    ds: Dataset,
    ctes: list[tuple[str, exp.Expression]],
    in_segment: exp.Expression,
    params: dict[str, Any],
    *,
    window_days: int,
    conversion: int,
    purchase: int,
) -> Aggregates:
    """One experiment's aggregates: its members, its period's metric events, one pass (on `cur`)."""
    from core.analyses.experiments import Aggregates

    members, multiple, unknown = read_members(cur, ctes, in_segment, params)
    window_us = window_days * 86_400_000_000
    if len(members.uid) == 0:
        return Aggregates((), multiple, unknown)
    events = read_events(cur, ds, members, window_us, conversion, purchase)
    return Aggregates(tuple(per_variant(members, events, window_us, _us(ds.as_of_end))), multiple, unknown)


# --- kept per opened dataset ----------------------------------------------------------------------------


def _kept(ds: Dataset) -> OrderedDict:
    from core.dataset.caches import dataset_cache

    kept = dataset_cache(ds, "ab_aggregates")
    return kept.setdefault("answers", OrderedDict())


def recall(ds: Dataset, key: tuple) -> Aggregates | None:
    """A kept answer for `key` (experiment, segment), or None."""
    with _LOCK:
        kept = _kept(ds)
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
        return found


def keep(ds: Dataset, key: tuple, agg: Aggregates) -> None:
    with _LOCK:
        kept = _kept(ds)
        kept[key] = agg
        while len(kept) > MAX_KEPT:
            kept.popitem(last=False)


def forget(ds: Dataset) -> None:
    """Drop the kept answers of this opened dataset (benchmarks time a fresh read)."""
    with _LOCK:
        _kept(ds).clear()
