"""The Cohorts page's "how this was counted" panel: the definition in words, EN / 简体中文."""

from __future__ import annotations

import streamlit as st

from core.analyses.retention import SIGNUP, RetentionSpec
from core.dataset import Dataset
from core.segments.model import EventFilter
from dashboard import auth
from dashboard.data_access import tr
from dashboard.i18n import fmt_int


def _filters(where: tuple[EventFilter, ...]) -> str:
    if not where:
        return ""
    words = " and ".join(f"{f.field} {f.op} {list(f.values) if f.values is not None else f.value}" for f in where)
    return tr("cohorts.filters_where", filters=words)


def render_how(ds: Dataset, spec: RetentionSpec, named: list) -> None:
    """Every rule the numbers follow (ANALYSES.md §4), with this page's choices filled in."""
    as_of = ds.as_of.isoformat()
    period = tr(f"cohorts.period_word.{spec.period}")
    lines = []
    if spec.start == SIGNUP:
        lines.append(tr("cohorts.how.start_signup", as_of=as_of))
    else:
        lines.append(tr("cohorts.how.start_event", event=spec.start, as_of=as_of, filters=_filters(spec.start_where)))
    lines.append(
        tr(
            "cohorts.how.cohort",
            period=period,
            tz=ds.catalog.timezone,
            first=spec.first.isoformat(),
            last=spec.last.isoformat(),
        )
    )
    ret = spec.return_event or tr("cohorts.any")
    key = "cohorts.how.return_on" if spec.mode == "on" else "cohorts.how.return_after"
    lines.append(tr(key, ret=ret, filters=_filters(spec.return_where), period=period, as_of=as_of))
    lines.append(tr("cohorts.how.period0"))
    lines.append(tr("cohorts.how.incomplete", as_of=as_of))
    lines.append(tr("cohorts.how.mean"))
    name, result = named[0]
    lines.append(tr("cohorts.how.base", base=name, as_of=as_of, total=fmt_int(result.total), n=len(result.cohorts)))
    if len(named) > 1:
        lines.append(tr("cohorts.how.compare", name=named[1][0], total=fmt_int(named[1][1].total)))
    drill = tr("cohorts.how.drill_signup") if spec.start == SIGNUP else tr("cohorts.how.drill_event")
    lines.append(tr("cohorts.how.drill", how=drill))
    with st.expander(tr("cohorts.how"), expanded=False):
        st.markdown("\n".join(f"- {line}" for line in lines))
        auth.render_scope_note(ds)
