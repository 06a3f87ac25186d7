"""A segment's members: one page ordered by user_id, or a seeded random sample; PII masked unless revealed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
from sqlglot import exp

from core.config import did_you_mean
from core.privacy import mask_expression
from core.problems import engine_errors
from core.segments.counts import Resolve, col, count_all, segment_condition
from core.segments.model import Segment
from core.segments.results import MemberPage, OperationError

if TYPE_CHECKING:
    from core.dataset import Dataset

MAX_PAGE_SIZE = 1000
MAX_SAMPLE = 100_000

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
            raise OperationError(f"Unknown column {name!r} for the member list.{did_you_mean(name, known)}")
    return chosen


def _member_select(
    ds: Dataset, columns: Sequence[str] | None, reveal_pii: bool
) -> tuple[list[exp.Expression], tuple[str, ...]]:
    pii = set(ds.config.privacy.pii_columns)
    selects: list[exp.Expression] = []
    masked: list[str] = []
    for out, source in _member_columns(ds, columns):
        expression: exp.Expression = col(source)
        # Masked inside DuckDB: unmasked PII never reaches Python unless revealed.
        if out in pii and out in ds.catalog.attributes and not reveal_pii:
            expression = mask_expression(out, expression)
            masked.append(out)
        selects.append(exp.alias_(expression, out, quoted=True))
    return selects, tuple(masked)


@engine_errors
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
        if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
            raise OperationError(f"{label} must be a whole number {bound}, got {value!r}.")
    condition, params = segment_condition(ds, segment, resolve)
    selects, masked = _member_select(ds, columns, reveal_pii)
    rows_query = (
        exp.select(*selects)
        .from_("profile")
        .where(condition)
        .order_by(col("user_id"))
        .limit(exp.Placeholder(this="x_limit"))
        .offset(exp.Placeholder(this="x_offset"))
    )
    count_query = exp.select(count_all()).from_("profile").where(condition)
    cur = ds.cursor()
    try:
        total = int(cur.execute(count_query.sql("duckdb"), params or None).fetchone()[0])
        frame = cur.execute(
            rows_query.sql("duckdb"), {**params, "x_limit": page_size, "x_offset": page * page_size}
        ).df()
    finally:
        cur.close()
    return MemberPage(rows=frame, total=total, page=page, page_size=page_size, masked_columns=masked)


@engine_errors
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

    Order is by sha256(user_id | seed) (then user_id), so the pick does not depend on file order,
    threads or the engine: DuckDB and Spark compute the same digests and pick the same members.
    """
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_SAMPLE:
        raise OperationError(f"n must be a whole number between 0 and {MAX_SAMPLE}, got {n!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise OperationError(f"seed must be a whole number, got {seed!r}.")
    condition, params = segment_condition(ds, segment, resolve)
    selects, _masked = _member_select(ds, columns, reveal_pii)
    shuffle = exp.func(
        "sha256",
        exp.DPipe(
            this=exp.DPipe(this=col("user_id"), expression=exp.Literal.string("|")),
            expression=exp.cast(exp.Placeholder(this="x_seed"), "VARCHAR"),
        ),
    )
    query = (
        exp.select(*selects)
        .from_("profile")
        .where(condition)
        .order_by(shuffle, col("user_id"))
        .limit(exp.Placeholder(this="x_limit"))
    )
    cur = ds.cursor()
    try:
        return cur.execute(query.sql("duckdb"), {**params, "x_seed": seed, "x_limit": n}).df()
    finally:
        cur.close()
