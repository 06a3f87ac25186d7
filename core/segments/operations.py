"""What operators ask of a segment: its size, its make-up, overlaps, reach, members, a sample.

Every function takes an opened Dataset and a Segment, compiles the segment once
(core.segments.compile), and runs ONE query on a fresh cursor (`ds.cursor()`:
DuckDB connections are not shared across threads, cursors are cheap). SQL is a
sqlglot tree: either built directly or parsed from a constant template below
whose marker columns (`__segment__`, `__value__`) are replaced by trees. User
values are always bound parameters; identifiers come from the dataset catalog.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pyroaring import BitMap
from sqlglot import exp

from core import models
from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, MODEL_COLUMNS, RFM_CLASSES, Catalog
from core.config import did_you_mean
from core.privacy import mask_expression
from core.queries import named_query
from core.segments.compile import chain_operands, compile_where, where_form
from core.segments.model import Segment

if TYPE_CHECKING:
    from core.dataset import Dataset

Resolve = Callable[[str], Segment | None]

MAX_OVERLAP_SEGMENTS = 6
MAX_PAGE_SIZE = 1000
MAX_SAMPLE = 100_000
NUMERIC_BINS = 8
# Whole-number attributes with at most this many distinct values are shown value by value.
SMALL_INTEGER_DISTINCT = 12
OTHER_LABEL = "(other)"
MISSING_LABEL = "(missing)"

# Derived per-user columns a member list may show, besides user_id and the attributes.
MODEL_MEMBER_COLUMNS = (
    "_rfm_class",
    "_aipl_stage",
    "_lifecycle",
    "_recency_days",
    "_frequency",
    "_monetary",
    "_r_score",
    "_f_score",
    "_m_score",
)
_MODEL_ORDER = {"rfm": RFM_CLASSES, "aipl": AIPL_STAGES, "lifecycle": LIFECYCLE_STATES}


class OperationError(ValueError):
    """A request that cannot be answered as asked; the message names what is wrong and how to fix it."""


# --- results ------------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _jsonable(value: Any) -> Any:
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


def _frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _jsonable(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")
    ]


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
            "raw": _jsonable(self.raw),
            "low": _jsonable(self.low),
            "high": _jsonable(self.high),
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
    matrix: tuple[
        tuple[int, ...], ...
    ]  # matrix[i][j] = users in both i and j; the diagonal = sizes
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
            "rows": _frame_records(self.rows),
        }


# --- building blocks ----------------------------------------------------------------------------


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _count_filter(condition: exp.Expression) -> exp.Expression:
    """`count(*) FILTER (WHERE condition)` (the `count_if()` function is spelled out where used)."""
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition))


def _count_all() -> exp.Expression:
    return exp.Count(this=exp.Star())


def segment_condition(
    ds: Dataset, segment: Segment, resolve: Resolve | None, prefix: str = "s_"
) -> tuple[exp.Expression, dict[str, object]]:
    """The compiled segment with its placeholders renamed `<prefix><name>`.

    Renaming lets several segments (overlap) and our own parameters share one
    query without two values claiming the same `$p0`.
    """
    compiled = compile_where(segment, ds.catalog, resolve=resolve)
    models.ensure(ds, compiled.expression)  # models at a past day: their tables exist before the query runs
    mapping = {
        str(name).lstrip("$"): f"{prefix}{str(name).lstrip('$')}" for name in compiled.params
    }

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in mapping:
            return exp.Placeholder(this=mapping[node.name])
        return node

    expression = compiled.expression.copy().transform(rename)
    params = {mapping[str(k).lstrip("$")]: v for k, v in compiled.params.items()}
    # NULL from a condition means "not a member": make the flag two-valued.
    return exp.func("coalesce", exp.paren(expression), exp.false()), params


# --- size -----------------------------------------------------------------------------------------


def _is_flag_test(node: exp.Expression, flags: frozenset[str]) -> bool:
    """A test DuckDB evaluates faster over the whole column than as a scan filter (see `_size_query`).

    That is: a flag column (`tag = TRUE`, `NOT COALESCE(tag, FALSE)`), a comparison of a
    flag or counter column (`COALESCE(counter, 0) >= $p`), AND / OR / NOT of those; or on
    its own, a column equal to one value or a NULL test of any column.
    """
    node = node.unnest()
    if isinstance(node, exp.And | exp.Or):  # several tests: only over flags (a city = … OR … is not)
        # a chain of one connector is walked as a list (a chain of 1,000 tests overflowed the stack)
        return _only_flags(node, flags) and all(_is_flag_test(part, flags) for part in chain_operands(node))
    if isinstance(node, exp.Not):
        inner = node.this.unnest()
        if isinstance(inner, exp.Is):
            return _is_flag_test(inner, flags)
        if isinstance(inner, exp.Coalesce):
            inner = inner.this.unnest()
        return _is_flag_test(inner, flags) and _only_flags(inner, flags)
    if isinstance(node, exp.Is):
        return isinstance(node.this.unnest(), exp.Column) and isinstance(node.expression, exp.Null)
    if isinstance(node, exp.Column):
        return node.name in flags
    if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        left, right = node.left.unnest(), node.right
        if not isinstance(right, exp.Placeholder | exp.Literal | exp.Boolean):
            return False
        if isinstance(left, exp.Coalesce):  # a counter: COALESCE(col, 0)
            left = left.this.unnest()
        if not isinstance(left, exp.Column):
            return False
        return left.name in flags or isinstance(node, exp.EQ)
    return False


def _only_flags(node: exp.Expression, flags: frozenset[str]) -> bool:
    return all(col.name in flags for col in node.find_all(exp.Column))


def _size_query(ds: Dataset, where: exp.Expression) -> exp.Select:
    """`SELECT count … FROM profile` for a WHERE filter, in the faster of two forms.

    As a WHERE, DuckDB pushes comparisons, lists and ranges into the scan and skips
    row groups by their min/max: the faster form for those. A test of one flag,
    counter or value is faster evaluated over the whole column and counted with
    `count_if` (10 M members: a tag 6.8 -> 4.5 ms, a counter 5.9 -> 3.8 ms, a city
    13 -> 6.5 ms) while an IN list or BETWEEN is slower that way (13 -> 22 ms).
    Both forms count the same rows: `count_if` counts TRUE, a WHERE keeps TRUE.
    """
    if _is_flag_test(where, ds.catalog.flag_columns):
        return exp.select(exp.alias_(exp.func("count_if", where), "members")).from_("profile")
    return exp.select(exp.alias_(_count_all(), "members")).from_("profile").where(where)


def size(ds: Dataset, segment: Segment, resolve: Resolve | None = None, *, bitmaps: bool = True) -> SegmentSize:
    """How many users the segment holds, out of all users.

    Tags, flags and columns of few values are counted by set algebra over bitmap indexes
    (core/bitmaps.py); anything else, a column whose index is still being built, or
    `bitmaps=False`, by a scan of `profile`. Both count the same members.
    """
    condition, params = segment_condition(ds, segment, resolve)
    count = ds.bitmap_index().count(condition, params) if bitmaps else None
    if count is None:
        ((count,),) = ds.run(_size_query(ds, where_form(condition)), params)
    total = ds.total_users
    return SegmentSize(int(count), int(total), _share(int(count), int(total)), ds.as_of)


def counted_by(ds: Dataset, segment: Segment, resolve: Resolve | None = None) -> Literal["bitmaps", "scan"]:
    """How `size()` (and `reach()`, `overlap()`) count this segment right now: from the bitmap indexes, or by a scan."""
    condition, _ = segment_condition(ds, segment, resolve)
    return "bitmaps" if ds.bitmap_index().answers(condition) else "scan"


# --- breakdown ----------------------------------------------------------------------------------

# Templates: queries/breakdown_categories.sql, breakdown_bins.sql, breakdown_edges.sql.
# The bin edges do not depend on the segment: computed once per opened dataset (~0.7 s a column at 10M).


def _edges(ds: Dataset, column: str) -> list[Any]:
    key = ("breakdown_edges", column)
    if key not in ds.memo:
        ((edges,),) = ds.run(named_query("breakdown_edges", value=_col(column)), {})
        ds.memo[key] = list(edges) if edges is not None else [None] * (NUMERIC_BINS - 1)
    return ds.memo[key]


def _resolve_by(
    catalog: Catalog, by: str
) -> tuple[Literal["attribute", "numeric", "tag", "model"], str]:
    """What `by` names and the profile column to group on (model dimensions, then attributes, then tags)."""
    if by in MODEL_COLUMNS:
        return "model", MODEL_COLUMNS[by]
    if by in catalog.attributes:
        column = catalog.attributes[by]
        small = column.distinct is not None and column.distinct <= SMALL_INTEGER_DISTINCT
        if column.type in ("number", "timestamp", "date") or (
            column.type == "integer" and not small
        ):
            return "numeric", by
        return "attribute", by
    if by in catalog.tags:
        return "tag", catalog.tags[by].column
    known = [*MODEL_COLUMNS, *catalog.attributes, *catalog.tags]
    raise OperationError(
        f"Cannot break down by {by!r}: it is not an attribute, a tag or one of rfm, aipl, lifecycle."
        + did_you_mean(by, known)
    )


def _format_number(value: Any) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return (
            value.date().isoformat()
        )  # bins span days at least; `low`/`high` keep the exact moments
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return f"{value:,}"
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _value_label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# a breakdown row before labels and shares: kind, raw value, in segment, in base, low, high
_RawRow = tuple[str, Any, int, int, Any, Any]


def _scanned_bins(ds: Dataset, column: str, condition: exp.Expression, params: dict[str, object], edges: list[Any]) -> list[_RawRow]:
    query = named_query("breakdown_bins", value=_col(column), segment=condition)
    bound = {f"x_edge_{i + 1}": edge for i, edge in enumerate(edges)}
    return [
        ("missing" if bin_no is None else "bucket", None, in_seg, in_base, low, high)
        for bin_no, low, high, in_seg, in_base in ds.run(query, {**params, **bound})
    ]


def _scanned_categories(ds: Dataset, column: str, condition: exp.Expression, params: dict[str, object], top: int) -> list[_RawRow]:
    query = named_query("breakdown_categories", value=_col(column), segment=condition)
    return [
        (kind, value, int(in_seg or 0), int(in_base or 0), None, None)
        for kind, value, in_seg, in_base, _rank in ds.run(query, {**params, "x_limit": top})
    ]


def _orders_like_sql(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | Decimal | date):
        return True  # datetime is a date; bool an int (one column holds one type)
    return isinstance(value, float) and not math.isnan(value)


def _category_rows(members: BitMap, values: list[tuple[Any, BitMap]], top: int) -> list[_RawRow] | None:
    """`_CATEGORY_TEMPLATE` over bitmaps: the top values by members (then base, then value), "other", "missing".

    None (use the scan) for values Python does not order as DuckDB does: lists, structs, NaN.
    """
    if not all(_orders_like_sql(value) for value, _ in values):
        return None
    counted = [(value, members.intersection_cardinality(bm), len(bm)) for value, bm in values]
    known = sorted(((v, s, b) for v, s, b in counted if v is not None), key=lambda r: (-r[1], -r[2], r[0]))
    rows: list[_RawRow] = [("value", v, s, b, None, None) for v, s, b in known[:top]]
    if len(known) > top:
        rest = known[top:]
        rows.append(("other", None, sum(r[1] for r in rest), sum(r[2] for r in rest), None, None))
    rows += [("missing", None, s, b, None, None) for v, s, b in counted if v is None]
    return rows


def _bin_rows(members: BitMap, values: list[tuple[Any, BitMap]], edges: list[Any]) -> list[_RawRow] | None:
    """`_NUMERIC_TEMPLATE` over bitmaps: each value to the first bin whose upper edge is above it.

    None (use the scan) for values Python does not order as DuckDB does (NaN).
    """
    if not all(_orders_like_sql(value) for value, _ in values):
        return None
    bins: dict[int, list[Any]] = {}  # bin -> [low, high, in_segment, in_base]
    missing: list[int] | None = None
    for value, bm in values:
        in_seg, in_base = members.intersection_cardinality(bm), len(bm)
        if value is None:
            missing = [in_seg, in_base]
            continue
        # `value < NULL` is unknown in the CASE: a missing edge never takes a value
        bin_no = next((i + 1 for i, e in enumerate(edges) if e is not None and value < e), len(edges) + 1)
        low, high, seg_n, base_n = bins.get(bin_no, [value, value, 0, 0])
        bins[bin_no] = [min(low, value), max(high, value), seg_n + in_seg, base_n + in_base]
    rows: list[_RawRow] = [
        ("bucket", None, seg_n, base_n, low, high) for _, (low, high, seg_n, base_n) in sorted(bins.items())
    ]
    if missing is not None:
        rows.append(("missing", None, missing[0], missing[1], None, None))
    return rows


def breakdown(
    ds: Dataset,
    segment: Segment,
    by: str,
    resolve: Resolve | None = None,
    limit: int = 20,
    *,
    bitmaps: bool = True,
) -> Breakdown:
    """The segment's make-up by one attribute, tag or model dimension, against all users.

    By a column of few values with bitmap indexes, from their intersections (numeric
    bins too: each value falls in one bin); otherwise by one scan of `profile`.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise OperationError(f"limit must be a whole number ≥ 1, got {limit!r}.")
    by_kind, column = _resolve_by(ds.catalog, by)
    condition, params = segment_condition(ds, segment, resolve)
    raw_rows: list[_RawRow]
    split = ds.bitmap_index().split(condition, params, column) if bitmaps else None
    if by_kind == "numeric":
        edges = _edges(ds, column)
        from_bitmaps = _bin_rows(*split, edges) if split is not None else None
        raw_rows = from_bitmaps if from_bitmaps is not None else _scanned_bins(ds, column, condition, params, edges)
    else:
        # Model dimensions have few values and a fixed order: fetch them all.
        top = max(limit, len(_MODEL_ORDER[by])) if by_kind == "model" else limit
        from_bitmaps = _category_rows(*split, top) if split is not None else None
        raw_rows = from_bitmaps if from_bitmaps is not None else _scanned_categories(ds, column, condition, params, top)
    segment_size = sum(r[2] for r in raw_rows)
    total = sum(r[3] for r in raw_rows)

    if by_kind == "model":
        # Every class in the domain's order, including classes nobody is in.
        present = {r[1]: r for r in raw_rows if r[0] == "value"}
        ordered = [present.pop(v, ("value", v, 0, 0, None, None)) for v in _MODEL_ORDER[by]]
        ordered += sorted(
            present.values(), key=lambda r: str(r[1])
        )  # values outside the vocabulary
        raw_rows = ordered + [r for r in raw_rows if r[0] != "value"]
    elif by_kind == "attribute" and ds.catalog.attributes[by].type == "integer":
        values = sorted((r for r in raw_rows if r[0] == "value"), key=lambda r: r[1])
        raw_rows = values + [r for r in raw_rows if r[0] != "value"]
    elif by_kind == "tag":
        order = {True: 0, False: 1}
        raw_rows = sorted(raw_rows, key=lambda r: order.get(r[1], 2))

    rows = []
    for kind, raw, in_seg, in_base, low, high in raw_rows:
        if kind == "missing":
            label = MISSING_LABEL
        elif kind == "other":
            label = OTHER_LABEL
        elif kind == "bucket":
            label = (
                _format_number(low)
                if low == high
                else f"{_format_number(low)} – {_format_number(high)}"
            )
        elif by_kind == "tag":
            label = "has" if raw else "has not"
        else:
            label = _value_label(raw)
        share_seg = _share(in_seg, segment_size)
        share_base = _share(in_base, total)
        index = 100 * share_seg / share_base if share_seg is not None and share_base else None
        rows.append(
            BreakdownRow(
                value=label,
                kind=kind,  # type: ignore[arg-type]
                count_in_segment=in_seg,
                share_in_segment=share_seg,
                count_in_base=in_base,
                share_in_base=share_base,
                index=index,
                raw=raw if kind == "value" else None,
                low=low,
                high=high,
            )
        )
    return Breakdown(by, by_kind, segment_size, total, tuple(rows), ds.as_of)


# --- overlap ------------------------------------------------------------------------------------


def overlap(
    ds: Dataset, segments: Sequence[tuple[str, Segment]], resolve: Resolve | None = None, *, bitmaps: bool = True
) -> Overlap:
    """Pairwise intersections of up to six segments: from bitmap indexes, else counted in one pass."""
    if not segments:
        raise OperationError("Overlap needs at least one segment.")
    if len(segments) > MAX_OVERLAP_SEGMENTS:
        raise OperationError(
            f"Overlap compares at most {MAX_OVERLAP_SEGMENTS} segments at once; {len(segments)} were given. "
            "Pick the ones that matter most."
        )
    conditions: list[exp.Expression] = []
    params: dict[str, object] = {}
    for i, (_name, segment) in enumerate(segments):
        condition, seg_params = segment_condition(ds, segment, resolve, prefix=f"s{i}_")
        conditions.append(condition)
        params.update(seg_params)
    n = len(conditions)
    sets = ds.bitmap_index().members(conditions, params) if bitmaps else None
    if sets is not None:  # tags, flags, columns of few values: set intersections
        matrix = [[sets[i].intersection_cardinality(sets[j]) for j in range(n)] for i in range(n)]
        return Overlap(
            names=tuple(name for name, _ in segments),
            sizes=tuple(len(s) for s in sets),
            matrix=tuple(tuple(r) for r in matrix),
            union=len(BitMap.union(*sets)),
            total_users=ds.total_users,
            as_of=ds.as_of,
        )
    selects: list[exp.Expression] = [exp.alias_(_count_all(), "total_users")]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    for i, j in pairs:
        both = conditions[i] if i == j else exp.and_(conditions[i], conditions[j])
        selects.append(exp.alias_(_count_filter(both), f"n_{i}_{j}"))
    selects.append(exp.alias_(_count_filter(exp.or_(*conditions)), "any_of"))
    (row,) = ds.run(exp.select(*selects).from_("profile"), params)
    total, counts, union = int(row[0]), [int(c) for c in row[1:-1]], int(row[-1])
    matrix = [[0] * n for _ in range(n)]
    for (i, j), c in zip(pairs, counts, strict=True):
        matrix[i][j] = matrix[j][i] = c
    return Overlap(
        names=tuple(name for name, _ in segments),
        sizes=tuple(matrix[i][i] for i in range(n)),
        matrix=tuple(tuple(r) for r in matrix),
        union=union,
        total_users=total,
        as_of=ds.as_of,
    )


# --- reach --------------------------------------------------------------------------------------


def _consent_true(ds: Dataset, column: str) -> exp.Expression:
    """TRUE only for an explicit yes: false, NULL and unreadable values mean 'may not contact'."""
    value: exp.Expression = _col(column)
    if ds.catalog.attributes[column].type != "boolean":
        value = exp.TryCast(this=value, to=exp.DataType.build("BOOLEAN"))
    return exp.func("coalesce", value, exp.false())


def reach(ds: Dataset, segment: Segment, resolve: Resolve | None = None, *, bitmaps: bool = True) -> dict[str, ChannelReach]:
    """Per channel, how many members consented to be contacted there (consent TRUE)."""
    condition, params = segment_condition(ds, segment, resolve)
    channels = ds.config.privacy.consent_columns
    present = {ch: col for ch, col in channels.items() if col in ds.catalog.attributes}
    consents = [_consent_true(ds, column) for column in present.values()]
    sets = ds.bitmap_index().members([condition, *consents], params) if bitmaps else None
    if sets is not None:  # the members' set met with each channel's set of explicit yeses
        members = len(sets[0])
        reached = {ch: sets[0].intersection_cardinality(s) for ch, s in zip(present, sets[1:], strict=True)}
    else:
        selects: list[exp.Expression] = [exp.alias_(_count_all(), "members")]
        selects += [exp.alias_(_count_filter(c), f"reach_{i}") for i, c in enumerate(consents)]
        # the members as a WHERE (pushed into the scan, as in size()), consent counted among them
        query = exp.select(*selects).from_("profile").where(where_form(condition))
        (row,) = ds.run(query, params)
        members = int(row[0])
        reached = dict(zip(present, (int(c) for c in row[1:]), strict=True))
    result = {}
    for channel, column in channels.items():
        reachable = reached.get(channel, 0)
        result[channel] = ChannelReach(
            channel, column, channel in present, reachable, members - reachable
        )
    return result


# --- members and samples ------------------------------------------------------------------------


def _member_columns(ds: Dataset, columns: Sequence[str] | None) -> list[tuple[str, str]]:
    """(output name, profile column) pairs, user_id first; tags are shown as has/has-not by path."""
    catalog = ds.catalog
    wanted = list(columns) if columns is not None else list(catalog.attributes)
    chosen: list[tuple[str, str]] = [("user_id", "user_id")]
    for name in wanted:
        if name == "user_id" or any(out == name for out, _ in chosen):
            continue
        if name in catalog.attributes or name in MODEL_MEMBER_COLUMNS:
            chosen.append((name, name))
        elif name in catalog.tags:
            chosen.append((name, catalog.tags[name].column))
        else:
            known = [*catalog.attributes, *MODEL_MEMBER_COLUMNS, *catalog.tags]
            raise OperationError(
                f"Unknown column {name!r} for the member list.{did_you_mean(name, known)}"
            )
    return chosen


def _member_select(
    ds: Dataset, columns: Sequence[str] | None, reveal_pii: bool
) -> tuple[list[exp.Expression], tuple[str, ...]]:
    pii = set(ds.config.privacy.pii_columns)
    selects: list[exp.Expression] = []
    masked: list[str] = []
    for out, source in _member_columns(ds, columns):
        expression: exp.Expression = _col(source)
        # Masked inside DuckDB: unmasked PII never reaches Python unless revealed.
        if out in pii and out in ds.catalog.attributes and not reveal_pii:
            expression = mask_expression(out, expression)
            masked.append(out)
        selects.append(exp.alias_(expression, out, quoted=True))
    return selects, tuple(masked)


def members(
    ds: Dataset,
    segment: Segment,
    page: int = 0,
    page_size: int = 50,
    columns: Sequence[str] | None = None,
    resolve: Resolve | None = None,
    reveal_pii: bool = False,
) -> MemberPage:
    """One page of the segment's members, ordered by user_id, PII masked unless `reveal_pii`."""
    for label, value, low, high in (
        ("page", page, 0, None),
        ("page_size", page_size, 1, MAX_PAGE_SIZE),
    ):
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < low
            or (high is not None and value > high)
        ):
            bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
            raise OperationError(f"{label} must be a whole number {bound}, got {value!r}.")
    condition, params = segment_condition(ds, segment, resolve)
    selects, masked = _member_select(ds, columns, reveal_pii)
    rows_query = (
        exp.select(*selects)
        .from_("profile")
        .where(condition)
        .order_by(_col("user_id"))
        .limit(exp.Placeholder(this="x_limit"))
        .offset(exp.Placeholder(this="x_offset"))
    )
    count_query = exp.select(_count_all()).from_("profile").where(condition)
    cur = ds.cursor()
    try:
        total = int(cur.execute(count_query.sql("duckdb"), params or None).fetchone()[0])
        frame = cur.execute(
            rows_query.sql("duckdb"), {**params, "x_limit": page_size, "x_offset": page * page_size}
        ).df()
    finally:
        cur.close()
    return MemberPage(
        rows=frame, total=total, page=page, page_size=page_size, masked_columns=masked
    )


def sample(
    ds: Dataset,
    segment: Segment,
    n: int = 100,
    seed: int = 0,
    resolve: Resolve | None = None,
    columns: Sequence[str] | None = None,
    reveal_pii: bool = False,
) -> pd.DataFrame:
    """Up to `n` members picked at random, the same ones for the same seed on the same data.

    Order is by hash(user_id | seed), so the pick does not depend on file order or threads.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_SAMPLE:
        raise OperationError(f"n must be a whole number between 0 and {MAX_SAMPLE}, got {n!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise OperationError(f"seed must be a whole number, got {seed!r}.")
    condition, params = segment_condition(ds, segment, resolve)
    selects, _masked = _member_select(ds, columns, reveal_pii)
    shuffle = exp.func(
        "hash",
        exp.DPipe(
            this=exp.DPipe(this=_col("user_id"), expression=exp.Literal.string("|")),
            expression=exp.cast(exp.Placeholder(this="x_seed"), "VARCHAR"),
        ),
    )
    query = (
        exp.select(*selects)
        .from_("profile")
        .where(condition)
        .order_by(shuffle, _col("user_id"))
        .limit(exp.Placeholder(this="x_limit"))
    )
    cur = ds.cursor()
    try:
        return cur.execute(query.sql("duckdb"), {**params, "x_seed": seed, "x_limit": n}).df()
    finally:
        cur.close()
