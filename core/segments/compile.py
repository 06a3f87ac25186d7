"""Segment definition -> one boolean sqlglot expression over the `profile` table.

Every compiled condition is two-valued (never NULL): positive comparisons are
wrapped in COALESCE(..., FALSE) and negative operators are exactly NOT of their
positive twin, so `count(X) + count(NOT X)` is always every user. Values are
bound as parameters `$p0, $p1, ...`; identifiers come only from the catalog.

>>> from datetime import date
>>> from core.catalog import Catalog, Column
>>> cat = Catalog(as_of=date(2026, 6, 30), total_users=0, attributes={"city": Column("city", "string")})
>>> segment = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "ne", "value": "Shanghai"}]})
>>> c = compile_where(segment, cat)
>>> c.sql, c.params
('NOT COALESCE("city" = $p0, FALSE)', {'p0': 'Shanghai'})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlglot import exp

from core.catalog import EI, Catalog, Column
from core.messages import Message, hint, msg
from core.segments import refs
from core.segments.conditions import (
    NEGATIVE_TWINS,
    EventFilter,
    Segment,
    SegmentError,
    SegmentIssue,
    parse_date,
)
from core.segments.kinds import kind_of
from core.segments.model import parse_segment
from core.segments.sqltrees import (
    COMPARE,
    EVENTS,
    EVENTS_ALIAS,
    MAX_EXPANDED_CONDITIONS,
    MAX_EXPANDED_DEPTH,
    MAX_REFERENCE_DEPTH,
    PROFILE,
    SHORT_LIST,
    TYPE_NAMES,
    TYPE_OPS,
    Compiled,
    chain_operands,
    count_query,
    in_list,
    members_query,
    not_,
    qcol,
    renumber,
    two_valued,
    two_valued_inner,
    where_form,
)

# A saved segment's current definition by id (None = no such id). A Mapping works
# too and also lets "unknown id" messages suggest the closest known ids.
Resolver = Callable[[str], "Segment | dict | str | None"] | Mapping[str, Any]
_INT64 = 2**63 - 1


def _type_name(column_type: str) -> str:
    return TYPE_NAMES.get(column_type, f"a {column_type}")


class Compiler:
    """Compiles one definition: parameters, issues, saved-segment memo and depth; each kind's `compile` uses it."""

    def __init__(self, catalog: Catalog, resolve: Resolver | None, segment_id: str | None) -> None:
        self.catalog = catalog
        self.resolve = resolve
        self.params: dict[str, object] = {}
        self.issues: list[SegmentIssue] = []
        self.stack: list[str] = [segment_id] if segment_id else []
        self.memo: dict[str, tuple[exp.Expression, int, int]] = {}  # id -> (tree, conditions, depth inside)
        self.expanded = 0
        self.depth = 0  # groups and saved segments around the condition being compiled
        self.deepest = 0
        self.too_deep = False
        self.too_large = False

    # ---- plumbing
    def issue(self, path: str, message: Message | str) -> None:
        self.issues.append(SegmentIssue.of(path, message))

    def too_deep_at(self, path: str) -> exp.Expression:
        """Refuse nesting past MAX_EXPANDED_DEPTH (said once per definition); TRUE stands in meanwhile."""
        if not self.too_deep:
            self.issue(path, msg("segment.expanded_too_deep", limit=MAX_EXPANDED_DEPTH))
            self.too_deep = True
        return exp.true()

    def param(self, value: object) -> exp.Placeholder:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return exp.Placeholder(this=name)

    def day_bound(self, day: date, column_type: str) -> date | datetime:
        # Timestamps compare against midnight of the day; date columns against the day itself.
        return datetime.combine(day, time()) if column_type == "timestamp" else day

    def window(self, days: int) -> tuple[date, date]:
        """The N calendar days ending on as_of, inclusive: [as_of + 1 - N, as_of + 1)."""
        end = self.catalog.as_of + timedelta(days=1)
        return end - timedelta(days=days), end

    # ---- tree
    def segment(self, segment: Segment, prefix: str) -> exp.Expression:
        return self.combine(segment.match, segment.conditions, prefix + "conditions")

    def combine(self, match: str, conditions: tuple, path: str) -> exp.Expression:
        parts = [self.condition(c, f"{path}[{i}]") for i, c in enumerate(conditions)]
        if not parts:
            return exp.true()  # no conditions = every user, whatever `match` says
        if len(parts) == 1:
            return parts[0]
        return exp.and_(*parts, copy=False) if match == "all" else exp.or_(*parts, copy=False)

    def condition(self, c: object, path: str) -> exp.Expression:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_CONDITIONS:
            if not self.too_large:
                self.issue(path, msg("segment.expanded_too_many", limit=MAX_EXPANDED_CONDITIONS))
                self.too_large = True
            return exp.true()
        kind = kind_of(c)  # TypeError for a hand-built tree's stranger; parse_segment never builds one
        if kind.nests:
            if self.depth >= MAX_EXPANDED_DEPTH:
                return self.too_deep_at(path)
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)
            try:
                expr = kind.compile(self, c, path)
            finally:
                self.depth -= 1
        else:
            expr = kind.compile(self, c, path)
        return not_(expr) if c.negate else expr  # type: ignore[attr-defined]

    # ---- attributes and event properties share one comparison

    def compare(
        self,
        col: exp.Expression,
        column: Column,
        op: str,
        value: object,
        values: tuple | None,
        path: str,
    ) -> exp.Expression:
        allowed = TYPE_OPS.get(column.type)
        if allowed is None:
            self.issue(path + ".field", msg("segment.column_unsupported", column=column.name, type=column.type))
            return exp.true()
        if op not in allowed:
            self.issue(
                path + ".op",
                msg(
                    "segment.op_not_for_column",
                    op=op,
                    column=column.name,
                    type_name=_type_name(column.type),
                    allowed=", ".join(sorted(allowed)),
                ),
            )
            return exp.true()
        if op in NEGATIVE_TWINS:
            # Exactly NOT(positive twin): users with a missing value fall on this side.
            return not_(self.compare(col, column, NEGATIVE_TWINS[op], value, values, path))
        if op == "is_null":
            return exp.Is(this=col, expression=exp.Null())
        temporal = column.type in ("timestamp", "date")
        if op == "within_last_days":
            lo, hi = self.window(int(value))
            return self.day_range(col, column.type, lo, hi)
        if op in ("in", "between"):
            coerced = [self.coerce(v, column, f"{path}.values[{i}]") for i, v in enumerate(values or ())]
            if any(v is None for v in coerced):
                return exp.true()
            if op == "between":
                low, high = coerced
                if low > high:
                    self.issue(
                        path + ".values", msg("segment.between_swapped", low=repr(values[0]), high=repr(values[1]))
                    )
                    return exp.true()
                if temporal:
                    return self.day_range(col, column.type, low, high + timedelta(days=1))
                return two_valued(exp.Between(this=col, low=self.param(low), high=self.param(high)))
            if temporal:
                if column.type == "timestamp":
                    col = exp.Cast(this=col, to=exp.DataType.build("DATE"))
                coerced = list(dict.fromkeys(coerced))  # same day twice is one day
            elif column.type == "integer" and any(isinstance(v, float) for v in coerced):
                coerced = [float(v) for v in coerced]  # one list type for the bound parameter
            return two_valued(in_list(col, coerced, self.param))
        v = self.coerce(value, column, path + ".value")
        if v is None:
            return exp.true()
        if op == "contains":
            # STRPOS, not LIKE: '%' and '_' in the value are ordinary characters.
            found = exp.StrPosition(this=exp.Lower(this=col), substr=exp.Lower(this=self.param(v)))
            return two_valued(exp.GT(this=found, expression=exp.Literal.number(0)))
        if temporal:
            day: date = v
            nxt = day + timedelta(days=1)
            if op == "eq":
                return self.day_range(col, column.type, day, nxt)
            bound = {"gt": nxt, "gte": day, "lt": day, "lte": nxt}[op]
            cmp = exp.GTE if op in ("gt", "gte") else exp.LT
            return two_valued(cmp(this=col, expression=self.param(self.day_bound(bound, column.type))))
        return two_valued(COMPARE[op](this=col, expression=self.param(v)))

    def day_range(self, col: exp.Expression, column_type: str, lo: date, hi: date) -> exp.Expression:
        """Every moment of the days lo .. hi - 1 day: col >= lo AND col < hi."""
        return two_valued(
            exp.and_(
                exp.GTE(this=col, expression=self.param(self.day_bound(lo, column_type))),
                exp.LT(this=col.copy(), expression=self.param(self.day_bound(hi, column_type))),
            )
        )

    def coerce(self, value: object, column: Column, path: str) -> object:
        """The value as the column's Python type, or None after recording an issue."""
        t = column.type
        if t == "string":
            if isinstance(value, str):
                return value
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            want = msg("segment.want.text")
        elif t in ("integer", "number"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if isinstance(value, int) and abs(value) > _INT64:
                    self.issue(path, msg("segment.too_large_for", value=value, column=column.name))
                    return None
                return value if t == "integer" or isinstance(value, float) else float(value)
            want = msg("segment.want.number_unquoted" if isinstance(value, str) else "segment.want.number")
        elif t == "boolean":
            if isinstance(value, bool):
                return value
            want = msg("segment.want.bool")
        elif t in ("timestamp", "date"):
            day = parse_date(value)
            if day is not None:
                return day
            want = msg("segment.want.date")
        else:
            want = msg("segment.want.other")
        text = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
        self.issue(
            path, msg("segment.wrong_value_type", column=column.name, type_name=_type_name(t), value=text, want=want)
        )
        return None

    def event_filter(self, f: EventFilter, path: str) -> exp.Expression:
        column = self.catalog.event_properties.get(f.field)
        if column is None:
            if f.field in ("ts", "event", "user_id"):
                near = msg(f"segment.property_hint.{f.field}")
            else:
                near = hint(f.field, list(self.catalog.event_properties))
            self.issue(path + ".field", msg("segment.unknown_event_property", field=f.field, hint=near))
            return exp.true()
        return self.compare(qcol(column.name, EVENTS_ALIAS), column, f.op, f.value, f.values, path)

    # ---- saved segments
    def lookup(self, segment_id: str) -> object:
        return refs.lookup(self.resolve, segment_id)  # type: ignore[arg-type]

    @staticmethod
    def parse(raw: object) -> Segment:
        """A saved definition re-checked (stored definitions are input too)."""
        return parse_segment(raw)  # type: ignore[arg-type]


def _run(
    segment: Segment, catalog: Catalog, resolve: Resolver | None, segment_id: str | None
) -> tuple[exp.Expression, dict[str, object]]:
    segment = parse_segment(segment)  # structural re-check: hand-built trees are input too
    compiler = Compiler(catalog, resolve, segment_id)
    expression = compiler.segment(segment, "")
    if compiler.issues:
        raise SegmentError(compiler.issues)
    return renumber(expression, compiler.params)


def validate_against(
    segment: Segment,
    catalog: Catalog,
    resolve: Resolver | None = None,
    *,
    segment_id: str | None = None,
) -> None:
    """Raise `SegmentError` for every name, operator or value the dataset cannot answer.

    `segment_id`: the id this definition is being saved under, so a reference
    back to it is refused as a cycle.
    """
    _run(segment, catalog, resolve, segment_id)


def compile_where(
    segment: Segment,
    catalog: Catalog,
    resolve: Resolver | None = None,
    *,
    segment_id: str | None = None,
) -> Compiled:
    """The definition as a two-valued boolean expression over `profile` (validated first)."""
    expression, params = _run(segment, catalog, resolve, segment_id)
    return Compiled(expression=expression, params=params)


def compile_event_rows(event: str | None, where: tuple[EventFilter, ...], catalog: Catalog, path: str = "") -> Compiled:
    """The rows of `event_rows` (alias `ev`) of one event (None = any event) passing every `where` filter.

    The same event-name check and property comparisons as an event condition (one compiler for
    both); parameters are `$p0, $p1, ...`. Raises `SegmentError` for an unknown event or filter.
    """
    compiler = Compiler(catalog, None, None)
    parts: list[exp.Expression] = []
    if event is not None:
        if event not in catalog.events:
            compiler.issue(path + "event", msg("segment.unknown_event", event=event, hint=hint(event, catalog.events)))
        else:
            code = compiler.param(catalog.event_code(event))
            parts.append(exp.EQ(this=qcol(EI, EVENTS_ALIAS), expression=code))
    parts += [compiler.event_filter(f, f"{path}where[{i}]") for i, f in enumerate(where)]
    if compiler.issues:
        raise SegmentError(compiler.issues)
    expression = exp.and_(*parts, copy=False) if parts else exp.true()
    return Compiled(*renumber(expression, compiler.params))


__all__ = [
    "Compiled",
    "Compiler",
    "EVENTS",
    "EVENTS_ALIAS",
    "MAX_EXPANDED_CONDITIONS",
    "MAX_EXPANDED_DEPTH",
    "MAX_REFERENCE_DEPTH",
    "PROFILE",
    "Resolver",
    "SHORT_LIST",
    "TYPE_NAMES",
    "TYPE_OPS",
    "chain_operands",
    "compile_event_rows",
    "compile_where",
    "count_query",
    "members_query",
    "renumber",
    "two_valued_inner",
    "validate_against",
    "where_form",
]
