"""Bitmaps of a model at a past day: a dated `rfm` / `aipl` / `lifecycle` condition counted like an undated one.

A dated condition compiles to `_uid IN (SELECT _uid FROM _aipl_at_20260731 WHERE value IN (…))`
(core/segments/kinds/models.py). The plan (core/bitmaps/plans.py) reads it as one leaf over a
virtual column, `dated:aipl:2026-07-31`, whose values are the model's values on that day; the
leaf's WHERE is evaluated, as for any column, over a small table of those values of the same
type. Its bitmaps (one per value, together every member once) come:

- for AIPL, from the stage array of the day (core/models/aipl_history.py, `stages_at`): each
  stage's mask packed into Roaring's portable format (`from_mask`), no DuckDB table at all;
- for RFM, lifecycle, or AIPL without a history, from the model's table at that day (core/models
  `at`), read like a `profile` column.

At most `DATED_KEPT` days are held (least recently used dropped first), inside the index's budget.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from pyroaring import BitMap
from sqlglot import exp

from core import models
from core.catalog import AIPL_STAGES, UID
from core.models import aipl_history

if TYPE_CHECKING:
    from core.bitmaps.sets import ColumnIndex
    from core.dataset import Dataset

PREFIX = "dated:"  # no `profile` column is named like this (a key, never an identifier in SQL)
DATED_KEPT = 4  # days held at once: a flow's two dates and a couple more (10M members: ~2-5 MB a day)


def key(model: str, day: date) -> str:
    """The index key of `model` at `day`, e.g. `dated:aipl:2026-07-31`."""
    return f"{PREFIX}{model}:{day.isoformat()}"


def parse_key(name: str) -> tuple[str, date] | None:
    """(model, day) of a dated key, or None for a column's name."""
    if not name.startswith(PREFIX):
        return None
    model, _, day = name[len(PREFIX) :].partition(":")
    try:
        return model, date.fromisoformat(day)
    except ValueError:
        return None


_PARTS = {"expressions", "from_", "where"}  # SELECT _uid FROM t WHERE …, nothing more (sqlglot ≥ 28 names FROM "from_")


def leaf(node: exp.Expression) -> tuple[str, exp.Expression] | None:
    """(key, the condition on `value`) when `node` is `_uid IN (SELECT _uid FROM <model at a day> WHERE …)`."""
    if not isinstance(node, exp.In) or node.args.get("expressions") or node.args.get("unnest"):
        return None
    uid = node.this
    if not isinstance(uid, exp.Column) or uid.table or uid.name != UID:
        return None
    query = node.args.get("query")
    select = query.unnest() if query is not None else None
    if not isinstance(select, exp.Select) or {k for k, v in select.args.items() if v} != _PARTS:
        return None
    (projected, *more) = select.expressions
    if more or not isinstance(projected, exp.Column) or projected.table or projected.name != UID:
        return None
    source = select.args["from_"].this
    if not isinstance(source, exp.Table) or source.args.get("db") or source.args.get("catalog"):
        return None
    found = models.parse_table_name(source.name)
    if found is None:
        return None
    return key(*found), select.args["where"].this


def cheap(ds: Dataset, name: str) -> bool:
    """Whether building this key is quicker than the scan it would spare (AIPL with the history in memory)."""
    found = parse_key(name)
    return found is not None and found[0] == "aipl" and aipl_history.loaded(ds) is not None


def build(ds: Dataset, name: str, everyone: BitMap, from_table) -> ColumnIndex | str:
    """The bitmaps of a dated key; `from_table(source, column, key)` reads a model's table like a column."""
    from core.bitmaps.sets import CODE, ColumnIndex  # sets imports plans, which imports this module

    model, day = parse_key(name)  # type: ignore[misc]
    h = aipl_history.history(ds) if model == "aipl" else None
    if h is None or h.size != len(everyone):
        # the model's table at that day (computed here if no count made it yet), read like a column
        with models.held(ds, [(model, day)]):
            table = models.at(ds, model, day)
            return from_table(exp.to_table(table, quoted=True), models.VALUE, name)
    started = time.perf_counter()
    stages = aipl_history.stages_at(ds, h, day)  # kept for the last few days asked: the page made it
    table = exp.to_table(f"_bitmap_values_{hashlib.sha1(name.encode()).hexdigest()[:16]}", db="main", catalog="memory")
    # the values as the dated table types them, code i = AIPL_STAGES[i] (constants, not user input)
    rows = exp.values([(i, label) for i, label in enumerate(AIPL_STAGES)], alias="v", columns=["c", "l"])
    values = exp.select(
        exp.alias_(exp.Cast(this=exp.column("c"), to=exp.DataType.build("INTEGER")), CODE, quoted=True),
        exp.alias_(exp.Cast(this=exp.column("l"), to=aipl_history.stage_enum()), models.VALUE, quoted=True),
    ).from_(rows)
    cur = ds.cursor()
    try:
        cur.execute(exp.Create(this=table, kind="TABLE", replace=True, expression=values).sql("duckdb"))
    finally:
        cur.close()
    bitmaps = [from_mask(stages == aipl_history.CODES.index(label)) for label in AIPL_STAGES]
    if sum(len(b) for b in bitmaps) != len(everyone) or BitMap.union(*bitmaps) != everyone:
        return "its values did not place every member exactly once"
    nbytes = sum(_bytes(b) for b in bitmaps)
    return ColumnIndex(name, table, AIPL_STAGES, tuple(bitmaps), nbytes, time.perf_counter() - started)


_NO_RUNS = 12346  # the portable format's cookie without run containers (RoaringFormatSpec)
_CHUNK = 1 << 16  # a container holds the members sharing the high 16 bits
_ARRAY_MAX = 4096  # up to this many members a container is a sorted uint16 array, else a 65,536-bit bitset
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)  # set bits of a byte


def from_mask(mask: np.ndarray) -> BitMap:
    """The bitmap of the positions where `mask` is True, written in Roaring's portable format by numpy.

    Adding 6M sorted members one by one takes ~0.3 s at 10M members; this packs the mask's bits
    (a bitset container is 65,536 of them, little-endian) and lets Roaring read them back.
    """
    chunks = -(-len(mask) // _CHUNK)
    packed = np.zeros(chunks * (_CHUNK // 8), dtype=np.uint8)
    bits = np.packbits(mask, bitorder="little")
    packed[: len(bits)] = bits
    rows = packed.reshape(chunks, _CHUNK // 8)
    cards = _POPCOUNT[rows].sum(axis=1, dtype=np.int64)
    keys = np.flatnonzero(cards)
    bodies = [
        rows[k].tobytes()
        if cards[k] > _ARRAY_MAX
        else np.flatnonzero(mask[k * _CHUNK : (k + 1) * _CHUNK]).astype("<u2").tobytes()
        for k in keys
    ]
    header = np.empty(2 * len(keys), dtype="<u2")
    header[0::2], header[1::2] = keys, cards[keys] - 1
    # cookie, container count, (key, cardinality - 1) per container, then each container's offset
    sizes = np.array([len(b) for b in bodies], dtype=np.int64)
    offsets = (8 + 8 * len(keys) + np.cumsum(sizes) - sizes).astype("<u4")
    head = np.array([_NO_RUNS, len(keys)], dtype="<u4").tobytes() + header.tobytes() + offsets.tobytes()
    bm = BitMap.deserialize(head + b"".join(bodies))
    bm.run_optimize()
    return bm


def _bytes(bm: BitMap) -> int:
    s = bm.get_statistics()
    return int(s["n_bytes_array_containers"] + s["n_bytes_bitset_containers"] + s["n_bytes_run_containers"])
