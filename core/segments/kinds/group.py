"""`group`: nested conditions joined by `all` (AND) or `any` (OR)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from core.messages import msg
from core.segments.conditions import MAX_DEPTH, Group, join_path
from core.segments.kinds.base import Kind

if TYPE_CHECKING:
    from core.segments.compile import Compiler
    from core.segments.describe import Describer
    from core.segments.parser import Parser


def parse(p: Parser, obj: dict, path: str, negate: bool, depth: int) -> Group | None:
    """A group from JSON, its conditions parsed one level deeper (refused past MAX_DEPTH)."""
    match = p.match(obj, path)
    if depth + 1 > MAX_DEPTH:
        p.issue(path, msg("segment.group_too_deep", limit=MAX_DEPTH))
        return None
    conditions = p.conditions(obj.get("conditions", []), join_path(path, "conditions"), depth + 1)
    return Group(match=match, conditions=conditions, negate=negate)


def compile(c: Compiler, cond: Group, path: str) -> exp.Expression:  # noqa: A001 - the Kind's part
    """Its conditions joined by AND / OR (none: TRUE)."""
    return c.combine(cond.match, cond.conditions, path + ".conditions")


def describe(d: Describer, cond: Group) -> str:
    """ "(A AND B)", "any of (A OR B)"; one condition reads as itself."""
    if not cond.conditions:
        return d.words["all_users"]
    if len(cond.conditions) == 1:
        return d.condition(cond.conditions[0])
    return (d.words["any_of"] if cond.match == "any" else d.words["all_of"]).format(d.joined(cond))


KIND = Kind(
    name="group",
    condition=Group,
    keys=("kind", "match", "conditions", "negate"),
    operators=(),
    parse=parse,
    compile=compile,
    describe=describe,
    builder_row=None,
    no_row_reason="the builder edits a group as a `Block` of rows (core/segments/builder_state.py)",
    nests=True,
)
