"""Tag Catalog: browse and search the tag hierarchy, see coverage and staleness, open a tag's detail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.tags import TagEntry, filter_tags, hierarchy
from dashboard.builder_session import refresh_for_language
from dashboard.catalog_detail import ADDED_KEY, TAG_KEY, go_to_builder, render_detail
from dashboard.data_access import get_dataset, lang, tag_entries, tr
from dashboard.i18n import fmt_int

SEARCH_KEY = "catalog-q"
CATEGORY_KEY = "catalog-category"
SUBCATEGORY_KEY = "catalog-subcategory"
STATUS_KEY = "catalog-status"
ATTENTION_KEY = "catalog-attention"
TABLE_KEY = "catalog-table"
SHOWN_KEY = "catalog.shown"  # tags in the table, in order, so a selected row maps to its tag
STATUSES = ("active", "deprecated", "uncatalogued")


def main() -> None:
    if st.session_state.pop(ADDED_KEY, None):
        go_to_builder()  # after "add to current segment": show it in the builder
    refresh_for_language(lang(), "catalog.lang", (STATUS_KEY,))
    st.title(tr("catalog.title"))
    ds = get_dataset()
    if ds is None:
        return
    entries = tag_entries(ds, ds.fingerprint)
    if not entries:
        st.info(tr("catalog.empty"))
        return
    st.caption(tr("catalog.caption", n=fmt_int(len(entries)), as_of=ds.as_of.isoformat()))
    _summary(entries)
    shown = _filters(entries)
    _table(shown)
    render_detail(ds, {e.tag: e for e in entries})


def _summary(entries: tuple[TagEntry, ...]) -> None:
    cols = st.columns(5)
    cols[0].metric(tr("catalog.n_tags"), fmt_int(len(entries)))
    cols[1].metric(tr("catalog.n_active"), fmt_int(sum(e.status == "active" for e in entries)))
    cols[2].metric(tr("catalog.n_deprecated"), fmt_int(sum(e.status == "deprecated" for e in entries)))
    cols[3].metric(tr("catalog.n_stale"), fmt_int(sum(bool(e.stale) for e in entries)), help=tr("catalog.stale_rule"))
    cols[4].metric(
        tr("catalog.n_uncatalogued"),
        fmt_int(sum(not e.in_catalog for e in entries)),
        help=tr("catalog.uncatalogued_help"),
    )


def _filters(entries: tuple[TagEntry, ...]) -> tuple[TagEntry, ...]:
    """Search, hierarchy drill-down (category -> sub-category) and status filters."""
    tree = hierarchy(entries)
    bar = st.container(horizontal=True, vertical_alignment="bottom")
    with bar:
        text = (
            st.text_input(
                tr("catalog.search"),
                key=SEARCH_KEY,
                placeholder=tr("catalog.search_placeholder"),
                type="search",
                live="300ms",
                width=360,
            )
            or ""
        )
        statuses = st.multiselect(
            tr("catalog.status"), list(STATUSES), default=None, key=STATUS_KEY,
            format_func=lambda s: tr(f"catalog.status.{s}"), placeholder=tr("catalog.status_any"), width=360,
        )  # fmt: skip
        attention = st.toggle(tr("catalog.attention"), key=ATTENTION_KEY, help=tr("catalog.attention_help"))
    category = st.pills(
        tr("catalog.category"), list(tree), key=CATEGORY_KEY, format_func=lambda c: f"{c} ({sum(tree[c].values())})",
    )  # fmt: skip
    subcategory = None
    if category:
        subs = [s for s in tree[category] if s]
        if subs:
            if st.session_state.get(SUBCATEGORY_KEY) not in (None, *subs):
                st.session_state[SUBCATEGORY_KEY] = None  # the category changed
            subcategory = st.pills(
                tr("catalog.subcategory"), subs, key=SUBCATEGORY_KEY, format_func=lambda s: f"{s} ({tree[category][s]})"
            )
    return filter_tags(entries, text, category, subcategory, statuses or None, attention)


def _on_select() -> None:
    rows = st.session_state[TABLE_KEY]["selection"]["rows"]
    shown = st.session_state.get(SHOWN_KEY, [])
    if rows and rows[0] < len(shown):
        st.session_state[TAG_KEY] = shown[rows[0]]


def _table(shown: tuple[TagEntry, ...]) -> None:
    if not shown:
        st.info(tr("catalog.no_match"))
        return
    st.session_state[SHOWN_KEY] = [e.tag for e in shown]
    # What operators scan first (coverage, status, staleness) comes first; the description last.
    frame = pd.DataFrame(
        {
            "tag": [e.tag for e in shown],
            "coverage": [e.coverage or 0.0 for e in shown],
            "users": [e.users for e in shown],
            "status": [tr(f"catalog.status.{e.status if e.in_catalog else 'uncatalogued'}") for e in shown],
            "stale": [bool(e.stale) for e in shown],
            "refreshed": [e.last_refresh for e in shown],
            "cycle": [tr(f"catalog.cycle.{e.update_cycle}") if e.update_cycle else "—" for e in shown],
            "source": [tr(f"catalog.source.{e.source}") if e.source else "—" for e in shown],
            "owner": [e.owner or "—" for e in shown],
            "description": [e.description or "" for e in shown],
        }
    )
    config = {
        "tag": st.column_config.TextColumn(tr("catalog.col.tag"), width="medium"),
        "description": st.column_config.TextColumn(tr("catalog.col.description"), width="large"),
        "source": st.column_config.TextColumn(tr("catalog.col.source")),
        "owner": st.column_config.TextColumn(tr("catalog.col.owner")),
        "cycle": st.column_config.TextColumn(tr("catalog.col.cycle")),
        "status": st.column_config.TextColumn(tr("catalog.col.status")),
        "refreshed": st.column_config.DatetimeColumn(tr("catalog.col.refreshed"), format="YYYY-MM-DD HH:mm"),
        "coverage": st.column_config.ProgressColumn(
            tr("catalog.col.coverage"), format="percent", min_value=0.0, max_value=1.0
        ),
        "users": st.column_config.NumberColumn(tr("catalog.col.users"), format="localized"),
        "stale": st.column_config.CheckboxColumn(tr("catalog.col.stale"), help=tr("catalog.stale_rule")),
    }
    st.caption(tr("catalog.table_hint", n=fmt_int(len(shown))))
    st.dataframe(
        frame, column_config=config, hide_index=True, width="stretch", key=TABLE_KEY, on_select=_on_select,
        selection_mode="single-row", height=min(420, 38 + 35 * len(shown)),
    )  # fmt: skip
