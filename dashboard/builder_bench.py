"""Segment Builder reruns: server time of each edit, measured in Streamlit's AppTest on a real dataset.

Each timed rerun changes the definition (the event count of the third condition
steps up), so no cached count can answer it: size, reach per channel, the open
tab's breakdown (or overlap) and the description all run again, as after an
operator's edit. The builder times itself with `time.perf_counter` around its
fragment and leaves the figure in session state; the whole AppTest run (page,
navigation and AppTest's own overhead) is reported beside it. It drives Streamlit, so
it lives in the dashboard layer (`adesk bench builder`; see dashboard/commands/bench.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from core.bench import median, percentile

TARGET_MS = 300.0
# The definition the edits start from: city, an OR group of a tag and a behaviour.
START = {
    "version": 1,
    "match": "all",
    "conditions": [
        {"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou", "Beijing"]},
        {"kind": "group", "match": "any", "conditions": [
            {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
            {"kind": "event", "event": "purchase", "op": ">=", "count": 1, "within_days": 90},
        ]},
    ],
}  # fmt: skip
SAVED = (
    ("Coffee lovers", {"conditions": [{"kind": "tag", "tag": "interest/food/coffee", "op": "has"}]}),
    ("Shanghai members", {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}]}),
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_DATA", "data/demo"),
        help="dataset directory (default $ADESK_DATA or data/demo)",
    )
    p.add_argument("--runs", type=int, default=21, help="timed reruns per scenario (default 21)")
    p.add_argument("--cache-dir", default=None, help="derived-cache directory (default $ADESK_CACHE_DIR)")


def _app() -> None:
    import streamlit as st

    from dashboard import data_access
    from dashboard.views import builder

    st.set_page_config(layout="wide")
    data_access.lang()
    st.navigation([st.Page(builder.main, url_path="builder", default=True)]).run()


def _scenario(at, runs: int, first_count: int, key: str) -> dict:
    """Time `runs` edits of the event count; each makes a definition not seen before."""
    from dashboard.views.builder import TIMING_KEY

    server, wall = [], []
    for i in range(runs):
        started = time.perf_counter()
        at.number_input(key=key).set_value(first_count + i).run()
        wall.append((time.perf_counter() - started) * 1000)
        if at.exception:
            raise RuntimeError(f"the builder failed during the benchmark: {at.exception[0].value}")
        server.append(float(at.session_state[TIMING_KEY]))
    return {
        "server_ms": {"p50": median(server), "p90": percentile(server, 0.9), "max": max(server)},
        "apptest_run_ms": {"p50": median(wall), "p90": percentile(wall, 0.9)},
        "runs": runs,
    }


def run(args: argparse.Namespace) -> dict:
    """Median server time of builder reruns after edits, in two scenarios ."""
    from streamlit.testing.v1 import AppTest

    # Bare-mode notices ("missing ScriptRunContext", ~1,000 lines a run) are not results.
    # Streamlit resets its loggers' levels when a script run loads the config, so a filter
    # on its loggers (which do not propagate) drops what is below ERROR.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("streamlit")]:
        logging.getLogger(name).addFilter(lambda record: record.levelno >= logging.ERROR)

    from core.dataset import fingerprint, open_dataset
    from core.segments.model import parse_segment
    from core.segments.urlcodec import encode_segment
    from core.store import AppStore
    from dashboard.data_access import open_cached

    data = Path(args.data).resolve()
    if args.cache_dir:
        os.environ["ADESK_CACHE_DIR"] = str(args.cache_dir)
    ds = open_dataset(data)  # builds the derived cache first, outside any timing
    users = ds.total_users
    ds.close()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ADESK_DATA"] = str(data)
        os.environ["ADESK_APP_DB"] = str(Path(tmp) / "app.db")
        store = AppStore(os.environ["ADESK_APP_DB"])
        saved_ids = [store.save_segment(name, parse_segment(d)).id for name, d in SAVED]
        at = AppTest.from_function(_app, default_timeout=120)
        at.query_params["s"] = encode_segment(parse_segment(START))
        at.run()  # cold: imports, dataset open, value lists; not timed
        count_key = next(w.key for w in at.number_input if w.key and w.key.endswith("-count"))
        at.number_input(key=count_key).set_value(2).run()  # warm-up edit
        # the server's bitmap indexes for the columns these counts read: built before timing, as
        # they are after a server's first minute (the same process, so the same cached dataset)
        index = open_cached(str(data), fingerprint(data)).bitmap_index()
        index.wait()
        breakdown = _scenario(at, args.runs, 3, count_key)
        at.session_state["builder-tabs"] = "Overlap"
        at.run()
        at.multiselect(key="builder-overlap").set_value(saved_ids).run()
        index.wait()  # the saved segments' columns
        overlap = _scenario(at, args.runs, 3 + args.runs, count_key)
    return {
        "dataset": str(data),
        "users": users,
        "target_ms": TARGET_MS,
        "edit_with_breakdown": breakdown,
        "edit_with_overlap_of_2_saved": overlap,
        "meets_target": breakdown["server_ms"]["p50"] < TARGET_MS,
    }


def render(result: dict) -> str:
    lines = [
        f"Segment Builder reruns on {result['dataset']} ({result['users']:,} users); "
        f"target p50 < {result['target_ms']:.0f} ms",
        f"{'scenario':<32} {'server p50':>11} {'p90':>8} {'max':>8} {'AppTest run p50':>16}",
    ]
    for name in ("edit_with_breakdown", "edit_with_overlap_of_2_saved"):
        r = result[name]
        s = r["server_ms"]
        lines.append(
            f"{name:<32} {s['p50']:>9.0f}ms {s['p90']:>6.0f}ms {s['max']:>6.0f}ms {r['apptest_run_ms']['p50']:>14.0f}ms"
        )
    lines.append("meets target: " + ("yes" if result["meets_target"] else "NO"))
    return "\n".join(lines)
