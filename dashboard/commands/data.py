"""`adesk validate`: data commands (one function per command)."""

from __future__ import annotations

import argparse
import sys

from core.validate import format_report, report_dict, validate_dataset
from dashboard.cli import print_json, problem_texts


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a dataset directory against the data contract",
        description="Check a dataset directory and list every problem (file, column, what is wrong, how to fix it). "
        "Exit status 0 when the dataset is usable (warnings allowed), 1 when it is not.",
    )
    p.add_argument("dir", metavar="DIR", help="dataset directory (users.parquet, events.parquet, ...)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    report = validate_dataset(args.dir)
    if args.json:
        print_json(report_dict(report))
    else:
        sys.stdout.write(format_report(report, problem_texts(args)) + "\n")
    return 0 if report.usable else 1
