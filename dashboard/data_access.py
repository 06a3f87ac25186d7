"""The one place the dashboard opens data and caches it; pages call these helpers, never DuckDB."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from core.dataset import Dataset, fingerprint, open_dataset
from core.problems import DatasetError, ValidationReport
from dashboard.i18n import LANGUAGES, t

DEFAULT_DATA = "data/demo"


def dataset_path() -> Path:
    return Path(os.environ.get("ADESK_DATA") or DEFAULT_DATA).expanduser().resolve()


@st.cache_data(ttl=5, show_spinner=False)
def _fingerprint(path: str) -> str:
    return fingerprint(Path(path))


@st.cache_resource(show_spinner=False, max_entries=2)
def _open(path: str, fp: str) -> Dataset:
    # `fp` is part of the cache key: changed files open (and build) a new cache.
    return open_dataset(path)


def lang() -> str:
    """The interface language: session state, else the URL's `lang`, else English."""
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", "en")
        st.session_state["lang"] = wanted if wanted in LANGUAGES else "en"
    return st.session_state["lang"]


def tr(key: str, **kwargs: object) -> str:
    return t(key, lang(), **kwargs)


def get_dataset() -> Dataset | None:
    """The opened dataset, or None after rendering why it cannot be opened (never a traceback)."""
    path = dataset_path()
    if not path.is_dir():
        st.warning(tr("dataset.missing", path=str(path)))
        return None
    try:
        with st.spinner(tr("dataset.building")):
            return _open(str(path), _fingerprint(str(path)))
    except DatasetError as err:
        render_report(err.report, path)
        return None


def render_report(report: ValidationReport, path: Path) -> None:
    st.error(tr("dataset.unusable", path=str(path)))
    st.table(problems_frame(report).set_index(tr("problem.severity")))


def problems_frame(report: ValidationReport) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                tr("problem.severity"): p.severity,
                tr("problem.file"): p.file,
                tr("problem.column"): p.column or "",
                tr("problem.message"): p.message,
                tr("problem.fix"): p.fix,
            }
            for p in report.problems
        ],
        columns=[tr("problem.severity"), tr("problem.file"), tr("problem.column"), tr("problem.message"), tr("problem.fix")],
    )
