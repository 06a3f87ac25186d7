"""The segment definition's vocabulary: limits, operators, the condition classes, errors.

The frozen tree that `core.segments.model.parse_segment` builds (SEGMENT_SPEC.md); each
kind's parse, compile, describe and builder row live in `core.segments.kinds`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES
from core.messages import Message

# Limits that keep hostile input (URLs, uploaded files) cheap to reject.
MAX_DEPTH = 20  # groups nested inside groups
MAX_CONDITIONS = 500  # every condition and group in one definition
MAX_VALUES = 100_000  # values in one `in` / `not_in` list
MAX_JSON_BYTES = 5_000_000  # JSON text of one definition
MAX_WINDOW_DAYS = 100_000  # a relative window longer than ~270 years is a typo
MAX_EVENT_COUNT = 1_000_000_000
MAX_NAME_CHARS = 1_000  # field, tag, event and segment names

VERSION = 1
MATCHES = ("all", "any")

ATTRIBUTE_OPS = (
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between",
    "contains", "is_null", "not_null", "within_last_days",
)  # fmt: skip
TAG_OPS = ("has", "has_not", "eq", "in", "gt", "gte", "lt", "lte")
EVENT_OPS = (">=", ">", "=", "<", "<=")
STAGE_OPS = ("in", "not_in")  # rfm, aipl, lifecycle
SEGMENT_OPS = ("in", "not_in")
FUNNEL_OPS = ("reached", "not_reached", "dropped_after")
STAGE_VALUES: dict[str, tuple[str, ...]] = {
    "rfm": RFM_CLASSES,
    "aipl": AIPL_STAGES,
    "lifecycle": LIFECYCLE_STATES,
}

LIST_OPS = frozenset({"in", "not_in", "between"})  # take `values`
NO_OPERAND_OPS = frozenset({"is_null", "not_null", "has", "has_not"})  # take nothing
# Negative operators are exactly NOT(positive twin), so missing values fall on their side.
NEGATIVE_TWINS = {"ne": "eq", "not_in": "in", "not_null": "is_null", "has_not": "has"}

Scalar = str | int | float | bool
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SegmentIssue:
    """One thing wrong with a definition: where (a JSON path) and what."""

    path: str  # e.g. "conditions[2].conditions[0].field"; "" for the whole definition
    message: str  # the English text
    detail: Message | None = dataclasses.field(default=None, compare=False)  # its code and parameters, when it has them

    @classmethod
    def of(cls, path: str, message: Message | str) -> SegmentIssue:
        """An issue from a coded message (or, still, a plain English string)."""
        return cls(path, str(message), message if isinstance(message, Message) else None)

    def at(self, path: str) -> SegmentIssue:
        """The same issue at another path (e.g. inside a saved segment or a funnel)."""
        return dataclasses.replace(self, path=path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        code = {"code": self.detail.code} if self.detail is not None else {}
        return {"path": self.path, "message": self.message, **code}


class SegmentError(Exception):
    """A definition that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: SegmentIssue | Message | str | list[SegmentIssue] | tuple[SegmentIssue, ...]):
        if isinstance(issues, (str, Message)):
            issues = (SegmentIssue.of("", issues),)
        elif isinstance(issues, SegmentIssue):
            issues = (issues,)
        self.issues: tuple[SegmentIssue, ...] = tuple(issues)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if len(self.issues) == 1:
            return f"Invalid segment: {self.issues[0]}"
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        return f"Invalid segment ({len(self.issues)} problems):\n{lines}"

    def __str__(self) -> str:
        return self.message


def parse_date(text: object) -> date | None:
    """A strict YYYY-MM-DD date (not the last representable day), or None."""
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if day < date.max - timedelta(days=1) else None


def listify(obj: object, name: str) -> None:
    """Store lists as tuples so directly built conditions stay hashable."""
    value = getattr(obj, name)
    if isinstance(value, list):
        object.__setattr__(obj, name, tuple(value))


def operand_dict(d: dict[str, Any], value: object, values: object) -> None:
    """Put `values` (a list) or `value` into a condition's JSON."""
    if values is not None:
        d["values"] = list(values) if isinstance(values, tuple) else values
    elif value is not None:
        d["value"] = value


def join_path(path: str, key: str | int) -> str:
    """An issue path one step deeper: `a.b`, `a[0]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe_type(value: object) -> str:
    """What a JSON value is, in words for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def short(value: object, limit: int = 60) -> str:
    """A value's repr cut to `limit` characters for a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Attribute:
    """A `users` column compared with a value: city in [...], age between [25, 35]."""

    kind: ClassVar[str] = "attribute"
    field: str
    op: str
    value: Scalar | None = None
    values: tuple[Scalar, ...] | None = None
    negate: bool = False

    def __post_init__(self) -> None:
        listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "field": self.field, "op": self.op}
        operand_dict(d, self.value, self.values)
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class Tag:
    """The user has (or lacks) a tag, or the tag's value compares to one given."""

    kind: ClassVar[str] = "tag"
    tag: str
    op: str = "has"
    value: Scalar | None = None
    values: tuple[Scalar, ...] | None = None
    negate: bool = False

    def __post_init__(self) -> None:
        listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "tag": self.tag, "op": self.op}
        operand_dict(d, self.value, self.values)
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class EventFilter:
    """One `where` filter of an event condition: an event property compared like an attribute."""

    field: str
    op: str
    value: Scalar | None = None
    values: tuple[Scalar, ...] | None = None

    def __post_init__(self) -> None:
        listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field, "op": self.op}
        operand_dict(d, self.value, self.values)
        return d


@dataclass(frozen=True)
class Event:
    """How many matching events a user has: purchase >= 2 in the last 90 days."""

    kind: ClassVar[str] = "event"
    event: str
    op: str
    count: int
    within_days: int | None = None
    between: tuple[str, str] | None = None  # inclusive dates "YYYY-MM-DD"
    where: tuple[EventFilter, ...] = ()
    negate: bool = False

    def __post_init__(self) -> None:
        listify(self, "between")
        listify(self, "where")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "event": self.event,
            "op": self.op,
            "count": self.count,
        }
        if self.within_days is not None:
            d["within_days"] = self.within_days
        if self.between is not None:
            d["between"] = list(self.between)
        if self.where:
            d["where"] = [f.to_dict() if isinstance(f, EventFilter) else f for f in self.where]
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class StageCondition:
    op: str
    values: tuple[str, ...]
    negate: bool = False
    as_of: str | None = None  # "YYYY-MM-DD": the model at that date (ANALYSES.md §1); None = the dataset's as_of

    def __post_init__(self) -> None:
        listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        values = list(self.values) if isinstance(self.values, tuple) else self.values
        d: dict[str, Any] = {"kind": self.kind, "op": self.op, "values": values}
        if self.as_of is not None:
            d["as_of"] = self.as_of
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class Rfm(StageCondition):
    """The user's RFM class is (not) one of the given classes."""

    kind: ClassVar[str] = "rfm"


@dataclass(frozen=True)
class Aipl(StageCondition):
    """The user's AIPL stage is (not) one of the given stages."""

    kind: ClassVar[str] = "aipl"


@dataclass(frozen=True)
class Lifecycle(StageCondition):
    """The user's lifecycle state is (not) one of the given states."""

    kind: ClassVar[str] = "lifecycle"


@dataclass(frozen=True)
class SegmentRef:
    """The user is (not) a member of a saved segment, by its id."""

    kind: ClassVar[str] = "segment"
    segment: str
    op: str = "in"
    negate: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "op": self.op, "segment": self.segment}
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class Group:
    """Nested conditions joined by `all` (AND) or `any` (OR)."""

    kind: ClassVar[str] = "group"
    match: str = "all"
    conditions: tuple[Condition, ...] = ()
    negate: bool = False

    def __post_init__(self) -> None:
        listify(self, "conditions")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "match": self.match,
            "conditions": [to_dict_of(c) for c in self.conditions],
        }
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class FunnelCondition:
    """The member reached (did not reach, dropped after) step k of an event funnel: live, on current data."""

    kind: ClassVar[str] = "funnel"
    funnel: Any  # core.analyses.funnel_spec.FunnelSpec
    op: str = "reached"
    step: int = 1
    negate: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "funnel": self.funnel.to_dict(), "op": self.op, "step": self.step}
        if self.negate:
            d["negate"] = True
        return d


Condition = Attribute | Tag | Event | Rfm | Aipl | Lifecycle | SegmentRef | Group | FunnelCondition


def to_dict_of(c: object) -> Any:
    """A condition's JSON form (other objects as they are)."""
    # Tolerates foreign objects so that re-parsing a hand-built tree reports them.
    return c.to_dict() if hasattr(c, "to_dict") else c


@dataclass(frozen=True)
class Segment:
    """A whole definition: conditions joined by `match`; no conditions = every user."""

    version: int = VERSION
    match: str = "all"
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        listify(self, "conditions")

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-able form (fixed key order, defaults omitted inside conditions)."""
        return {
            "version": self.version,
            "match": self.match,
            "conditions": [to_dict_of(c) for c in self.conditions],
        }

    def to_json(self) -> str:
        """Canonical compact JSON text: equal segments give equal text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    def count_conditions(self) -> int:
        """Every condition and group in the tree."""
        return count_tree(self.conditions)


def count_tree(conditions: tuple[Condition, ...]) -> int:
    """Every condition and group in a list of conditions, nested ones included."""
    return sum(1 + (count_tree(c.conditions) if isinstance(c, Group) else 0) for c in conditions)
