"""The builder's live count on Spark: computed in the background, with progress and a Cancel button.

On DuckDB the count is the cached call as before (milliseconds: nothing to show). On Spark a count
takes seconds (a job per query, scheduled on the executors), so it runs on a worker thread as a
core.engine.spark_progress.SparkJob tagged with its own id: the builder stays usable meanwhile (an
edit stops the count of the old definition on the cluster and starts the new one), a small fragment
polls the job's tasks into a progress bar, and Cancel stops it. The worker calls the same cached
function as DuckDB's path, so a definition counted once answers at once afterwards.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from core.engine.spark_progress import SparkJob
from dashboard import data_access

JOB_KEY = "builder.spark_count"  # session state: (definition key, SparkJob) of the latest count
CANCEL_KEY = "builder-count-cancel"
AGAIN_KEY = "builder-count-again"
POLL_SECONDS = 0.5
QUICK_SECONDS = 0.3  # a count answered this fast (one counted before) shows with no progress bar


def _cancel() -> None:
    held = st.session_state.get(JOB_KEY)
    if held is not None and not held[1].done:
        held[1].cancel()


def _again() -> None:
    st.session_state.pop(JOB_KEY, None)


@st.fragment(run_every=POLL_SECONDS)
def _progress(job: SparkJob) -> None:
    """The count's progress, redrawn every POLL_SECONDS; the whole builder reruns once it is done."""
    if job.done:
        st.rerun()
    done, total = job.progress()
    if total:
        st.progress(done / total, text=data_access.tr("builder.count.running", done=done, total=total))
    else:
        st.progress(0.0, text=data_access.tr("builder.count.starting"))


def size_reach(ds: Any, segment_json: str, refs: str, resolve: Any) -> tuple[Any, Any] | None:
    """(size, reach) of the definition; on Spark None while it is being counted (progress and Cancel shown)."""
    if ds.engine == "duckdb":
        return data_access.segment_size_reach(ds, ds.fingerprint, segment_json, refs, resolve)
    key = (ds.fingerprint, segment_json, refs)
    held = st.session_state.get(JOB_KEY)
    if held is not None and held[0] != key:  # the definition changed: stop counting the old one
        _cancel()
        held = None
    if held is None:
        job = SparkJob(ds.spark, lambda: data_access.segment_size_reach(ds, key[0], segment_json, refs, resolve))
        add_script_run_ctx(job.thread)  # the worker reads Streamlit's cache like the page does
        held = (key, job.start())
        st.session_state[JOB_KEY] = held
    job = held[1]
    if job.wait(QUICK_SECONDS):
        if job.cancelled:
            st.info(data_access.tr("builder.count.cancelled"))
            st.button(data_access.tr("builder.count.again"), key=AGAIN_KEY, on_click=_again)
            return None
        return job.result()
    _progress(job)
    st.button(data_access.tr("builder.count.cancel"), key=CANCEL_KEY, on_click=_cancel, icon=":material/stop:")
    st.caption(data_access.tr("builder.count.usable"))
    return None
