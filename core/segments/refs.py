"""Saved-segment references: the one walker, and the one check for each step it takes.

Every place that follows references — the compiler inlining them, the store refusing a cycle
on save, an export snapshotting the definitions it used, the builder's cache key — goes through
`follow` (a cycle, no saved segments, too deep) and `unknown`, so each says the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.messages import Message, hint, msg
from core.segments.conditions import Group, Segment, SegmentError, SegmentIssue, SegmentRef
from core.segments.sqltrees import MAX_REFERENCE_DEPTH

# id -> a saved definition (Segment, dict or JSON) or None; a Mapping, or a callable that may
# also offer `known_ids()` for "did you mean" (core.store.SegmentResolver does).
Resolver = Callable[[str], Any] | Mapping[str, Any]


def lookup(resolve: Resolver, segment_id: str) -> object:
    """The saved definition of `segment_id`, or None."""
    return resolve.get(segment_id) if isinstance(resolve, Mapping) else resolve(segment_id)


def known_ids(resolve: Resolver | None) -> list[str]:
    """The ids a resolver knows (for suggestions); [] when it cannot say."""
    if isinstance(resolve, Mapping):
        return [str(k) for k in resolve]
    known = getattr(resolve, "known_ids", None)
    return [str(k) for k in known()] if callable(known) else []


def cycle_message(chain: Sequence[str]) -> Message:
    """'segment a refers to itself …: a → b → a' for a chain that starts and ends with the same id."""
    code = "segment.ref.cycle_self" if len(chain) == 2 else "segment.ref.cycle"
    return msg(code, id=chain[0], chain=" → ".join(chain))


def follow(stack: Sequence[str], segment_id: str, resolve: Resolver | None) -> Message | None:
    """Why the reference from the chain `stack` to `segment_id` cannot be followed, or None."""
    if segment_id in stack:
        return cycle_message([*stack[list(stack).index(segment_id) :], segment_id])
    if resolve is None:
        return msg("segment.ref.no_store", id=segment_id)
    if len(stack) >= MAX_REFERENCE_DEPTH:
        return msg("segment.ref.too_deep", limit=MAX_REFERENCE_DEPTH)
    return None


def unknown(segment_id: str, resolve: Resolver | None) -> Message:
    """'unknown saved segment x. Did you mean …?'"""
    return msg("segment.ref.unknown", id=segment_id, hint=hint(segment_id, known_ids(resolve)))


def inside(path: str, segment_id: str) -> str:
    """The path prefix of issues found inside a referenced saved segment."""
    return f"{path} → saved segment '{segment_id}' → "


def references(conditions: tuple, path: str = "conditions") -> Iterator[tuple[str, SegmentRef]]:
    """(path, reference) for every saved-segment reference in a tree, in order, at any depth."""
    for i, c in enumerate(conditions):
        at = f"{path}[{i}]"
        if isinstance(c, SegmentRef):
            yield at, c
        elif isinstance(c, Group):
            yield from references(c.conditions, at + ".conditions")


@dataclass(frozen=True)
class Walk:
    """What following every reference of a definition found."""

    definitions: dict[str, Segment]  # every saved segment reached and readable, by id
    missing: tuple[str, ...]  # ids no saved segment has
    cycles: tuple[tuple[str, ...], ...]  # e.g. ("a", "b", "a")
    issues: tuple[SegmentIssue, ...]  # each problem at its path, as the compiler reports it


def walk(segment: Segment, resolve: Resolver | None, segment_id: str | None = None) -> Walk:
    """Follow every reference, depth first, each saved segment once; `segment_id`: the id being saved."""
    from core.segments.model import (
        parse_segment,  # model imports the kinds, which import this module
    )

    found: dict[str, Segment] = {}
    missing: dict[str, None] = {}
    cycles: list[tuple[str, ...]] = []
    issues: list[SegmentIssue] = []

    def visit(seg: Segment, stack: list[str], prefix: str) -> None:
        for path, ref in references(seg.conditions):
            sid, where = ref.segment, f"{prefix}{path}.segment"
            problem = follow(stack, sid, resolve)
            if problem is not None:
                if sid in stack:
                    cycles.append((*stack[stack.index(sid) :], sid))
                issues.append(SegmentIssue.of(where, problem))
                continue
            if sid in found or sid in missing:
                continue
            raw = lookup(resolve, sid)  # type: ignore[arg-type]
            if raw is None:
                missing[sid] = None
                issues.append(SegmentIssue.of(where, unknown(sid, resolve)))
                continue
            try:
                # stored definitions are input too (a Segment was checked when it was made)
                saved = raw if isinstance(raw, Segment) else parse_segment(raw)
            except SegmentError as err:
                issues.extend(i.at(inside(prefix + path, sid) + i.path) for i in err.issues)
                continue
            found[sid] = saved
            visit(saved, [*stack, sid], inside(prefix + path, sid))

    visit(segment, [segment_id] if segment_id else [], "")
    return Walk(found, tuple(missing), tuple(cycles), tuple(issues))
