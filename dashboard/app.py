"""Audience Desk: navigation only. Each page is a module in dashboard/views with a main()."""

from __future__ import annotations

import streamlit as st

from dashboard import data_access
from dashboard.i18n import LANGUAGES
from dashboard.views import funnels, overview, placeholder


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
    pages = {
        tr("nav.group.audiences"): [
            st.Page(overview.main, title=tr("nav.overview"), url_path="overview", default=True),
            *_optional_pages(
                [
                    ("dashboard.views.builder", "nav.builder", "builder"),
                    ("dashboard.views.catalog", "nav.catalog", "catalog"),
                    ("dashboard.views.exports", "nav.exports", "exports"),
                ]
            ),
        ],
        tr("nav.group.analysis"): [
            st.Page(funnels.main, title=tr("nav.funnels"), url_path="funnels"),
            st.Page(placeholder.cohorts, title=tr("nav.cohorts"), url_path="cohorts"),
            st.Page(placeholder.experiments, title=tr("nav.experiments"), url_path="experiments"),
        ],
    }
    nav = st.navigation(pages)
    _language_switch()
    nav.run()


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
