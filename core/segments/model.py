"""The segment definition: an immutable tree of conditions, parsed from untrusted JSON.

One shape for the builder, the URL, saved segments, exports and the CLI
(SEGMENT_SPEC.md). `parse_segment` checks structure only (kinds, operators,
operand shapes, limits); names and value types are checked against a dataset
by `core.segments.compile.validate_against`.

>>> seg = parse_segment('{"conditions": [{"kind": "tag", "tag": "identity/kol", "op": "has"}]}')
>>> seg.conditions[0]
Tag(tag='identity/kol', op='has', value=None, values=None, negate=False)
>>> parse_segment(seg.to_dict()) == seg
True
"""

from __future__ import annotations

from core.messages import msg
from core.segments.conditions import (
    ATTRIBUTE_OPS,
    EVENT_OPS,
    FUNNEL_OPS,
    LIST_OPS,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_EVENT_COUNT,
    MAX_JSON_BYTES,
    MAX_NAME_CHARS,
    MAX_VALUES,
    MAX_WINDOW_DAYS,
    NEGATIVE_TWINS,
    NO_OPERAND_OPS,
    SEGMENT_OPS,
    STAGE_OPS,
    STAGE_VALUES,
    TAG_OPS,
    VERSION,
    Aipl,
    Attribute,
    Condition,
    Event,
    EventFilter,
    FunnelCondition,
    Group,
    Lifecycle,
    Rfm,
    Scalar,
    Segment,
    SegmentError,
    SegmentIssue,
    SegmentRef,
    Tag,
    join_path,
    parse_date,
)
from core.segments.kinds import KINDS as _REGISTRY
from core.segments.messages import type_of
from core.segments.parser import Parser, decode_json

KINDS: tuple[str, ...] = tuple(_REGISTRY)  # every condition kind, in the spec's order
OPERATORS: dict[str, tuple[str, ...]] = {k.name: k.operators for k in _REGISTRY.values() if k.operators}
CONDITION_TYPES: dict[str, type] = {k.name: k.condition for k in _REGISTRY.values()}


def parse_segment(obj: dict | str | bytes | Segment) -> Segment:
    """A `Segment` from decoded JSON, JSON text/bytes, or a `Segment` (re-checked).

    Raises `SegmentError` listing every structural problem found.
    """
    if isinstance(obj, Segment):
        obj = obj.to_dict()
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        obj = decode_json(obj)
    parser = Parser()
    try:
        segment = parser.segment(obj)
    except RecursionError:  # only reachable from exotic self-referencing Python objects
        raise SegmentError(msg("segment.too_deep", limit=MAX_DEPTH)) from None
    if parser.issues:
        raise SegmentError(parser.issues)
    return segment


def iter_conditions(conditions: tuple[Condition, ...]):
    """Every condition in the tree, depth first (groups before their children)."""
    for c in conditions:
        yield c
        if isinstance(c, Group):
            yield from iter_conditions(c.conditions)


def referenced_segments(segment: Segment) -> tuple[str, ...]:
    """Ids of saved segments this definition refers to directly, in order, without repeats."""
    seen: dict[str, None] = {}
    for c in iter_conditions(segment.conditions):
        if isinstance(c, SegmentRef):
            seen.setdefault(c.segment, None)
    return tuple(seen)


def parse_event_filters(obj: object, path: str = "where") -> tuple[EventFilter, ...]:
    """A list of event `where` filters (the event condition's grammar), from decoded JSON or JSON text.

    Raises `SegmentError` listing every problem (paths start with `path`).
    """
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        obj = decode_json(obj)
    parser = Parser()
    filters: list[EventFilter] = []
    if not isinstance(obj, (list, tuple)):
        parser.issue(path, msg("segment.filters_not_list", type=type_of(obj)))
    elif len(obj) > MAX_CONDITIONS:
        parser.issue(path, msg("segment.too_many_filters", limit=MAX_CONDITIONS))
    else:
        for i, item in enumerate(obj):
            f = parser.where_filter(item, join_path(path, i))
            if f is not None:
                filters.append(f)
    if parser.issues:
        raise SegmentError(parser.issues)
    return tuple(filters)


__all__ = [
    "ATTRIBUTE_OPS",
    "Aipl",
    "Attribute",
    "CONDITION_TYPES",
    "Condition",
    "EVENT_OPS",
    "Event",
    "EventFilter",
    "FUNNEL_OPS",
    "FunnelCondition",
    "Group",
    "KINDS",
    "LIST_OPS",
    "Lifecycle",
    "MATCHES",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_EVENT_COUNT",
    "MAX_JSON_BYTES",
    "MAX_NAME_CHARS",
    "MAX_VALUES",
    "MAX_WINDOW_DAYS",
    "NEGATIVE_TWINS",
    "NO_OPERAND_OPS",
    "OPERATORS",
    "Rfm",
    "SEGMENT_OPS",
    "STAGE_OPS",
    "STAGE_VALUES",
    "Scalar",
    "Segment",
    "SegmentError",
    "SegmentIssue",
    "SegmentRef",
    "TAG_OPS",
    "Tag",
    "VERSION",
    "iter_conditions",
    "parse_date",
    "parse_event_filters",
    "parse_segment",
    "referenced_segments",
]
