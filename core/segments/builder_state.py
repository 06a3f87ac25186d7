"""The segment builder's editable state: rows and groups with stable ids, to and from a `Segment`.

Pure (no Streamlit): the builder page renders one widget per slot of a row, keyed
by the row's id, and writes each edit back through `change_row` / `change_group`,
which keep a row consistent (an operator that fits the field, operands that fit
the operator). A row that is not finished yet (no field chosen, no value typed)
is kept in the state but left out of the segment, so it never changes a count.
Empty groups are left out too: a half-built "any of" group must not match everyone.

>>> state = from_segment(parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I", "P"]}]}))
>>> to_segment(state).segment == parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I", "P"]}]})
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from core.catalog import Catalog
from core.segments.builder_rows import (
    DEFAULT_WITHIN_DAYS,
    WINDOWS,
    FilterRow,
    Row,
    filter_dict,
    operand_shape,
    operands_json,
    reshape,
)
from core.segments.conditions import ATTRIBUTE_OPS, STAGE_VALUES, Condition, Group, Segment
from core.segments.kinds import KINDS, kind_of
from core.segments.kinds.attribute import DEFAULT_OPS, column_type
from core.segments.kinds.tag import TAG_PRESENCE_OPS, TAG_VALUE_OPS
from core.segments.model import parse_segment
from core.segments.sqltrees import TYPE_OPS

# The kinds the builder's kind menu offers (a funnel row is opened from the Funnels page).
ROW_KINDS = tuple(k.name for k in KINDS.values() if k.builder_row is not None and k.builder_row.offered)


@dataclass(frozen=True)
class Block:
    """A group of rows and groups joined by `match` (all = AND, any = OR)."""

    id: str
    match: str = "all"
    negate: bool = False
    children: tuple[Row | Block, ...] = ()


@dataclass(frozen=True)
class BuilderState:
    root: Block = field(default_factory=lambda: Block("root"))
    next_id: int = 1

    def new_id(self, prefix: str = "n") -> tuple[BuilderState, str]:
        return replace(self, next_id=self.next_id + 1), f"{prefix}{self.next_id}"


@dataclass(frozen=True)
class Conversion:
    """A state as a segment: which node each condition came from, and which nodes were left out."""

    segment: Segment
    paths: dict[str, str]  # JSON path of a condition ("conditions[1].conditions[0]") -> node id
    incomplete: tuple[str, ...]  # ids of rows, filters and empty groups not in the segment

    def node_for(self, issue_path: str) -> str | None:
        """The node an issue path (e.g. from validate_against) points into, deepest first."""
        best = None
        for path, node in self.paths.items():
            if (issue_path == path or issue_path.startswith(path + ".") or issue_path.startswith(path + "[")) and (
                best is None or len(path) > len(best[0])
            ):
                best = (path, node)
        return best[1] if best else None


# --------------------------------------------------------------------------- operators


def allowed_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """Operators that fit the row's kind and field, in the spec's order."""
    return KINDS[row.kind].builder_row.ops(catalog, row)  # type: ignore[union-attr]


def filter_ops(catalog: Catalog, f: FilterRow) -> tuple[str, ...]:
    column = catalog.event_properties.get(f.field or "")
    if column is None:
        return ()
    return tuple(op for op in ATTRIBUTE_OPS if op in TYPE_OPS.get(column.type, ()) and op != "within_last_days")


def default_op(catalog: Catalog, row: Row) -> str | None:
    """The operator a row starts with (None while no operator fits, e.g. no field chosen)."""
    ops = allowed_ops(catalog, row)
    if not ops:
        return None
    return KINDS[row.kind].builder_row.default_op(catalog, row, ops)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- editing rows


def change_row(row: Row, slot: str, new: Any, catalog: Catalog) -> Row:
    """The row after one widget edit, kept consistent.

    Changing the kind starts the row afresh; changing the field keeps the operator
    when it still fits and clears the operands (values of one field rarely mean
    anything for another); changing the operator keeps operands that fit.
    """
    if slot == "kind":
        if new == row.kind:
            return row
        if new not in ROW_KINDS:
            raise ValueError(f"unknown row kind {new!r}")
        fresh = Row(row.id, kind=new, negate=row.negate)
        return replace(fresh, op=default_op(catalog, fresh))
    if slot == "target":
        if new == row.target:
            return row
        moved = replace(row, target=new, value=None, values=(), where=())
        ops = allowed_ops(catalog, moved)
        op = row.op if row.op in ops else default_op(catalog, moved)
        return replace(moved, op=op)
    if slot == "op":
        if new == row.op:
            return row
        value, values = reshape(new, row.value, row.values)
        return replace(row, op=new, value=value, values=values)
    if slot == "values":
        return replace(row, values=tuple(new or ()))
    if slot == "window":
        if new not in WINDOWS:
            raise ValueError(f"unknown event window {new!r}")
        return replace(row, window=new)
    if slot == "between":
        return replace(row, between=tuple(new) if new else None)
    if slot in ("value", "negate", "count", "within_days", "as_of"):
        return replace(row, **{slot: new})
    raise ValueError(f"unknown row slot {slot!r}")


def change_filter(f: FilterRow, slot: str, new: Any, catalog: Catalog) -> FilterRow:
    """The event filter after one widget edit, kept consistent like `change_row`."""
    if slot == "field":
        if new == f.field:
            return f
        moved = replace(f, field=new, value=None, values=())
        ops = filter_ops(catalog, moved)
        op = f.op if f.op in ops else (("in" if "in" in ops else ops[0]) if ops else None)
        return replace(moved, op=op)
    if slot == "op":
        if new == f.op:
            return f
        value, values = reshape(new, f.value, f.values)
        return replace(f, op=new, value=value, values=values)
    if slot == "values":
        return replace(f, values=tuple(new or ()))
    if slot == "value":
        return replace(f, value=new)
    raise ValueError(f"unknown filter slot {slot!r}")


# --------------------------------------------------------------------------- tree edits


def iter_nodes(block: Block) -> Iterator[Row | Block]:
    """Every row and group below `block`, depth first."""
    for child in block.children:
        yield child
        if isinstance(child, Block):
            yield from iter_nodes(child)


def find(state: BuilderState, node_id: str) -> Row | Block | None:
    if node_id == state.root.id:
        return state.root
    return next((n for n in iter_nodes(state.root) if n.id == node_id), None)


def _map(block: Block, fn) -> Block:
    """Apply fn(children) -> children to every block, bottom up."""
    children = tuple(_map(c, fn) if isinstance(c, Block) else c for c in block.children)
    return fn(replace(block, children=children))


def replace_node(state: BuilderState, node: Row | Block) -> BuilderState:
    """The state with the node of the same id swapped for `node`."""
    if node.id == state.root.id:
        return replace(state, root=node)  # type: ignore[arg-type]

    def swap(block: Block) -> Block:
        if not any(c.id == node.id for c in block.children):
            return block
        return replace(block, children=tuple(node if c.id == node.id else c for c in block.children))

    return replace(state, root=_map(state.root, swap))


def add_row(
    state: BuilderState, parent_id: str, row: Row | None = None, catalog: Catalog | None = None
) -> tuple[BuilderState, str]:
    """Append a row (a blank attribute row by default) to a group; returns the new row's id."""
    state, new_id = state.new_id("r")
    row = replace(row, id=new_id) if row is not None else Row(new_id)
    if row.op is None and catalog is not None:
        row = replace(row, op=default_op(catalog, row))
    return _append(state, parent_id, row), new_id


def add_group(state: BuilderState, parent_id: str, match: str = "any") -> tuple[BuilderState, str]:
    """Append a group holding one blank row; returns the group's id."""
    state, group_id = state.new_id("g")
    state, row_id = state.new_id("r")
    return _append(state, parent_id, Block(group_id, match=match, children=(Row(row_id),))), group_id


def _append(state: BuilderState, parent_id: str, node: Row | Block) -> BuilderState:
    parent = find(state, parent_id)
    if not isinstance(parent, Block):
        raise KeyError(f"no group {parent_id!r}")
    return replace_node(state, replace(parent, children=parent.children + (node,)))


def remove(state: BuilderState, node_id: str) -> BuilderState:
    """The state without the row or group `node_id` (the root group cannot be removed)."""
    if node_id == state.root.id:
        raise KeyError("the top-level group cannot be removed")
    return replace(
        state, root=_map(state.root, lambda b: replace(b, children=tuple(c for c in b.children if c.id != node_id)))
    )


def renumber(state: BuilderState, node: Row | Block) -> tuple[BuilderState, Row | Block]:
    """A deep copy of `node` with fresh ids (so its widgets get fresh keys)."""
    if isinstance(node, Block):
        state, new_id = state.new_id("g")
        children = []
        for child in node.children:
            state, copy = renumber(state, child)
            children.append(copy)
        return state, replace(node, id=new_id, children=tuple(children))
    state, new_id = state.new_id("r")
    where = []
    for f in node.where:
        state, fid = state.new_id("f")
        where.append(replace(f, id=fid))
    return state, replace(node, id=new_id, where=tuple(where))


def duplicate(state: BuilderState, node_id: str) -> tuple[BuilderState, str]:
    """Insert a copy of a row or group right after it; returns the copy's id."""
    node = find(state, node_id)
    if node is None or node_id == state.root.id:
        raise KeyError(f"no row or group {node_id!r} to duplicate")
    state, copy = renumber(state, node)

    def insert(block: Block) -> Block:
        if not any(c.id == node_id for c in block.children):
            return block
        out: list[Row | Block] = []
        for c in block.children:
            out.append(c)
            if c.id == node_id:
                out.append(copy)
        return replace(block, children=tuple(out))

    return replace(state, root=_map(state.root, insert)), copy.id


def add_filter(state: BuilderState, row_id: str) -> tuple[BuilderState, str]:
    row = find(state, row_id)
    if not isinstance(row, Row):
        raise KeyError(f"no row {row_id!r}")
    state, fid = state.new_id("f")
    return replace_node(state, replace(row, where=row.where + (FilterRow(fid),))), fid


def remove_filter(state: BuilderState, row_id: str, filter_id: str) -> BuilderState:
    row = find(state, row_id)
    if not isinstance(row, Row):
        raise KeyError(f"no row {row_id!r}")
    return replace_node(state, replace(row, where=tuple(f for f in row.where if f.id != filter_id)))


# --------------------------------------------------------------------------- to and from segments


def row_dict(row: Row) -> dict[str, Any] | None:
    """The row as a SEGMENT_SPEC condition, or None while it is incomplete (filters: complete ones only)."""
    d = KINDS[row.kind].builder_row.from_row(row)  # type: ignore[union-attr]
    if d is not None and row.negate:
        d["negate"] = True
    return d


def to_segment(state: BuilderState) -> Conversion:
    """The complete rows as a Segment (structure re-checked by parse_segment)."""
    paths: dict[str, str] = {}
    incomplete: list[str] = []

    def block_conditions(block: Block, prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for child in block.children:
            path = f"{prefix}conditions[{len(out)}]"
            if isinstance(child, Block):
                inner = block_conditions(child, path + ".")
                if not inner:
                    incomplete.append(child.id)
                    continue
                d: dict[str, Any] = {"kind": "group", "match": child.match, "conditions": inner}
                if child.negate:
                    d["negate"] = True
            else:
                d = row_dict(child)  # type: ignore[assignment]
                if d is None:
                    incomplete.append(child.id)
                    continue
                incomplete.extend(f.id for f in child.where if filter_dict(f) is None)
            paths[path] = child.id
            out.append(d)
        return out

    conditions = block_conditions(state.root, "")
    segment = parse_segment({"version": 1, "match": state.root.match, "conditions": conditions})
    return Conversion(segment, paths, tuple(incomplete))


def _row_from(condition: Condition, state: BuilderState) -> tuple[BuilderState, Row | Block]:
    if isinstance(condition, Group):
        state, gid = state.new_id("g")
        children = []
        for c in condition.conditions:
            state, node = _row_from(c, state)
            children.append(node)
        return state, Block(gid, condition.match, condition.negate, tuple(children))
    state, rid = state.new_id("r")
    row_kind = kind_of(condition).builder_row
    if row_kind is None:  # parse_segment builds only kinds with a row, and groups
        raise TypeError(f"no builder row for a {condition.kind} condition")  # type: ignore[attr-defined]
    return row_kind.to_row(condition, state, rid)


def from_segment(segment: Segment, next_id: int = 1) -> BuilderState:
    """Builder rows for a definition; ids continue from `next_id` so no widget key is reused."""
    state = BuilderState(Block("root", segment.match), next_id)
    children = []
    for condition in segment.conditions:
        state, node = _row_from(condition, state)
        children.append(node)
    return replace(state, root=replace(state.root, children=tuple(children)))


def stage_values(kind: str) -> tuple[str, ...]:
    """The classes a model row offers: RFM classes, AIPL stages or lifecycle states."""
    return STAGE_VALUES[kind]


__all__ = [
    "DEFAULT_OPS",
    "DEFAULT_WITHIN_DAYS",
    "ROW_KINDS",
    "TAG_PRESENCE_OPS",
    "TAG_VALUE_OPS",
    "WINDOWS",
    "Block",
    "BuilderState",
    "Conversion",
    "FilterRow",
    "Row",
    "add_filter",
    "add_group",
    "add_row",
    "allowed_ops",
    "change_filter",
    "change_row",
    "default_op",
    "duplicate",
    "column_type",
    "filter_ops",
    "filter_dict",
    "find",
    "from_segment",
    "iter_nodes",
    "operand_shape",
    "operands_json",
    "remove",
    "remove_filter",
    "replace_node",
    "row_dict",
    "stage_values",
    "to_segment",
]
