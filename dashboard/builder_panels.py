"""What the builder shows about the segment on every edit: size, reach, how it was counted,
breakdown, overlap with saved segments, the share link and the JSON definition."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.problems import EngineError
from core.segments.describe import describe_lines
from core.segments.model import Segment, SegmentError
from core.segments.operations import Breakdown, OperationError, SegmentSize
from core.segments.urlcodec import encode_segment
from core.store import AppStore
from dashboard import auth, data_access, spark_count
from dashboard.builder_widgets import Ctx, field_label, tag_label
from dashboard.charts import PALETTE
from dashboard.i18n import fmt_int, fmt_pct

MODEL_DIMENSIONS = ("lifecycle", "aipl", "rfm")
MAX_OVERLAP = 5  # saved segments compared with the current one (operations allows six segments)
BY_KEY = "builder-by"
OVERLAP_KEY = "builder-overlap"


def tr(key: str, **kw: object) -> str:
    return data_access.tr(key, **kw)


def _show_failure(err: Exception) -> None:
    """A definition problem in words; anything else as 'could not compute', never a traceback."""
    if isinstance(err, (SegmentError, OperationError)):
        st.error(tr("builder.invalid", error=data_access.say(err)))
    else:
        st.error(tr("error.unexpected", error=str(err).splitlines()[0] if str(err) else type(err).__name__))


# --------------------------------------------------------------------------- size and reach


def render_numbers(ctx: Ctx, segment: Segment, refs: str, store: AppStore | None) -> SegmentSize | None:
    """The live size, its share of all members and the reachable members per channel."""
    resolve = store.resolver() if store is not None else None
    try:
        # on Spark the count runs in the background with progress and Cancel: None until it is known
        counted = spark_count.size_reach(ctx.ds, segment.to_json(), refs, resolve)
    except (SegmentError, OperationError, EngineError) as err:
        _show_failure(err)
        return None
    if counted is None:
        return None
    size, reach = counted
    cols = st.columns(2 + len(reach))
    cols[0].metric(tr("builder.size"), fmt_int(size.count), help=tr("builder.size_help"))
    cols[1].metric(
        tr("builder.share"), fmt_pct(size.share), help=tr("builder.share_help", total=fmt_int(size.total_users))
    )
    for col, (channel, r) in zip(cols[2:], sorted(reach.items()), strict=True):
        label_key = f"builder.channel.{channel}"
        name = (
            tr(label_key) if tr(label_key) != label_key else channel
        )  # channels beyond sms/wechat/email keep their name
        value = fmt_int(r.reachable) if r.column_present else "—"
        help_text = (
            tr("builder.reach_help", column=r.column)
            if r.column_present
            else tr("builder.reach_missing", column=r.column)
        )
        col.metric(tr("builder.reach", channel=name), value, help=help_text)
    return size


def render_how_counted(ctx: Ctx, segment: Segment, size: SegmentSize | None, incomplete: int) -> None:
    """The "how this was counted" panel: the definition in words, as_of and the base."""
    with st.expander(tr("builder.how.title"), expanded=True, icon=":material/info:"):
        lines = describe_lines(segment, ctx.catalog, lang="zh" if ctx.lang == "zh" else "en")
        if segment.conditions:
            st.markdown(tr("builder.how.match_all" if segment.match == "all" else "builder.how.match_any"))
            st.markdown("\n".join(f"- {line}" for line in lines))
        else:
            st.markdown(tr("builder.how.everyone"))
        if size is not None:
            st.markdown(
                tr(
                    "builder.how.counted",
                    count=fmt_int(size.count),
                    total=fmt_int(size.total_users),
                    share=fmt_pct(size.share),
                    dataset=ctx.ds.name,
                    as_of=size.as_of.isoformat(),
                )
            )
        auth.render_scope_note(ctx.ds)
        st.caption(tr("builder.how.windows", as_of=ctx.ds.as_of.isoformat()))
        st.caption(tr("builder.how.reach"))
        if incomplete:
            st.caption(tr("builder.how.incomplete", n=incomplete))


# --------------------------------------------------------------------------- breakdown


def _dimension_label(ctx: Ctx, by: str) -> str:
    if by in MODEL_DIMENSIONS:
        return tr(f"builder.by.{by}")
    if by in ctx.catalog.tags:
        return tr("builder.by.tag", tag=tag_label(ctx, by))
    return field_label(ctx, by)


def _row_label(by: str, by_kind: str, value: str, kind: str, raw: object) -> str:
    if kind == "missing":
        return tr("builder.bd.missing")
    if kind == "other":
        return tr("builder.bd.other")
    if by_kind == "model" and isinstance(raw, str):
        return tr(f"{by}.{raw}")
    if by_kind == "tag":
        return tr("builder.bd.has" if raw else "builder.bd.has_not")
    return value


def render_breakdown(ctx: Ctx, segment: Segment, refs: str, store: AppStore | None) -> None:
    pii = ctx.pii
    options = [*MODEL_DIMENSIONS, *(a for a in ctx.catalog.attributes if a not in pii), *sorted(ctx.catalog.tags)]
    if BY_KEY not in st.session_state or st.session_state[BY_KEY] not in options:
        st.session_state[BY_KEY] = "lifecycle"
    by = st.selectbox(
        tr("builder.by"), options, key=BY_KEY, format_func=lambda b: _dimension_label(ctx, b), filter_mode="contains"
    )
    resolve = store.resolver() if store is not None else None
    try:
        result: Breakdown = data_access.segment_breakdown(
            ctx.ds, ctx.ds.fingerprint, segment.to_json(), refs, by, resolve
        )
    except (SegmentError, OperationError, EngineError) as err:
        _show_failure(err)
        return
    if result.segment_size == 0:
        st.info(tr("builder.bd.empty"))
        return
    labels = [_row_label(by, result.by_kind, r.value, r.kind, r.raw) for r in result.rows]
    title = tr("builder.bd.title", by=_dimension_label(ctx, by))
    fig = go.Figure()
    fig.add_bar(
        y=labels, x=[r.share_in_segment or 0 for r in result.rows], orientation="h", name=tr("builder.bd.in_segment"),
        marker_color=PALETTE[0], customdata=[r.count_in_segment for r in result.rows],
        hovertemplate="%{y}: %{x:.1%} (%{customdata:,})<extra></extra>",
    )  # fmt: skip
    fig.add_bar(
        y=labels, x=[r.share_in_base or 0 for r in result.rows], orientation="h", name=tr("builder.bd.in_base"),
        marker_color="#adb5bd", customdata=[r.count_in_base for r in result.rows],
        hovertemplate="%{y}: %{x:.1%} (%{customdata:,})<extra></extra>",
    )  # fmt: skip
    fig.update_layout(
        title=title, barmode="group", height=max(260, 38 * len(labels) + 90),
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, xaxis={"tickformat": ".0%"}, yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.12}, separators=".,",
    )  # fmt: skip
    st.plotly_chart(fig, key="builder-bd-chart")
    frame = pd.DataFrame(
        {
            tr("builder.bd.value"): labels,
            tr("builder.bd.in_segment"): [fmt_int(r.count_in_segment) for r in result.rows],
            tr("builder.bd.share_segment"): [fmt_pct(r.share_in_segment) for r in result.rows],
            tr("builder.bd.in_base"): [fmt_int(r.count_in_base) for r in result.rows],
            tr("builder.bd.share_base"): [fmt_pct(r.share_in_base) for r in result.rows],
            tr("builder.bd.index"): ["—" if r.index is None else f"{r.index:,.0f}" for r in result.rows],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch", key="builder-bd-table")
    st.caption(tr("builder.bd.index_help"))


# --------------------------------------------------------------------------- overlap


def render_overlap(ctx: Ctx, segment: Segment, refs: str, store: AppStore | None, current_id: str | None) -> None:
    """How the current segment overlaps the saved segments the operator picks."""
    saved = [s for s in ctx.saved if s.id != current_id]
    if not saved:
        st.info(tr("builder.overlap.none_saved"))
        return
    names = {s.id: s.name for s in saved}
    if OVERLAP_KEY in st.session_state:
        st.session_state[OVERLAP_KEY] = [sid for sid in st.session_state[OVERLAP_KEY] if sid in names]
    chosen = st.multiselect(
        tr("builder.overlap.pick"),
        list(names),
        key=OVERLAP_KEY,
        format_func=names.get,
        max_selections=MAX_OVERLAP,
        placeholder=tr("builder.overlap.placeholder"),
    )
    if not chosen:
        st.caption(tr("builder.overlap.hint"))
        return
    by_id = {s.id: s for s in saved}
    named = (
        (tr("builder.overlap.current"), segment.to_json()),
        *((by_id[sid].name, by_id[sid].segment.to_json()) for sid in chosen),
    )
    all_refs = refs + "".join(_refs_of(store, by_id[sid].segment) for sid in chosen)
    try:
        result = data_access.segment_overlap(
            ctx.ds, ctx.ds.fingerprint, named, all_refs, store.resolver() if store else None
        )
    except (SegmentError, OperationError, EngineError) as err:
        _show_failure(err)
        return
    current = result.sizes[0]
    rows = []
    for i, sid in enumerate(chosen, start=1):
        both = result.matrix[0][i]
        rows.append(
            {
                tr("builder.overlap.segment"): names[sid],
                tr("builder.overlap.size"): fmt_int(result.sizes[i]),
                tr("builder.overlap.both"): fmt_int(both),
                tr("builder.overlap.of_current"): fmt_pct(both / current if current else None),
                tr("builder.overlap.of_saved"): fmt_pct(both / result.sizes[i] if result.sizes[i] else None),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="builder-overlap-table")
    st.caption(tr("builder.overlap.union", union=fmt_int(result.union), total=fmt_int(result.total_users)))


def _refs_of(store: AppStore | None, segment: Segment) -> str:
    from dashboard.builder_session import saved_refs_token

    return saved_refs_token(store, segment)


# --------------------------------------------------------------------------- share link and JSON


def share_params(segment: Segment, saved_id: str | None, lang: str) -> dict[str, str]:
    """The query parameters that restore this builder: `s` (the definition), `segment`, `lang`."""
    params: dict[str, str] = {}
    if segment.conditions:
        params["s"] = encode_segment(segment)
    if saved_id:
        params["segment"] = saved_id
    params["lang"] = lang
    return params


def sync_url(params: dict[str, str]) -> None:
    """Keep the address bar equal to the builder (only the keys we own; others are left alone)."""
    for name in ("s", "segment", "lang"):
        wanted = params.get(name)
        if wanted is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != wanted:
            st.query_params[name] = wanted


def share_url(params: dict[str, str]) -> str:
    base = st.context.url or "/builder"
    return f"{base.split('?')[0]}?{urlencode(params)}"


def render_share(params: dict[str, str]) -> None:
    st.markdown(f"**{tr('builder.share_link')}**")
    st.code(share_url(params), language=None, wrap_lines=True)
    st.caption(tr("builder.share_link_help"))


def definition_json(segment: Segment) -> str:
    return json.dumps(segment.to_dict(), ensure_ascii=False, indent=2)
