"""Audience export: seconds and peak memory to write N rows × 6 columns (CSV by default) at full scale.

Each size exports the first N users by id (`user_id < u<N+1>`) with six columns:
user_id, city, age, phone (masked in SQL), rfm_class, lifecycle; no channel filter
and no holdout, so exactly N rows are written. A run is the whole export as the
CLI does it: plan (one counting query), COPY to a temporary file, SHA-256 of the
file, audit row, rename. Memory is the peak resident size of this process above
its size just before the run (sampled every 50 ms), DuckDB's buffers included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.bench import PeakMemory, median

COLUMNS = ("city", "age", "phone", "rfm_class", "lifecycle")  # + user_id = 6
DEFAULT_SIZES = (1_000_000, 5_000_000)
TARGET_SECONDS_1M = 1.5
TARGET_MB = 500


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_BENCH_DATA", "/tmp/demo10m"),
        help="a demo dataset (default /tmp/demo10m, 10M users)",
    )
    p.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="rows per export, comma-separated (default 1000000,5000000)",
    )
    p.add_argument(
        "--repeat", type=int, default=3, help="runs per size up to 1M rows (larger sizes run once; default 3)"
    )
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")
    p.add_argument(
        "--raw-text", action="store_true",
        help="CSV: time only raw text cells (no formula escaping), like for like with the code before issue 16; "
        "by default each size runs both, interleaved: escaped (the product default, `seconds`) "
        "and raw (`raw_text_seconds`)",
    )  # fmt: skip


def _segment(n: int) -> dict:
    # Demo ids are "u" + 8 digits from u00000001: the first n users are those below u<n+1>.
    return {"conditions": [{"kind": "attribute", "field": "user_id", "op": "lt", "value": f"u{n + 1:08d}"}]}


def _one(ds, store, n: int, fmt: str, out_dir: Path, raw_text: bool = False) -> tuple[float, float, float, int]:
    from core.export import ExportOptions, plan_export, write_export
    from core.roles import RoleInfo

    target = out_dir / f"bench-{n}.{fmt}"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        options = ExportOptions(columns=COLUMNS, format=fmt, raw_text=raw_text)
        plan = plan_export(ds, _segment(n), options, role=RoleInfo("none", "bench"))
        t1 = time.perf_counter()
        result = write_export(ds, plan, store, out=target, overwrite=True, who="bench")
        t2 = time.perf_counter()
    target.unlink(missing_ok=True)
    return t2 - t0, t1 - t0, mem.above_baseline_mb, result.rows_written


def run(args: argparse.Namespace) -> dict:
    from core.dataset import open_dataset
    from core.store import AppStore

    data = Path(args.data)
    if not (data / "users.parquet").exists():
        raise SystemExit(
            f"adesk bench export: no dataset at {data}. Generate one with `adesk demo --users 10000000 --out {data}`."
        )
    sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    t0 = time.perf_counter()
    ds = open_dataset(data)
    open_s = time.perf_counter() - t0
    scratch = Path(tempfile.mkdtemp(prefix="adesk-bench-export-"))
    try:
        store = AppStore(scratch / "app.db")
        results = []
        for n in sizes:
            rows_wanted = min(n, ds.total_users)
            repeat = max(1, args.repeat) if n <= 1_000_000 else 1
            # CSV: escaped (the default) and raw text, interleaved so both see the same machine
            modes = [True] if args.raw_text else [False, True] if args.format == "csv" else [False]
            runs: dict[bool, list] = {m: [] for m in modes}
            for _ in range(repeat):
                for raw in modes:
                    runs[raw].append(_one(ds, store, rows_wanted, args.format, scratch, raw))
            first = runs[modes[0]]
            entry = {"rows": first[0][3], "columns": 1 + len(COLUMNS), "format": args.format}
            if False in runs:
                entry.update(_timings(runs[False], ""))
            if True in runs:
                entry.update(_timings(runs[True], "raw_text_"))
            if False in runs and True in runs:
                entry["escaping_cost_seconds"] = round(entry["seconds"] - entry["raw_text_seconds"], 3)
            entry["peak_mb_above_baseline"] = round(max(r[2] for rs in runs.values() for r in rs))
            results.append(entry)
        return {
            "dataset": str(data),
            "users": ds.total_users,
            "threads": os.environ.get("ADESK_THREADS", str(os.cpu_count())),
            "open_seconds": round(open_s, 1),
            "sizes": results,
        }
    finally:
        ds.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _timings(runs: list, prefix: str) -> dict:
    """Median seconds (whole export and its plan) and each run's seconds, keys prefixed."""
    return {
        f"{prefix}seconds": round(median([r[0] for r in runs]), 3),
        f"{prefix}plan_seconds": round(median([r[1] for r in runs]), 3),
        f"{prefix}seconds_each": [round(r[0], 3) for r in runs],
    }


def render(r: dict) -> str:
    lines = [f"export benchmark on {r['dataset']} ({r['users']:,} users, {r['threads']} threads)"]
    lines.append(f"  {'rows':>11}  {'cols':>4}  {'seconds':>8}  {'raw s':>7}  {'plan s':>7}  {'peak MB':>8}  target")
    for s in r["sizes"]:
        seconds = s.get("seconds", s.get("raw_text_seconds"))
        raw = f"{s['raw_text_seconds']:>7.3f}" if "raw_text_seconds" in s else f"{'—':>7}"
        plan = s.get("plan_seconds", s.get("raw_text_plan_seconds"))
        target = ""
        if s["rows"] == 1_000_000 and s["format"] == "csv":
            ok = seconds <= TARGET_SECONDS_1M and s["peak_mb_above_baseline"] <= TARGET_MB
            target = f"≤ {TARGET_SECONDS_1M} s, ≤ {TARGET_MB} MB: {'met' if ok else 'NOT met'}"
        lines.append(
            f"  {s['rows']:>11,}  {s['columns']:>4}  {seconds:>8.3f}  {raw}  {plan:>7.3f}  "
            f"{s['peak_mb_above_baseline']:>8,}  {target}"
        )
    return "\n".join(lines)
