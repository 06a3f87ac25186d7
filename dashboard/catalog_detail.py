"""The Tag Catalog's detail view: one tag's metadata, value distribution, related tags, "add to segment"."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.dataset import Dataset
from core.tags import TagEntry, TagError
from dashboard import data_access
from dashboard.builder_session import append_tag
from dashboard.charts import PALETTE
from dashboard.data_access import lang, say, tag_distribution, tr
from dashboard.i18n import fmt_int, fmt_pct

TAG_KEY = "catalog-tag"
ADDED_KEY = "catalog.added"


def render_detail(ds: Dataset, by_tag: dict[str, TagEntry]) -> None:
    st.subheader(tr("catalog.detail"))
    if st.session_state.get(TAG_KEY) not in (None, *by_tag):
        st.session_state[TAG_KEY] = None
    tag = st.selectbox(
        tr("catalog.detail_pick"), list(by_tag), key=TAG_KEY, index=None, placeholder=tr("catalog.detail_placeholder"),
        format_func=lambda t: t.replace("/", " › "), filter_mode="contains",
    )  # fmt: skip
    if tag is None:
        st.caption(tr("catalog.detail_hint"))
        return
    entry = by_tag[tag]
    with st.container(border=True, key="catalog-detail"):
        _detail_header(ds, entry)
        if not entry.in_data:
            st.info(tr("catalog.not_in_data"))
            return
        left, right = st.columns(2, gap="large")
        with left:
            _distribution(ds, entry)
        with right:
            _related(ds, entry)


def _detail_header(ds: Dataset, entry: TagEntry) -> None:
    st.markdown(f"### {entry.tag.replace('/', ' › ')}")
    st.markdown(entry.description or tr("catalog.no_description"))
    badges = st.container(horizontal=True)
    with badges:
        status = entry.status if entry.in_catalog else "uncatalogued"
        st.badge(
            tr(f"catalog.status.{status}"),
            color="green" if status == "active" else "orange" if status == "deprecated" else "gray",
        )
        if entry.stale:
            st.badge(tr("catalog.stale"), color="red", icon=":material/schedule:")
        if entry.source:
            st.badge(tr(f"catalog.source.{entry.source}"), color="blue")
    cols = st.columns(4)
    cols[0].metric(tr("catalog.col.users"), fmt_int(entry.users))
    cols[1].metric(tr("catalog.col.coverage"), fmt_pct(entry.coverage))
    cols[2].metric(tr("catalog.col.refreshed"), entry.last_refresh.strftime("%Y-%m-%d") if entry.last_refresh else "—")
    cols[3].metric(tr("catalog.col.cycle"), tr(f"catalog.cycle.{entry.update_cycle}") if entry.update_cycle else "—")
    st.caption(tr("catalog.owner_line", owner=entry.owner or "—"))
    if entry.status == "deprecated":
        st.warning(tr("catalog.deprecated_note"))
    if entry.stale:
        refreshed = entry.last_refresh.strftime("%Y-%m-%d") if entry.last_refresh else "—"
        st.warning(
            tr(
                "catalog.stale_note",
                refreshed=refreshed,
                cycle=tr(f"catalog.cycle.{entry.update_cycle}"),
                as_of=ds.as_of.isoformat(),
            )
        )
    if entry.in_data:
        st.button(
            tr("catalog.add"),
            key="catalog-add",
            icon=":material/add_circle:",
            type="primary",
            on_click=_add_to_segment,
            args=(entry.tag,),
            help=tr("catalog.add_help"),
        )


def _add_to_segment(tag: str) -> None:
    append_tag(tag)
    st.session_state[ADDED_KEY] = tag


def go_to_builder() -> None:
    from dashboard.views import builder

    st.switch_page(st.Page(builder.main, url_path="builder"), query_params={"lang": lang()})


def _distribution(ds: Dataset, entry: TagEntry) -> None:
    try:
        dist = tag_distribution(ds, ds.fingerprint, entry.tag)
    except TagError as err:
        st.error(say(err))
        return
    labels = [
        tr("catalog.has")
        if r.label == "has"
        else tr("catalog.has_not")
        if r.label == "has not"
        else tr("catalog.other")
        if r.label == "(other)"
        else r.label
        for r in dist.rows
    ]
    title = tr("catalog.dist_presence") if dist.kind == "presence" else tr("catalog.dist_values")
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=[r.users for r in dist.rows],
            orientation="h",
            marker_color=PALETTE[1],
            text=[f"{r.users:,} ({fmt_pct(r.share)})" for r in dist.rows],
            textposition="auto",
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )  # fmt: skip
    )
    fig.update_layout(
        title=title,
        height=max(220, 34 * len(labels) + 80),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"},
        separators=".,",
    )
    st.plotly_chart(fig, key="catalog-dist-chart")
    if dist.missing_value:
        st.caption(tr("catalog.missing_value", n=fmt_int(dist.missing_value)))


def _related(ds: Dataset, entry: TagEntry) -> None:
    st.markdown(f"**{tr('catalog.related')}**")
    related = data_access.related_tags(ds, ds.fingerprint, entry.tag)
    if not related:
        st.info(tr("catalog.related_none"))
        return
    frame = pd.DataFrame(
        {
            tr("catalog.col.tag"): [r.tag for r in related],
            tr("catalog.related_both"): [fmt_int(r.both) for r in related],
            tr("catalog.related_lift"): [f"×{r.lift:.2f}" for r in related],
            tr("catalog.related_conf"): [fmt_pct(r.confidence) for r in related],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="catalog-related")
    st.caption(tr("catalog.related_help"))
