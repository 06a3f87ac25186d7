"""The bitmap indexes of one dataset: answering counts, building columns (in the background), the budget."""

from __future__ import annotations

import array
import atexit
import hashlib
import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from pyroaring import BitMap
from sqlglot import exp

from core.bitmaps import dated
from core.bitmaps.plans import Leaf, Plan, plan, plan_leaves
from core.bitmaps.sets import CODE, ColumnIndex, Sets
from core.catalog import UID

if TYPE_CHECKING:
    from core.dataset import Dataset

log = logging.getLogger(__package__)  # "core.bitmaps", the logger's name before the split

# A column with more distinct values is scanned: its bitmaps would be many small sets that a
# range must union one by one, and a scan with min/max pruning is as fast.
MAX_VALUES = 1024
MAX_FAILURES = 3  # builds of a column that raised before it is left to scans
REBUILD_AFTER = 60.0  # seconds before a column dropped for room is built again in the background


# --- the index ------------------------------------------------------------------------------------


class BitmapIndex:
    """The bitmap indexes of one opened dataset: built on demand, in the background, within a budget."""

    def __init__(self, ds: Dataset, budget_bytes: int, *, max_values: int = MAX_VALUES, build: str = "off") -> None:
        self.ds = ds
        self.budget = budget_bytes
        self.max_values = max_values
        # what a count does about a column without an index: "off" nothing, "background" queue it, "now" build it
        self.mode = build
        self._lock = threading.Lock()
        self._ready: OrderedDict[str, ColumnIndex] = OrderedDict()  # least recently used first
        self._refused: dict[str, str] = {}  # column -> why it has no index
        self._queue: list[str] = []
        self._building: set[str] = set()
        self._failures: dict[str, int] = {}
        self._evicted: dict[str, float] = {}  # column -> when it was dropped for room
        self._worker: threading.Thread | None = None
        self._closed = False
        self._everyone = BitMap()
        self._everyone.add_range(0, ds.total_users)

    # -- answering
    def count(self, condition: exp.Expression, params: dict[str, object]) -> int | None:
        """Members for which the condition is TRUE, or None when the index cannot answer (yet)."""
        evaluated = self._evaluate([condition], params)
        if evaluated is None:
            return None
        sets, (p,) = evaluated
        return sets.count(p)

    def members(self, conditions: list[exp.Expression], params: dict[str, object]) -> list[BitMap] | None:
        """For each condition the set of members for which it is TRUE (all from one query), or None."""
        evaluated = self._evaluate(conditions, params)
        if evaluated is None:
            return None
        sets, plans = evaluated
        return [sets.get(p, True) for p in plans]

    def split(
        self, condition: exp.Expression, params: dict[str, object], column: str
    ) -> tuple[BitMap, list[tuple[object, BitMap]]] | None:
        """The members for which the condition is TRUE, and every value of `column` with its members; or None."""
        evaluated = self._evaluate([condition], params, also=column)
        if evaluated is None:
            return None
        sets, (p,) = evaluated
        index = sets.indexes[column]
        return sets.get(p, True), list(zip(index.values, index.bitmaps, strict=True))

    def _evaluate(
        self, conditions: list[exp.Expression], params: dict[str, object], also: str | None = None
    ) -> tuple[Sets, list[Plan]] | None:
        plans = self._plans(conditions)
        if plans is None:
            return None
        leaves = [leaf for p in plans for leaf in plan_leaves(p)]
        indexes = self._indexes({leaf.column for leaf in leaves} | ({also} if also else set()))
        if indexes is None:
            return None
        leaf_ids = {id(leaf): i for i, leaf in enumerate(leaves)}
        codes = self._codes(leaves, indexes, params) if leaves else {}
        return Sets(self._everyone, codes, indexes, leaf_ids), plans

    def _indexes(self, columns: set[str]) -> dict[str, ColumnIndex] | None:
        with self._lock:
            if any(c in self._refused for c in columns):
                return None
            missing = [c for c in sorted(columns) if c not in self._ready]
            if not missing:
                for c in columns:
                    self._ready.move_to_end(c)
                return {c: self._ready[c] for c in columns}
        self._request(missing)
        if self.mode == "off":
            return None
        with self._lock:  # built just now (or refused, or evicted by a small budget); queued ones are not yet
            if all(c in self._ready for c in columns):
                return {c: self._ready[c] for c in columns}
        return None

    def _plans(self, conditions: list[exp.Expression]) -> list[Plan] | None:
        """Each condition as a plan, or None when the index is off or one of them has no plan."""
        if self.budget <= 0:
            return None
        try:
            plans = [plan(c) for c in conditions]
        except RecursionError:  # the compiler caps nesting; should a tree still be too deep, scan
            return None
        return None if any(p is None for p in plans) else plans  # type: ignore[return-value]

    def answers(self, *conditions: exp.Expression) -> bool:
        """Whether a count of these conditions comes from the bitmaps now (else from a scan)."""
        plans = self._plans(list(conditions))
        if plans is None:
            return False
        with self._lock:
            return all(leaf.column in self._ready for p in plans for leaf in plan_leaves(p))

    def _codes(
        self, leaves: list[Leaf], indexes: dict[str, ColumnIndex], params: dict[str, object]
    ) -> dict[int, tuple[list[int], list[int]]]:
        """For every leaf, the codes of the values where it is TRUE and where it is FALSE: one query."""
        selects = []
        used: set[str] = set()
        for i, leaf in enumerate(leaves):
            used |= {ph.name for ph in leaf.expression.find_all(exp.Placeholder)}
            truth = exp.alias_(leaf.expression.copy(), "truth")
            selects.append(
                exp.select(exp.Literal.number(i), exp.column(CODE, quoted=True), truth).from_(
                    indexes[leaf.column].table.copy()
                )
            )
        # n-ary, without copies: one union per leaf copied the growing query each time (minutes at 500)
        query: exp.Query = exp.union(*selects, distinct=False, copy=False) if len(selects) > 1 else selects[0]
        cur = self.ds.cursor()
        try:
            rows = cur.execute(query.sql("duckdb"), {k: v for k, v in params.items() if k in used} or None).fetchall()
        finally:
            cur.close()
        out: dict[int, tuple[list[int], list[int]]] = {i: ([], []) for i in range(len(leaves))}
        for i, code, truth in rows:
            if truth is not None:
                out[i][0 if truth else 1].append(code)
        return out

    # -- building
    def build_in_background(self) -> BitmapIndex:
        """From now on, a count that needs an index queues it (for long-lived processes)."""
        self.mode = "background"
        return self

    def build_when_needed(self) -> BitmapIndex:
        """From now on, a count that needs an index builds it first (tests, benchmarks)."""
        self.mode = "now"
        return self

    def _request(self, columns: list[str]) -> None:
        if self.mode == "now":
            self.build(columns)
            return
        if self.mode == "background":
            # a past day's AIPL from the stage history takes less than the scan it spares: build it now
            now = [c for c in columns if dated.cheap(self.ds, c)]
            self.build(now)
            columns = [c for c in columns if c not in now]
        with self._lock:
            if self._closed or self.mode != "background":
                return
            now = time.monotonic()
            for c in columns:
                # a column dropped for room a moment ago waits: more columns in use than the budget
                # holds would otherwise rebuild one after another for ever
                if c not in self._queue and now - self._evicted.get(c, -REBUILD_AFTER) >= REBUILD_AFTER:
                    self._queue.append(c)
            if not self._queue:
                return
            if self._worker is None or not self._worker.is_alive():
                # a daemon, so a server stops without building the rest of the queue; at exit
                # `_close_all` lets it finish the column in hand instead of stopping it inside DuckDB
                self._worker = threading.Thread(target=self._work, name="adesk-bitmaps", daemon=True)
                _LIVE.add(self)
                self._worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._queue:
                    self._worker = None
                    return
                column = self._queue[0]
            try:
                self.build([column])
            finally:
                with self._lock:
                    if column in self._queue:
                        self._queue.remove(column)

    def wait(self, timeout: float = 600.0) -> None:
        """Block until the columns asked for so far are indexed (or refused)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                worker = self._worker
            if worker is None or not worker.is_alive():
                return
            worker.join(timeout=0.05)

    def build(self, columns: Iterable[str]) -> None:
        """Index these columns now (those indexed, refused or being built by another thread are skipped)."""
        for column in columns:
            with self._lock:
                if self._closed or column in self._ready or column in self._refused or column in self._building:
                    continue
                self._building.add(column)
            try:
                built = self._build(column)
            except Exception as e:  # noqa: BLE001 - an index is an optimisation: SQL still answers
                log.warning("no bitmap index for %s: %s", column, e)
                built = None
            with self._lock:
                self._building.discard(column)
                if built is None:  # a failure (memory, a conflict): tried again later, a few times
                    self._failures[column] = self._failures.get(column, 0) + 1
                    if self._failures[column] >= MAX_FAILURES:
                        self._refused[column] = f"failed {MAX_FAILURES} times"
                elif isinstance(built, str):
                    self._refused[column] = built
                else:
                    self._ready[column] = built
                    self._evict(keep=column)

    def _build(self, column: str) -> ColumnIndex | str:
        if dated.parse_key(column) is not None:  # a model at a past day (core/bitmaps/dated.py)
            return dated.build(self.ds, column, self._everyone, self._build_from)
        return self._build_from(exp.to_table("profile"), column, column)

    def _build_from(self, source: exp.Table, column: str, key: str) -> ColumnIndex | str:
        """The index `key` of `column` in `source` (one row per member): `profile`, or a model's table at a day."""
        started = time.perf_counter()
        col = exp.column(column, quoted=True)
        cur = self.ds.cursor()
        try:
            approx = cur.execute(
                exp.select(exp.func("approx_count_distinct", col)).from_(source.copy()).sql("duckdb")
            ).fetchone()[0]
            if approx > self.max_values * 1.1:
                return f"about {approx:,} distinct values (more than {self.max_values:,})"
            # one table per column, named after it: a rebuild (after eviction, or by another index
            # of the same dataset) replaces it with the same rows and codes
            table = f"memory.main._bitmap_values_{hashlib.sha1(key.encode()).hexdigest()[:16]}"
            distinct = exp.select(
                exp.alias_(
                    exp.Cast(
                        this=exp.Sub(
                            this=exp.Window(
                                this=exp.func("row_number"),
                                order=exp.Order(expressions=[exp.Ordered(this=col.copy(), nulls_first=False)]),
                            ),
                            expression=exp.Literal.number(1),
                        ),
                        to=exp.DataType.build("INTEGER"),
                    ),
                    CODE,
                    quoted=True,
                ),
                col.copy(),
            ).from_(exp.select(col.copy()).from_(source.copy()).group_by(col.copy()).subquery("v"))
            cur.execute(
                exp.Create(this=exp.to_table(table), kind="TABLE", replace=True, expression=distinct).sql("duckdb")
            )
            by_code = (
                exp.select(exp.column(CODE, quoted=True), col.copy())
                .from_(table)
                .order_by(exp.column(CODE, quoted=True))
            )
            values = tuple(value for _, value in cur.execute(by_code.sql("duckdb")).fetchall())
            n_values = len(values)
            if n_values > self.max_values:
                cur.execute(exp.Drop(this=exp.to_table(table), kind="TABLE", exists=True).sql("duckdb"))
                return f"{n_values:,} distinct values (more than {self.max_values:,})"
            # every member's code: the join on IS NOT DISTINCT FROM puts NULL with its code
            pairs = (
                exp.select(exp.column(CODE, table="v", quoted=True), exp.column(UID, table="p", quoted=True))
                .from_(source.copy().as_("p"))
                .join(
                    exp.to_table(table).as_("v"),
                    on=exp.NullSafeEQ(
                        this=exp.column(column, table="p", quoted=True),
                        expression=exp.column(column, table="v", quoted=True),
                    ),
                )
            )
            got = cur.execute(pairs.sql("duckdb")).fetchnumpy()
        finally:
            cur.close()
        codes = np.asarray(got[CODE], dtype=np.int64)
        uids = np.asarray(got[UID], dtype=np.int64)
        if len(uids) != len(self._everyone) or (len(uids) and (uids.min() < 0 or uids.max() > np.iinfo(np.uint32).max)):
            return "its values did not place every member exactly once"
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=n_values))
        sorted_uids = uids[order].astype(np.uint32)
        bitmaps = []
        start = 0
        for end in bounds:
            chunk = array.array("I")
            chunk.frombytes(sorted_uids[start:end].tobytes())
            bm = BitMap(chunk)
            bm.run_optimize()
            bitmaps.append(bm)
            start = int(end)
        # as many rows as members, and together exactly 0 … N-1: every member in one bitmap
        if bitmaps and BitMap.union(*bitmaps) != self._everyone:
            return "its values did not place every member exactly once"
        nbytes = sum(_bitmap_bytes(b) for b in bitmaps)
        return ColumnIndex(key, exp.to_table(table), values, tuple(bitmaps), nbytes, time.perf_counter() - started)

    def _evict(self, keep: str) -> None:
        """Drop least recently used indexes until within the budget, and past days beyond the last
        `DATED_KEPT` used (called with the lock held)."""
        days = [c for c in self._ready if dated.parse_key(c) is not None]  # least recently used first
        for column in days[: max(0, len(days) - dated.DATED_KEPT)]:
            if column != keep:
                del self._ready[column]
                self._evicted[column] = time.monotonic()
        for column in list(self._ready):
            if sum(ix.nbytes for ix in self._ready.values()) <= self.budget:
                return
            if column != keep:
                del self._ready[column]
                self._evicted[column] = time.monotonic()

    # -- state
    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "columns": len(self._ready),
                "megabytes": round(sum(ix.nbytes for ix in self._ready.values()) / 1e6, 1),
                "build_seconds": {c: round(ix.build_seconds, 3) for c, ix in self._ready.items()},
                "refused": dict(self._refused),
            }

    def ready(self, column: str) -> bool:
        with self._lock:
            return column in self._ready

    def close(self) -> None:
        """Stop building (the worker finishes its column first); the dataset closes after this."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()


def _bitmap_bytes(bm: BitMap) -> int:
    s = bm.get_statistics()
    return int(s["n_bytes_array_containers"] + s["n_bytes_bitset_containers"] + s["n_bytes_run_containers"])


_LIVE: weakref.WeakSet[BitmapIndex] = weakref.WeakSet()  # indexes that have started a worker


@atexit.register
def _close_all() -> None:
    for index in list(_LIVE):
        index.close()
