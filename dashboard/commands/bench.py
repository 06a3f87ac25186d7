"""`adesk bench NAME`: benchmarks on request (core/bench/<name>.py)."""

from __future__ import annotations

import argparse
import importlib

from core.bench import BENCHMARKS
from dashboard.cli import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a benchmark: " + ", ".join(BENCHMARKS))
    names = p.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(f"core.bench.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"core.bench.{name}":
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
