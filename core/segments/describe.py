"""A segment definition in plain words (English or Simplified Chinese).

The "how this was counted" panel, exports and the CLI read these sentences, so
they name every condition, window and filter the compiler uses.

>>> from core.segments.model import parse_segment
>>> describe(parse_segment({"conditions": [
...     {"kind": "attribute", "field": "age", "op": "between", "values": [25, 35]},
...     {"kind": "event", "event": "purchase", "op": ">=", "count": 2, "within_days": 90}]}))
'age is between 25 and 35 AND did purchase at least 2 times in the last 90 days'
>>> describe(parse_segment({"conditions": []}), lang="zh")
'全部用户'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from core.catalog import Catalog
from core.segments.conditions import Condition, EventFilter, Group, Segment
from core.segments.kinds import kind_of
from core.segments.wording import DATE_LABELS, FIELD_LABELS_ZH, OPERATOR_LABELS, WORDS

Lang = Literal["en", "zh"]

_MAX_LISTED = 10  # long lists (pasted ids) are shortened


class Describer:
    """Words for conditions in one language; each kind's `describe` builds its sentence with these."""

    def __init__(self, catalog: Catalog | None, lang: str, resolve: Callable[[str], object] | None) -> None:
        if lang not in WORDS:
            raise ValueError(f"language must be one of {', '.join(WORDS)}, got {lang!r}")
        self.catalog = catalog
        self.lang = lang
        self.words = WORDS[lang]
        self.labels = OPERATOR_LABELS[lang]
        self.resolve = resolve

    # ---- values
    def value(self, v: object) -> str:
        if isinstance(v, bool):
            return self.words["true" if v else "false"]
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    def values(self, vs: tuple | None, labels: dict[str, str] | None = None) -> str:
        items = list(vs or ())
        shown = [labels.get(v, v) if labels and isinstance(v, str) else self.value(v) for v in items[:_MAX_LISTED]]
        text = self.words["list_sep"].join(shown)
        if len(items) > _MAX_LISTED:
            text += self.words["more"].format(n=len(items))
        return text

    def field(self, name: str) -> str:
        return FIELD_LABELS_ZH.get(name, name) if self.lang == "zh" else name

    def column_type(self, name: str, event_property: bool) -> str | None:
        if self.catalog is None:
            return None
        columns = self.catalog.event_properties if event_property else self.catalog.attributes
        column = columns.get(name)
        return column.type if column is not None else None

    # ---- conditions
    def compare(self, field: str, op: str, value: object, values: tuple | None, event_property: bool = False) -> str:
        name = self.field(field)
        w = self.words
        if op in ("is_null", "not_null"):
            return f"{name} {self.labels[op]}"
        if op == "between":
            a, b = (values or (None, None))[:2]
            return w["between"].format(field=name, a=self.value(a), b=self.value(b))
        if op == "within_last_days":
            return w["within"].format(field=name, n=value)
        if op == "contains":
            return w["contains"].format(field=name, v=value)
        if op in ("in", "not_in"):
            return f"{name} {self.labels[op]} {self.values(values)}"
        label = self.labels[op]
        if self.column_type(field, event_property) in ("timestamp", "date") and op in DATE_LABELS[self.lang]:
            label = DATE_LABELS[self.lang][op]
        return f"{name} {label} {self.value(value)}"

    def condition(self, c: Condition) -> str:
        text = self.positive(c)
        if not c.negate:
            return text
        if isinstance(c, Group) and len(c.conditions) > 1:
            if c.match == "all":  # NOT (A AND B), not NOT ((A AND B))
                return self.words["not"].format(self.joined(c))
            return self.words["not_prefix"] + text  # NOT any of (A OR B)
        return self.words["not"].format(text)

    def joined(self, group: Group) -> str:
        w = self.words
        return (w["and"] if group.match == "all" else w["or"]).join(self.condition(x) for x in group.conditions)

    def positive(self, c: Condition) -> str:
        return kind_of(c).describe(self, c)

    def event_filter(self, f: EventFilter) -> str:
        return self.compare(f.field, f.op, f.value, f.values, event_property=True)


def describe(
    segment: Segment,
    catalog: Catalog | None = None,
    lang: Lang = "en",
    resolve: Callable[[str], object] | None = None,
) -> str:
    """The whole definition as one sentence; "all users" / "全部用户" when it has no conditions.

    `resolve` is accepted for symmetry with the compiler; saved segments are named by id.
    """
    d = Describer(catalog, lang, resolve)
    if not segment.conditions:
        return d.words["all_users"]
    joiner = d.words["and"] if segment.match == "all" else d.words["or"]
    return joiner.join(d.condition(c) for c in segment.conditions)


def describe_lines(
    segment: Segment,
    catalog: Catalog | None = None,
    lang: Lang = "en",
    resolve: Callable[[str], object] | None = None,
) -> list[str]:
    """One line per top-level condition (the panel shows how they join); ["all users"] when empty."""
    d = Describer(catalog, lang, resolve)
    if not segment.conditions:
        return [d.words["all_users"]]
    return [d.condition(c) for c in segment.conditions]
