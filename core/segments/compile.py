"""Segment definition -> one boolean sqlglot expression over the `profile` table.

Every compiled condition is two-valued (never NULL): positive comparisons are
wrapped in COALESCE(..., FALSE) and negative operators are exactly NOT of their
positive twin, so `count(X) + count(NOT X)` is always every user. Values are
bound as parameters `$p0, $p1, ...`; identifiers come only from the catalog.

>>> from datetime import date
>>> from core.catalog import Catalog, Column
>>> cat = Catalog(as_of=date(2026, 6, 30), total_users=0, attributes={"city": Column("city", "string")})
>>> c = compile_where(parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "ne", "value": "Shanghai"}]}), cat)
>>> c.sql, c.params
('NOT COALESCE("city" = $p0, FALSE)', {'p0': 'Shanghai'})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlglot import exp

from core import models
from core.catalog import EI, MODEL_COLUMNS, UID, Catalog, Column
from core.config import did_you_mean
from core.segments.model import (
    NEGATIVE_TWINS,
    Aipl,
    Attribute,
    Event,
    EventFilter,
    FunnelCondition,
    Group,
    Lifecycle,
    Rfm,
    Segment,
    SegmentError,
    SegmentIssue,
    SegmentRef,
    Tag,
    parse_date,
    parse_segment,
)

# A saved segment's current definition by id (None = no such id). A Mapping works
# too and also lets "unknown id" messages suggest the closest known ids.
Resolver = Callable[[str], "Segment | dict | str | None"] | Mapping[str, Any]

MAX_REFERENCE_DEPTH = 20  # saved segments referring to saved segments
MAX_EXPANDED_CONDITIONS = 2_000  # after inlining saved segments (guards diamond blow-ups)
# Groups inside groups once saved segments are inlined (each may nest 20 deep and refer 20 deep).
# The SQL of a deeper tree overflowed Python's stack where sqlglot writes it (~160 levels).
MAX_EXPANDED_DEPTH = 60
PROFILE = "profile"
EVENTS = "event_rows"  # the cache's copy of the events: `_uid`, `_ei` (event code), `ts`, properties
EVENTS_ALIAS = "ev"  # qualify subquery columns so they never bind to the outer profile

_ORDERED = frozenset({"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_null", "not_null"})
# Operators per column type (text compares lexicographically; dates by whole days).
TYPE_OPS: dict[str, frozenset[str]] = {
    "string": _ORDERED | {"contains"},
    "integer": _ORDERED | {"between"},
    "number": _ORDERED | {"between"},
    "boolean": frozenset({"eq", "ne", "is_null", "not_null"}),
    "timestamp": _ORDERED | {"between", "within_last_days"},
    "date": _ORDERED | {"between", "within_last_days"},
}
TYPE_NAMES = {
    "string": "a text",
    "integer": "a whole-number",
    "number": "a number",
    "boolean": "a true/false",
    "timestamp": "a date-time",
    "date": "a date",
}
_INT64 = 2**63 - 1
_COMPARE = {"eq": exp.EQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}
_EVENT_COMPARE = {">=": exp.GTE, ">": exp.GT, "=": exp.EQ, "<": exp.LT, "<=": exp.LTE}


@dataclass(frozen=True)
class Compiled:
    """A compiled definition: a boolean expression over `profile` and its bound parameters."""

    expression: exp.Expression
    params: dict[str, object]

    @property
    def sql(self) -> str:
        """The expression in DuckDB SQL (parameters as `$p0`, `$p1`, ...)."""
        return self.expression.sql(dialect="duckdb")


def _two_valued(condition: exp.Expression) -> exp.Expression:
    """NULL (a missing value) never matches a positive comparison."""
    return exp.Coalesce(this=condition, expressions=[exp.false()])


SHORT_LIST = 16  # up to this many values, `col IN ($a, $b, ...)`; longer lists are one parameter


def _in_list(col: exp.Expression, values: list, param: Callable[[object], exp.Placeholder]) -> exp.Expression:
    """`col IN ($p0, $p1, ...)` for a short list, `col IN (SELECT UNNEST($p))` for a long one.

    A short list of bound values is pushed into the scan as a filter (a quarter faster
    than the semi-join on two model columns at 10M members); a long list is one bound
    parameter that DuckDB hashes, so 100,000 values stay fast anywhere in the tree
    (ARRAY_CONTAINS would rescan the list per row once wrapped in COALESCE or NOT).
    """
    if 0 < len(values) <= SHORT_LIST:
        return exp.In(this=col, expressions=[param(v) for v in values])
    return exp.In(this=col, query=exp.Subquery(this=exp.select(exp.Unnest(expressions=[param(list(values))]))))


def _not(condition: exp.Expression) -> exp.Expression:
    return exp.not_(condition, copy=False)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _type_name(column_type: str) -> str:
    return TYPE_NAMES.get(column_type, f"a {column_type}")


class Compiler:
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
    def issue(self, path: str, message: str) -> None:
        self.issues.append(SegmentIssue(path, message))

    def too_deep_at(self, path: str) -> exp.Expression:
        """Refuse nesting past MAX_EXPANDED_DEPTH (said once per definition); TRUE stands in meanwhile."""
        if not self.too_deep:
            self.issue(
                path,
                f"groups and saved segments nest more than {MAX_EXPANDED_DEPTH} deep once saved "
                "segments are expanded; flatten some groups.",
            )
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
                self.issue(
                    path,
                    f"more than {MAX_EXPANDED_CONDITIONS:,} conditions once saved segments are expanded.",
                )
                self.too_large = True
            return exp.true()
        if isinstance(c, Group | SegmentRef):
            if self.depth >= MAX_EXPANDED_DEPTH:
                return self.too_deep_at(path)
            self.depth += 1
            self.deepest = max(self.deepest, self.depth)
            try:
                expr = (
                    self.combine(c.match, c.conditions, path + ".conditions")
                    if isinstance(c, Group)
                    else self.segment_ref(c, path)
                )
            finally:
                self.depth -= 1
        elif isinstance(c, Attribute):
            expr = self.attribute(c, path)
        elif isinstance(c, Tag):
            expr = self.tag(c, path)
        elif isinstance(c, Event):
            expr = self.event(c, path)
        elif isinstance(c, (Rfm, Aipl, Lifecycle)):
            expr = self.stage(c, path)
        elif isinstance(c, FunnelCondition):
            from core.analyses.funnel_sql import reached_tree  # builds on this compiler

            expr = reached_tree(self, c.funnel, c.op, c.step, path + ".")
        else:  # parse_segment never builds one; a hand-built tree might
            raise TypeError(f"not a segment condition: {type(c).__name__}")
        return _not(expr) if c.negate else expr

    # ---- attributes and event properties share one comparison
    def attribute(self, c: Attribute, path: str) -> exp.Expression:
        column = self.catalog.attributes.get(c.field)
        if column is None and c.field == "user_id":
            column = Column("user_id", "string")  # lets operators paste a list of ids
        if column is None:
            hint = ""
            if c.field in MODEL_COLUMNS.values():
                kind = next(k for k, v in MODEL_COLUMNS.items() if v == c.field)
                hint = f" Use a condition of kind '{kind}' instead."
            self.issue(
                path + ".field",
                f"unknown attribute '{c.field}'.{did_you_mean(c.field, list(self.catalog.attributes)) or hint}",
            )
            return exp.true()
        return self.compare(_col(column.name), column, c.op, c.value, c.values, path)

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
            self.issue(
                path + ".field",
                f"'{column.name}' has type {column.type}, which segments cannot filter on.",
            )
            return exp.true()
        if op not in allowed:
            self.issue(
                path + ".op",
                f"'{op}' does not apply to '{column.name}' ({_type_name(column.type)} column);"
                f" use one of: {', '.join(sorted(allowed))}.",
            )
            return exp.true()
        if op in NEGATIVE_TWINS:
            # Exactly NOT(positive twin): users with a missing value fall on this side.
            return _not(self.compare(col, column, NEGATIVE_TWINS[op], value, values, path))
        if op == "is_null":
            return exp.Is(this=col, expression=exp.Null())
        temporal = column.type in ("timestamp", "date")
        if op == "within_last_days":
            lo, hi = self.window(int(value))
            return self.day_range(col, column.type, lo, hi)
        if op in ("in", "between"):
            coerced = [
                self.coerce(v, column, f"{path}.values[{i}]") for i, v in enumerate(values or ())
            ]
            if any(v is None for v in coerced):
                return exp.true()
            if op == "between":
                low, high = coerced
                if low > high:
                    self.issue(
                        path + ".values",
                        f"the low end {values[0]!r} is above the high end {values[1]!r}; swap them.",
                    )
                    return exp.true()
                if temporal:
                    return self.day_range(col, column.type, low, high + timedelta(days=1))
                return _two_valued(
                    exp.Between(this=col, low=self.param(low), high=self.param(high))
                )
            if temporal:
                if column.type == "timestamp":
                    col = exp.Cast(this=col, to=exp.DataType.build("DATE"))
                coerced = list(dict.fromkeys(coerced))  # same day twice is one day
            elif column.type == "integer" and any(isinstance(v, float) for v in coerced):
                coerced = [float(v) for v in coerced]  # one list type for the bound parameter
            return _two_valued(_in_list(col, coerced, self.param))
        v = self.coerce(value, column, path + ".value")
        if v is None:
            return exp.true()
        if op == "contains":
            # STRPOS, not LIKE: '%' and '_' in the value are ordinary characters.
            found = exp.StrPosition(this=exp.Lower(this=col), substr=exp.Lower(this=self.param(v)))
            return _two_valued(exp.GT(this=found, expression=exp.Literal.number(0)))
        if temporal:
            day: date = v
            nxt = day + timedelta(days=1)
            if op == "eq":
                return self.day_range(col, column.type, day, nxt)
            bound = {"gt": nxt, "gte": day, "lt": day, "lte": nxt}[op]
            cmp = exp.GTE if op in ("gt", "gte") else exp.LT
            return _two_valued(
                cmp(this=col, expression=self.param(self.day_bound(bound, column.type)))
            )
        return _two_valued(_COMPARE[op](this=col, expression=self.param(v)))

    def day_range(
        self, col: exp.Expression, column_type: str, lo: date, hi: date
    ) -> exp.Expression:
        """Every moment of the days lo .. hi - 1 day: col >= lo AND col < hi."""
        return _two_valued(
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
            want = "text; write it in quotes"
        elif t in ("integer", "number"):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if isinstance(value, int) and abs(value) > _INT64:
                    self.issue(path, f"{value} is too large for '{column.name}'.")
                    return None
                return value if t == "integer" or isinstance(value, float) else float(value)
            want = "a number; write it without quotes" if isinstance(value, str) else "a number"
        elif t == "boolean":
            if isinstance(value, bool):
                return value
            want = "true or false (without quotes)"
        elif t in ("timestamp", "date"):
            day = parse_date(value)
            if day is not None:
                return day
            want = "a date written YYYY-MM-DD"
        else:
            want = "a supported value"
        text = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
        self.issue(path, f"'{column.name}' is {_type_name(t)} column; {text} is not {want}.")
        return None

    # ---- tags
    def tag(self, c: Tag, path: str) -> exp.Expression:
        info = self.catalog.tags.get(c.tag)
        if info is None:
            self.issue(
                path + ".tag",
                f"unknown tag '{c.tag}'.{did_you_mean(c.tag, list(self.catalog.tags))}",
            )
            return exp.true()
        if c.op in ("has", "has_not"):
            has = _two_valued(_col(info.column))
            return has if c.op == "has" else _not(has)
        if info.value_column is None:
            self.issue(
                path + ".op",
                f"tag '{c.tag}' carries no values, so '{c.op}' cannot compare one; use 'has' or 'has_not'.",
            )
            return exp.true()
        col = _col(info.value_column)
        if c.op == "eq":
            return _two_valued(exp.EQ(this=col, expression=self.param(c.value)))
        if c.op == "in":
            return _two_valued(_in_list(col, list(c.values or ()), self.param))
        # Numeric comparison: a value that is not a number (or is NaN) never matches.
        try:
            bound = float(c.value)
        except OverflowError:
            self.issue(path + ".value", f"{c.value} is too large to compare with.")
            return exp.true()
        number = exp.TryCast(this=col, to=exp.DataType.build("DOUBLE"))
        compare = _COMPARE[c.op](this=number, expression=self.param(bound))
        return _two_valued(exp.and_(compare, _not(exp.IsNan(this=number.copy()))))

    # ---- events
    def event(self, c: Event, path: str) -> exp.Expression:
        if c.event not in self.catalog.events:
            self.issue(
                path + ".event",
                f"unknown event '{c.event}'.{did_you_mean(c.event, self.catalog.events)}",
            )
            return exp.true()
        counter = None
        if not c.where and c.between is None:
            counter = self.catalog.counter_column(c.event, c.within_days)
        if counter is not None:
            # Precomputed per-user count (0 when none): compare it directly.
            count = exp.Coalesce(this=_col(counter), expressions=[exp.Literal.number(0)])
            return _EVENT_COMPARE[c.op](this=count, expression=self.param(c.count))
        conditions: list[exp.Expression] = [
            exp.EQ(this=_col(EI, EVENTS_ALIAS), expression=self.param(self.catalog.event_code(c.event))),
        ]
        ts = _col("ts", EVENTS_ALIAS)
        window: tuple[date, date] | None = None
        if c.within_days is not None:
            window = self.window(c.within_days)
        elif c.between is not None:
            start, end = parse_date(c.between[0]), parse_date(c.between[1])
            # Events after as_of ("today") are seen by no window, as in the precomputed counters.
            last = min(end + timedelta(days=1), self.catalog.as_of + timedelta(days=1))
            window = (start, last)
        if window is not None:
            conditions.append(
                exp.GTE(this=ts, expression=self.param(self.day_bound(window[0], "timestamp")))
            )
            conditions.append(
                exp.LT(
                    this=ts.copy(), expression=self.param(self.day_bound(window[1], "timestamp"))
                )
            )
        else:
            # All time ends with as_of too.
            end = self.catalog.as_of + timedelta(days=1)
            conditions.append(
                exp.LT(this=ts, expression=self.param(self.day_bound(end, "timestamp")))
            )
        for i, f in enumerate(c.where):
            conditions.append(self.event_filter(f, f"{path}.where[{i}]"))
        # `event_rows` holds only members' events (never a NULL `_uid`, which would make NOT IN unknown)
        where = exp.and_(*conditions)

        def users_with(cmp: type[exp.Binary], k: int) -> exp.Expression:
            having = cmp(this=exp.Count(this=exp.Star()), expression=self.param(k))
            query = (
                exp.select(_col(UID, EVENTS_ALIAS))
                .from_(exp.to_table(EVENTS).as_(EVENTS_ALIAS))
                .where(where.copy())
                .group_by(_col(UID, EVENTS_ALIAS))
                .having(having)
            )
            return _two_valued(exp.In(this=_col(UID), query=exp.Subquery(this=query)))

        # Every operator through the ">= k" set, so users with no events land exactly.
        n = c.count
        if c.op == ">=":
            return exp.true() if n <= 0 else users_with(exp.GTE, n)
        if c.op == ">":
            return users_with(exp.GTE, n + 1)
        if c.op == "=":
            return _not(users_with(exp.GTE, 1)) if n == 0 else users_with(exp.EQ, n)
        if c.op == "<":
            return exp.false() if n <= 0 else _not(users_with(exp.GTE, n))
        return _not(users_with(exp.GTE, n + 1))  # "<="

    def event_filter(self, f: EventFilter, path: str) -> exp.Expression:
        column = self.catalog.event_properties.get(f.field)
        if column is None:
            if f.field in ("ts", "event", "user_id"):
                hint = {
                    "ts": " The event time is set with 'within_days' or 'between'.",
                    "event": " The event name is the condition's 'event'.",
                    "user_id": " Filter users with an attribute condition instead.",
                }[f.field]
            else:
                hint = did_you_mean(f.field, list(self.catalog.event_properties))
            self.issue(path + ".field", f"unknown event property '{f.field}'.{hint}")
            return exp.true()
        return self.compare(_col(column.name, EVENTS_ALIAS), column, f.op, f.value, f.values, path)

    # ---- model columns
    def stage(self, c: Rfm | Aipl | Lifecycle, path: str) -> exp.Expression:
        day = parse_date(c.as_of) if c.as_of is not None else None
        if day is not None and day > self.catalog.as_of:
            self.issue(
                path + ".as_of",
                f"{c.as_of} is after the dataset's as_of ({self.catalog.as_of}); a model can be read up to that day.",
            )
            return exp.true()
        if day is None or day == self.catalog.as_of:
            col = _col(MODEL_COLUMNS[c.kind])
            member = _two_valued(_in_list(col, list(c.values), self.param))
        else:
            # the model at a past day: its table (core/models), computed before the query runs
            table = exp.to_table(models.table_name(c.kind, day), quoted=True)
            inner = exp.select(_col(UID)).from_(table).where(_in_list(_col(models.VALUE), list(c.values), self.param))
            member = _two_valued(exp.In(this=_col(UID), query=exp.Subquery(this=inner)))
        return member if c.op == "in" else _not(member)

    # ---- saved segments
    def lookup(self, segment_id: str) -> object:
        if isinstance(self.resolve, Mapping):
            return self.resolve.get(segment_id)
        return self.resolve(segment_id)

    def known_ids(self) -> list[str]:
        if isinstance(self.resolve, Mapping):
            return [str(k) for k in self.resolve]
        known = getattr(self.resolve, "known_ids", None)
        return [str(k) for k in known()] if callable(known) else []

    def segment_ref(self, c: SegmentRef, path: str) -> exp.Expression:
        sid = c.segment
        where = path + ".segment"
        if sid in self.stack:
            cycle = self.stack[self.stack.index(sid) :] + [sid]
            what = "itself" if len(cycle) == 2 else "itself through other saved segments"
            self.issue(
                where,
                f"segment '{sid}' refers to {what}: {' → '.join(cycle)}. Remove the reference.",
            )
            return exp.true()
        if self.resolve is None:
            self.issue(
                where, f"refers to saved segment '{sid}', but no saved segments are available here."
            )
            return exp.true()
        if len(self.stack) >= MAX_REFERENCE_DEPTH:
            self.issue(
                where, f"saved segments refer to each other more than {MAX_REFERENCE_DEPTH} deep."
            )
            return exp.true()
        if sid in self.memo:
            expr, size, height = self.memo[sid]
            if self.depth + height > MAX_EXPANDED_DEPTH:  # reused deeper than where it was compiled
                return self.too_deep_at(where)
            self.expanded += size
            if self.expanded > MAX_EXPANDED_CONDITIONS:  # check before copying a huge tree
                if not self.too_large:
                    self.issue(
                        where,
                        f"more than {MAX_EXPANDED_CONDITIONS:,} conditions once saved segments are expanded.",
                    )
                    self.too_large = True
                return exp.true()
            member = expr.copy()
        else:
            raw = self.lookup(sid)
            if raw is None:
                self.issue(
                    where, f"unknown saved segment '{sid}'.{did_you_mean(sid, self.known_ids())}"
                )
                return exp.true()
            prefix = f"{path} → saved segment '{sid}' → "
            try:
                saved = parse_segment(raw)  # re-checked: stored definitions are input too
            except SegmentError as err:
                self.issues.extend(SegmentIssue(prefix + i.path, i.message) for i in err.issues)
                return exp.true()
            self.stack.append(sid)
            before, deepest = self.expanded, self.deepest
            self.deepest = self.depth
            member = self.segment(saved, prefix)
            self.stack.pop()
            height = self.deepest - self.depth
            self.deepest = max(deepest, self.deepest)
            self.memo[sid] = (member, self.expanded - before, height)  # later uses copy it
        return member if c.op == "in" else _not(member)


def _run(
    segment: Segment, catalog: Catalog, resolve: Resolver | None, segment_id: str | None
) -> tuple[exp.Expression, dict[str, object]]:
    segment = parse_segment(segment)  # structural re-check: hand-built trees are input too
    compiler = Compiler(catalog, resolve, segment_id)
    expression = compiler.segment(segment, "")
    if compiler.issues:
        raise SegmentError(compiler.issues)
    return renumber(expression, compiler.params)


def renumber(
    expression: exp.Expression, params: dict[str, object]
) -> tuple[exp.Expression, dict[str, object]]:
    """Keep only parameters the expression uses, named p0, p1, ... in reading order.

    Conditions that fold to TRUE/FALSE (e.g. "at least 0 events") drop their
    placeholders, and DuckDB refuses unused parameters.
    """
    renamed: dict[str, str] = {}
    for node in expression.walk(bfs=False):
        if isinstance(node, exp.Placeholder):
            old = node.name
            if old not in renamed:
                renamed[old] = f"p{len(renamed)}"
            node.set("this", renamed[old])
    return expression, {new: params[old] for old, new in renamed.items()}


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


def count_query(compiled: Compiled) -> tuple[str, dict[str, object]]:
    """`SELECT count(*) FROM profile WHERE <definition>` and its parameters."""
    query = (
        exp.select(exp.Count(this=exp.Star()))
        .from_(exp.to_table(PROFILE))
        .where(compiled.expression.copy())
    )
    return query.sql(dialect="duckdb"), dict(compiled.params)


def members_query(compiled: Compiled) -> tuple[str, dict[str, object]]:
    """`SELECT user_id FROM profile WHERE <definition> ORDER BY user_id` and its parameters."""
    query = (
        exp.select(_col("user_id"))
        .from_(exp.to_table(PROFILE))
        .where(compiled.expression.copy())
        .order_by(_col("user_id"))
    )
    return query.sql(dialect="duckdb"), dict(compiled.params)


def chain_operands(
    node: exp.And | exp.Or, unwrap: Callable[[exp.Expression], exp.Expression] = exp.Expression.unnest
) -> list[exp.Expression]:
    """The operands of a chain of one connector (`a AND b AND c`), left to right, without recursion:
    sqlglot keeps a chain as a left-deep tree, one level per operand. `unwrap` says what a link may
    be wrapped in (parentheses by default)."""
    out: list[exp.Expression] = []
    stack: list[exp.Expression] = [node]
    while stack:
        current = unwrap(stack.pop())
        if isinstance(current, type(node)):
            stack.extend([current.right, current.left])
        else:
            out.append(current)
    return out


def two_valued_inner(node: exp.Expression) -> exp.Expression | None:
    """`x` if the node is `COALESCE(x, FALSE)` (how `_two_valued` folds NULL into FALSE), else None."""
    if (
        isinstance(node, exp.Coalesce)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Boolean)
        and node.expressions[0].this is False
    ):
        return node.this
    return None


def _unwrap_positive(node: exp.Expression) -> exp.Expression:
    """Through parentheses and `COALESCE(…, FALSE)`: the same rows at a positive position of a WHERE."""
    while True:
        if isinstance(node, exp.Paren):
            node = node.this
        elif (inner := two_valued_inner(node)) is not None:
            node = inner
        else:
            return node


def where_form(condition: exp.Expression) -> exp.Expression:
    """The same WHERE filter without the `COALESCE(…, FALSE)` wrappers, so DuckDB can skip row groups.

    The compiled definition is two-valued (NULL folded to FALSE) so that it can be
    negated and counted with FILTER. In a WHERE clause NULL and FALSE both drop the
    row, so at positive positions (under AND / OR, never under NOT) `COALESCE(x,
    FALSE)` keeps exactly the rows `x` keeps. Without the wrapper DuckDB pushes
    comparisons into the scan and uses min/max of row groups: a `user_id < …`
    export of 1M of 10M users reads a tenth of the table instead of all of it.
    A bare boolean column at such a position becomes `col = TRUE` (same rows, faster).
    """
    node = _unwrap_positive(condition)
    if isinstance(node, exp.And | exp.Or):
        # sqlglot does not add parentheses by precedence: keep them explicit, one pair per chain.
        # A chain of one connector stays flat (`a AND b AND c`): sqlglot writes a flat chain
        # without recursion, while a pair of parentheses per link overflowed Python's stack at
        # ~250 conditions.
        parts = [where_form(part) for part in chain_operands(node, _unwrap_positive)]
        joined = exp.and_(*parts, copy=False) if isinstance(node, exp.And) else exp.or_(*parts, copy=False)
        return exp.Paren(this=joined)
    if isinstance(node, exp.Column):
        # A boolean column on its own (a tag): `col = TRUE` keeps the same rows, and DuckDB
        # pushes it into the scan as a constant comparison, 2-3x faster than the bare column.
        return exp.EQ(this=node.copy(), expression=exp.true())
    return node.copy()


def compile_event_rows(
    event: str | None, where: tuple[EventFilter, ...], catalog: Catalog, path: str = ""
) -> Compiled:
    """The rows of `event_rows` (alias `ev`) of one event (None = any event) passing every `where` filter.

    The same event-name check and property comparisons as an event condition (one compiler for
    both); parameters are `$p0, $p1, ...`. Raises `SegmentError` for an unknown event or filter.
    """
    compiler = Compiler(catalog, None, None)
    parts: list[exp.Expression] = []
    if event is not None:
        if event not in catalog.events:
            compiler.issue(path + "event", f"unknown event '{event}'.{did_you_mean(event, catalog.events)}")
        else:
            code = compiler.param(catalog.event_code(event))
            parts.append(exp.EQ(this=_col(EI, EVENTS_ALIAS), expression=code))
    parts += [compiler.event_filter(f, f"{path}where[{i}]") for i, f in enumerate(where)]
    if compiler.issues:
        raise SegmentError(compiler.issues)
    expression = exp.and_(*parts, copy=False) if parts else exp.true()
    return Compiled(*renumber(expression, compiler.params))
