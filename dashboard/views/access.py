"""Access (admins, or the one person in local mode): grants of roles and data scopes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access import ACCESS_ROLES, AccessError, grant, grants, revoke
from core.segments.describe import describe
from core.segments.model import SegmentError, parse_segment
from dashboard import auth
from dashboard.data_access import get_store, lang, say, tr


def main() -> None:
    st.title(tr("access.title"))
    st.caption(tr("access.intro"))
    access = auth.current_access()
    store = get_store()
    if store is None or not (access.role.manages_access or access.mode == "local"):
        return
    found = grants(store)
    if not found:
        st.info(tr("access.none"))
    else:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        tr("access.col.subject"): g.subject,
                        tr("access.col.role"): g.role,
                        tr("access.col.scope"): describe(g.scope, None, lang=lang())
                        if g.scope
                        else tr("auth.unscoped"),
                        tr("access.col.by"): g.granted_by,
                        tr("access.col.at"): g.granted_at.replace("T", " ")[:19],
                    }
                    for g in found
                ]
            ),
            hide_index=True,
            width="stretch",
        )
    with st.form("access-grant"):
        subject = st.text_input(tr("access.subject"), key="access-subject")
        role = st.selectbox(tr("access.role"), ACCESS_ROLES, index=1, key="access-role")
        scope_text = st.text_area(tr("access.scope"), key="access-scope", height=100)
        if st.form_submit_button(tr("access.grant"), type="primary"):
            try:
                scope = parse_segment(scope_text) if scope_text.strip() else None
                made = grant(store, subject, role, scope, access.who)
                st.success(tr("access.granted", role=made.role, subject=made.subject))
            except (AccessError, SegmentError) as err:
                st.error(tr("access.error", error=say(err)))
    if found:
        gone = st.selectbox(tr("access.revoke"), [g.subject for g in found], key="access-revoke-pick")
        if st.button(tr("access.revoke"), key="access-revoke"):
            revoke(store, gone, access.who)
            st.success(tr("access.revoked", subject=gone))
            st.rerun()
