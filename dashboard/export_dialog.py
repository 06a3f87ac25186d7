"""The "Export audience" button and its dialog: options, exact counts before writing, progress, download.

Pages call `export_button(ds, segment, segment_ref)`; everything else happens in
core.export (counting, writing, the audit log). The counts shown are those of the
plan that will be written (same export id, hence the same holdout), so the file
has exactly "Rows to write" rows.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import streamlit as st

from core.dataset import Dataset
from core.export import (
    CHANNELS,
    FORMATS,
    EmptyExport,
    ExportError,
    ExportOptions,
    ExportPlan,
    ExportResult,
    exportable_columns,
    new_export_id,
    plan_export,
    write_export,
)
from core.segments.model import Segment, SegmentError
from core.store import StoreError
from dashboard import auth, downloads
from dashboard.data_access import get_store, say, tr
from dashboard.i18n import fmt_int

# Above this, the fallback download (held in memory) is not offered.
FALLBACK_MAX_BYTES = 200_000_000


def _ref(segment_ref: Any) -> tuple[str | None, int | None]:
    """(saved segment id, version) from an id, "id@version", (id, version) or a SavedSegment."""
    if segment_ref is None:
        return None, None
    if isinstance(segment_ref, tuple):
        return str(segment_ref[0]), int(segment_ref[1]) if segment_ref[1] is not None else None
    if hasattr(segment_ref, "id") and hasattr(segment_ref, "version"):
        return segment_ref.id, segment_ref.version
    sid, _, version = str(segment_ref).partition("@")
    if version.isdigit():
        return sid, int(version)
    store = get_store()
    saved = store.get_segment(sid) if store is not None else None
    return sid, saved.version if saved is not None else None


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def empty_message(plan: ExportPlan) -> str | None:
    """Why the plan writes nothing, in the interface language (None when it writes rows)."""
    if plan.empty_reason() is None:
        return None
    channel = tr(f"export.channel.{plan.options.channel}") if plan.options.channel else ""
    if plan.segment_size == 0:
        return tr("export.empty.segment", as_of=plan.as_of)
    if plan.segment_size == plan.excluded_by_consent:
        if not plan.consent_column_present:
            return tr("export.empty.no_column", channel=channel, column=plan.consent_column or "—")
        return tr("export.empty.no_consent", members=fmt_int(plan.segment_size), channel=channel)
    return tr("export.empty.holdout")


def download_link(path: str | Path, export_id: str, label: str, key: str) -> None:
    """A streamed download link when this server has the route; else a (memory-held) download button."""
    path = Path(path)
    store = get_store()
    who = auth.who()

    def log() -> None:
        if store is not None:
            store.log_export_action(export_id, "download", who, {"path": str(path)})

    url = downloads.register(path, path.name, on_download=log, owner=who, binding=auth.session_binding())
    if url is not None:
        st.html(
            f'<a href="{html.escape(url)}" download="{html.escape(path.name)}" data-testid="adesk-download" '
            'style="display:inline-block;padding:0.45rem 0.9rem;border-radius:0.5rem;background:#3b5bdb;'
            f'color:white;text-decoration:none;font-weight:600">⬇ {html.escape(label)}</a>'
        )
        return
    size = path.stat().st_size if path.exists() else 0
    if size > FALLBACK_MAX_BYTES:
        st.info(tr("export.no_route_large", path=str(path)))
        return
    # Deferred: read only when clicked (then held in memory by Streamlit; see dashboard/downloads.py).
    st.download_button(
        label,
        data=lambda: path.read_bytes(),
        file_name=path.name,
        mime=downloads.media_type_for(path),
        key=key,
        on_click="ignore",
    )


def _column_choices(ds: Dataset) -> tuple[list[str], dict[str, str]]:
    choices, labels = [], {}
    for kind, names in exportable_columns(ds).items():
        for name in names:
            choices.append(name)
            labels[name] = f"{name} · {tr(f'export.kind.{kind}')}"
    return choices, labels


def _options(ds: Dataset, key: str, role) -> ExportOptions:
    channel = st.selectbox(
        tr("export.channel"), ["none", *CHANNELS], format_func=lambda c: tr(f"export.channel.{c}"), key=f"{key}_channel"
    )
    choices, labels = _column_choices(ds)
    columns = st.multiselect(
        tr("export.columns"), choices, format_func=labels.get, help=tr("export.columns.help"), key=f"{key}_columns"
    )
    left, right = st.columns(2)
    fmt = left.radio(tr("export.format"), FORMATS, format_func=str.upper, horizontal=True, key=f"{key}_format")
    bom = left.checkbox(tr("export.bom"), value=True, disabled=fmt != "csv", key=f"{key}_bom")
    raw_text = left.checkbox(
        tr("export.raw_text"),
        value=False,
        disabled=fmt != "csv",
        help=tr("export.raw_text_help"),
        key=f"{key}_raw_text",
    )
    holdout = right.slider(tr("export.holdout"), 0, 50, 0, step=1, help=tr("export.holdout.help"), key=f"{key}_holdout")
    pii = st.radio(
        tr("export.pii"), role.pii_modes, format_func=lambda m: tr(f"export.pii.{m}"), horizontal=True, key=f"{key}_pii"
    )
    caption = tr("export.role", role=role.role, source=role.source)
    if role.role == "none":
        caption += " " + tr("export.role.none_hint")
    st.caption(caption)
    if role.problem:
        st.warning(role.problem)
    return ExportOptions(
        channel=None if channel == "none" else channel,
        columns=tuple(columns),
        format=fmt,
        bom=bom,
        holdout=holdout / 100,
        pii_mode=pii,
        raw_text=raw_text,
    )


def _write(ds: Dataset, plan: ExportPlan, key: str) -> None:
    store = get_store()
    if store is None:
        return
    bar = st.progress(0.0, text=tr("export.stage.writing"))

    def progress(stage: str, fraction: float | None) -> None:
        bar.progress(min(1.0, max(0.0, fraction or 0.0)), text=tr(f"export.stage.{stage}"))

    try:
        result = write_export(ds, plan, store, progress=progress, who=auth.who())
    except (ExportError, StoreError, SegmentError) as err:
        bar.empty()
        st.error(tr("export.error", error=say(err)))
        return
    bar.empty()
    st.session_state[f"{key}_result"] = result
    st.session_state[f"{key}_export_id"] = new_export_id()  # the next write is a new export


def _dialog_body(ds: Dataset, segment: Segment, segment_ref: Any, key: str) -> None:
    role = auth.current_access().role
    options = _options(ds, key, role)
    store = get_store()
    saved_id, version = _ref(segment_ref)
    try:
        plan = plan_export(
            ds,
            segment,
            options,
            role=role,
            resolve=store.resolver() if store is not None else None,
            segment_id=saved_id,
            segment_version=version,
            export_id=st.session_state[f"{key}_export_id"],
        )
    except (ExportError, SegmentError, StoreError) as err:
        st.error(tr("export.error", error=say(err)))
        return
    cols = st.columns(4)
    cols[0].metric(tr("export.members"), fmt_int(plan.segment_size))
    cols[1].metric(tr("export.excluded"), fmt_int(plan.excluded_by_consent))
    cols[2].metric(tr("export.held_out"), fmt_int(plan.holdout_rows))
    cols[3].metric(tr("export.rows"), fmt_int(plan.rows_to_write))
    st.caption(tr("export.id", export_id=plan.export_id))
    message = empty_message(plan)
    if message:
        st.warning(message)
    elif st.button(tr("export.write"), type="primary", key=f"{key}_write"):
        try:
            _write(ds, plan, key)
        except EmptyExport as err:
            st.warning(str(err))
    result: ExportResult | None = st.session_state.get(f"{key}_result")
    if result is not None:
        st.success(
            tr("export.done", rows=fmt_int(result.rows_written), size=_size(result.bytes)) + f" ({result.export_id})"
        )
        download_link(
            result.path,
            result.export_id,
            tr("export.download", name=Path(result.path).name),
            key=f"{key}_dl_{result.export_id}",
        )
        st.caption(tr("export.sha256", sha=result.sha256))


def export_button(ds: Dataset, segment: Segment, segment_ref: Any = None, *, key: str = "export") -> None:
    """A button that opens the export dialog for `segment` (a saved segment's id/version in `segment_ref`)."""
    if st.button(tr("export.button"), icon=":material/download:", key=f"{key}_open"):
        st.session_state[f"{key}_export_id"] = new_export_id()
        st.session_state.pop(f"{key}_result", None)
        # Decorated here, not at import, so the title is in the current language.
        st.dialog(tr("export.title"), width="large")(_dialog_body)(ds, segment, segment_ref, key)
