"""A segment's size, its reach per channel and its overlaps: from the bitmap indexes, else one scan.

Every function compiles the segment once (core.segments.compile) and runs ONE query on a
fresh cursor. User values are always bound parameters; identifiers come from the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

from pyroaring import BitMap
from sqlglot import exp

from core import models
from core.problems import engine_errors
from core.segments.compile import chain_operands, compile_where, where_form
from core.segments.model import Segment
from core.segments.results import ChannelReach, OperationError, Overlap, SegmentSize, share

if TYPE_CHECKING:
    from core.dataset import Dataset

Resolve = Callable[[str], Segment | None]

MAX_OVERLAP_SEGMENTS = 6


def col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def count_filter(condition: exp.Expression) -> exp.Expression:
    """`count(*) FILTER (WHERE condition)` (the `count_if()` function is spelled out where used)."""
    return exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=condition))


def count_all() -> exp.Expression:
    return exp.Count(this=exp.Star())


def segment_condition(
    ds: Dataset, segment: Segment, resolve: Resolve | None, prefix: str = "s_", *, tables: bool = True
) -> tuple[exp.Expression, dict[str, object]]:
    """The compiled segment with its placeholders renamed `<prefix><name>`.

    Renaming lets several segments (overlap) and our own parameters share one
    query without two values claiming the same `$p0`. `tables=False` leaves the models'
    tables at past days unmade: for a caller that tries the bitmaps first and calls
    `models.ensure` only before it scans.
    """
    # funnel conditions read their stored members tables (imported here: that module builds on this package)
    from core.analyses.funnel_table import deferred, materialized

    with deferred():
        compiled = compile_where(segment, ds.catalog, resolve=resolve)
    if tables:
        models.ensure(ds, compiled.expression)  # models at a past day: their tables exist before the query runs
    tree, compiled_params = materialized(ds, compiled.expression), compiled.params
    mapping = {str(name).lstrip("$"): f"{prefix}{str(name).lstrip('$')}" for name in compiled_params}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in mapping:
            return exp.Placeholder(this=mapping[node.name])
        return node

    expression = tree.copy().transform(rename)
    params = {mapping[str(k).lstrip("$")]: v for k, v in compiled_params.items()}
    # NULL from a condition means "not a member": make the flag two-valued.
    return exp.func("coalesce", exp.paren(expression), exp.false()), params


# --- size -----------------------------------------------------------------------------------------


def _is_flag_test(node: exp.Expression, flags: frozenset[str]) -> bool:
    """A test DuckDB evaluates faster over the whole column than as a scan filter (see `size_query`).

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


def size_query(ds: Dataset, where: exp.Expression) -> exp.Select:
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
    return exp.select(exp.alias_(count_all(), "members")).from_("profile").where(where)


@engine_errors
def size(ds: Dataset, segment: Segment, resolve: Resolve | None = None, *, bitmaps: bool = True) -> SegmentSize:
    """How many users the segment holds, out of all users.

    Tags, flags and columns of few values are counted by set algebra over bitmap indexes
    (core/bitmaps/); anything else, a column whose index is still being built, or
    `bitmaps=False`, by a scan of `profile`. Both count the same members.
    """
    # a dated model condition's table is made only if the bitmaps cannot answer (a past day's AIPL: they can)
    condition, params = segment_condition(ds, segment, resolve, tables=False)
    count = ds.bitmap_index().count(condition, params) if bitmaps else None
    if count is None:
        with models.held(ds, condition):  # its tables stay until the scan has run
            ((count,),) = ds.run(size_query(ds, where_form(condition)), params)
    total = ds.total_users
    return SegmentSize(int(count), int(total), share(int(count), int(total)), ds.as_of)


@engine_errors
def counted_by(ds: Dataset, segment: Segment, resolve: Resolve | None = None) -> Literal["bitmaps", "scan"]:
    """How `size()` (and `reach()`, `overlap()`) count this segment right now: from the bitmap indexes, or by a scan."""
    condition, _ = segment_condition(ds, segment, resolve, tables=False)
    return "bitmaps" if ds.bitmap_index().answers(condition) else "scan"


# --- overlap ------------------------------------------------------------------------------------


@engine_errors
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
        condition, seg_params = segment_condition(ds, segment, resolve, prefix=f"s{i}_", tables=False)
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
    selects: list[exp.Expression] = [exp.alias_(count_all(), "total_users")]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    for i, j in pairs:
        both = conditions[i] if i == j else exp.and_(conditions[i], conditions[j])
        selects.append(exp.alias_(count_filter(both), f"n_{i}_{j}"))
    selects.append(exp.alias_(count_filter(exp.or_(*conditions)), "any_of"))
    query = exp.select(*selects).from_("profile")
    with models.held(ds, query):  # every segment's tables stay until the scan has run
        (row,) = ds.run(query, params)
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


def consent_true(ds: Dataset, column: str) -> exp.Expression:
    """TRUE only for an explicit yes: false, NULL and unreadable values mean 'may not contact'."""
    value: exp.Expression = col(column)
    if ds.catalog.attributes[column].type != "boolean":
        value = exp.TryCast(this=value, to=exp.DataType.build("BOOLEAN"))
    return exp.func("coalesce", value, exp.false())


@engine_errors
def reach(
    ds: Dataset, segment: Segment, resolve: Resolve | None = None, *, bitmaps: bool = True
) -> dict[str, ChannelReach]:
    """Per channel, how many members consented to be contacted there (consent TRUE)."""
    condition, params = segment_condition(ds, segment, resolve, tables=False)
    channels = ds.config.privacy.consent_columns
    present = {ch: col for ch, col in channels.items() if col in ds.catalog.attributes}
    consents = [consent_true(ds, column) for column in present.values()]
    sets = ds.bitmap_index().members([condition, *consents], params) if bitmaps else None
    if sets is not None:  # the members' set met with each channel's set of explicit yeses
        members = len(sets[0])
        reached = {ch: sets[0].intersection_cardinality(s) for ch, s in zip(present, sets[1:], strict=True)}
    else:
        selects: list[exp.Expression] = [exp.alias_(count_all(), "members")]
        selects += [exp.alias_(count_filter(c), f"reach_{i}") for i, c in enumerate(consents)]
        # the members as a WHERE (pushed into the scan, as in size()), consent counted among them
        query = exp.select(*selects).from_("profile").where(where_form(condition))
        with models.held(ds, condition):
            (row,) = ds.run(query, params)
        members = int(row[0])
        reached = dict(zip(present, (int(c) for c in row[1:]), strict=True))
    result = {}
    for channel, column in channels.items():
        reachable = reached.get(channel, 0)
        result[channel] = ChannelReach(channel, column, channel in present, reachable, members - reachable)
    return result
