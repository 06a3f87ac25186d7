"""DuckDB and Spark in the same run: the build, a set of segment counts and an export, on one machine.

Per engine, on the same demo dataset:

- **build**: DuckDB builds the derived cache (`profile`, `event_rows`: RFM, AIPL, lifecycle,
  counters, tags) into a fresh cache folder; Spark builds the same tables from the dataset's files
  into a fresh Spark cache folder (core/engine/spark_build.py), after its session has started
  (timed apart). The catalog both read is DuckDB's (README: what still comes from DuckDB).
- **counts**: definitions of `core.bench.segments` (attributes, tags, models, raw events), each
  counted `--repeat` times by a scan (DuckDB without bitmap indexes, the baseline; and with
  them, what the app does) and by Spark; medians in ms. Every count must agree.
- **export**: one CSV export of a segment with consent and a holdout (plan, rows, file, SHA-256)
  on both engines with the same export id; medians in seconds; the SHA-256s must be equal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.bench import median, timed

COUNTS = (
    "city in 2",
    "tag has",
    "rfm in",
    "10 clauses with OR group + negation",
    "event: purchase >= 2 in 90 days",
    "event + attr + tag",
    "event: product_view >= 3 in 45 days (raw)",
)
EXPORT_SEGMENT = {"conditions": [{"kind": "attribute", "field": "age", "op": "between", "values": [20, 45]}]}
EXPORT_COLUMNS = ("city", "age", "phone", "rfm_class", "lifecycle")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_BENCH_DATA", "data/demo"),
        help="a demo dataset (default data/demo; `adesk demo --users N`)",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed runs per count and export (default 5)")
    p.add_argument(
        "--definitions",
        type=int,
        default=len(COUNTS),
        help=f"how many of the {len(COUNTS)} definitions to count (default all)",
    )
    p.add_argument(
        "--spark-remote",
        default=os.environ.get("ADESK_SPARK_REMOTE", "local[2]"),
        help="where Spark runs (default local[2])",
    )


def _counts(ds, sd, repeat: int, names: tuple[str, ...]) -> list[dict]:
    from core.bench.segments import DEFINITIONS
    from core.segments.model import parse_segment
    from core.segments.operations import size

    wanted = dict(DEFINITIONS)
    ds.bitmap_index().build_in_background().wait()
    out = []
    for name in names:
        seg = parse_segment(wanted[name])
        counts = {size(ds, seg, bitmaps=False).count, size(sd, seg).count, size(ds, seg).count}
        scan = timed(lambda seg=seg: size(ds, seg, bitmaps=False), repeat)
        bitmaps = timed(lambda seg=seg: size(ds, seg), repeat)
        spark = timed(lambda seg=seg: size(sd, seg), repeat)
        out.append(
            {
                "name": name,
                "members": min(counts),
                "same": len(counts) == 1,
                "duckdb_scan_ms": round(median(scan), 1),
                "duckdb_bitmaps_ms": round(median(bitmaps), 1),
                "spark_ms": round(median(spark), 1),
            }
        )
    return out


def _export(ds, sd, repeat: int, scratch: Path) -> dict:
    from core.export import ExportOptions, plan_export, write_export
    from core.roles import RoleInfo
    from core.store import AppStore

    options = ExportOptions(channel="sms", columns=EXPORT_COLUMNS, holdout=0.1)
    result: dict = {}
    for name, d in (("duckdb", ds), ("spark", sd)):
        store = AppStore(scratch / f"{name}.db")
        seconds, shas, rows = [], set(), 0
        for i in range(repeat):
            t0 = time.perf_counter()
            plan = plan_export(d, EXPORT_SEGMENT, options, role=RoleInfo("none", "bench"), export_id=f"exp-bench-{i}")
            done = write_export(d, plan, store, out=scratch / f"{name}-{i}.csv", who="bench")
            seconds.append(time.perf_counter() - t0)
            shas.add((i, done.sha256))
            rows = done.rows_written
        result[name] = {"seconds": round(median(seconds), 3), "rows": rows, "sha256": sorted(shas)}
    result["same_sha256"] = result["duckdb"]["sha256"] == result["spark"]["sha256"]
    for name in ("duckdb", "spark"):
        result[name]["sha256"] = result[name]["sha256"][0][1]
    return result


def run(args: argparse.Namespace) -> dict:
    from core.dataset import open_dataset
    from core.engine import EngineSettings
    from core.engine import spark as spark_engine
    from core.engine.spark_build import build_tables, spark_folder
    from core.engine.spark_dataset import on_spark

    data = Path(args.data)
    if not (data / "users.parquet").exists():
        raise SystemExit(
            f"adesk bench engines: no dataset at {data}. Generate one with `adesk demo --users 200000 --out {data}`."
        )
    scratch = Path(tempfile.mkdtemp(prefix="adesk-bench-engines-"))
    try:
        t0 = time.perf_counter()
        ds = open_dataset(data, cache_dir=scratch / "cache")  # a fresh cache: the derived build runs
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        session = spark_engine.spark_session(EngineSettings("spark", args.spark_remote))
        session_s = time.perf_counter() - t0
        # a fresh Spark cache folder too (ADESK_SPARK_CACHE_DIR may hold this dataset's tables already)
        kept_dir = os.environ.get("ADESK_SPARK_CACHE_DIR")
        os.environ["ADESK_SPARK_CACHE_DIR"] = str(scratch / "spark")
        try:
            t0 = time.perf_counter()
            build_tables(ds, session, spark_folder(ds))  # the derived tables computed by Spark
            spark_build_s = time.perf_counter() - t0
            sd = on_spark(ds, session)  # reads what Spark built
        finally:
            if kept_dir is None:
                os.environ.pop("ADESK_SPARK_CACHE_DIR", None)
            else:
                os.environ["ADESK_SPARK_CACHE_DIR"] = kept_dir
        try:
            counts = _counts(ds, sd, max(1, args.repeat), COUNTS[: max(1, args.definitions)])
            export = _export(ds, sd, max(1, args.repeat), scratch)
        finally:
            ds.close()
        return {
            "dataset": str(data),
            "users": ds.total_users,
            "spark_remote": args.spark_remote,
            "build": {
                "duckdb_seconds": round(build_s, 1),
                "spark_session_seconds": round(session_s, 1),
                "spark_seconds": round(spark_build_s, 1),
            },
            "counts": counts,
            "export": export,
            "all_same": all(c["same"] for c in counts) and export["same_sha256"],
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def render(r: dict) -> str:
    b = r["build"]
    lines = [
        f"engines on {r['dataset']} ({r['users']:,} users; Spark {r['spark_remote']});"
        f" answers the same: {r['all_same']}",
        f"  build: DuckDB {b['duckdb_seconds']} s; Spark {b['spark_seconds']} s"
        f" (session start {b['spark_session_seconds']} s apart)",
        f"  {'count':<34} {'members':>9} {'scan ms':>9} {'bitmaps':>9} {'spark ms':>9}",
    ]
    for c in r["counts"]:
        lines.append(
            f"  {c['name']:<34} {c['members']!s:>9} {c['duckdb_scan_ms']:>9}"
            f" {c['duckdb_bitmaps_ms']:>9} {c['spark_ms']:>9}"
        )
    e = r["export"]
    lines.append(
        f"  export {e['duckdb']['rows']:,} rows: DuckDB {e['duckdb']['seconds']} s,"
        f" Spark {e['spark']['seconds']} s, same SHA-256: {e['same_sha256']}"
    )
    return "\n".join(lines)
