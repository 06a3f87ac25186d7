"""`adesk overview DIR`: the Overview page's numbers."""

from __future__ import annotations

import argparse
import sys

from dashboard.cli import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("overview", help="users, buyers, event span, AIPL / RFM / lifecycle distributions")
    p.add_argument("dir", help="dataset directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.analyses.overview import overview
    from core.dataset import open_dataset
    from core.problems import DatasetError
    from core.validate import format_report

    try:
        ds = open_dataset(args.dir)
    except DatasetError as err:
        print(format_report(err.report), file=sys.stderr)
        return 1
    from dashboard.commands.common import on_engine

    ov = overview(on_engine(ds))  # ADESK_ENGINE=spark: counted by Spark
    if args.json:
        print_json(ov.to_dict())
        return 0
    print(f"{ov.dataset} as of {ov.as_of}")
    print(f"  members            {ov.users:>12,}")
    print(f"  buyers ({ds.config.rfm_window_days} days)  {ov.buyers:>12,}")
    print(f"  members w/ events  {ov.users_with_events:>12,}")
    print(f"  events             {ov.events:>12,}  ({ov.first_event} .. {ov.last_event})")
    for d in ov.distributions:
        print(f"  {d.dimension}: " + ", ".join(f"{v} {n:,}" for v, n in d.values))
    for p in ov.health:
        print(f"  {p}")
    return 0
