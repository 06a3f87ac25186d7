"""One condition row of the builder: its target, operator and operands, event details and property filters."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import streamlit as st

from core.segments import builder_state as bs
from core.segments.describe import describe
from core.segments.model import parse_segment
from dashboard.builder_common import (
    ROW_COLUMNS,
    Ctx,
    field_label,
    key,
    node_buttons,
    on_add_filter,
    on_remove_filter,
    op_label,
    seed,
    select,
    stage_label,
    tag_label,
    toggle,
    tr,
)
from dashboard.builder_session import clear_node_widgets
from dashboard.builder_values import as_date, date_pair, value_widgets

# --------------------------------------------------------------------------- one row


def render_row(ctx: Ctx, row: bs.Row, connector: str) -> bs.Row:
    cols = st.columns(ROW_COLUMNS, vertical_alignment="center")
    cols[0].markdown(f"**{connector}**")
    with cols[1]:
        kind = select(
            row.id, "kind", tr("builder.kind"), list(bs.ROW_KINDS), row.kind, fmt=lambda k: tr(f"builder.kind.{k}")
        )
    if kind is not None and kind != row.kind:
        row = bs.change_row(row, "kind", kind, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind",))
    with cols[2]:
        target = _target_widget(ctx, row)
    if target != row.target and row.kind not in ("rfm", "aipl", "lifecycle"):
        row = bs.change_row(row, "target", target, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind", "target"))
    ops = list(bs.allowed_ops(ctx.catalog, row))
    with cols[3]:
        op = (
            select(row.id, "op", tr("builder.op"), ops, row.op, fmt=lambda o: op_label(ctx, o), disabled=not ops)
            if ops
            else None
        )
    if op is not None and op != row.op:
        row = bs.change_row(row, "op", op, ctx.catalog)
        clear_node_widgets(row.id, keep=("kind", "target", "op"))
    with cols[4]:
        row = _row_operands(ctx, row)
    with cols[5]:
        row = replace(row, negate=toggle(row.id, "not", row.negate, tr("builder.not"), None))
    node_buttons(row.id, cols[6], cols[7])
    if row.kind == "event" and row.target:
        row = _event_details(ctx, row)
    if row.kind in ("rfm", "aipl", "lifecycle"):
        row = _model_date(ctx, row)
    if row.kind == "funnel" and (d := bs.row_dict(row)) is not None:
        st.caption(describe(parse_segment({"conditions": [d]}), ctx.catalog, lang="zh" if ctx.lang == "zh" else "en"))
    if bs.row_dict(row) is None:
        st.caption(tr("builder.row.incomplete"))
    return row


def _target_widget(ctx: Ctx, row: bs.Row) -> str | None:
    label = tr(f"builder.target.{row.kind}")
    if row.kind == "attribute":
        return select(
            row.id,
            "target",
            label,
            list(ctx.catalog.attributes),
            row.target,
            fmt=lambda f: field_label(ctx, f),
            placeholder=tr("builder.choose.field"),
        )
    if row.kind == "tag":
        options = sorted(ctx.catalog.tags)
        return select(
            row.id,
            "target",
            label,
            options,
            row.target,
            fmt=lambda t: tag_label(ctx, t),
            placeholder=tr("builder.choose.tag"),
            filter_mode="contains",
        )
    if row.kind == "event":
        return select(
            row.id, "target", label, list(ctx.catalog.events), row.target, placeholder=tr("builder.choose.event")
        )
    if row.kind == "segment":
        names = {s.id: s.name for s in ctx.saved}
        return select(
            row.id, "target", label, list(names), row.target,
            fmt=lambda sid: names.get(sid, tr("builder.segment.missing", id=sid)),
            placeholder=tr("builder.choose.segment"),
        )  # fmt: skip
    st.markdown(tr(f"builder.target.{row.kind}"))
    return row.target


def _row_operands(ctx: Ctx, row: bs.Row) -> bs.Row:
    if row.kind == "attribute" and row.target and row.op:
        column = ctx.catalog.attributes.get(row.target)
        if column is None:
            return row
        pii = row.target in ctx.pii
        value, values = value_widgets(
            ctx, row.id, "attribute", row.target, column.type, row.op, row.value, row.values, pii=pii
        )
        return replace(row, value=value, values=values)
    info = ctx.catalog.tags.get(row.target or "") if row.kind == "tag" else None
    if info is not None and info.value_column is not None and row.op not in (None, "has", "has_not"):
        kind = "number" if row.op in ("gt", "gte", "lt", "lte") else "string"
        value, values = value_widgets(ctx, row.id, "tag", row.target, kind, row.op, row.value, row.values)
        return replace(row, value=value, values=values)
    if row.kind == "event" and row.target:
        k = key(row.id, "count")
        seed(k, int(row.count) if row.count is not None else 1)
        count = st.number_input(
            tr("builder.event.count"),
            min_value=0,
            step=1,
            key=k,
            label_visibility="collapsed",
            help=tr("builder.event.count_help"),
        )
        return replace(row, count=count)
    if row.kind == "funnel" and row.value:
        steps = len(json.loads(row.value).get("steps", ()))
        k = key(row.id, "count")
        seed(k, int(row.count or 1))
        last = steps - 1 if row.op == "dropped_after" else steps
        step = st.number_input(
            tr("builder.funnel.step"), min_value=1, max_value=max(last, 1), step=1, key=k, label_visibility="collapsed"
        )
        return replace(row, count=min(int(step), max(last, 1)))
    if row.kind in ("rfm", "aipl", "lifecycle"):
        k = key(row.id, "stages")
        seed(k, list(row.values))
        chosen = st.multiselect(
            tr(f"builder.target.{row.kind}"), list(bs.stage_values(row.kind)), key=k,
            format_func=lambda v: stage_label(row.kind, v), label_visibility="collapsed",
            placeholder=tr("builder.choose.values"),
        )  # fmt: skip
        return replace(row, values=tuple(chosen))
    return row


def _model_date(ctx: Ctx, row: bs.Row) -> bs.Row:
    """The date the model is read at (ANALYSES.md §1): empty = as of the dataset."""
    cols = st.columns([1.82, 1.9, 5.35], vertical_alignment="center")
    cols[0].caption(tr("builder.model.on"))
    k = key(row.id, "asof")
    seed(k, as_date(row.as_of) if row.as_of else None)
    with cols[1]:
        day = st.date_input(
            tr("builder.model.date"), key=k, value=None, label_visibility="collapsed",
            min_value=date(1900, 1, 1), max_value=ctx.ds.as_of, format="YYYY-MM-DD",
        )  # fmt: skip
    cols[2].caption(tr("builder.model.date_help", as_of=ctx.ds.as_of.isoformat()))
    day_text = day.isoformat() if isinstance(day, date) else None
    return replace(row, as_of=day_text)


def _event_details(ctx: Ctx, row: bs.Row) -> bs.Row:
    """The event's window and its property filters, on the lines under the row."""
    cols = st.columns([1.82, 1.9, 3.55, 1.8], vertical_alignment="center")
    cols[0].caption(tr("builder.event.times"))
    with cols[1]:
        window = select(
            row.id,
            "window",
            tr("builder.event.window"),
            list(bs.WINDOWS),
            row.window,
            fmt=lambda w: tr(f"builder.window.{w}"),
        )
    if window and window != row.window:
        row = bs.change_row(row, "window", window, ctx.catalog)
    with cols[2]:
        if row.window == "days":
            k = key(row.id, "days")
            seed(k, int(row.within_days or bs.DEFAULT_WITHIN_DAYS))
            days = st.number_input(
                tr("builder.event.days"), min_value=1, max_value=100_000, step=1, key=k, label_visibility="collapsed"
            )
            row = replace(row, within_days=days)
        elif row.window == "between":
            low, high = date_pair(row.id, row.between or (), ctx.ds.as_of)
            row = replace(row, between=(low, high) if low and high else None)
        else:
            st.caption(tr("builder.window.all_help", as_of=ctx.ds.as_of.isoformat()))
    cols[3].button(
        tr("builder.event.add_filter"),
        key=key(row.id, "addfilter"),
        icon=":material/filter_alt:",
        on_click=on_add_filter,
        args=(row.id,),
    )
    filters = []
    for f in row.where:
        filters.append(_filter_row(ctx, row, f))
    return replace(row, where=tuple(filters))


def _filter_row(ctx: Ctx, row: bs.Row, f: bs.FilterRow) -> bs.FilterRow:
    cols = st.columns([0.62, 1.2, 1.9, 1.4, 3.35, 1.0, 0.64], vertical_alignment="center")
    cols[1].caption(tr("builder.event.where"))
    with cols[2]:
        field = select(
            f.id,
            "field",
            tr("builder.event.property"),
            list(ctx.catalog.event_properties),
            f.field,
            fmt=lambda p: field_label(ctx, p),
            placeholder=tr("builder.choose.property"),
        )
    if field != f.field:
        f = bs.change_filter(f, "field", field, ctx.catalog)
        clear_node_widgets(f.id, keep=("field",))
    ops = list(bs.filter_ops(ctx.catalog, f))
    with cols[3]:
        op = select(f.id, "op", tr("builder.op"), ops, f.op, fmt=lambda o: op_label(ctx, o)) if ops else None
    if op is not None and op != f.op:
        f = bs.change_filter(f, "op", op, ctx.catalog)
        clear_node_widgets(f.id, keep=("field", "op"))
    with cols[4]:
        column = ctx.catalog.event_properties.get(f.field or "")
        if column is not None and f.op:  # an unknown property (from a stale saved segment) gets no value widget
            value, values = value_widgets(ctx, f.id, "event_property", f.field, column.type, f.op, f.value, f.values)
            f = replace(f, value=value, values=values)
    cols[6].button(
        "",
        key=key(f.id, "del"),
        icon=":material/close:",
        help=tr("builder.event.remove_filter"),
        on_click=on_remove_filter,
        args=(row.id, f.id),
    )
    return f
