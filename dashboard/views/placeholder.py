"""Navigation slots for analyses that later issues fill."""

from __future__ import annotations

import streamlit as st

from dashboard.data_access import tr


def _slot(title_key: str) -> None:
    st.title(tr(title_key))
    st.info(tr("coming_soon"))


def funnels() -> None:
    _slot("nav.funnels")


def cohorts() -> None:
    _slot("nav.cohorts")


def experiments() -> None:
    _slot("nav.experiments")
