"""What segment operations return: frozen results with `to_dict()` for the CLI's JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import pandas as pd


class OperationError(ValueError):
    """A request that cannot be answered as asked; the message names what is wrong and how to fix it."""


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


@dataclass(frozen=True)
class SegmentSize:
    count: int
    total_users: int
    share: float | None  # count / total_users; None for an empty dataset
    as_of: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total_users": self.total_users,
            "share": self.share,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class BreakdownRow:
    value: str  # display label: the value, a bucket "low – high", "has"/"has not", "(other)" or "(missing)"
    kind: Literal["value", "bucket", "other", "missing"]
    count_in_segment: int
    share_in_segment: float | None  # of the segment's members; None when the segment is empty
    count_in_base: int
    share_in_base: float | None  # of all users
    index: float | None  # 100 * share_in_segment / share_in_base; None when the base share is 0
    raw: Any = None  # the value itself (kind "value"), e.g. to build a condition from a click
    low: Any = None  # bucket bounds as observed in the base (kind "bucket")
    high: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "kind": self.kind,
            "count_in_segment": self.count_in_segment,
            "share_in_segment": self.share_in_segment,
            "count_in_base": self.count_in_base,
            "share_in_base": self.share_in_base,
            "index": self.index,
            "raw": jsonable(self.raw),
            "low": jsonable(self.low),
            "high": jsonable(self.high),
        }


@dataclass(frozen=True)
class Breakdown:
    by: str
    by_kind: Literal["attribute", "numeric", "tag", "model"]
    segment_size: int
    total_users: int
    rows: tuple[BreakdownRow, ...]
    as_of: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "by_kind": self.by_kind,
            "segment_size": self.segment_size,
            "total_users": self.total_users,
            "as_of": self.as_of.isoformat(),
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class Overlap:
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    matrix: tuple[tuple[int, ...], ...]  # matrix[i][j] = users in both i and j; the diagonal = sizes
    union: int  # users in at least one of them
    total_users: int
    as_of: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "sizes": list(self.sizes),
            "matrix": [list(r) for r in self.matrix],
            "union": self.union,
            "total_users": self.total_users,
            "as_of": self.as_of.isoformat(),
        }


@dataclass(frozen=True)
class ChannelReach:
    channel: str
    column: str  # the consent column (from dataset.toml [privacy].consent)
    column_present: bool  # False: the dataset has no such column, so nobody is reachable
    reachable: int  # members whose consent is TRUE
    excluded: int  # members with consent FALSE or unknown

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "column": self.column,
            "column_present": self.column_present,
            "reachable": self.reachable,
            "excluded": self.excluded,
        }


@dataclass(frozen=True, eq=False)
class MemberPage:
    rows: pd.DataFrame  # ordered by user_id; PII masked unless revealed
    total: int  # members of the segment (all pages)
    page: int
    page_size: int
    masked_columns: tuple[str, ...] = field(default=())

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "page_size": self.page_size,
            "pages": self.pages,
            "masked_columns": list(self.masked_columns),
            "columns": list(self.rows.columns),
            "rows": frame_records(self.rows),
        }
