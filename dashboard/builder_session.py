"""The builder's state in the Streamlit session: the rows, the saved segment being edited, loading.

The state (core.segments.builder_state.BuilderState) is the single source of truth;
widgets are keyed `b-<node id>-<slot>` and seeded from it. Replacing the state
(load, import, new) drops every builder widget key so the widgets re-seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import streamlit as st

from core.catalog import Catalog
from core.segments import builder_state as bs
from core.segments.compile import validate_against
from core.segments.model import Segment, SegmentError
from core.segments.refs import walk as walk_references
from core.segments.urlcodec import decode_segment
from core.store import AppStore, SavedSegment, StoreError
from dashboard import data_access

STATE_KEY = "builder.state"
SAVED_KEY = "builder.saved"  # the SavedSegment being edited, or None for a new segment
MESSAGE_KEY = "builder.message"  # (level, text) shown once at the top of the builder
PICK_KEY = "builder-saved-pick"  # the toolbar's saved-segment picker, kept equal to SAVED_KEY
URL_LOADED_KEY = "builder.url_loaded"
RENAME_KEY = "builder-rename-name"
WIDGET_PREFIX = "b-"


@dataclass(frozen=True)
class Notice:
    level: str  # "error", "warning", "success", "info"
    text: str


def get_state() -> bs.BuilderState:
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = bs.BuilderState()
    return st.session_state[STATE_KEY]


def put_state(state: bs.BuilderState) -> None:
    st.session_state[STATE_KEY] = state


def reset_widgets() -> None:
    """Forget every builder widget value so widgets re-seed from the state."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(WIDGET_PREFIX)]:
        del st.session_state[key]


def clear_node_widgets(node_id: str, keep: tuple[str, ...] = ()) -> None:
    """Forget the widget values of one row or filter (except slots in `keep`)."""
    prefix = f"{WIDGET_PREFIX}{node_id}-"
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        if key[len(prefix) :].split("-")[0] not in keep:
            del st.session_state[key]


def replace_state(segment: Segment | None, saved: SavedSegment | None = None) -> None:
    """Show `segment` (None: an empty builder) in fresh rows; remember which saved segment it is."""
    old = st.session_state.get(STATE_KEY)
    next_id = old.next_id if isinstance(old, bs.BuilderState) else 1
    state = bs.from_segment(segment, next_id) if segment is not None else bs.BuilderState(next_id=next_id)
    reset_widgets()
    put_state(state)
    set_saved_context(saved)


def set_saved_context(saved: SavedSegment | None) -> None:
    st.session_state[SAVED_KEY] = saved
    st.session_state[PICK_KEY] = saved.id if saved is not None else ""  # "" = a new segment
    st.session_state.pop(RENAME_KEY, None)  # the rename box starts from the new name


def saved_context() -> SavedSegment | None:
    return st.session_state.get(SAVED_KEY)


def notify(level: str, text: str) -> None:
    st.session_state[MESSAGE_KEY] = Notice(level, text)


def take_notice() -> Notice | None:
    return st.session_state.pop(MESSAGE_KEY, None)


def append_tag(tag: str) -> None:
    """Add 'has tag' as a new row of the top-level group (the catalog's "add to current segment")."""
    state = get_state()
    state, _ = bs.add_row(state, state.root.id, bs.Row("", kind="tag", target=tag, op="has"))
    put_state(state)


def saved_refs_token(store: AppStore | None, segment: Segment) -> str:
    """The saved definitions a segment refers to, transitively, as JSON: part of every cache key."""
    if store is None:
        return ""
    walk = walk_references(segment, store.resolver())  # the one walker (core/segments/refs.py)
    found: dict[str, str | None] = {sid: saved.to_json() for sid, saved in walk.definitions.items()}
    found.update(dict.fromkeys(walk.missing))
    return json.dumps(found, sort_keys=True) if found else ""


def definition_problem(segment: Segment, catalog: Catalog, store: AppStore | None) -> str | None:
    """None when the dataset can answer `segment`; else what is wrong, in words."""
    try:
        validate_against(segment, catalog, store.resolver() if store is not None else None)
    except SegmentError as err:
        return data_access.say(err)
    return None


def load_from_url(catalog: Catalog, store: AppStore | None, params: dict[str, str], lang_tr) -> Notice | None:
    """On a session's first builder run: the URL's `s` (a definition) or `segment` (a saved id), checked.

    Anything wrong leaves an empty builder and returns the message to show.
    """
    encoded = params.get("s")
    saved_id = params.get("segment")
    saved: SavedSegment | None = None
    warning: Notice | None = None
    if saved_id:
        try:
            saved = store.get_segment(saved_id) if store is not None else None
        except StoreError as err:
            replace_state(None)
            return Notice("error", lang_tr("builder.load.store_error", error=data_access.say(err)))
        if saved is None:
            if not encoded:
                replace_state(None)
                return Notice("error", lang_tr("builder.load.deleted", id=saved_id))
            warning = Notice("warning", lang_tr("builder.load.deleted_context", id=saved_id))
    if encoded:
        try:
            segment = decode_segment(encoded)
        except SegmentError as err:
            replace_state(None)
            return Notice("error", lang_tr("builder.load.bad_link", error=data_access.say(err)))
    elif saved is not None:
        segment = saved.segment
    else:
        return None
    problem = definition_problem(segment, catalog, store)
    if problem:
        replace_state(None)
        return Notice("error", lang_tr("builder.load.invalid", what=lang_tr("builder.load.what_link"), error=problem))
    replace_state(segment, saved)
    return warning


# Widget values of select-type widgets are stored by their label, which changes with the
# language: after a switch, re-assign the (raw) values so every widget re-renders in the
# new language instead of keeping a label that no longer exists.
BUTTON_SLOTS = frozenset({"dup", "del", "addrow", "addgroup", "addfilter"})


def refresh_for_language(current: str, marker: str, keys: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> bool:
    """Re-assign widget values (keys, and keys under `prefixes` except buttons) when the language changed."""
    previous = st.session_state.get(marker)
    st.session_state[marker] = current
    if previous is None or previous == current:
        return False
    for key in list(st.session_state):
        if not isinstance(key, str):
            continue
        under = any(key.startswith(p) for p in prefixes) and key.rsplit("-", 1)[-1] not in BUTTON_SLOTS
        if under or key in keys:
            st.session_state[key] = st.session_state[key]
    return True
