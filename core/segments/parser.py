"""Decoded JSON -> the frozen segment tree: the shared checks, and dispatch to each kind's `parse`.

Collects every issue it can (paths like "conditions[2].field"); each kind's own grammar
is in `core.segments.kinds.<kind>.parse`, which calls the helpers here.
"""

from __future__ import annotations

import json
import math

from core.config import closest
from core.messages import Message, hint, msg
from core.segments.conditions import (
    ATTRIBUTE_OPS,
    LIST_OPS,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_JSON_BYTES,
    MAX_NAME_CHARS,
    MAX_VALUES,
    MAX_WINDOW_DAYS,
    NO_OPERAND_OPS,
    VERSION,
    Condition,
    EventFilter,
    Segment,
    SegmentError,
    SegmentIssue,
    join_path,
    short,
)
from core.segments.kinds import KINDS
from core.segments.messages import type_of

# Keys that are not a condition kind's (a kind's keys are its `Kind.keys`).
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "segment_root": ("version", "match", "conditions"),
    "where": ("field", "op", "value", "values"),
}


class Parser:
    """Turns decoded JSON into the frozen tree, collecting every issue it can."""

    def __init__(self) -> None:
        self.issues: list[SegmentIssue] = []
        self.conditions_seen = 0
        self.too_many_reported = False
        self.misspelt: set[tuple[str, str]] = set()

    def issue(self, path: str, message: Message | str) -> None:
        self.issues.append(SegmentIssue.of(path, message))

    # ---- helpers
    def check_keys(self, obj: dict, allowed_for: str, path: str) -> None:
        allowed = ALLOWED_KEYS[allowed_for] if allowed_for in ALLOWED_KEYS else KINDS[allowed_for].keys
        for key in obj:
            if key not in allowed:
                name = str(key)
                article = "an" if allowed_for[0] in "aeiou" else "a"
                where = (
                    msg("segment.where.root")
                    if allowed_for == "segment_root"
                    else msg("segment.where.condition", article=article, kind=allowed_for)
                )
                if allowed_for == "where":
                    where = msg("segment.where.filter")
                # A misspelt required key is one problem, not also "missing '<key>'".
                self.misspelt.update((path, k) for k in closest(name, allowed, n=1) if k not in obj)
                self.issue(
                    join_path(path, name),
                    msg(
                        "segment.unknown_key",
                        key=short(name, 40)[1:-1],
                        where=where,
                        hint=hint(name, allowed),
                        allowed=", ".join(allowed),
                    ),
                )

    def name(self, obj: dict, key: str, path: str, what: str) -> str:
        value = obj.get(key)
        p = join_path(path, key)
        if key not in obj:
            if (path, key) not in self.misspelt:
                self.issue(p, msg("segment.missing_key", key=key, what=what))
        elif not isinstance(value, str) or not value.strip():
            self.issue(p, msg("segment.not_text", key=key, what=what, type=type_of(value)))
        elif len(value) > MAX_NAME_CHARS:
            self.issue(p, msg("segment.name_too_long", key=key, limit=MAX_NAME_CHARS))
        else:
            return value
        return ""

    def op(self, obj: dict, kind: str, path: str, allowed: tuple[str, ...]) -> str:
        p = join_path(path, "op")
        if "op" not in obj:
            if (path, "op") not in self.misspelt:
                self.issue(p, msg("segment.missing_op", kind=kind, allowed=", ".join(allowed)))
            return ""
        op = obj["op"]
        if not isinstance(op, str) or op not in allowed:
            near = hint(op, allowed) if isinstance(op, str) else ""
            self.issue(p, msg("segment.unknown_op", op=short(op), kind=kind, hint=near, allowed=", ".join(allowed)))
            return ""
        return op

    def negate(self, obj: dict, path: str) -> bool:
        value = obj.get("negate", False)
        if not isinstance(value, bool):
            self.issue(join_path(path, "negate"), msg("segment.negate_not_bool", value=short(value)))
            return False
        return value

    def match(self, obj: dict, path: str) -> str:
        value = obj.get("match", "all")
        if not isinstance(value, str) or value not in MATCHES:
            self.issue(join_path(path, "match"), msg("segment.bad_match", value=short(value)))
            return "all"
        return value

    def scalar(self, value: object, path: str) -> bool:
        if isinstance(value, bool) or isinstance(value, str) or isinstance(value, int):
            return True
        if isinstance(value, float):
            if math.isfinite(value):
                return True
            self.issue(path, msg("segment.not_finite", value=repr(value)))
            return False
        if value is None:
            self.issue(path, msg("segment.null_value"))
            return False
        self.issue(path, msg("segment.bad_scalar", type=type_of(value)))
        return False

    def operands(self, obj: dict, op: str, path: str) -> tuple[object, tuple | None, bool]:
        """(value, values, ok) for an operator taking a list, one value, or nothing."""
        has_value, has_values = "value" in obj, "values" in obj
        if op in NO_OPERAND_OPS:
            for key in ("value", "values"):
                if key in obj:
                    self.issue(join_path(path, key), msg("segment.op_takes_no_value", op=op, key=key))
            return None, None, True
        if op in LIST_OPS:
            if has_value and not has_values:
                between = msg("segment.between_hint") if op == "between" else ""
                self.issue(join_path(path, "value"), msg("segment.op_takes_values", op=op, between=between))
                return None, None, False
            if has_value:
                self.issue(join_path(path, "value"), msg("segment.op_only_values", op=op))
            if not has_values:
                if (path, "values") not in self.misspelt:
                    self.issue(join_path(path, "values"), msg("segment.op_needs_values", op=op))
                return None, None, False
            raw = obj["values"]
            p = join_path(path, "values")
            if not isinstance(raw, (list, tuple)):
                self.issue(p, msg("segment.values_not_list", type=type_of(raw)))
                return None, None, False
            if op == "between" and len(raw) != 2:
                self.issue(p, msg("segment.between_two", n=len(raw)))
                return None, None, False
            if not raw:
                self.issue(p, msg("segment.op_needs_one_value", op=op))
                return None, None, False
            if len(raw) > MAX_VALUES:
                self.issue(p, msg("segment.too_many_values", n=len(raw), limit=MAX_VALUES))
                return None, None, False
            ok = True
            for i, v in enumerate(raw):
                if not self.scalar(v, join_path(p, i)):
                    ok = False
                    if sum(1 for issue in self.issues if issue.path.startswith(p)) >= 5:
                        break  # a huge bad list should not flood the report
            return None, tuple(raw), ok
        # one value
        if has_values and not has_value:
            self.issue(join_path(path, "values"), msg("segment.op_takes_value", op=op))
            return None, None, False
        if has_values:
            self.issue(join_path(path, "values"), msg("segment.op_only_value", op=op))
        if not has_value:
            if (path, "value") not in self.misspelt:
                self.issue(join_path(path, "value"), msg("segment.op_needs_value", op=op))
            return None, None, False
        value = obj["value"]
        ok = self.scalar(value, join_path(path, "value"))
        if ok and op == "within_last_days":
            ok = self.whole_days(value, join_path(path, "value"), "within_last_days")
        if ok and op == "contains" and not isinstance(value, str):
            self.issue(join_path(path, "value"), msg("segment.contains_text", value=short(value)))
            ok = False
        return value, None, ok

    def whole_days(self, value: object, path: str, what: str) -> bool:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WINDOW_DAYS:
            self.issue(path, msg("segment.whole_days", what=what, limit=MAX_WINDOW_DAYS, value=short(value)))
            return False
        return True

    # ---- the tree
    def segment(self, obj: object) -> Segment:
        if not isinstance(obj, dict):
            self.issue("", msg("segment.not_object", type=type_of(obj)))
            return Segment()
        self.check_keys(obj, "segment_root", "")
        version = obj.get("version", VERSION)
        if isinstance(version, bool) or version != VERSION:
            self.issue("version", msg("segment.bad_version", value=short(version), version=VERSION))
        match = self.match(obj, "")
        conditions = self.conditions(obj.get("conditions", []), "conditions", depth=0)
        return Segment(version=VERSION, match=match, conditions=conditions)

    def conditions(self, raw: object, path: str, depth: int) -> tuple[Condition, ...]:
        if not isinstance(raw, (list, tuple)):
            self.issue(path, msg("segment.conditions_not_list", type=type_of(raw)))
            return ()
        out: list[Condition] = []
        for i, item in enumerate(raw):
            self.conditions_seen += 1
            if self.conditions_seen > MAX_CONDITIONS:
                if not self.too_many_reported:
                    self.issue(path, msg("segment.too_many_conditions", limit=MAX_CONDITIONS))
                    self.too_many_reported = True
                break
            cond = self.condition(item, join_path(path, i), depth)
            if cond is not None:
                out.append(cond)
        return tuple(out)

    def condition(self, obj: object, path: str, depth: int) -> Condition | None:
        if not isinstance(obj, dict):
            self.issue(path, msg("segment.condition_not_object", type=type_of(obj)))
            return None
        kind = obj.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            if "kind" not in obj:
                message = msg("segment.missing_kind", kinds=", ".join(KINDS))
            else:
                near = hint(kind, tuple(KINDS)) if isinstance(kind, str) else ""
                message = msg("segment.unknown_kind", kind=short(kind), hint=near, kinds=", ".join(KINDS))
            self.issue(join_path(path, "kind"), message)
            return None
        self.check_keys(obj, kind, path)
        negate = self.negate(obj, path)
        return KINDS[kind].parse(self, obj, path, negate, depth)

    def where_filter(self, obj: object, path: str) -> EventFilter | None:
        if not isinstance(obj, dict):
            self.issue(path, msg("segment.filter_not_object", type=type_of(obj)))
            return None
        self.check_keys(obj, "where", path)
        field = self.name(obj, "field", path, "an event property")
        op = self.op(obj, "event filter", path, ATTRIBUTE_OPS)
        if not op:
            return None
        value, values, ok = self.operands(obj, op, path)
        return EventFilter(field, op, value, values) if ok and field else None


def decode_json(text: str | bytes) -> object:
    if isinstance(text, (bytes, bytearray, memoryview)):
        if len(text) > MAX_JSON_BYTES:
            raise SegmentError(msg("segment.too_large", mb=MAX_JSON_BYTES // 1_000_000))
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise SegmentError(msg("segment.not_utf8", reason=err.reason, start=err.start)) from None
    if len(text) > MAX_JSON_BYTES:
        raise SegmentError(msg("segment.too_large", mb=MAX_JSON_BYTES // 1_000_000))
    try:
        return json.loads(text)
    except RecursionError:
        raise SegmentError(msg("segment.too_deep_to_read", limit=MAX_DEPTH)) from None
    except json.JSONDecodeError as err:
        raise SegmentError(msg("segment.bad_json", error=err.msg, line=err.lineno, column=err.colno)) from None
    except ValueError as err:  # e.g. an integer literal with thousands of digits
        raise SegmentError(msg("segment.bad_json_value", error=str(err))) from None
