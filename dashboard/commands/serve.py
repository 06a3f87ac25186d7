"""`adesk serve`: start the dashboard on a dataset."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

# app.py mounted with the streamed export-download route (see dashboard/downloads.py).
APP = Path(__file__).resolve().parent.parent / "asgi.py"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the dashboard (http://localhost:PORT)")
    p.add_argument(
        "--data",
        default=os.environ.get("ADESK_DATA", "data/demo"),
        help="dataset directory (default: $ADESK_DATA or data/demo)",
    )
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="localhost")
    p.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default=None,
        help="the engine answering the pages' queries (default: $ADESK_ENGINE or duckdb; spark: see"
        " ADESK_SPARK_REMOTE)",
    )
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset
    from core.problems import DatasetError
    from core.validate import format_report

    data = Path(args.data).expanduser().resolve()
    if data.is_dir():
        try:  # build the derived cache now, so the first page view is fast and progress shows here
            open_dataset(data, progress=lambda msg: print(f"  preparing {data.name}: {msg}", file=sys.stderr)).close()
        except DatasetError as err:
            print(format_report(err.report), file=sys.stderr)
            print("The dashboard will show these problems.", file=sys.stderr)
    else:
        print(
            f"No dataset at {data}: the dashboard will say so. Create one with `adesk demo --out {data}`.",
            file=sys.stderr,
        )
    env = {**os.environ, "ADESK_DATA": str(data)}
    if args.engine is not None:
        env["ADESK_ENGINE"] = args.engine
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "minimal",
    ]
    print(f"Audience Desk on http://{args.address}:{args.port}  (dataset: {data})", file=sys.stderr)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
