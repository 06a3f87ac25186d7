"""A funnel definition (ANALYSES.md §3): steps, entry range, conversion window, exclusions.

The JSON shape, shared by the CLI, the page, saved funnels and the segment kind `funnel`:
`{"steps": [{"event", "where": […]}], "from", "to", "window": {"value", "unit"}, "exclusions": [{"event", "where"}]}`.
`from`/`to` may be left out: the 30 days ending on the dataset's `as_of`, resolved when counted.

>>> spec = parse_funnel({"steps": [{"event": "product_view"}, {"event": "purchase"}]})
>>> spec.window, spec.entry_range(date(2026, 6, 30))
(datetime.timedelta(days=7), (datetime.date(2026, 6, 1), datetime.date(2026, 6, 30)))
>>> parse_funnel({"steps": [{"event": "purchase"}]})
Traceback (most recent call last):
...
core.analyses.funnel_spec.FunnelError: Invalid funnel: steps: a funnel has 2 to 8 steps, got 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from core.messages import Message, msg
from core.segments.model import SegmentError, SegmentIssue, parse_date, parse_segment

MIN_STEPS, MAX_STEPS = 2, 8
MAX_EXCLUSIONS = 8
UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MAX_WINDOW_SECONDS = 3650 * 86400  # ten years: longer is a typo
DEFAULT_ENTRY_DAYS = 30
DEFAULT_WINDOW = (7, "day")
_KEYS = frozenset({"steps", "from", "to", "window", "exclusions", "name"})


class FunnelError(SegmentError):
    """A funnel definition that cannot be used; `issues` lists every problem with its place."""

    @property
    def message(self) -> str:
        if len(self.issues) == 1:
            return f"Invalid funnel: {self.issues[0]}"
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        return f"Invalid funnel ({len(self.issues)} problems):\n{lines}"


@dataclass(frozen=True)
class FunnelEvent:
    """A step or an exclusion: an event name and its `where` filters (the event-condition grammar)."""

    event: str
    where: tuple = ()  # tuple[EventFilter, ...]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"event": self.event}
        if self.where:
            d["where"] = [f.to_dict() for f in self.where]
        return d


@dataclass(frozen=True)
class FunnelSpec:
    """Steps (2–8), entry range (None = default), window, exclusions."""

    steps: tuple[FunnelEvent, ...]
    start: date | None = None  # `from`
    end: date | None = None  # `to`
    window_value: int = DEFAULT_WINDOW[0]
    window_unit: str = DEFAULT_WINDOW[1]
    exclusions: tuple[FunnelEvent, ...] = ()

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.window_value * UNITS[self.window_unit])

    def entry_range(self, as_of: date) -> tuple[date, date]:
        """[from, to], both days whole; a missing end is `as_of`, a missing start 29 days before the end."""
        end = self.end or as_of
        start = self.start or (end - timedelta(days=DEFAULT_ENTRY_DAYS - 1))
        return start, end

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"steps": [s.to_dict() for s in self.steps]}
        if self.start is not None:
            d["from"] = self.start.isoformat()
        if self.end is not None:
            d["to"] = self.end.isoformat()
        d["window"] = {"value": self.window_value, "unit": self.window_unit}
        if self.exclusions:
            d["exclusions"] = [e.to_dict() for e in self.exclusions]
        return d


def _events(raw: object, path: str, issue, parse_where) -> list[FunnelEvent]:
    out: list[FunnelEvent] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        p = f"{path}[{i}]"
        if not isinstance(item, dict):
            issue(p, msg("funnel.step_not_object"))
            continue
        unknown = set(item) - {"event", "where"}
        if unknown:
            issue(p, msg("funnel.step_keys", keys=", ".join(sorted(map(str, unknown)))))
        event = item.get("event")
        if not isinstance(event, str) or not event.strip():
            issue(p + ".event", msg("funnel.step_event"))
            continue
        where = parse_where(event, item.get("where") or [], p)
        if where is not None:
            out.append(FunnelEvent(event, where))
    return out


def parse_funnel(obj: object) -> FunnelSpec:
    """The funnel JSON as a spec; raises SegmentError listing every problem with its place."""
    if isinstance(obj, FunnelSpec):
        return obj
    issues: list[SegmentIssue] = []

    def issue(path: str, message: Message | str) -> None:
        issues.append(SegmentIssue.of(path, message))

    def parse_where(event: str, where: object, path: str) -> tuple | None:
        # the event-condition grammar, checked by the segment parser itself
        probe = {"conditions": [{"kind": "event", "event": event, "op": ">=", "count": 1, "where": where}]}
        try:
            return parse_segment(probe).conditions[0].where
        except SegmentError as err:
            for i in err.issues:
                issues.append(i.at(path + i.path.removeprefix("conditions[0]")))
            return None

    if not isinstance(obj, dict):
        raise FunnelError(msg("funnel.not_object"))
    unknown = set(obj) - _KEYS
    if unknown:
        issue("", msg("funnel.keys", keys=", ".join(sorted(map(str, unknown)))))
    raw_steps = obj.get("steps")
    if not isinstance(raw_steps, list) or not MIN_STEPS <= len(raw_steps) <= MAX_STEPS:
        n = len(raw_steps) if isinstance(raw_steps, list) else "none"
        issue("steps", msg("funnel.steps", min=MIN_STEPS, max=MAX_STEPS, n=n))
        raw_steps = []
    steps = _events(raw_steps, "steps", issue, parse_where)
    raw_ex = obj.get("exclusions") or []
    if not isinstance(raw_ex, list) or len(raw_ex) > MAX_EXCLUSIONS:
        issue("exclusions", msg("funnel.exclusions", limit=MAX_EXCLUSIONS))
        raw_ex = []
    exclusions = _events(raw_ex, "exclusions", issue, parse_where)
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        raw = obj.get(key)
        days[key] = None if raw is None else parse_date(raw)
        if raw is not None and days[key] is None:
            issue(key, msg("funnel.not_a_date", value=raw))
    if days["from"] and days["to"] and days["from"] > days["to"]:
        issue("from", msg("funnel.range_swapped", first=days["from"], last=days["to"]))
    value, unit = DEFAULT_WINDOW
    window = obj.get("window")
    if window is not None:
        if not isinstance(window, dict):
            issue("window", msg("funnel.window"))
        else:
            value, unit = window.get("value"), window.get("unit", "day")
            if unit not in UNITS:
                issue("window.unit", msg("funnel.window_unit", unit=unit))
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                issue("window.value", msg("funnel.window_value", value=value))
            elif unit in UNITS and value * UNITS[unit] > MAX_WINDOW_SECONDS:
                issue("window.value", msg("funnel.window_long"))
    if issues:
        raise FunnelError(issues)
    return FunnelSpec(tuple(steps), days["from"], days["to"], value, unit, tuple(exclusions))


def encode_funnel(spec: FunnelSpec) -> str:
    """The funnel as a short URL-safe string (the segment link format around a `funnel` condition)."""
    from core.segments.urlcodec import encode_segment

    return encode_segment(
        parse_segment({"conditions": [{"kind": "funnel", "funnel": spec.to_dict(), "op": "reached", "step": 1}]})
    )


def decode_funnel(text: str) -> FunnelSpec:
    """The funnel from `encode_funnel` text; FunnelError saying in words what is wrong with the link."""
    from core.segments.model import FunnelCondition
    from core.segments.urlcodec import decode_segment

    try:
        segment = decode_segment(text)
    except SegmentError as err:
        raise FunnelError(
            [SegmentIssue("", i.message.replace("segment link", "funnel link")) for i in err.issues]
        ) from None
    if len(segment.conditions) != 1 or not isinstance(segment.conditions[0], FunnelCondition):
        raise FunnelError(msg("funnel.no_funnel"))
    return segment.conditions[0].funnel


def drop_off_definition(spec: FunnelSpec, op: str, step: int, base: dict | None = None) -> dict[str, Any]:
    """A segment definition for a step's audience (reached / dropped_after / not_reached), within a base definition."""
    condition = {"kind": "funnel", "funnel": spec.to_dict(), "op": op, "step": step}
    conditions: list[dict[str, Any]] = [condition]
    if base and base.get("conditions"):
        conditions.append({"kind": "group", "match": base.get("match", "all"), "conditions": base["conditions"]})
    return {"version": 1, "match": "all", "conditions": conditions}
