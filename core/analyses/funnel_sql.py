"""A funnel as one SQL tree: each entered member's deepest step, path times and flags (ANALYSES.md §3).

The plan, all in DuckDB over `event_rows` (pure SQL, no UDFs):
1. `funnel_rows`: rows matching any step, each with the bit mask of the steps it matches;
2. `funnel_advance`: per member and moment, how many consecutive steps from each step that
   moment's rows can serve (a row serves one step; several rows at one moment by Hall's
   condition over sets of steps, so equal times serve consecutive steps in step order);
3. `funnel_paths_0`: every start in the entry range; then k-1 links, each an ASOF JOIN to the
   earliest later moment that serves the next step (greedy earliest is optimal: a later
   moment never serves more), kept when inside the window;
4. per member: the deepest step, the latest start reaching it (the path), exclusions strictly
   between its start and its deepest step, and whether a window is still open at `as_of`.

The caller gives a compiler-like `ctx` (core.segments.compile.Compiler) whose `param()`
names every bound value, so several funnels share one statement without clashing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlglot import exp

from core.analyses.funnel_spec import FunnelEvent, FunnelSpec
from core.catalog import EI, UID
from core.messages import hint, msg
from core.queries import named_query

ALIAS = "ev"  # the event-filter trees of the segment compiler qualify columns with `ev`
MEMBERS_COLUMNS = ("_uid", "deepest", "excluded", "open", "start_value")
FUNNEL_META = "funnel_members"  # the mark on a funnel condition's stand-in members table
PENDING = "_funnel_pending"  # the stand-in's name, replaced before the query runs
# True while a caller that stores members tables compiles: a `funnel` condition then compiles to a
# stand-in (building the plain tree costs ~0.1 s of Python per compile, the builder's whole budget)
DEFERRED: ContextVar[bool] = ContextVar("funnel_members_deferred", default=False)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _match(ctx, item: FunnelEvent, path: str) -> exp.Expression:
    """`ev._ei = $code AND <filters>`: the rows of this step or exclusion (two-valued)."""
    if item.event not in ctx.catalog.events:
        ctx.issue(
            path + ".event", msg("segment.unknown_event", event=item.event, hint=hint(item.event, ctx.catalog.events))
        )
        return exp.false()
    parts: list[exp.Expression] = [
        exp.EQ(this=_col(EI, ALIAS), expression=ctx.param(ctx.catalog.event_code(item.event)))
    ]
    parts += [ctx.event_filter(f, f"{path}.where[{i}]") for i, f in enumerate(item.where)]
    return exp.and_(*parts, copy=False) if len(parts) > 1 else parts[0]


def mask(conditions: list[exp.Expression]) -> exp.Expression:
    """Sum of `CASE WHEN step j THEN 2^(j-1) ELSE 0 END`: the steps a row matches."""
    terms = [
        exp.Case(ifs=[exp.If(this=c, true=exp.Literal.number(1 << j))], default=exp.Literal.number(0))
        for j, c in enumerate(conditions)
    ]
    out = terms[0]
    for t in terms[1:]:
        out = exp.Add(this=out, expression=t)
    return exp.paren(out, copy=False)


def _renamed(tree: exp.Expression, mapping: dict[str, str]) -> exp.Expression:
    """The tree with its table references renamed (a link reads the previous link)."""

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in mapping:
            return exp.to_table(mapping[node.name])
        return node

    return tree.transform(rename)


def _with_first(tree: exp.Expression, ctes: list[tuple[str, exp.Expression]]) -> exp.Expression:
    """The tree with these CTEs placed before its own."""
    own = tree.args.get("with_")
    items = [exp.CTE(this=t, alias=exp.TableAlias(this=exp.to_identifier(n))) for n, t in ctes]
    items += list(own.expressions) if own else []
    tree.set("with_", exp.With(expressions=items))
    return tree


def bind_file_params(tree: exp.Expression, values: dict[str, object], ctx) -> exp.Expression:
    """The named files' `$name` parameters renamed through `ctx.param` (unique per statement)."""
    names: dict[str, exp.Placeholder] = {}

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in values:
            if node.name not in names:
                names[node.name] = ctx.param(values[node.name])
            return names[node.name].copy()
        return node

    return tree.transform(bind)


@dataclass(frozen=True)
class FunnelParts:
    """The trees both plans share: which rows serve which step, the exclusions, the candidates, the bound values."""

    steps: list[exp.Expression]  # per step: its rows (`ev` alias)
    exclusion: exp.Expression  # any exclusion's rows (FALSE without exclusions)
    candidate: exp.Expression  # the rows worth reading: the steps' events, the base's members
    start_value: exp.Expression  # the step-1 property carried for breakdowns (NULL without one)
    values: dict[str, object]  # the named files' `$name` values


def funnel_parts(
    ctx, spec: FunnelSpec, *, base: exp.Expression | None = None, start_property: str | None = None, path: str = ""
) -> FunnelParts:
    """The shared trees of a funnel; problems (unknown events, properties) go to `ctx.issue`."""
    steps = [_match(ctx, s, f"{path}steps[{i}]") for i, s in enumerate(spec.steps)]
    exclusions = [_match(ctx, e, f"{path}exclusions[{i}]") for i, e in enumerate(spec.exclusions)]
    codes = sorted({ctx.catalog.event_code(s.event) for s in spec.steps if s.event in ctx.catalog.events})
    candidate: exp.Expression = exp.In(this=_col(EI, ALIAS), expressions=[ctx.param(c) for c in codes] or [exp.Null()])
    if base is not None:
        in_base = exp.select(_col(UID)).from_("profile").where(base)
        candidate = exp.and_(candidate, exp.In(this=_col(UID, ALIAS), query=exp.Subquery(this=in_base)))
    start_value: exp.Expression = exp.Null()
    if start_property is not None:
        if start_property in ctx.catalog.event_properties:
            start_value = _col(start_property, ALIAS)
        else:
            near = hint(start_property, list(ctx.catalog.event_properties))
            ctx.issue("breakdown", msg("segment.unknown_event_property", field=start_property, hint=near))
    exclusion = exp.or_(*exclusions, copy=False) if exclusions else exp.false()
    if len(exclusions) > 1:
        exclusion = exp.paren(exclusion, copy=False)
    k = len(spec.steps)
    start, end = spec.entry_range(ctx.catalog.as_of)
    from_ts = datetime.combine(start, time())
    to_end = datetime.combine(end + timedelta(days=1), time())
    values = {
        "k": k,
        "from_ts": from_ts,
        "to_end": to_end,
        "last_ts": to_end + spec.window,
        "window": spec.window,
        "as_of_end": datetime.combine(ctx.catalog.as_of + timedelta(days=1), time()),
    }
    return FunnelParts(steps, exclusion, candidate, start_value, values)


def members_tree(
    ctx, spec: FunnelSpec, *, base: exp.Expression | None = None, start_property: str | None = None, path: str = ""
) -> exp.Expression:
    """SELECT one row per entered member: `_uid, deepest, excluded, open, start_value, t1 … t8` (plain SQL).

    The reference plan (k-1 ASOF JOINs), kept for the segment compiler's self-contained trees;
    `core.analyses.funnel_table` answers the same from one pass. `base`: a boolean tree over
    `profile` limiting the members; `start_property`: an event property carried from the path's
    step-1 row (for breakdowns). Problems go to `ctx.issue`.
    """
    parts = funnel_parts(ctx, spec, base=base, start_property=start_property, path=path)
    k = len(spec.steps)
    ctes: list[tuple[str, exp.Expression]] = [
        (
            "funnel_rows",
            named_query(
                "funnel_rows", mask=mask(parts.steps), start_value=parts.start_value, candidate=parts.candidate
            ),
        ),
        ("funnel_advance", named_query("funnel_advance")),
        ("funnel_paths_0", named_query("funnel_starts")),
    ]
    for j in range(1, k):
        ctes.append(
            (f"funnel_paths_{j}", _renamed(named_query("funnel_hop"), {"funnel_paths": f"funnel_paths_{j - 1}"}))
        )
    members = _renamed(
        named_query("funnel_members", exclusion=parts.exclusion), {"funnel_paths": f"funnel_paths_{k - 1}"}
    )
    tree = _with_first(members, ctes)
    return bind_file_params(tree, parts.values, ctx)


def reached_tree(ctx, spec: FunnelSpec, op: str, step: int, path: str) -> exp.Expression:
    """Members for the segment kind `funnel`: `_uid IN (…)` (reached, dropped_after), NOT of reached (not_reached)."""
    alias = exp.TableAlias(this=exp.to_identifier("fm"))
    members: exp.Expression
    if DEFERRED.get():
        # the caller reads the funnel's stored members table (core.analyses.funnel_table.materialized)
        # in place of this stand-in; the funnel is still checked here, its problems said as usual
        funnel_parts(ctx, spec, path=path + "funnel.")
        members = exp.Table(this=exp.to_identifier(PENDING), alias=alias)
        members.meta[FUNNEL_META] = spec
    else:
        members = exp.Subquery(this=members_tree(ctx, spec, path=path + "funnel."), alias=alias)
    depth = exp.column("deepest", table="fm")
    at = exp.EQ if op == "dropped_after" else exp.GTE
    where = exp.and_(exp.not_(exp.column("excluded", table="fm")), at(this=depth, expression=ctx.param(step)))
    query = exp.select(exp.column(UID, table="fm", quoted=True)).from_(members).where(where)
    inside = exp.Coalesce(this=exp.In(this=_col(UID), query=exp.Subquery(this=query)), expressions=[exp.false()])
    return exp.not_(inside) if op == "not_reached" else inside
