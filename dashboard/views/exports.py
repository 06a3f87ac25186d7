"""Exports: the audit log of audience files; each one's definition, counts and hash; re-create and verify; download."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import streamlit as st

from core.export import ExportError, recreate_export
from core.segments.describe import describe
from core.segments.model import SegmentError, parse_segment
from core.store import ExportRecord, StoreError
from dashboard import auth
from dashboard.data_access import get_dataset, get_store, lang, say, tr
from dashboard.export_dialog import download_link
from dashboard.i18n import fmt_int


def _table(records: list[ExportRecord]) -> pd.DataFrame:
    def n(v: int | None) -> str:
        return fmt_int(v) if v is not None else "—"

    return pd.DataFrame(
        [
            {
                tr("exports.col.id"): r.export_id,
                tr("exports.col.created"): r.created_at[:19].replace("T", " "),
                tr("exports.col.by"): r.created_by,
                tr("exports.col.status"): tr(f"exports.status.{r.status}"),
                tr("exports.col.segment"): r.segment_id or "—",
                tr("exports.col.channel"): r.channel or "—",
                tr("exports.col.pii"): tr(f"export.pii.{r.pii_mode}"),
                tr("exports.col.rows"): n(r.rows_written),
                tr("exports.col.excluded"): n(r.excluded_by_consent),
                tr("exports.col.holdout"): n(r.holdout_rows),
            }
            for r in records
        ]
    )


def _description(record: ExportRecord) -> str:
    try:
        return describe(parse_segment(record.definition), None, lang=lang(), resolve=record.segment_refs.get)
    except (SegmentError, TypeError, KeyError):
        return json.dumps(record.definition, ensure_ascii=False)


def _recreate(record: ExportRecord, store) -> None:
    ds = get_dataset()
    if ds is None:
        return
    bar = st.progress(0.0, text=tr("export.stage.writing"))

    def progress(stage: str, fraction: float | None) -> None:
        bar.progress(min(1.0, max(0.0, fraction or 0.0)), text=tr(f"export.stage.{stage}"))

    try:
        result = recreate_export(
            ds, store, record.export_id, role=auth.current_access().role, progress=progress, who=auth.who()
        )
    except (ExportError, StoreError, SegmentError) as err:
        bar.empty()
        st.error(tr("export.error", error=say(err)))
        return
    bar.empty()
    st.session_state["exports_recreated"] = result


def _details(record: ExportRecord, store) -> None:
    st.subheader(record.export_id)
    st.markdown(f"**{tr('exports.definition')}:** {_description(record)}")
    if record.segment_id:
        st.caption(tr("exports.saved", id=record.segment_id, version=record.segment_version or "—"))
    cols = st.columns(4)
    cols[0].metric(tr("export.members"), fmt_int(record.segment_size))
    cols[1].metric(tr("export.excluded"), fmt_int(record.excluded_by_consent))
    cols[2].metric(tr("export.held_out"), fmt_int(record.holdout_rows))
    cols[3].metric(tr("exports.col.rows"), fmt_int(record.rows_written) if record.rows_written is not None else "—")
    st.caption(tr("exports.data", path=record.dataset_path, as_of=record.as_of))
    if record.error:
        st.error(tr("exports.error", error=record.error))
    with st.expander(tr("exports.details")):
        st.json({k: v for k, v in record.to_dict().items() if k not in ("definition", "segment_refs")})
        st.json(record.definition)
    counts = store.assignment_counts(record.export_id)
    if counts:
        st.caption(
            tr(
                "exports.assignments",
                target=fmt_int(counts.get("target", 0)),
                holdout=fmt_int(counts.get("holdout", 0)),
                export_id=record.export_id,
            )
        )
        if record.status == "succeeded":
            # a plain link: the Experiments page opens the export's holdout from its `experiment` parameter
            st.markdown(f"📈 [{tr('exports.campaign_lift')}](experiments?experiment={record.export_id}&lang={lang()})")
    if record.status != "succeeded":
        return
    st.caption(tr("export.sha256", sha=record.sha256))
    file_here = bool(record.file_path) and Path(record.file_path).is_file()
    left, right = st.columns(2)
    with left:
        if file_here:
            st.caption(tr("exports.file", path=record.file_path))
            download_link(
                record.file_path,
                record.export_id,
                tr("export.download", name=Path(record.file_path).name),
                key=f"exports_dl_{record.export_id}",
            )
        else:
            st.info(tr("exports.file_missing"))
    with right:
        if st.button(tr("exports.recreate"), key=f"exports_recreate_{record.export_id}"):
            _recreate(record, store)
        result = st.session_state.get("exports_recreated")
        if result is not None and result.export_id == record.export_id:
            if result.matches:
                st.success(tr("exports.recreate_ok", rows=fmt_int(result.rows_written), sha=result.sha256))
            else:
                st.error(
                    tr(
                        "exports.recreate_bad",
                        rows=fmt_int(result.rows_written),
                        sha=result.sha256,
                        logged=result.logged_sha256,
                    )
                )
            download_link(
                result.path,
                record.export_id,
                tr("export.download", name=Path(result.path).name),
                key=f"exports_dl_re_{record.export_id}",
            )
    history = store.export_actions(record.export_id)
    if history:
        with st.expander(tr("exports.history")):
            st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")


def main() -> None:
    st.title(tr("exports.title"))
    st.caption(tr("exports.intro"))
    access = auth.current_access()
    if not access.role.sees_members:
        st.warning(tr("exports.viewer"))
        return
    store = get_store()
    if store is None:
        return
    try:
        records = store.list_exports()
    except StoreError as err:
        st.error(say(err))
        return
    if access.mode == "team" and not access.role.manages_access:
        records = [r for r in records if r.created_by == access.who]  # one's own exports; admins see all
    if not records:
        st.info(tr("exports.none"))
        return
    st.dataframe(_table(records), hide_index=True, width="stretch", key="exports_table")
    ids = [r.export_id for r in records]
    wanted = st.query_params.get("export")
    chosen = st.selectbox(tr("exports.pick"), ids, index=ids.index(wanted) if wanted in ids else 0, key="exports_pick")
    _details(next(r for r in records if r.export_id == chosen), store)
