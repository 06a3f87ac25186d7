"""Segment Builder reruns: server time of each edit, measured in Streamlit's AppTest on a real dataset.

Each timed rerun changes the definition (the event count of the third condition
steps up), so no cached count can answer it: size, reach per channel, the open
tab's breakdown (or overlap) and the description all run again, as after an
operator's edit. The builder times itself with `time.perf_counter` around its
fragment and leaves the figure in session state; the whole AppTest run (page,
navigation and AppTest's own overhead) is reported beside it.
"""

from __future__ import annotations

import argparse
import importlib
import os

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
    p.add_argument("data", nargs="?", default=os.environ.get("ADESK_DATA", "data/demo"), help="dataset directory (default $ADESK_DATA or data/demo)")
    p.add_argument("--runs", type=int, default=21, help="timed reruns per scenario (default 21)")
    p.add_argument("--cache-dir", default=None, help="derived-cache directory (default $ADESK_CACHE_DIR)")


def run(args: argparse.Namespace) -> dict:
    # The measurement drives Streamlit's AppTest, so it lives in the dashboard layer
    # (core never imports streamlit or dashboard); it is loaded by name when asked for.
    module = importlib.import_module("dashboard.builder_bench")
    return module.run(args, START, SAVED, TARGET_MS)


def render(result: dict) -> str:
    lines = [
        f"Segment Builder reruns on {result['dataset']} ({result['users']:,} users); target p50 < {result['target_ms']:.0f} ms",
        f"{'scenario':<32} {'server p50':>11} {'p90':>8} {'max':>8} {'AppTest run p50':>16}",
    ]
    for name in ("edit_with_breakdown", "edit_with_overlap_of_2_saved"):
        r = result[name]
        s = r["server_ms"]
        lines.append(f"{name:<32} {s['p50']:>9.0f}ms {s['p90']:>6.0f}ms {s['max']:>6.0f}ms {r['apptest_run_ms']['p50']:>14.0f}ms")
    lines.append("meets target: " + ("yes" if result["meets_target"] else "NO"))
    return "\n".join(lines)
