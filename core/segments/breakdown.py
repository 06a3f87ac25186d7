"""A segment's make-up by one attribute, tag or model dimension, against all users."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pyroaring import BitMap
from sqlglot import exp

from core.catalog import AIPL_STAGES, LIFECYCLE_STATES, MODEL_COLUMNS, RFM_CLASSES, Catalog
from core.config import did_you_mean
from core.dataset.caches import dataset_cache
from core.problems import engine_errors
from core.queries import named_query
from core.segments.counts import Resolve, col, segment_condition
from core.segments.model import Segment
from core.segments.results import Breakdown, BreakdownRow, OperationError, share

if TYPE_CHECKING:
    from core.dataset import Dataset

NUMERIC_BINS = 8
# Whole-number attributes with at most this many distinct values are shown value by value.
SMALL_INTEGER_DISTINCT = 12
OTHER_LABEL = "(other)"
MISSING_LABEL = "(missing)"
_MODEL_ORDER = {"rfm": RFM_CLASSES, "aipl": AIPL_STAGES, "lifecycle": LIFECYCLE_STATES}

# Templates: queries/breakdown_categories.sql, breakdown_bins.sql, breakdown_edges.sql.
# The bin edges do not depend on the segment: computed once per opened dataset (~0.7 s a column at 10M).


def _edges(ds: Dataset, column: str) -> list[Any]:
    kept = dataset_cache(ds, "breakdown_edges")
    if column not in kept:
        ((edges,),) = ds.run(named_query("breakdown_edges", value=col(column)), {})
        kept[column] = list(edges) if edges is not None else [None] * (NUMERIC_BINS - 1)
    return kept[column]


def _resolve_by(catalog: Catalog, by: str) -> tuple[Literal["attribute", "numeric", "tag", "model"], str]:
    """What `by` names and the profile column to group on (model dimensions, then attributes, then tags)."""
    if by in MODEL_COLUMNS:
        return "model", MODEL_COLUMNS[by]
    if by in catalog.attributes:
        column = catalog.attributes[by]
        small = column.distinct is not None and column.distinct <= SMALL_INTEGER_DISTINCT
        if column.type in ("number", "timestamp", "date") or (column.type == "integer" and not small):
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
        return value.date().isoformat()  # bins span days at least; `low`/`high` keep the exact moments
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


def _scanned_bins(
    ds: Dataset, column: str, condition: exp.Expression, params: dict[str, object], edges: list[Any]
) -> list[_RawRow]:
    query = named_query("breakdown_bins", value=col(column), segment=condition)
    bound = {f"x_edge_{i + 1}": edge for i, edge in enumerate(edges)}
    return [
        ("missing" if bin_no is None else "bucket", None, in_seg, in_base, low, high)
        for bin_no, low, high, in_seg, in_base in ds.run(query, {**params, **bound})
    ]


def _scanned_categories(
    ds: Dataset, column: str, condition: exp.Expression, params: dict[str, object], top: int
) -> list[_RawRow]:
    query = named_query("breakdown_categories", value=col(column), segment=condition)
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


@engine_errors
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
        ordered += sorted(present.values(), key=lambda r: str(r[1]))  # values outside the vocabulary
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
            label = _format_number(low) if low == high else f"{_format_number(low)} – {_format_number(high)}"
        elif by_kind == "tag":
            label = "has" if raw else "has not"
        else:
            label = _value_label(raw)
        share_seg = share(in_seg, segment_size)
        share_base = share(in_base, total)
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
