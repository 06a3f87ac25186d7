"""Segment Builder: conditions as widgets, with live size, reach, breakdown and overlap on every edit."""

from __future__ import annotations

import time
from dataclasses import replace

import streamlit as st

from core.dataset import Dataset
from core.segments import builder_state as bs
from core.segments.model import Segment, SegmentError
from core.store import AppStore, StoreError
from dashboard import builder_panels as panels
from dashboard.builder_session import (
    PICK_KEY,
    URL_LOADED_KEY,
    WIDGET_PREFIX,
    get_state,
    load_from_url,
    notify,
    put_state,
    refresh_for_language,
    saved_context,
    saved_refs_token,
    take_notice,
)
from dashboard.builder_toolbar import render_toolbar
from dashboard.builder_widgets import Ctx, render_block, render_root_buttons, render_root_controls
from dashboard.data_access import get_dataset, get_store, lang, say, tag_entries, tr

TIMING_KEY = "builder.last_ms"  # server time of the latest builder run (read by `adesk bench builder`)
TABS_KEY = "builder-tabs"


def main() -> None:
    st.title(tr("builder.title"))
    ds = get_dataset()
    if ds is None:
        return
    store = get_store()
    if refresh_for_language(lang(), "builder.lang", (PICK_KEY, panels.BY_KEY), (WIDGET_PREFIX,)):
        st.session_state.pop(TABS_KEY, None)  # tabs remember their label; start again on the first
    if not st.session_state.get(URL_LOADED_KEY):
        # First builder run of this browser session: the URL may carry a shared definition.
        st.session_state[URL_LOADED_KEY] = True
        notice = load_from_url(ds.catalog, store, dict(st.query_params), tr)
        if notice is not None:
            notify(notice.level, notice.text)
    builder(ds, store)


@st.fragment
def builder(ds: Dataset, store: AppStore | None) -> None:
    """Everything an edit changes; reruns alone, so an edit never re-renders the rest of the app."""
    started = time.perf_counter()
    notice = take_notice()
    if notice is not None:
        getattr(st, notice.level)(notice.text)
    ctx = _context(ds, store)
    toolbar = st.container()
    numbers = st.container()
    with st.container(border=True, key="builder-conditions"):
        st.subheader(tr("builder.conditions"))
        state = get_state()
        root = render_block(ctx, render_root_controls(state.root))
        render_root_buttons(root)
        state = replace(state, root=root)
        put_state(state)
    left, right = st.columns([2, 3], gap="large")
    segment, incomplete = _segment(state)
    refs = saved_refs_token(store, segment)
    saved = saved_context()
    params = panels.share_params(segment, saved.id if saved else None, lang())
    panels.sync_url(params)
    with toolbar:
        render_toolbar(ctx, store, segment)
    with numbers:
        size = panels.render_numbers(ctx, segment, refs, store)
    with left:
        panels.render_how_counted(ctx, segment, size, incomplete)
        panels.render_share(params)
    with right:
        if size is not None:  # a definition that cannot be counted cannot be broken down either
            _details(ctx, segment, refs, store, saved.id if saved else None)
        elapsed = (time.perf_counter() - started) * 1000
        st.session_state[TIMING_KEY] = elapsed
        st.caption(tr("builder.timing", ms=f"{elapsed:,.0f}"))


def _context(ds: Dataset, store: AppStore | None) -> Ctx:
    saved: tuple = ()
    if store is not None:
        try:
            saved = tuple(store.list_segments())
        except StoreError as err:
            st.error(tr("store.unusable", error=say(err)))
    tags = {entry.tag: entry for entry in tag_entries(ds, ds.fingerprint)}
    return Ctx(ds, lang(), saved, tags)


def _segment(state: bs.BuilderState) -> tuple[Segment, int]:
    """The finished rows as a segment, and how many rows are left out because they are unfinished."""
    try:
        conversion = bs.to_segment(state)
    except SegmentError as err:
        st.error(tr("builder.invalid", error=say(err)))
        return Segment(), 0
    return conversion.segment, len(conversion.incomplete)


def _details(ctx: Ctx, segment: Segment, refs: str, store: AppStore | None, saved_id: str | None) -> None:
    """Breakdown, overlap and the JSON definition; only the open tab is computed."""
    tabs = st.tabs(
        [tr("builder.tab.breakdown"), tr("builder.tab.overlap"), tr("builder.tab.json")],
        key=TABS_KEY,
        on_change="rerun",
    )
    with tabs[0]:
        if tabs[0].open:
            panels.render_breakdown(ctx, segment, refs, store)
    with tabs[1]:
        if tabs[1].open:
            panels.render_overlap(ctx, segment, refs, store, saved_id)
    with tabs[2]:
        if tabs[2].open:
            st.code(panels.definition_json(segment), language="json")
