"""The builder's condition rows as native widgets: kind -> field / tag / event -> operator -> values.

Each widget is keyed `b-<node id>-<slot>` and seeded from the builder state when its
key is absent; what it returns is written back into the state, so the state is
always what the screen shows. An upstream edit (kind, field, operator) forgets the
row's downstream widget values, which then re-seed from the kept-consistent row.
Structural edits (add, remove, duplicate) are button callbacks on the state.

The tree is here; one row is dashboard/builder_row.py, its operand widgets
dashboard/builder_values.py, and what they share dashboard/builder_common.py.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from core.segments import builder_state as bs
from dashboard.builder_common import (
    ROW_COLUMNS,
    SLIDER_MAX_SPAN,
    Ctx,
    field_label,
    key,
    node_buttons,
    on_add_group,
    on_add_row,
    op_label,
    seed,
    stage_label,
    tag_label,
    toggle,
    tr,
)
from dashboard.builder_row import render_row
from dashboard.builder_values import value_widgets

# What other modules import from here (the names this module had before the split).
__all__ = [
    "ROW_COLUMNS",
    "SLIDER_MAX_SPAN",
    "Ctx",
    "field_label",
    "key",
    "op_label",
    "render_block",
    "render_root_buttons",
    "render_root_controls",
    "render_row",
    "stage_label",
    "tag_label",
    "tr",
    "value_widgets",
]


# --------------------------------------------------------------------------- tree


def render_block(ctx: Ctx, block: bs.Block, connector: str | None = None) -> bs.Block:
    """A group: its join (all / any), NOT, its rows and nested groups, and its add buttons."""
    is_root = connector is None
    if not is_root:
        head = st.columns([0.62, 2.6, 0.95, 1.4, 1.4, 0.32, 0.32], vertical_alignment="center")
        head[0].markdown(f"**{connector}**")
        with head[1]:
            block = _match_control(block, tr("builder.group.match"))
        with head[2]:
            negate = toggle(block.id, "not", block.negate, tr("builder.not"), tr("builder.not.group_help"))
            block = replace(block, negate=negate)
        head[3].button(
            tr("builder.add_row"),
            key=key(block.id, "addrow"),
            icon=":material/add:",
            on_click=on_add_row,
            args=(block.id,),
        )
        head[4].button(
            tr("builder.add_group"),
            key=key(block.id, "addgroup"),
            icon=":material/account_tree:",
            on_click=on_add_group,
            args=(block.id,),
        )
        node_buttons(block.id, head[5], head[6])
    join = tr("builder.and") if block.match == "all" else tr("builder.or")
    children: list[bs.Row | bs.Block] = []
    for i, child in enumerate(block.children):
        word = tr("builder.where") if i == 0 else join
        if isinstance(child, bs.Block):
            with st.container(border=True, key=key(child.id, "box")):
                children.append(render_block(ctx, child, word))
        else:
            children.append(render_row(ctx, child, word))
    if not block.children:
        st.caption(tr("builder.group.empty") if not is_root else tr("builder.empty"))
    return replace(block, children=tuple(children))


def render_root_controls(block: bs.Block) -> bs.Block:
    """The top-level join, above the rows."""
    return _match_control(block, tr("builder.match"))


def render_root_buttons(block: bs.Block) -> None:
    cols = st.columns([1, 1, 2])
    cols[0].button(
        tr("builder.add_row"),
        key=key(block.id, "addrow"),
        icon=":material/add:",
        on_click=on_add_row,
        args=(block.id,),
        width="stretch",
    )
    cols[1].button(
        tr("builder.add_group"),
        key=key(block.id, "addgroup"),
        icon=":material/account_tree:",
        on_click=on_add_group,
        args=(block.id,),
        width="stretch",
    )


def _match_control(block: bs.Block, label: str) -> bs.Block:
    k = key(block.id, "match")
    seed(k, block.match)
    match = st.segmented_control(
        label,
        options=["all", "any"],
        format_func=lambda m: tr(f"builder.match.{m}"),
        key=k,
        required=True,
    )
    return replace(block, match=match or block.match)
