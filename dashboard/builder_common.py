"""What every builder widget shares: the context, widget keys, structural callbacks, labels, toggles and selects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from core.catalog import Catalog
from core.dataset import Dataset
from core.segments import builder_state as bs
from core.segments.describe import FIELD_LABELS_ZH, OPERATOR_LABELS
from core.store import SavedSegment
from core.tags import TagEntry
from dashboard import data_access
from dashboard.builder_session import get_state, put_state
from dashboard.i18n import fmt_pct

SLIDER_MAX_SPAN = 1000  # whole-number ranges up to this wide get a range slider
ROW_COLUMNS = [0.62, 1.2, 1.9, 1.4, 3.35, 1.0, 0.32, 0.32]


@dataclass(frozen=True)
class Ctx:
    """What every widget needs: the dataset, the language, saved segments and tag metadata."""

    ds: Dataset
    lang: str
    saved: tuple[SavedSegment, ...]
    tags: dict[str, TagEntry]

    @property
    def catalog(self) -> Catalog:
        return self.ds.catalog

    @property
    def pii(self) -> frozenset[str]:
        return frozenset(self.ds.config.privacy.pii_columns)


def tr(key: str, **kw: object) -> str:
    return data_access.tr(key, **kw)


def key(node_id: str, slot: str) -> str:
    return f"b-{node_id}-{slot}"


def seed(k: str, value: Any) -> None:
    if k not in st.session_state:
        st.session_state[k] = value


# --------------------------------------------------------------------------- structural callbacks


def on_add_row(parent_id: str) -> None:
    state, _ = bs.add_row(get_state(), parent_id)
    put_state(state)


def on_add_group(parent_id: str) -> None:
    state, _ = bs.add_group(get_state(), parent_id)
    put_state(state)


def on_remove(node_id: str) -> None:
    put_state(bs.remove(get_state(), node_id))


def on_duplicate(node_id: str) -> None:
    state, _ = bs.duplicate(get_state(), node_id)
    put_state(state)


def node_buttons(node_id: str, dup_col: Any, del_col: Any) -> None:
    """The duplicate and remove buttons of a row or a group, in two columns."""
    dup_col.button(
        "",
        key=key(node_id, "dup"),
        icon=":material/content_copy:",
        help=tr("builder.duplicate"),
        on_click=on_duplicate,
        args=(node_id,),
    )
    del_col.button(
        "",
        key=key(node_id, "del"),
        icon=":material/delete:",
        help=tr("builder.remove"),
        on_click=on_remove,
        args=(node_id,),
    )


def on_add_filter(row_id: str) -> None:
    state, _ = bs.add_filter(get_state(), row_id)
    put_state(state)


def on_remove_filter(row_id: str, filter_id: str) -> None:
    put_state(bs.remove_filter(get_state(), row_id, filter_id))


# --------------------------------------------------------------------------- labels


def field_label(ctx: Ctx, name: str) -> str:
    zh = FIELD_LABELS_ZH.get(name) if ctx.lang == "zh" else None
    return f"{zh} · {name}" if zh else name


def tag_label(ctx: Ctx, tag: str) -> str:
    entry = ctx.tags.get(tag)
    text = tag.replace("/", " › ")
    if entry is None:
        return text
    text += f" · {fmt_pct(entry.coverage)}"
    if entry.status == "deprecated":
        text += f" · {tr('catalog.status.deprecated')}"
    if entry.stale:
        text += f" · {tr('catalog.stale')}"
    return text


def op_label(ctx: Ctx, op: str) -> str:
    return OPERATOR_LABELS["zh" if ctx.lang == "zh" else "en"].get(op, op)


def stage_label(kind: str, value: str) -> str:
    return tr(f"{kind}.{value}")


def toggle(node_id: str, slot: str, value: bool, label: str, help_text: str | None) -> bool:
    k = key(node_id, slot)
    seed(k, value)
    return bool(st.toggle(label, key=k, help=help_text))


def select(
    node_id: str, slot: str, label: str, options: list, value: Any, fmt=str, placeholder: str | None = None, **kw
) -> Any:
    """A collapsed-label selectbox seeded from the state (None = nothing chosen yet)."""
    k = key(node_id, slot)
    if value is not None and value not in options:
        options = [*options, value]  # keep a loaded value visible even when it is no longer offered
    seed(k, value)
    return st.selectbox(
        label,
        options,
        key=k,
        format_func=fmt,
        label_visibility="collapsed",
        placeholder=placeholder or tr("builder.choose"),
        **kw,
    )
