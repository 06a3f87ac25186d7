"""`segment`: the member is (not) in a saved segment, by id; its definition is inlined when compiled."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.catalog import Catalog
from core.messages import msg
from core.segments import refs
from core.segments.builder_rows import Row
from core.segments.conditions import SEGMENT_OPS, SegmentError, SegmentRef
from core.segments.kinds.base import BuilderRow, Kind
from core.segments.sqltrees import (
    MAX_EXPANDED_CONDITIONS,
    MAX_EXPANDED_DEPTH,
    not_,
)

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> SegmentRef | None:
    """A saved-segment reference from JSON (the id is checked when compiled)."""
    segment_id = p.name(obj, "segment", path, "a saved segment's id")
    op = p.op(obj, "segment", path, SEGMENT_OPS)
    return SegmentRef(segment_id, op, negate) if segment_id and op else None


def compile(c: Compiler, cond: SegmentRef, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """The saved segment's definition inlined (compiled once per id; cycles and depth refused)."""
    sid = cond.segment
    where = path + ".segment"
    problem = refs.follow(c.stack, sid, c.resolve)  # a cycle, no saved segments, too deep
    if problem is not None:
        c.issue(where, problem)
        return exp.true()
    if sid in c.memo:
        expr, size, height = c.memo[sid]
        if c.depth + height > MAX_EXPANDED_DEPTH:  # reused deeper than where it was compiled
            return c.too_deep_at(where)
        c.expanded += size
        if c.expanded > MAX_EXPANDED_CONDITIONS:  # check before copying a huge tree
            if not c.too_large:
                c.issue(where, msg("segment.expanded_too_many", limit=MAX_EXPANDED_CONDITIONS))
                c.too_large = True
            return exp.true()
        member = expr.copy()
    else:
        raw = c.lookup(sid)
        if raw is None:
            c.issue(where, refs.unknown(sid, c.resolve))
            return exp.true()
        prefix = refs.inside(path, sid)
        try:
            saved = c.parse(raw)  # re-checked: stored definitions are input too
        except SegmentError as err:
            c.issues.extend(i.at(prefix + i.path) for i in err.issues)
            return exp.true()
        c.stack.append(sid)
        before, deepest = c.expanded, c.deepest
        c.deepest = c.depth
        member = c.segment(saved, prefix)
        c.stack.pop()
        height = c.deepest - c.depth
        c.deepest = max(deepest, c.deepest)
        c.memo[sid] = (member, c.expanded - before, height)  # later uses copy it
    return member if cond.op == "in" else not_(member)


def describe(d: Describer, cond: SegmentRef) -> str:
    """ "is in saved segment s1" (saved segments are named by id)."""
    return d.words["seg_in" if cond.op == "in" else "seg_not_in"].format(id=cond.segment)


def to_row(cond: SegmentRef, state: Any, rid: str) -> tuple[Any, Row]:
    """The builder row editing this condition."""
    return state, Row(rid, "segment", cond.segment, cond.op, negate=cond.negate)


def from_row(row: Row) -> dict[str, Any] | None:
    """The row's condition, or None until a saved segment is chosen."""
    return {"kind": "segment", "op": row.op or "in", "segment": row.target} if row.target else None


def row_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """in / not_in."""
    return SEGMENT_OPS


def default_op(catalog: Catalog, row: Row, ops: tuple[str, ...]) -> str:
    """A fresh reference row asks "is in"."""
    return "in"


KIND = Kind(
    name="segment",
    condition=SegmentRef,
    keys=("kind", "op", "segment", "negate"),
    operators=SEGMENT_OPS,
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=BuilderRow(to_row, from_row, row_ops, default_op),
    nests=True,
)
