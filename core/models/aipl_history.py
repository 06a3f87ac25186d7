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

How it is built: core/models/aipl_build.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlglot import exp

from core import background
from core.catalog import AIPL_STAGES, UID
from core.queries import named_query

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
        out = {}
        for level in LEVELS:
            s = slice(self.bounds[level - 1], self.bounds[level])
            out[level] = int(np.count_nonzero((self.first[s] <= d) & (self.last[s] >= d)))
        return out

    def stages(self, day: date) -> np.ndarray:
        """Every member's stage code at `day` (0 none, 1 A, 2 I, 3 P, 4 L), indexed by `_uid`."""
        d = self.day_number(day)
        out = np.zeros(self.size, dtype=np.uint8)
        for level in LEVELS:  # each level's members are unique: plain assignments, higher levels last
            out[self._holding(level, d)] = level
        return out


# --- building -------------------------------------------------------------------------------------


def supported(ds: Dataset) -> bool:
    """Whether the history answers: on DuckDB (numpy reads its Arrow results), for a rule it can hold
    (a loyalty threshold below 1 purchase reads the events); otherwise the SQL rule answers."""
    return ds.engine == "duckdb" and ds.config.aipl.loyalty_min_purchases >= 1


def build(ds: Dataset, progress: Progress | None = None) -> History:
    """The history from `event_rows` (aipl_build.py: one pass over the events in blocks, one over the purchases)."""
    from core.models.aipl_build import build_ranges

    origin, size, uid, first, last, bounds = build_ranges(ds, progress)
    return History(origin=origin, size=size, uid=uid, first=first, last=last, bounds=bounds)


# --- kept per version of the data ---------------------------------------------------------------


def file_for(ds: Dataset) -> Path:
    """The history's file next to the derived cache (same name, another suffix): one per version of the data."""
    return ds.cache_path.with_name(ds.cache_path.stem + ".aipl-history.npz")


def load(path: Path, ds: Dataset) -> History | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = z["meta"]
            if (
                int(meta[0]) != FORMAT
                or int(meta[1]) != ds.config.aipl.lookback_days
                or int(meta[2]) != ds.config.aipl.loyalty_min_purchases
            ):
                return None
            origin = date.fromordinal(int(meta[3]))
            return History(origin, int(meta[4]), z["uid"], z["first"], z["last"], tuple(int(b) for b in z["bounds"]))
    except (OSError, KeyError, ValueError) as e:
        log.warning("AIPL history %s unreadable (%s): computing it again", path, e)
        return None


def save(path: Path, h: History, ds: Dataset) -> None:
    meta = np.array(
        [FORMAT, ds.config.aipl.lookback_days, ds.config.aipl.loyalty_min_purchases, h.origin.toordinal(), h.size],
        dtype=np.int64,
    )
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, meta=meta, uid=h.uid, first=h.first, last=h.last, bounds=np.array(h.bounds, dtype=np.int64))
        os.replace(tmp, path)
        from core.dataset import side_folders  # core.dataset imports the kinds, which import the models

        # older versions of the same dataset (same path: another dataset of the same name keeps its own)
        for old in side_folders.older_versions(path.parent, ds.path, ".aipl-history.npz", path):
            with contextlib.suppress(OSError):
                old.unlink()
    except OSError as e:
        log.warning("AIPL history not kept in %s (%s)", path, e)
        with contextlib.suppress(OSError):
            tmp.unlink()


def _kept(ds: Dataset) -> dict:
    """What this module keeps per opened dataset (core/dataset/caches.py)."""
    from core.dataset.caches import (
        dataset_cache,  # core.dataset imports the kinds, which import the models
    )

    return dataset_cache(ds, "aipl_history")


def keep(ds: Dataset, h: History) -> None:
    """Use `h` as this opened dataset's history (the bench builds it apart to time it)."""
    _kept(ds)["aipl_history"] = h


def history(ds: Dataset, progress: Progress | None = None) -> History | None:
    """This dataset's history (computed on first use and kept in a file), or None when the rule needs the events."""
    if not supported(ds):
        return None
    found = _kept(ds).get("aipl_history")
    if found is not None:
        return found
    with _LOCK:  # one lock per opened dataset: another dataset's history does not wait for this one
        lock = _kept(ds).setdefault("aipl_history_lock", threading.Lock())
    with lock:
        found = _kept(ds).get("aipl_history")
        if found is not None:
            return found
        # a data scope sees only its members' events: its history is its own and not kept in a file
        path = file_for(ds) if ds.schema is None else None
        h = load(path, ds) if path is not None and path.exists() else None
        if h is None:
            h = build(ds, progress)
            if path is not None:
                save(path, h, ds)
        _kept(ds)["aipl_history"] = h
        return h


def build_in_background(ds: Dataset) -> threading.Thread | None:
    """Compute (or read back) the history in a daemon thread: a long-lived server has it before the AIPL page asks."""
    if not supported(ds) or _kept(ds).get("aipl_history") is not None:
        return None
    return background.start("aipl-history", lambda: history(ds), log, "AIPL history: the background computation failed")


# --- answers at a day -----------------------------------------------------------------------------

STAGES_KEPT = 13  # stage arrays kept per opened dataset (a 12-month trend and one more; 10 MB each at 10M members)


def stages_at(ds: Dataset, h: History, day: date) -> np.ndarray:
    """Every member's stage code at `day` (see `History.stages`), kept for the last few days asked."""
    with _LOCK:
        kept: dict[date, np.ndarray] = _kept(ds).setdefault("aipl_stages", {})
        found = kept.pop(day, None)
    if found is None:
        found = h.stages(day)
    with _LOCK:  # pages rerun in threads: the dict changes under one lock
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


def stage_enum() -> exp.DataType:
    """The type of a dated AIPL table's `value`: one byte, the stages in `AIPL_STAGES` order (constants, not input)."""
    return exp.DataType.build("ENUM(" + ", ".join(f"'{v}'" for v in AIPL_STAGES) + ")", dialect="duckdb")


def loaded(ds: Dataset) -> History | None:
    """The history if this opened dataset already holds it in memory (never computes or reads it)."""
    return _kept(ds).get("aipl_history") if supported(ds) else None


def create_table(ds: Dataset, h: History, day: date, table: exp.Table) -> None:
    """CREATE TABLE `table` (`_uid`, `value` ENUM) of every member's stage at `day` (what a dated condition reads)."""
    import pandas as pd

    # every member number is a member unless a data scope keeps some (then its `profile` says which)
    uids = np.arange(h.size, dtype=np.int32) if ds.schema is None and h.size == ds.total_users else members(ds)
    order = {code: AIPL_STAGES.index(label) for code, label in enumerate(CODES)}  # stage code -> ENUM position
    to_enum = np.array([order[c] for c in range(len(CODES))], dtype=np.int8)
    frame = pd.DataFrame(
        {
            UID: uids.astype(np.int32),
            "value": pd.Categorical.from_codes(to_enum[stages_at(ds, h, day)[uids]], categories=list(AIPL_STAGES)),
        }
    )
    name = f"_aipl_stages_{threading.get_ident()}"
    select = exp.select(
        exp.column(UID, quoted=True),
        exp.alias_(exp.Cast(this=exp.column("value", quoted=True), to=stage_enum()), "value", quoted=True),
    ).from_(exp.to_table(name, quoted=True))
    cur = ds.cursor()
    try:
        cur.register(name, frame)
        try:
            cur.execute(exp.Create(this=table, kind="TABLE", replace=True, expression=select).sql("duckdb"))
        finally:
            cur.unregister(name)
    finally:
        cur.close()
