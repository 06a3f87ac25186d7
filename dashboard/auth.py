"""Who is using the dashboard: sign-in with the company's identity provider, or local mode.

With an `[auth]` section in `.streamlit/secrets.toml` (Streamlit's own OIDC sign-in, `st.login`),
every page needs sign-in and the person's grant in the app store (core/access.py) gives their role
and data scope; `[access] unknown = "viewer" | "refuse"` says what a signed-in person without a
grant gets (default viewer). Without `[auth]` the app runs in **local mode**: one person on their own
machine, the role from ADESK_ROLE, no scope.
"""

from __future__ import annotations

import streamlit as st

from core.access import Access, AccessError, access_for
from core.roles import current_role
from core.store import current_user
from dashboard.data_access import get_store, say, tr


def _secrets() -> dict:
    try:
        return {k: st.secrets[k] for k in ("auth", "access") if k in st.secrets}
    except Exception:  # noqa: BLE001 - no secrets file at all (FileNotFoundError or Streamlit's own)
        return {}


def sign_in_configured() -> bool:
    return "auth" in _secrets()


def current_access() -> Access:
    """The person's access; in team mode renders the sign-in (or the refusal) and stops the page."""
    if not sign_in_configured():
        return Access(current_user(), current_role(), None, None, "local")
    if not st.user.is_logged_in:
        _sign_in_page()
        st.stop()
    email = str(st.user.get("email") or "")
    groups = st.user.get("groups") or ()
    store = get_store()
    policy = str(_secrets().get("access", {}).get("unknown", "viewer"))
    try:
        if store is None or not email:
            raise AccessError(tr("auth.no_email") if not email else tr("store.unusable", error=""))
        return access_for(store, email, tuple(str(g) for g in groups), unknown=policy)
    except AccessError as err:
        st.error(tr("auth.refused", error=say(err)))
        st.button(tr("auth.sign_out"), on_click=st.logout, key="auth-sign-out-refused")
        st.stop()
        raise  # unreachable: st.stop() ends the run


def _sign_in_page() -> None:
    st.title(tr("app.title"))
    st.info(tr("auth.sign_in_needed"))
    st.button(tr("auth.sign_in"), type="primary", on_click=st.login, key="auth-sign-in")


def who() -> str:
    """The person acting: the signed-in e-mail, or (local mode) ADESK_USER / the login name."""
    return current_access().who


def sidebar(access: Access) -> None:
    """Who is signed in (or that this is local mode), their role and scope, and sign-out."""
    with st.sidebar:
        if access.mode == "local":
            st.caption(tr("auth.local", role=access.role.role))
            return
        scope = tr("auth.scoped") if access.scope is not None else tr("auth.unscoped")
        st.caption(tr("auth.signed_in", who=access.who, role=access.role.role, scope=scope))
        st.button(tr("auth.sign_out"), on_click=st.logout, key="auth-sign-out")


# Cookies that identify one browser session: Streamlit's sign-in cookie, else its XSRF cookie.
SESSION_COOKIES = ("_streamlit_user", "_streamlit_xsrf")


def session_binding() -> tuple[str, str] | None:
    """(cookie, value) that a download request must carry: the link works only in this browser session."""
    try:
        cookies = st.context.cookies
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        return None
    for name in SESSION_COOKIES:
        value = cookies.get(name)
        if value:
            return name, str(value)
    return None


def render_scope_note(ds) -> None:
    """For a scoped person, the "how this was counted" line that names their data scope."""
    if getattr(ds, "scope", None) is None:
        return
    from core.segments.describe import describe
    from dashboard.data_access import lang

    st.caption(tr("auth.scope_note", scope=describe(ds.scope, ds.catalog, lang=lang())))
