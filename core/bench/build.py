"""Generate a demo dataset and build its derived tables: seconds and peak memory of each step.

Each step runs in its own child process so its peak memory is its own. The build also reports the
seconds of each of its steps (from its progress messages); `--history` then times the AIPL stage
history, which is computed once per data version outside the build.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.bench import PeakMemory

_GENERATE = (
    "import sys, json; from core.demo import generate; "
    "s = generate(sys.argv[1], users=int(sys.argv[2]), seed=7); print(json.dumps({'events': s.events}))"
)
_BUILD = "import sys, json; from core.bench.build import build_child; print(json.dumps(build_child(*sys.argv[1:])))"
_HISTORY = (
    "import sys, json; from core.bench.build import history_child; print(json.dumps(history_child(*sys.argv[1:])))"
)


def build_child(data: str, cache: str) -> dict:
    """In the child: validate and build (open_dataset), with the seconds of each step the build reports."""
    from core.dataset import open_dataset

    marks: list[tuple[str, float]] = [("validate and read the files' schemas", time.perf_counter())]
    ds = open_dataset(data, cache_dir=cache, progress=lambda msg: marks.append((msg, time.perf_counter())))
    marks.append(("", time.perf_counter()))
    # a step runs from its message to the next one; the last ("writing the cache file") includes opening the cache
    phases = {msg.split(":")[0]: round(marks[i + 1][1] - t, 1) for i, (msg, t) in enumerate(marks[:-1])}
    return {"users": ds.total_users, "phases": phases}


def history_child(data: str, cache: str) -> dict:
    """In the child: the AIPL stage history of the built dataset (once per data version, outside the build)."""
    from core.dataset import open_dataset
    from core.models import aipl_history

    ds = open_dataset(data, cache_dir=cache)
    t0 = time.perf_counter()
    aipl_history.history(ds)
    return {"history_s": round(time.perf_counter() - t0, 1)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--users", type=int, default=10_000_000, help="users to generate (default 10,000,000; ~10 events each)"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="where to generate (default: a temporary directory, removed afterwards)"
    )
    p.add_argument("--reuse", action="store_true", help="reuse a dataset already at --out instead of generating")
    p.add_argument(
        "--history", action="store_true", help="also compute the AIPL stage history after the build (own child)"
    )


def _child(code: str, *args: str) -> tuple[dict, float, float]:
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1]), seconds, mem.above_baseline_mb


def run(args: argparse.Namespace) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="adesk-bench-"))
    data = args.out or scratch / "data"
    cache = scratch / "cache"
    try:
        if args.reuse and (data / "users.parquet").exists():
            gen, gen_s, gen_mb = {"events": None}, None, None
        else:
            if data.exists():
                shutil.rmtree(data)
            gen, gen_s, gen_mb = _child(_GENERATE, str(data), str(args.users))
        built, build_s, build_mb = _child(_BUILD, str(data), str(cache))
        history, history_mb = {"history_s": None}, None
        if getattr(args, "history", False):
            history, _, history_mb = _child(_HISTORY, str(data), str(cache))
        events = gen["events"]
        if events is None:
            import duckdb

            events = duckdb.sql(
                "select count(*) from read_parquet($f, hive_partitioning=true)",
                params={"f": str(data / "events" / "**" / "*.parquet")},
            ).fetchall()[0][0]
        return {
            "users": built["users"],
            "events": events,
            "generate_s": None if gen_s is None else round(gen_s, 1),
            "generate_peak_mb": None if gen_mb is None else round(gen_mb),
            "build_s": round(build_s, 1),
            "build_peak_mb": round(build_mb),
            "build_phases_s": built["phases"],
            "history_s": history["history_s"],
            "history_peak_mb": None if history_mb is None else round(history_mb),
        }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def render(r: dict) -> str:
    gen = "reused" if r["generate_s"] is None else f"{r['generate_s']} s, peak {r['generate_peak_mb']:,} MB"
    return (
        f"{r['users']:,} users, {r['events']:,} events\n"
        f"  generate        {gen}\n"
        f"  derived tables  {r['build_s']} s, peak {r['build_peak_mb']:,} MB\n"
        + "".join(f"    {name:38} {s:6.1f} s\n" for name, s in r["build_phases_s"].items())
        + (
            f"  AIPL stage history  {r['history_s']} s, peak {r['history_peak_mb']:,} MB"
            if r["history_s"] is not None
            else "  AIPL stage history  not run (--history)"
        )
    )
