"""What operators ask of a segment: its size, its make-up, overlaps, reach, members, a sample.

One import for the pages, the CLI and the analyses; each question lives in its own module:
`counts` (size, reach, overlap, the base-segment condition), `breakdown`, `members` (page,
sample), and `results` (the frozen results). SQL is a sqlglot tree or a named file in
queries/ with tree slots (core.queries.named_query). User values are always bound parameters;
identifiers come from the dataset catalog.
"""

from core.segments.breakdown import (
    MISSING_LABEL,
    NUMERIC_BINS,
    OTHER_LABEL,
    SMALL_INTEGER_DISTINCT,
    breakdown,
)
from core.segments.counts import (
    MAX_OVERLAP_SEGMENTS,
    Resolve,
    consent_true,
    counted_by,
    overlap,
    reach,
    segment_condition,
    size,
    size_query,
)
from core.segments.members import MAX_PAGE_SIZE, MAX_SAMPLE, MODEL_MEMBER_COLUMNS, members, sample
from core.segments.results import (
    Breakdown,
    BreakdownRow,
    ChannelReach,
    MemberPage,
    OperationError,
    Overlap,
    SegmentSize,
)

__all__ = [
    "MAX_OVERLAP_SEGMENTS",
    "MAX_PAGE_SIZE",
    "MAX_SAMPLE",
    "MISSING_LABEL",
    "MODEL_MEMBER_COLUMNS",
    "NUMERIC_BINS",
    "OTHER_LABEL",
    "SMALL_INTEGER_DISTINCT",
    "Breakdown",
    "BreakdownRow",
    "ChannelReach",
    "MemberPage",
    "OperationError",
    "Overlap",
    "Resolve",
    "SegmentSize",
    "breakdown",
    "consent_true",
    "counted_by",
    "members",
    "overlap",
    "reach",
    "sample",
    "segment_condition",
    "size",
    "size_query",
]
