"""One column's bitmaps, and the TRUE and FALSE sets of a plan evaluated over them."""

from __future__ import annotations

from dataclasses import dataclass

from pyroaring import BitMap
from sqlglot import exp

from core.bitmaps.plans import Const, Leaf, Op, Plan

CODE = "_bitmap_code"


@dataclass(frozen=True)
class ColumnIndex:
    """One column's bitmaps, by code, and the DuckDB table of its distinct values (`_bitmap_code`, column)."""

    column: str
    table: exp.Table
    values: tuple[object, ...]  # by code, as Python values (None for NULL)
    bitmaps: tuple[BitMap, ...]
    nbytes: int
    build_seconds: float


# --- evaluation ---------------------------------------------------------------------------------


class Sets:
    """TRUE and FALSE sets of each plan node, each computed at most once."""

    def __init__(
        self,
        everyone: BitMap,
        codes: dict[int, tuple[list[int], list[int]]],
        indexes: dict[str, ColumnIndex],
        leaf_ids: dict[int, int],
    ):
        self.everyone = everyone
        self.total = len(everyone)
        self.codes = codes
        self.indexes = indexes
        self.leaf_ids = leaf_ids
        self.memo: dict[tuple[int, bool], BitMap] = {}

    def _union(self, index: ColumnIndex, codes: list[int]) -> BitMap:
        """The members with one of these values; past half of everyone, everyone minus the others."""
        bitmaps = index.bitmaps
        chosen = set(codes)
        if sum(len(bitmaps[c]) for c in chosen) * 2 > self.total:
            others = [bitmaps[c] for c in range(len(bitmaps)) if c not in chosen]
            return self.everyone - BitMap.union(*others) if others else self.everyone.copy()
        return BitMap.union(*[bitmaps[c] for c in chosen]) if chosen else BitMap()

    def get(self, p: Plan, truth: bool) -> BitMap:
        key = (id(p), truth)
        if key not in self.memo:
            self.memo[key] = self._compute(p, truth)
        return self.memo[key]

    def _compute(self, p: Plan, truth: bool) -> BitMap:
        if isinstance(p, Const):
            return self.everyone.copy() if p.value == truth else BitMap()
        if isinstance(p, Leaf):
            true_codes, false_codes = self.codes[self.leaf_ids[id(p)]]
            return self._union(self.indexes[p.column], true_codes if truth else false_codes)
        if p.kind == "not":
            return self.get(p.parts[0], not truth)
        if p.kind == "coalesce":
            inner = self.get(p.parts[0], True)
            return inner if truth else self.everyone - inner
        sets = [self.get(part, truth) for part in p.parts]
        # TRUE of AND (FALSE of OR) needs every part; TRUE of OR (FALSE of AND) any
        if (p.kind == "and") == truth:
            return BitMap.intersection(*sets)
        return BitMap.union(*sets)

    def count(self, p: Plan) -> int:
        if isinstance(p, Leaf):  # the values' bitmaps are disjoint: add their sizes
            bitmaps = self.indexes[p.column].bitmaps
            return sum(len(bitmaps[c]) for c in self.codes[self.leaf_ids[id(p)]][0])
        if isinstance(p, Op) and p.kind == "coalesce":
            return self.count(p.parts[0])
        if isinstance(p, Op) and p.kind == "and" and len(p.parts) == 2:
            return self.get(p.parts[0], True).intersection_cardinality(self.get(p.parts[1], True))
        return len(self.get(p, True))
