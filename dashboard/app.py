"""Audience Desk: navigation only. Each page is a module in dashboard/views with a main()."""

from __future__ import annotations

import streamlit as st

from dashboard import auth, data_access
from dashboard.i18n import LANGUAGES
from dashboard.views import access as access_page
from dashboard.views import cohorts, funnels, overview


def _language_switch() -> None:
    current = data_access.lang()
    choice = st.sidebar.segmented_control(
        data_access.tr("lang.label"),
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        default=current,
        key="lang_switch",
    )
    if choice and choice != current:
        st.session_state["lang"] = choice
        st.query_params["lang"] = choice
        st.rerun()


def main() -> None:
    st.set_page_config(page_title="Audience Desk", page_icon="🎯", layout="wide")
    data_access.lang()
    tr = data_access.tr
    access = auth.current_access()  # with sign-in configured: the sign-in page until signed in
    overview_page = st.Page(overview.main, title=tr("nav.overview"), url_path="overview")
    pages = {
        tr("nav.group.audiences"): [
            # The default page is served at "/" whatever its url_path: a hidden landing page takes
            # that place and moves to the Overview, so /overview is a working URL too.
            st.Page(_home, title=tr("nav.overview"), url_path="home", default=True, visibility="hidden"),
            overview_page,
            *_optional_pages(
                [
                    ("dashboard.views.builder", "nav.builder", "builder"),
                    ("dashboard.views.catalog", "nav.catalog", "catalog"),
                    ("dashboard.views.exports", "nav.exports", "exports"),
                ]
            ),
        ],
        tr("nav.group.analysis"): [
            *_optional_pages([("dashboard.views.aipl", "nav.aipl", "aipl")]),
            st.Page(funnels.main, title=tr("nav.funnels"), url_path="funnels"),
            st.Page(cohorts.main, title=tr("nav.cohorts"), url_path="cohorts"),
            *_optional_pages([("dashboard.views.experiments", "nav.experiments", "experiments")]),
        ],
    }
    if access.role.manages_access or access.mode == "local":
        pages[tr("nav.group.admin")] = [st.Page(access_page.main, title=tr("nav.access"), url_path="access")]
    nav = st.navigation(pages)
    _language_switch()
    auth.sidebar(access)
    nav.run()


def _home() -> None:
    """The root URL shows the Overview at its own URL (keeping the query, e.g. ?lang=zh)."""
    st.switch_page(st.Page(overview.main, url_path="overview"), query_params=st.query_params.to_dict())


def _optional_pages(specs: list[tuple[str, str, str]]) -> list:
    """Pages whose modules exist; each module has a main()."""
    import importlib

    found = []
    for module_name, title_key, url in specs:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        found.append(st.Page(module.main, title=data_access.tr(title_key), url_path=url))
    return found


main()
