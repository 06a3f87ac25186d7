"""The builder's toolbar: load a saved segment, save, save as, rename, delete, new, export, JSON in and out.

Every action is a button callback (it runs before the page re-renders), reports
through a one-time notice, and turns store and definition errors into words.
"""

from __future__ import annotations

import streamlit as st

from core.catalog import Catalog
from core.segments import builder_state as bs
from core.segments.model import Segment, SegmentError, parse_segment
from core.store import AppStore, SavedSegment, StoreError
from dashboard import auth, data_access
from dashboard.builder_panels import definition_json
from dashboard.builder_session import (
    PICK_KEY,
    RENAME_KEY,
    definition_problem,
    get_state,
    notify,
    replace_state,
    saved_context,
    set_saved_context,
)
from dashboard.builder_widgets import Ctx

SAVE_AS_KEY = "builder-saveas-name"
IMPORT_FILE_KEY = "builder-import-file"
IMPORT_TEXT_KEY = "builder-import-text"

try:  # the audience export (another area) adds its button here when it is installed
    from dashboard.export_dialog import export_button
except ModuleNotFoundError as err:
    if err.name != "dashboard.export_dialog":
        raise
    export_button = None


def tr(key: str, **kw: object) -> str:
    return data_access.tr(key, **kw)


def _current() -> Segment:
    return bs.to_segment(get_state()).segment


# --------------------------------------------------------------------------- callbacks


def _on_pick(store: AppStore, catalog: Catalog) -> None:
    sid = st.session_state.get(PICK_KEY)
    if not sid:
        replace_state(None)
        return
    try:
        saved = store.get_segment(sid)
    except StoreError as err:
        notify("error", tr("builder.load.store_error", error=data_access.say(err)))
        return
    if saved is None:
        replace_state(None)
        notify("error", tr("builder.load.deleted", id=sid))
        return
    replace_state(saved.segment, saved)
    problem = definition_problem(saved.segment, catalog, store)
    if problem:
        # Loaded anyway (it is the operator's own segment): the rows can be fixed and saved again.
        notify("warning", tr("builder.load.unfit", name=saved.name, error=problem))
    else:
        notify("success", tr("builder.loaded", name=saved.name, version=saved.version))


def _save(store: AppStore, catalog: Catalog, name: str | None, segment_id: str | None) -> SavedSegment | None:
    segment = _current()
    if not segment.conditions:
        notify("warning", tr("builder.save.empty"))
        return None
    problem = definition_problem(segment, catalog, store)
    if problem:
        notify("error", tr("builder.save.failed", error=problem))
        return None
    try:
        return store.save_segment(name, segment, segment_id=segment_id, who=auth.who())
    except (StoreError, SegmentError) as err:
        notify("error", tr("builder.save.failed", error=data_access.say(err)))
        return None


def _on_save(store: AppStore, catalog: Catalog) -> None:
    current = saved_context()
    if current is None:
        return
    saved = _save(store, catalog, None, current.id)
    if saved is not None:
        set_saved_context(saved)
        notify("success", tr("builder.saved", name=saved.name, version=saved.version))


def _on_save_as(store: AppStore, catalog: Catalog) -> None:
    name = (st.session_state.get(SAVE_AS_KEY) or "").strip()
    if not name:
        notify("warning", tr("builder.save.need_name"))
        return
    saved = _save(store, catalog, name, None)
    if saved is not None:
        set_saved_context(saved)
        st.session_state[SAVE_AS_KEY] = ""
        notify("success", tr("builder.saved_new", name=saved.name, id=saved.id))


def _on_rename(store: AppStore) -> None:
    current = saved_context()
    name = (st.session_state.get(RENAME_KEY) or "").strip()
    if current is None or not name:
        notify("warning", tr("builder.save.need_name"))
        return
    try:
        saved = store.rename_segment(current.id, name, who=auth.who())
    except StoreError as err:
        notify("error", tr("builder.save.failed", error=data_access.say(err)))
        return
    set_saved_context(saved)
    notify("success", tr("builder.renamed", name=saved.name))


def _on_delete(store: AppStore) -> None:
    current = saved_context()
    if current is None:
        return
    try:
        store.delete_segment(current.id, who=auth.who())
    except StoreError as err:
        notify("error", tr("builder.delete.failed", error=data_access.say(err)))
        return
    set_saved_context(None)  # the rows stay: a mistaken delete can be undone with "Save as"
    notify("success", tr("builder.deleted", name=current.name))


def _on_new() -> None:
    replace_state(None)


def _import(data: bytes | str, what: str, catalog: Catalog, store: AppStore | None) -> None:
    """Replace the builder with an imported definition; anything wrong leaves it empty, with the reason."""
    try:
        segment = parse_segment(data)
    except SegmentError as err:
        replace_state(None)
        notify("error", tr("builder.import.bad", what=what, error=data_access.say(err)))
        return
    problem = definition_problem(segment, catalog, store)
    if problem:
        replace_state(None)
        notify("error", tr("builder.load.invalid", what=what, error=problem))
        return
    replace_state(segment)
    notify("success", tr("builder.import.done", what=what, n=segment.count_conditions()))


def _on_import_file(catalog: Catalog, store: AppStore | None) -> None:
    upload = st.session_state.get(IMPORT_FILE_KEY)
    if upload is not None:
        _import(upload.getvalue(), tr("builder.import.file", name=upload.name), catalog, store)


def _on_import_text(catalog: Catalog, store: AppStore | None) -> None:
    text = st.session_state.get(IMPORT_TEXT_KEY) or ""
    if not text.strip():
        notify("warning", tr("builder.import.empty"))
        return
    _import(text, tr("builder.import.pasted"), catalog, store)


# --------------------------------------------------------------------------- layout


def render_toolbar(ctx: Ctx, store: AppStore | None, segment: Segment) -> None:
    current = saved_context()
    catalog = ctx.catalog
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small", key="builder-toolbar")
    # a viewer counts and reads; saving and exporting are an operator's (core refuses them too)
    may_write = auth.current_access().role.sees_members
    with bar:
        if store is not None and may_write:
            names = {s.id: s.name for s in ctx.saved}
            if st.session_state.get(PICK_KEY) not in ("", *names):
                st.session_state[PICK_KEY] = ""  # deleted elsewhere
            st.selectbox(
                tr("builder.saved.pick"), ["", *names], key=PICK_KEY, on_change=_on_pick, args=(store, catalog),
                width=300, format_func=lambda sid: names.get(sid, sid) if sid else tr("builder.saved.new"),
            )  # fmt: skip
            unchanged = current is not None and current.segment == segment
            st.button(
                tr("builder.save"),
                key="builder-save",
                icon=":material/save:",
                type="primary",
                disabled=current is None or unchanged,
                on_click=_on_save,
                args=(store, catalog),
                help=tr("builder.save_help"),
            )
            with st.popover(tr("builder.save_as"), icon=":material/library_add:"):
                st.text_input(tr("builder.save_as.name"), key=SAVE_AS_KEY, max_chars=200)
                st.button(
                    tr("builder.save_as.confirm"),
                    key="builder-saveas-confirm",
                    on_click=_on_save_as,
                    args=(store, catalog),
                    type="primary",
                )
            with st.popover(tr("builder.rename"), icon=":material/edit:", disabled=current is None):
                if RENAME_KEY not in st.session_state and current is not None:
                    st.session_state[RENAME_KEY] = current.name
                st.text_input(tr("builder.rename.name"), key=RENAME_KEY, max_chars=200)
                st.button(
                    tr("builder.rename.confirm"), key="builder-rename-confirm", on_click=_on_rename, args=(store,)
                )
            with st.popover(tr("builder.delete"), icon=":material/delete:", disabled=current is None):
                st.markdown(tr("builder.delete.confirm_text", name=current.name if current else ""))
                st.button(
                    tr("builder.delete.confirm"),
                    key="builder-delete-confirm",
                    on_click=_on_delete,
                    args=(store,),
                    type="primary",
                )
        st.button(
            tr("builder.new"),
            key="builder-new",
            icon=":material/note_add:",
            on_click=_on_new,
            help=tr("builder.new_help"),
        )
        with st.popover(tr("builder.json"), icon=":material/data_object:"):
            _json_panel(segment, catalog, store)
        if export_button is not None and may_write:
            # The saved segment is the export's record only while the rows still equal it.
            unchanged = current is not None and current.segment == segment
            export_button(ctx.ds, segment, current if unchanged else None)
    if current is not None:
        state_text = tr("builder.saved.unchanged") if current.segment == segment else tr("builder.saved.changed")
        st.caption(
            tr("builder.saved.status", name=current.name, version=current.version, id=current.id) + " · " + state_text
        )
    else:
        st.caption(tr("builder.saved.unsaved"))


def _json_panel(segment: Segment, catalog: Catalog, store: AppStore | None) -> None:
    st.download_button(
        tr("builder.json.download"), data=definition_json(segment), file_name="segment.json", mime="application/json",
        key="builder-json-download", on_click="ignore", icon=":material/download:",
    )  # fmt: skip
    st.file_uploader(
        tr("builder.json.upload"),
        type=["json"],
        key=IMPORT_FILE_KEY,
        on_change=_on_import_file,
        args=(catalog, store),
        max_upload_size=5,
    )
    st.text_area(
        tr("builder.json.paste"),
        key=IMPORT_TEXT_KEY,
        height=120,
        placeholder='{"version": 1, "match": "all", "conditions": [...]}',
    )
    st.button(
        tr("builder.json.import"),
        key="builder-json-import",
        on_click=_on_import_text,
        args=(catalog, store),
        icon=":material/upload:",
    )
