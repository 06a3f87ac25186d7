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
    p.add_argument("data", nargs="?", default=os.environ.get("ADESK_BENCH_DATA", "/tmp/demo10m"), help="a demo dataset (default /tmp/demo10m, 10M users)")
    p.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="rows per export, comma-separated (default 1000000,5000000)")
    p.add_argument("--repeat", type=int, default=3, help="runs per size up to 1M rows (larger sizes run once; default 3)")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv")


def _segment(n: int) -> dict:
    # Demo ids are "u" + 8 digits from u00000001: the first n users are those below u<n+1>.
    return {"conditions": [{"kind": "attribute", "field": "user_id", "op": "lt", "value": f"u{n + 1:08d}"}]}


def _one(ds, store, n: int, fmt: str, out_dir: Path) -> tuple[float, float, float, int]:
    from core.export import ExportOptions, plan_export, write_export
    from core.roles import RoleInfo

    target = out_dir / f"bench-{n}.{fmt}"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        plan = plan_export(ds, _segment(n), ExportOptions(columns=COLUMNS, format=fmt), role=RoleInfo("none", "bench"))
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
        raise SystemExit(f"adesk bench export: no dataset at {data}. Generate one with `adesk demo --users 10000000 --out {data}`.")
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
            runs = [_one(ds, store, rows_wanted, args.format, scratch) for _ in range(repeat)]
            results.append(
                {
                    "rows": runs[0][3],
                    "columns": 1 + len(COLUMNS),
                    "format": args.format,
                    "seconds": round(median([r[0] for r in runs]), 3),
                    "plan_seconds": round(median([r[1] for r in runs]), 3),
                    "seconds_each": [round(r[0], 3) for r in runs],
                    "peak_mb_above_baseline": round(max(r[2] for r in runs)),
                }
            )
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


def render(r: dict) -> str:
    lines = [f"export benchmark on {r['dataset']} ({r['users']:,} users, {r['threads']} threads)"]
    lines.append(f"  {'rows':>11}  {'cols':>4}  {'seconds':>8}  {'plan s':>7}  {'peak MB':>8}  target")
    for s in r["sizes"]:
        target = ""
        if s["rows"] == 1_000_000 and s["format"] == "csv":
            ok = s["seconds"] <= TARGET_SECONDS_1M and s["peak_mb_above_baseline"] <= TARGET_MB
            target = f"≤ {TARGET_SECONDS_1M} s, ≤ {TARGET_MB} MB: {'met' if ok else 'NOT met'}"
        lines.append(
            f"  {s['rows']:>11,}  {s['columns']:>4}  {s['seconds']:>8.3f}  {s['plan_seconds']:>7.3f}  {s['peak_mb_above_baseline']:>8,}  {target}"
        )
    return "\n".join(lines)
