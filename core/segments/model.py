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

import json
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, RFM_CLASSES
from core.config import closest, did_you_mean

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
KINDS = ("attribute", "tag", "event", "rfm", "aipl", "lifecycle", "segment", "group")
KINDS += ("funnel",)  # an event funnel's step (ANALYSES.md §3)

ATTRIBUTE_OPS = (
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between",
    "contains", "is_null", "not_null", "within_last_days",
)  # fmt: skip
TAG_OPS = ("has", "has_not", "eq", "in", "gt", "gte", "lt", "lte")
EVENT_OPS = (">=", ">", "=", "<", "<=")
STAGE_OPS = ("in", "not_in")  # rfm, aipl, lifecycle
SEGMENT_OPS = ("in", "not_in")
FUNNEL_OPS = ("reached", "not_reached", "dropped_after")
OPERATORS: dict[str, tuple[str, ...]] = {
    "attribute": ATTRIBUTE_OPS,
    "tag": TAG_OPS,
    "event": EVENT_OPS,
    "rfm": STAGE_OPS,
    "aipl": STAGE_OPS,
    "lifecycle": STAGE_OPS,
    "segment": SEGMENT_OPS,
    "funnel": FUNNEL_OPS,
}
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
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class SegmentError(Exception):
    """A definition that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: SegmentIssue | str | list[SegmentIssue] | tuple[SegmentIssue, ...]):
        if isinstance(issues, str):
            issues = (SegmentIssue("", issues),)
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


def _listify(obj: object, name: str) -> None:
    """Store lists as tuples so directly built conditions stay hashable."""
    value = getattr(obj, name)
    if isinstance(value, list):
        object.__setattr__(obj, name, tuple(value))


def _operand_dict(d: dict[str, Any], value: object, values: object) -> None:
    if values is not None:
        d["values"] = list(values) if isinstance(values, tuple) else values
    elif value is not None:
        d["value"] = value


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
        _listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "field": self.field, "op": self.op}
        _operand_dict(d, self.value, self.values)
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
        _listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "tag": self.tag, "op": self.op}
        _operand_dict(d, self.value, self.values)
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
        _listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"field": self.field, "op": self.op}
        _operand_dict(d, self.value, self.values)
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
        _listify(self, "between")
        _listify(self, "where")

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
class _StageCondition:
    op: str
    values: tuple[str, ...]
    negate: bool = False
    as_of: str | None = None  # "YYYY-MM-DD": the model at that date (ANALYSES.md §1); None = the dataset's as_of

    def __post_init__(self) -> None:
        _listify(self, "values")

    def to_dict(self) -> dict[str, Any]:
        values = list(self.values) if isinstance(self.values, tuple) else self.values
        d: dict[str, Any] = {"kind": self.kind, "op": self.op, "values": values}
        if self.as_of is not None:
            d["as_of"] = self.as_of
        if self.negate:
            d["negate"] = True
        return d


@dataclass(frozen=True)
class Rfm(_StageCondition):
    """The user's RFM class is (not) one of the given classes."""

    kind: ClassVar[str] = "rfm"


@dataclass(frozen=True)
class Aipl(_StageCondition):
    """The user's AIPL stage is (not) one of the given stages."""

    kind: ClassVar[str] = "aipl"


@dataclass(frozen=True)
class Lifecycle(_StageCondition):
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
        _listify(self, "conditions")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "match": self.match,
            "conditions": [_to_dict(c) for c in self.conditions],
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
CONDITION_TYPES: dict[str, type] = {
    "attribute": Attribute,
    "tag": Tag,
    "event": Event,
    "rfm": Rfm,
    "aipl": Aipl,
    "lifecycle": Lifecycle,
    "segment": SegmentRef,
    "group": Group,
    "funnel": FunnelCondition,
}


def _to_dict(c: object) -> Any:
    # Tolerates foreign objects so that re-parsing a hand-built tree reports them.
    return c.to_dict() if hasattr(c, "to_dict") else c


@dataclass(frozen=True)
class Segment:
    """A whole definition: conditions joined by `match`; no conditions = every user."""

    version: int = VERSION
    match: str = "all"
    conditions: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        _listify(self, "conditions")

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-able form (fixed key order, defaults omitted inside conditions)."""
        return {
            "version": self.version,
            "match": self.match,
            "conditions": [_to_dict(c) for c in self.conditions],
        }

    def to_json(self) -> str:
        """Canonical compact JSON text: equal segments give equal text."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )

    def count_conditions(self) -> int:
        """Every condition and group in the tree."""
        return _count(self.conditions)


def _count(conditions: tuple[Condition, ...]) -> int:
    return sum(1 + (_count(c.conditions) if isinstance(c, Group) else 0) for c in conditions)


# --------------------------------------------------------------------------- parsing

_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "segment_root": ("version", "match", "conditions"),
    "attribute": ("kind", "field", "op", "value", "values", "negate"),
    "tag": ("kind", "tag", "op", "value", "values", "negate"),
    "event": ("kind", "event", "op", "count", "within_days", "between", "where", "negate"),
    "rfm": ("kind", "op", "values", "negate", "as_of"),
    "aipl": ("kind", "op", "values", "negate", "as_of"),
    "lifecycle": ("kind", "op", "values", "negate", "as_of"),
    "segment": ("kind", "op", "segment", "negate"),
    "group": ("kind", "match", "conditions", "negate"),
    "funnel": ("kind", "funnel", "op", "step", "negate"),
    "where": ("field", "op", "value", "values"),
}


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _describe_type(value: object) -> str:
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


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Parser:
    """Turns decoded JSON into the frozen tree, collecting every issue it can."""

    def __init__(self) -> None:
        self.issues: list[SegmentIssue] = []
        self.conditions_seen = 0
        self.too_many_reported = False
        self.misspelt: set[tuple[str, str]] = set()

    def issue(self, path: str, message: str) -> None:
        self.issues.append(SegmentIssue(path, message))

    # ---- helpers
    def check_keys(self, obj: dict, allowed_for: str, path: str) -> None:
        allowed = _ALLOWED_KEYS[allowed_for]
        for key in obj:
            if key not in allowed:
                name = str(key)
                article = "an" if allowed_for[0] in "aeiou" else "a"
                where = (
                    "the definition"
                    if allowed_for == "segment_root"
                    else f"{article} {allowed_for} condition"
                )
                if allowed_for == "where":
                    where = "an event filter"
                # A misspelt required key is one problem, not also "missing '<key>'".
                self.misspelt.update((path, k) for k in closest(name, allowed, n=1) if k not in obj)
                self.issue(
                    _join(path, name),
                    f"unknown key '{_short(name, 40)[1:-1]}' in {where}.{did_you_mean(name, allowed)}"
                    f" Allowed keys: {', '.join(allowed)}.",
                )

    def name(self, obj: dict, key: str, path: str, what: str) -> str:
        value = obj.get(key)
        p = _join(path, key)
        if key not in obj:
            if (path, key) not in self.misspelt:
                self.issue(p, f"missing '{key}' ({what}).")
        elif not isinstance(value, str) or not value.strip():
            self.issue(
                p, f"'{key}' must be a non-empty text ({what}), got {_describe_type(value)}."
            )
        elif len(value) > MAX_NAME_CHARS:
            self.issue(p, f"'{key}' is longer than {MAX_NAME_CHARS} characters.")
        else:
            return value
        return ""

    def op(self, obj: dict, kind: str, path: str, allowed: tuple[str, ...]) -> str:
        p = _join(path, "op")
        if "op" not in obj:
            if (path, "op") not in self.misspelt:
                self.issue(
                    p, f"missing 'op'; a {kind} condition takes one of: {', '.join(allowed)}."
                )
            return ""
        op = obj["op"]
        if not isinstance(op, str) or op not in allowed:
            hint = did_you_mean(op, allowed) if isinstance(op, str) else ""
            self.issue(
                p,
                f"unknown operator {_short(op)} for a {kind} condition.{hint}"
                f" Use one of: {', '.join(allowed)}.",
            )
            return ""
        return op

    def negate(self, obj: dict, path: str) -> bool:
        value = obj.get("negate", False)
        if not isinstance(value, bool):
            self.issue(
                _join(path, "negate"), f"'negate' must be true or false, got {_short(value)}."
            )
            return False
        return value

    def match(self, obj: dict, path: str) -> str:
        value = obj.get("match", "all")
        if not isinstance(value, str) or value not in MATCHES:
            self.issue(
                _join(path, "match"),
                f'\'match\' must be "all" (every condition) or "any" (at least one), got {_short(value)}.',
            )
            return "all"
        return value

    def scalar(self, value: object, path: str) -> bool:
        if isinstance(value, bool) or isinstance(value, str) or isinstance(value, int):
            return True
        if isinstance(value, float):
            if math.isfinite(value):
                return True
            self.issue(path, f"{value!r} is not a finite number.")
            return False
        if value is None:
            self.issue(
                path, "value is null; to find users without a value use the operator 'is_null'."
            )
            return False
        self.issue(
            path, f"a value must be text, a number or true/false, got {_describe_type(value)}."
        )
        return False

    def operands(self, obj: dict, op: str, path: str) -> tuple[object, tuple | None, bool]:
        """(value, values, ok) for an operator taking a list, one value, or nothing."""
        has_value, has_values = "value" in obj, "values" in obj
        if op in NO_OPERAND_OPS:
            for key in ("value", "values"):
                if key in obj:
                    self.issue(_join(path, key), f"'{op}' takes no value; remove '{key}'.")
            return None, None, True
        if op in LIST_OPS:
            if has_value and not has_values:
                self.issue(
                    _join(path, "value"),
                    f"'{op}' takes 'values' (a list), not 'value'."
                    + (' Write "values": [low, high].' if op == "between" else ""),
                )
                return None, None, False
            if has_value:
                self.issue(_join(path, "value"), f"'{op}' takes only 'values'; remove 'value'.")
            if not has_values:
                if (path, "values") not in self.misspelt:
                    self.issue(_join(path, "values"), f"'{op}' needs 'values' (a list).")
                return None, None, False
            raw = obj["values"]
            p = _join(path, "values")
            if not isinstance(raw, (list, tuple)):
                self.issue(p, f"'values' must be a list, got {_describe_type(raw)}.")
                return None, None, False
            if op == "between" and len(raw) != 2:
                self.issue(p, f"'between' takes exactly two values [low, high], got {len(raw)}.")
                return None, None, False
            if not raw:
                self.issue(p, f"'{op}' needs at least one value.")
                return None, None, False
            if len(raw) > MAX_VALUES:
                self.issue(
                    p, f"{len(raw):,} values is more than the limit of {MAX_VALUES:,} in one list."
                )
                return None, None, False
            ok = True
            for i, v in enumerate(raw):
                if not self.scalar(v, _join(p, i)):
                    ok = False
                    if sum(1 for issue in self.issues if issue.path.startswith(p)) >= 5:
                        break  # a huge bad list should not flood the report
            return None, tuple(raw), ok
        # one value
        if has_values and not has_value:
            self.issue(_join(path, "values"), f"'{op}' takes one 'value', not a list 'values'.")
            return None, None, False
        if has_values:
            self.issue(_join(path, "values"), f"'{op}' takes only 'value'; remove 'values'.")
        if not has_value:
            if (path, "value") not in self.misspelt:
                self.issue(_join(path, "value"), f"'{op}' needs a 'value'.")
            return None, None, False
        value = obj["value"]
        ok = self.scalar(value, _join(path, "value"))
        if ok and op == "within_last_days":
            ok = self.whole_days(value, _join(path, "value"), "within_last_days")
        if ok and op == "contains" and not isinstance(value, str):
            self.issue(
                _join(path, "value"),
                f"'contains' looks for text, got {_short(value)}; write it in quotes.",
            )
            ok = False
        return value, None, ok

    def whole_days(self, value: object, path: str, what: str) -> bool:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 1 <= value <= MAX_WINDOW_DAYS
        ):
            self.issue(
                path,
                f"'{what}' must be a whole number of days from 1 to {MAX_WINDOW_DAYS}, got {_short(value)}.",
            )
            return False
        return True

    # ---- the tree
    def segment(self, obj: object) -> Segment:
        if not isinstance(obj, dict):
            self.issue(
                "", f"a segment definition must be a JSON object, got {_describe_type(obj)}."
            )
            return Segment()
        self.check_keys(obj, "segment_root", "")
        version = obj.get("version", VERSION)
        if isinstance(version, bool) or version != VERSION:
            self.issue(
                "version",
                f"unsupported version {_short(version)}; this app reads version {VERSION}.",
            )
        match = self.match(obj, "")
        conditions = self.conditions(obj.get("conditions", []), "conditions", depth=0)
        return Segment(version=VERSION, match=match, conditions=conditions)

    def conditions(self, raw: object, path: str, depth: int) -> tuple[Condition, ...]:
        if not isinstance(raw, (list, tuple)):
            self.issue(path, f"'conditions' must be a list, got {_describe_type(raw)}.")
            return ()
        out: list[Condition] = []
        for i, item in enumerate(raw):
            self.conditions_seen += 1
            if self.conditions_seen > MAX_CONDITIONS:
                if not self.too_many_reported:
                    self.issue(
                        path,
                        f"more than {MAX_CONDITIONS} conditions; split the definition into saved segments.",
                    )
                    self.too_many_reported = True
                break
            cond = self.condition(item, _join(path, i), depth)
            if cond is not None:
                out.append(cond)
        return tuple(out)

    def condition(self, obj: object, path: str, depth: int) -> Condition | None:
        if not isinstance(obj, dict):
            self.issue(path, f"a condition must be a JSON object, got {_describe_type(obj)}.")
            return None
        kind = obj.get("kind")
        if not isinstance(kind, str) or kind not in CONDITION_TYPES:
            if "kind" not in obj:
                message = f"missing 'kind'; one of: {', '.join(KINDS)}."
            else:
                hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
                message = f"unknown kind {_short(kind)}.{hint} Use one of: {', '.join(KINDS)}."
            self.issue(_join(path, "kind"), message)
            return None
        self.check_keys(obj, kind, path)
        negate = self.negate(obj, path)
        if kind == "group":
            match = self.match(obj, path)
            if depth + 1 > MAX_DEPTH:
                self.issue(
                    path, f"groups are nested more than {MAX_DEPTH} deep; flatten the definition."
                )
                return None
            conditions = self.conditions(
                obj.get("conditions", []), _join(path, "conditions"), depth + 1
            )
            return Group(match=match, conditions=conditions, negate=negate)
        if kind == "attribute":
            field = self.name(obj, "field", path, "a users column")
            op = self.op(obj, kind, path, ATTRIBUTE_OPS)
            if not op:
                return None
            value, values, ok = self.operands(obj, op, path)
            return Attribute(field, op, value, values, negate) if ok and field else None
        if kind == "tag":
            return self.tag(obj, path, negate)
        if kind == "event":
            return self.event(obj, path, negate)
        if kind == "funnel":
            return self.funnel(obj, path, negate)
        if kind in STAGE_VALUES:
            return self.stage(obj, kind, path, negate)
        # segment reference
        segment_id = self.name(obj, "segment", path, "a saved segment's id")
        op = self.op(obj, kind, path, SEGMENT_OPS)
        return SegmentRef(segment_id, op, negate) if segment_id and op else None

    def tag(self, obj: dict, path: str, negate: bool) -> Tag | None:
        tag = self.name(obj, "tag", path, "a tag path such as interest/food/baking")
        op = self.op(obj, "tag", path, TAG_OPS)
        if not op:
            return None
        value, values, ok = self.operands(obj, op, path)
        if ok and op in ("eq", "in"):
            items = (
                [("value", value)]
                if op == "eq"
                else [(_join("values", i), v) for i, v in enumerate(values or ())]
            )
            for key, v in items:
                if not isinstance(v, str):
                    self.issue(
                        _join(path, key), f"tag values are text; write {_short(v)} in quotes."
                    )
                    ok = False
                    break
        elif ok and op in ("gt", "gte", "lt", "lte") and (isinstance(value, (bool, str))):
            self.issue(
                _join(path, "value"),
                f"'{op}' compares the tag's value as a number; got {_short(value)}, write a number without quotes.",
            )
            ok = False
        return Tag(tag, op, value, values, negate) if ok and tag else None

    def event(self, obj: dict, path: str, negate: bool) -> Event | None:
        event = self.name(obj, "event", path, "an event name such as purchase")
        op = self.op(obj, "event", path, EVENT_OPS)
        ok = bool(event and op)
        count = obj.get("count")
        if "count" not in obj:
            if (path, "count") not in self.misspelt:
                self.issue(
                    _join(path, "count"),
                    "missing 'count' (how many events; 0 means the user did not).",
                )
            ok = False
        elif (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not 0 <= count <= MAX_EVENT_COUNT
        ):
            self.issue(
                _join(path, "count"), f"'count' must be a whole number ≥ 0, got {_short(count)}."
            )
            ok = False
        within = obj.get("within_days")
        if within is not None and not self.whole_days(
            within, _join(path, "within_days"), "within_days"
        ):
            ok = False
        between: tuple[str, str] | None = None
        if obj.get("between") is not None:
            p = _join(path, "between")
            raw = obj["between"]
            if within is not None:
                self.issue(p, "give either 'within_days' or 'between', not both.")
                ok = False
            elif not isinstance(raw, (list, tuple)) or len(raw) != 2:
                self.issue(
                    p, '\'between\' must be two dates ["YYYY-MM-DD", "YYYY-MM-DD"] (both included).'
                )
                ok = False
            else:
                days = [parse_date(x) for x in raw]
                for i, (x, d) in enumerate(zip(raw, days, strict=True)):
                    if d is None:
                        self.issue(_join(p, i), f"{_short(x)} is not a date; write YYYY-MM-DD.")
                        ok = False
                if days[0] and days[1] and days[0] > days[1]:
                    self.issue(
                        p, f"the first date {raw[0]} is after the second {raw[1]}; swap them."
                    )
                    ok = False
                between = (raw[0], raw[1])
        where: list[EventFilter] = []
        raw_where = obj.get("where", [])
        if raw_where is None:
            raw_where = []
        if not isinstance(raw_where, (list, tuple)):
            self.issue(
                _join(path, "where"),
                f"'where' must be a list of filters, got {_describe_type(raw_where)}.",
            )
            ok = False
        else:
            for i, item in enumerate(raw_where):
                p = _join(_join(path, "where"), i)
                self.conditions_seen += 1
                if self.conditions_seen > MAX_CONDITIONS:
                    if not self.too_many_reported:
                        self.issue(
                            p,
                            f"more than {MAX_CONDITIONS} conditions and filters in one definition.",
                        )
                        self.too_many_reported = True
                    ok = False
                    break
                f = self.where_filter(item, p)
                if f is None:
                    ok = False
                else:
                    where.append(f)
        if not ok:
            return None
        return Event(event, op, count, within, between, tuple(where), negate)

    def funnel(self, obj: dict, path: str, negate: bool) -> FunnelCondition | None:
        from core.analyses.funnel_spec import parse_funnel  # the funnel module builds on this one

        op = self.op(obj, "funnel", path, FUNNEL_OPS)
        try:
            spec = parse_funnel(obj.get("funnel"))
        except SegmentError as err:
            for i in err.issues:
                self.issue(_join(path, "funnel") + (f".{i.path}" if i.path else ""), i.message)
            return None
        step = obj.get("step")
        n = len(spec.steps)
        last = n - 1 if op == "dropped_after" else n
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= last:
            extra = " (nobody drops after the last step)" if op == "dropped_after" else ""
            self.issue(_join(path, "step"), f"'step' must be a whole number from 1 to {last}{extra}, got {_short(step)}.")
            return None
        return FunnelCondition(spec, op, step, negate) if op else None

    def where_filter(self, obj: object, path: str) -> EventFilter | None:
        if not isinstance(obj, dict):
            self.issue(
                path,
                f"an event filter must be an object {{field, op, value}}, got {_describe_type(obj)}.",
            )
            return None
        self.check_keys(obj, "where", path)
        field = self.name(obj, "field", path, "an event property")
        op = self.op(obj, "event filter", path, ATTRIBUTE_OPS)
        if not op:
            return None
        value, values, ok = self.operands(obj, op, path)
        return EventFilter(field, op, value, values) if ok and field else None

    def stage(self, obj: dict, kind: str, path: str, negate: bool) -> Condition | None:
        op = self.op(obj, kind, path, STAGE_OPS)
        allowed = STAGE_VALUES[kind]
        if not op:
            return None
        p = _join(path, "values")
        raw = obj.get("values")
        if "value" in obj:
            self.issue(
                _join(path, "value"), f"a {kind} condition takes 'values' (a list), not 'value'."
            )
            return None
        if not isinstance(raw, (list, tuple)) or not raw:
            self.issue(p, f"'values' must be a non-empty list of: {', '.join(allowed)}.")
            return None
        ok = True
        for i, v in enumerate(raw[:MAX_VALUES]):
            if not isinstance(v, str) or v not in allowed:
                hint = ""
                if isinstance(v, str):
                    found = closest(v, allowed)
                    hint = f" Did you mean {', '.join(repr(f) for f in found)}?" if found else ""
                self.issue(
                    _join(p, i),
                    f"{_short(v)} is not a {kind} value.{hint} Use one of: {', '.join(allowed)}.",
                )
                ok = False
        if len(raw) > MAX_VALUES:
            self.issue(p, f"more than {MAX_VALUES:,} values.")
            ok = False
        as_of = obj.get("as_of")
        if as_of is not None and parse_date(as_of) is None:
            self.issue(_join(path, "as_of"), f"{_short(as_of)} is not a date; write it as YYYY-MM-DD (e.g. 2026-07-31).")
            ok = False
        if not ok:
            return None
        return CONDITION_TYPES[kind](op=op, values=tuple(raw), negate=negate, as_of=as_of)


def _decode_json(text: str | bytes) -> object:
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_JSON_BYTES:
            raise SegmentError(f"the definition is larger than {MAX_JSON_BYTES // 1_000_000} MB.")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise SegmentError(
                f"the definition is not UTF-8 text ({err.reason} at byte {err.start})."
            ) from None
    if len(text) > MAX_JSON_BYTES:
        raise SegmentError(f"the definition is larger than {MAX_JSON_BYTES // 1_000_000} MB.")
    try:
        return json.loads(text)
    except RecursionError:
        raise SegmentError(
            f"the definition is nested far too deep to read; groups may nest at most {MAX_DEPTH} deep."
        ) from None
    except json.JSONDecodeError as err:
        raise SegmentError(
            f"not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
    except ValueError as err:  # e.g. an integer literal with thousands of digits
        raise SegmentError(f"not valid JSON: {err}.") from None


def parse_segment(obj: dict | str | bytes | Segment) -> Segment:
    """A `Segment` from decoded JSON, JSON text/bytes, or a `Segment` (re-checked).

    Raises `SegmentError` listing every structural problem found.
    """
    if isinstance(obj, Segment):
        obj = obj.to_dict()
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        obj = _decode_json(obj)
    parser = _Parser()
    try:
        segment = parser.segment(obj)
    except RecursionError:  # only reachable from exotic self-referencing Python objects
        raise SegmentError(
            f"the definition is nested too deep; groups may nest at most {MAX_DEPTH} deep."
        ) from None
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
        obj = _decode_json(obj)
    parser = _Parser()
    filters: list[EventFilter] = []
    if not isinstance(obj, (list, tuple)):
        parser.issue(path, f"filters must be a list of {{field, op, value}} objects, got {_describe_type(obj)}.")
    elif len(obj) > MAX_CONDITIONS:
        parser.issue(path, f"more than {MAX_CONDITIONS} filters.")
    else:
        for i, item in enumerate(obj):
            f = parser.where_filter(item, _join(path, i))
            if f is not None:
                filters.append(f)
    if parser.issues:
        raise SegmentError(parser.issues)
    return tuple(filters)
