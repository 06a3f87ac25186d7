"""The one place the dashboard opens data and caches it; pages call these helpers, never DuckDB."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from core.analyses import ab_members
from core.dataset import Dataset, fingerprint, open_dataset
from core.models import aipl_history
from core.problems import DatasetError, ValidationReport
from dashboard.i18n import LANGUAGES, t

DEFAULT_DATA = "data/demo"


def dataset_path() -> Path:
    return Path(os.environ.get("ADESK_DATA") or DEFAULT_DATA).expanduser().resolve()


@st.cache_data(ttl=5, show_spinner=False)
def _fingerprint(path: str) -> str:
    return fingerprint(Path(path))


@st.cache_resource(show_spinner=False, max_entries=2)
def open_cached(path: str, fp: str) -> Dataset:
    # `fp` is part of the cache key: changed files open (and build) a new cache.
    ds = open_dataset(path)
    # a long-lived server: the columns its counts read get bitmap indexes, built in the background
    ds.bitmap_index().build_in_background()
    # and the AIPL stage history (a file per version of the data, read back in well under a second)
    aipl_history.build_in_background(ds)
    # and the experiments' assignments resolved per member (a file per version of the data)
    ab_members.build_in_background(ds)
    return ds


def lang() -> str:
    """The interface language: session state, else the URL's `lang`, else English."""
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", "en")
        st.session_state["lang"] = wanted if wanted in LANGUAGES else "en"
    return st.session_state["lang"]


def tr(key: str, **kwargs: object) -> str:
    return t(key, lang(), **kwargs)


def say(err: BaseException) -> str:
    """A core error's message in the interface language (coded messages; English otherwise)."""
    from dashboard.messages import error_text

    return error_text(err, lang())


def get_dataset() -> Dataset | None:
    """The opened dataset, or None after rendering why it cannot be opened (never a traceback)."""
    path = dataset_path()
    if not path.is_dir():
        st.warning(tr("dataset.missing", path=str(path)))
        return None
    try:
        with st.spinner(tr("dataset.building")):
            ds = open_cached(str(path), _fingerprint(str(path)))
    except DatasetError as err:
        render_report(err.report, path)
        return None
    from dashboard.auth import current_access

    scope = current_access().scope
    # a scoped person's every count, analysis and export reads only their scope's members (core/access.py)
    ds = _scoped(ds, ds.fingerprint, scope.to_json()) if scope is not None else ds
    engine = (os.environ.get("ADESK_ENGINE") or "duckdb").strip().lower()
    if engine == "duckdb":
        return ds
    from core.engine import EngineError

    try:
        return _on_engine(ds, ds.fingerprint, engine)
    except EngineError as err:  # a bad engine setting, or no pyspark: the reason, no traceback
        st.error(str(err))
        return None


@st.cache_resource(show_spinner=False, max_entries=32)
def _on_engine(_ds: Dataset, fp: str, engine: str) -> Dataset:
    """The dataset answered by ADESK_ENGINE's engine (`adesk serve --engine spark`: core/engine/spark_dataset.py)."""
    from core.engine import engine_dataset

    return engine_dataset(_ds)


@st.cache_resource(show_spinner=False, max_entries=32)
def _scoped(_ds: Dataset, fp: str, scope_json: str) -> Dataset:
    from core.access import scoped_dataset
    from core.segments.model import parse_segment

    return scoped_dataset(_ds, parse_segment(scope_json))


def render_report(report: ValidationReport, path: Path) -> None:
    st.error(tr("dataset.unusable", path=str(path)))
    st.table(problems_frame(report).set_index(tr("problem.severity")))


def problems_frame(report: ValidationReport) -> pd.DataFrame:
    from dashboard.messages import problem_text

    return pd.DataFrame(
        [
            {
                tr("problem.severity"): tr(f"problem.{p.severity}"),
                tr("problem.file"): p.file,
                tr("problem.column"): p.column or "",
                tr("problem.message"): texts[0],
                tr("problem.fix"): texts[1],
            }
            for p in report.problems
            for texts in [problem_text(p, lang())]
        ],
        columns=[
            tr("problem.severity"),
            tr("problem.file"),
            tr("problem.column"),
            tr("problem.message"),
            tr("problem.fix"),
        ],
    )


# --- saved segments, builder lookups and tag catalog (cached; keyed by dataset fingerprint) ---------


@st.cache_resource(show_spinner=False, max_entries=16)
def _open_store(kind: str, path: str):
    if kind == "funnels":
        from core.funnel_store import FunnelStore

        return FunnelStore(path)
    from core.store import AppStore

    return AppStore(path)


def _app_database(kind: str):
    """One of the app database's stores at ADESK_APP_DB (default data/app.db), or None after saying why."""
    from core.store import StoreError, default_db_path

    try:
        return _open_store(kind, str(default_db_path().absolute()))
    except StoreError as err:
        st.error(tr("store.unusable", error=say(err)))
        return None


def get_store():
    """The app store (saved segments, export log, grants), or None after saying why it cannot be opened."""
    return _app_database("segments")


@st.cache_data(show_spinner=False, max_entries=512)
def top_values(_ds: Dataset, fp: str, source: str, name: str, limit: int):
    from core import values

    return values.top_values(_ds, source, name, limit)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def search_values(_ds: Dataset, fp: str, source: str, name: str, text: str):
    from core import values

    return values.search_values(_ds, source, name, text)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=512)
def numeric_range(_ds: Dataset, fp: str, source: str, name: str):
    from core import values

    return values.numeric_range(_ds, source, name)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=8)
def tag_entries(_ds: Dataset, fp: str):
    from core import tags

    return tags.list_tags(_ds)


@st.cache_data(show_spinner=False, max_entries=256)
def tag_distribution(_ds: Dataset, fp: str, tag: str):
    from core import tags

    return tags.value_distribution(_ds, tag)


@st.cache_data(show_spinner=False, max_entries=256)
def related_tags(_ds: Dataset, fp: str, tag: str):
    from core import tags

    return tags.related_tags(_ds, tag)


# Live numbers: `refs` is the JSON of the saved definitions the segment refers to, so an
# edit to a saved segment elsewhere is a new cache entry, never a stale count.
@st.cache_data(show_spinner=False, max_entries=256)
def segment_size_reach(_ds: Dataset, fp: str, segment_json: str, refs: str, _resolve=None):
    from core.segments import operations
    from core.segments.model import parse_segment

    segment = parse_segment(segment_json)
    return operations.size(_ds, segment, _resolve), operations.reach(_ds, segment, _resolve)


@st.cache_data(show_spinner=False, max_entries=256)
def segment_breakdown(_ds: Dataset, fp: str, segment_json: str, refs: str, by: str, _resolve=None):
    from core.segments import operations
    from core.segments.model import parse_segment

    return operations.breakdown(_ds, parse_segment(segment_json), by, _resolve)


@st.cache_data(show_spinner=False, max_entries=128)
def segment_overlap(_ds: Dataset, fp: str, named: tuple[tuple[str, str], ...], refs: str, _resolve=None):
    from core.segments import operations
    from core.segments.model import parse_segment

    return operations.overlap(_ds, [(name, parse_segment(text)) for name, text in named], _resolve)


# --- cohort retention ---------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def retention_table(_ds: Dataset, fp: str, spec, segment_json: str | None, refs: str, _resolve=None):
    """The Cohorts page's table (core.analyses.retention), per spec, segment and saved definitions it uses."""
    from core.analyses.retention import retention
    from core.segments.model import parse_segment

    return retention(_ds, spec, parse_segment(segment_json) if segment_json else None, _resolve)


@st.cache_data(show_spinner=False, max_entries=8)
def first_event_day(_ds: Dataset, fp: str):
    from core.analyses import retention

    return retention.first_event_day(_ds)


# --- experiments (A/B results) ---------------------------------------------------------------------


def exports_key(store) -> str:
    """Changes whenever an export is logged: exports with a holdout are experiments."""
    if store is None:
        return ""
    return ",".join(r.export_id for r in store.list_exports(limit=10_000, status="succeeded") if r.holdout_share > 0)


def resolve_assignments(ds: Dataset, text: str) -> None:
    """The experiments' assignments resolved per member (once per data version) under a spinner when not yet done."""
    if ab_members.needed(ds) and not ab_members.is_resolved(ds):
        with st.spinner(text):
            ab_members.ensure(ds)


@st.cache_data(show_spinner=False, max_entries=16, ttl=300)
def experiment_list(_ds: Dataset, fp: str, exports: str, _store=None):
    from core.analyses.ab import experiment_list as listing

    return listing(_ds, _store)


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def ab_result(_ds: Dataset, fp: str, spec_json: str, exports: str, refs: str, _store=None):
    import json as _json

    from core.analyses.ab import ABSpec
    from core.analyses.ab import ab_result as compute

    return compute(_ds, ABSpec(**_json.loads(spec_json)), _store)


@st.cache_data(show_spinner=False, max_entries=128)
def funnel_result(
    _ds: Dataset, fp: str, funnel_json: str, base_json: str, refs: str, breakdown: str, trend: str, _resolve=None
):
    """The Funnels page's numbers (core.analyses.funnels), cached per funnel, base, breakdown and trend."""
    import json

    from core.analyses.funnels import funnel
    from core.segments.model import parse_segment

    base = parse_segment(base_json) if base_json else None
    return funnel(
        _ds, json.loads(funnel_json), segment=base, resolve=_resolve, breakdown=breakdown or None, trend=trend or None
    )


def get_funnel_store():
    """Saved funnels in the app database, or None after saying why it cannot be opened."""
    return _app_database("funnels")
