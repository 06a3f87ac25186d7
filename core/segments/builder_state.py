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

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from core.catalog import Catalog
from core.segments.compile import TYPE_OPS
from core.segments.model import (
    ATTRIBUTE_OPS,
    EVENT_OPS,
    FUNNEL_OPS,
    LIST_OPS,
    NO_OPERAND_OPS,
    STAGE_OPS,
    STAGE_VALUES,
    Aipl,
    Attribute,
    Condition,
    Event,
    FunnelCondition,
    Group,
    Lifecycle,
    Rfm,
    Segment,
    SegmentRef,
    Tag,
    parse_segment,
)

ROW_KINDS = ("attribute", "tag", "event", "rfm", "aipl", "lifecycle", "segment")
WINDOWS = ("days", "between", "all")  # event window: the last N days, between two dates, all time
TAG_PRESENCE_OPS = ("has", "has_not")
TAG_VALUE_OPS = ("eq", "in", "gt", "gte", "lt", "lte")
DEFAULT_WITHIN_DAYS = 30
DEFAULT_OPS = {
    "string": "in",
    "integer": "between",
    "number": "between",
    "boolean": "eq",
    "timestamp": "within_last_days",
    "date": "within_last_days",
}
_CONDITION_TYPES = {"rfm": Rfm, "aipl": Aipl, "lifecycle": Lifecycle}


@dataclass(frozen=True)
class FilterRow:
    """One event property filter being edited."""

    id: str
    field: str | None = None
    op: str | None = None
    value: Any = None
    values: tuple = ()


@dataclass(frozen=True)
class Row:
    """One condition being edited. `target` is the field, tag, event or saved segment id."""

    id: str
    kind: str = "attribute"
    target: str | None = None
    op: str | None = None
    value: Any = None
    values: tuple = ()
    negate: bool = False
    # event rows only
    count: int = 1
    window: str = "days"
    within_days: int = DEFAULT_WITHIN_DAYS
    between: tuple[str, str] | None = None
    where: tuple[FilterRow, ...] = ()
    # model rows only: "YYYY-MM-DD", the model at that date; None = as of the dataset
    as_of: str | None = None


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


def column_type(catalog: Catalog, row: Row) -> str | None:
    """The type of the column an attribute row compares (None until a known field is chosen)."""
    if row.kind != "attribute" or row.target is None:
        return None
    column = catalog.attributes.get(row.target)
    return column.type if column is not None else None


def allowed_ops(catalog: Catalog, row: Row) -> tuple[str, ...]:
    """Operators that fit the row's kind and field, in the spec's order."""
    if row.kind == "attribute":
        kind = column_type(catalog, row)
        if kind is None:
            return ()
        return tuple(op for op in ATTRIBUTE_OPS if op in TYPE_OPS.get(kind, ()))
    if row.kind == "tag":
        info = catalog.tags.get(row.target or "")
        if info is None:
            return TAG_PRESENCE_OPS
        return TAG_PRESENCE_OPS + (TAG_VALUE_OPS if info.value_column is not None else ())
    if row.kind == "event":
        return EVENT_OPS
    if row.kind == "funnel":
        return FUNNEL_OPS
    return STAGE_OPS  # rfm, aipl, lifecycle, segment: in / not_in


def filter_ops(catalog: Catalog, f: FilterRow) -> tuple[str, ...]:
    column = catalog.event_properties.get(f.field or "")
    if column is None:
        return ()
    return tuple(op for op in ATTRIBUTE_OPS if op in TYPE_OPS.get(column.type, ()) and op != "within_last_days")


def default_op(catalog: Catalog, row: Row) -> str | None:
    ops = allowed_ops(catalog, row)
    if not ops:
        return None
    if row.kind == "attribute":
        preferred = DEFAULT_OPS.get(column_type(catalog, row) or "", ops[0])
        return preferred if preferred in ops else ops[0]
    if row.kind == "tag":
        return "has"
    if row.kind == "event":
        return ">="
    return "in"


def operand_shape(op: str | None) -> str:
    """'none', 'list' (values), 'pair' (between) or 'one' (value)."""
    if op is None or op in NO_OPERAND_OPS:
        return "none"
    if op == "between":
        return "pair"
    if op in LIST_OPS:
        return "list"
    return "one"


def _reshape(op: str | None, value: Any, values: tuple) -> tuple[Any, tuple]:
    """Carry the operands over to a new operator where they still make sense."""
    shape = operand_shape(op)
    if shape == "none":
        return None, ()
    if shape == "one":
        return (value if value is not None else (values[0] if values else None)), ()
    if shape == "pair":
        if len(values) == 2:
            return None, tuple(values)
        return None, ()
    if values:
        return None, tuple(values)
    return None, ((value,) if value is not None else ())


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
        value, values = _reshape(new, row.value, row.values)
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
        value, values = _reshape(new, f.value, f.values)
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


def add_row(state: BuilderState, parent_id: str, row: Row | None = None, catalog: Catalog | None = None) -> tuple[BuilderState, str]:
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
    return replace(state, root=_map(state.root, lambda b: replace(b, children=tuple(c for c in b.children if c.id != node_id))))


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


def _operands(op: str | None, value: Any, values: tuple) -> dict[str, Any] | None:
    """The JSON operands for op, or None when they are not filled in yet."""
    shape = operand_shape(op)
    if shape == "none":
        return {}
    if shape == "one":
        return None if value is None else {"value": value}
    if shape == "pair":
        return {"values": list(values)} if len(values) == 2 and None not in values else None
    return {"values": list(values)} if values else None


def filter_dict(f: FilterRow) -> dict[str, Any] | None:
    if not f.field or not f.op:
        return None
    operands = _operands(f.op, f.value, f.values)
    return None if operands is None else {"field": f.field, "op": f.op, **operands}


def row_dict(row: Row) -> dict[str, Any] | None:
    """The row as a SEGMENT_SPEC condition, or None while it is incomplete (filters: complete ones only)."""
    d: dict[str, Any] | None
    if row.kind in _CONDITION_TYPES:
        d = {"kind": row.kind, "op": row.op or "in", "values": list(row.values)} if row.values else None
        if d is not None and row.as_of:
            d["as_of"] = row.as_of
    elif row.kind == "segment":
        d = {"kind": "segment", "op": row.op or "in", "segment": row.target} if row.target else None
    elif row.kind == "funnel":  # opened from the Funnels page; the funnel travels as its JSON text
        d = {"kind": "funnel", "funnel": json.loads(row.value), "op": row.op, "step": row.count} if row.value else None
    elif row.kind == "event":
        if not row.target or row.op is None or row.count is None or row.count < 0:
            d = None
        else:
            d = {"kind": "event", "event": row.target, "op": row.op, "count": int(row.count)}
            if row.window == "days":
                if not row.within_days:
                    return None
                d["within_days"] = int(row.within_days)
            elif row.window == "between":
                if not row.between or len(row.between) != 2 or None in row.between:
                    return None
                d["between"] = list(row.between)
            where = [w for w in (filter_dict(f) for f in row.where) if w is not None]
            if where:
                d["where"] = where
    else:  # attribute, tag
        name_key = "field" if row.kind == "attribute" else "tag"
        operands = _operands(row.op, row.value, row.values) if row.target and row.op else None
        d = None if operands is None else {"kind": row.kind, name_key: row.target, "op": row.op, **operands}
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
    if isinstance(condition, Attribute):
        row = Row(rid, "attribute", condition.field, condition.op, condition.value, tuple(condition.values or ()), condition.negate)
    elif isinstance(condition, Tag):
        row = Row(rid, "tag", condition.tag, condition.op, condition.value, tuple(condition.values or ()), condition.negate)
    elif isinstance(condition, Event):
        where = []
        for f in condition.where:
            state, fid = state.new_id("f")
            where.append(FilterRow(fid, f.field, f.op, f.value, tuple(f.values or ())))
        window = "days" if condition.within_days is not None else "between" if condition.between is not None else "all"
        row = Row(
            rid, "event", condition.event, condition.op, negate=condition.negate, count=condition.count,
            window=window, within_days=condition.within_days or DEFAULT_WITHIN_DAYS,
            between=tuple(condition.between) if condition.between else None, where=tuple(where),
        )  # fmt: skip
    elif isinstance(condition, SegmentRef):
        row = Row(rid, "segment", condition.segment, condition.op, negate=condition.negate)
    elif isinstance(condition, FunnelCondition):
        text = json.dumps(condition.funnel.to_dict(), ensure_ascii=False, sort_keys=True)
        row = Row(rid, "funnel", None, condition.op, text, negate=condition.negate, count=condition.step)
    elif isinstance(condition, (Rfm, Aipl, Lifecycle)):
        row = Row(rid, condition.kind, None, condition.op, values=tuple(condition.values), negate=condition.negate, as_of=condition.as_of)
    else:  # parse_segment never builds one
        raise TypeError(f"not a segment condition: {type(condition).__name__}")
    return state, row


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
    "ROW_KINDS",
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
    "filter_ops",
    "find",
    "from_segment",
    "iter_nodes",
    "operand_shape",
    "remove",
    "remove_filter",
    "replace_node",
    "row_dict",
    "stage_values",
    "to_segment",
]
