"""`adesk bench NAME`: benchmarks on request (core/bench/<name>.py)."""

from __future__ import annotations

import argparse
import importlib

from core.bench import BENCHMARKS
from dashboard.cli import print_json

# Where each benchmark lives: core/bench/<name>.py; those that drive Streamlit or a browser in the dashboard layer.
MODULES = {
    **{name: f"core.bench.{name}" for name in BENCHMARKS},
    "builder": "dashboard.builder_bench",
    "load": "dashboard.load_bench",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark: " + ", ".join(MODULES))
    names = p.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for name, module_name in MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name != module_name:
                raise
            continue
        bp = names.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else None)
        module.add_arguments(bp)
        bp.add_argument("--json", action="store_true", help="print the result as JSON")
        bp.set_defaults(func=lambda args, m=module: _run(m, args))


def _run(module, args: argparse.Namespace) -> int:
    result = module.run(args)
    if args.json:
        print_json(result)
    else:
        print(module.render(result))
    return 0
