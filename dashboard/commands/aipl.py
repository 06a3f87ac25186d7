"""`adesk aipl DIR`, `adesk aipl trend DIR`, `adesk aipl flow DIR`: the AIPL page's numbers (core/analyses/aipl.py)."""

from __future__ import annotations

import argparse
from datetime import date

from dashboard.cli import UsageError, print_json

MODES = ("trend", "flow")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "aipl",
        help="AIPL funnel at a date; 'aipl trend DIR' by month end; 'aipl flow DIR --from D1 --to D2' who moved",
        description="adesk aipl DIR [--as-of DATE] | adesk aipl trend DIR [--months 12] | "
        "adesk aipl flow DIR --from D1 --to D2",
    )
    p.add_argument("first", metavar="[trend|flow] DIR", help="the dataset directory, after 'trend' or 'flow' for those")
    p.add_argument("dir", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("--segment", help="a segment definition (JSON file, or - for stdin): its members only")
    p.add_argument("--as-of", dest="as_of", help="the funnel at this date (YYYY-MM-DD, default the dataset's as_of)")
    p.add_argument("--months", type=int, default=12, help="trend: month ends to show (default 12)")
    p.add_argument("--from", dest="day_from", help="flow: the first date (default: the last month end before as_of)")
    p.add_argument("--to", dest="day_to", help="flow: the second date (default: as_of)")
    p.add_argument("--db", default=None, help="app database for saved segments the definition refers to")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _date(text: str | None, what: str) -> date | None:
    from core.segments.model import parse_date

    if text is None:
        return None
    day = parse_date(text)
    if day is None:
        raise UsageError(f"{what} {text!r} is not a date; write it as YYYY-MM-DD.")
    return day


def run(args: argparse.Namespace) -> int:
    from core.analyses import aipl
    from core.dataset import open_dataset
    from dashboard.commands.common import on_engine, read_definition, resolver, run_safely

    if args.dir is None:
        mode, directory = "funnel", args.first
    elif args.first in MODES:
        mode, directory = args.first, args.dir
    else:
        raise UsageError(
            f"unknown aipl view {args.first!r}; use 'adesk aipl DIR', 'adesk aipl trend DIR' or 'adesk aipl flow DIR'."
        )
    segment = read_definition(args.segment) if args.segment else None
    as_of, day_from, day_to = _date(args.as_of, "--as-of"), _date(args.day_from, "--from"), _date(args.day_to, "--to")
    ds = on_engine(open_dataset(directory))  # unusable: main() lists its problems, exit 1
    resolve = resolver(segment, args.db) if segment else None
    try:
        if mode == "funnel":
            result = run_safely(aipl.funnel, ds, as_of, segment, resolve)
        elif mode == "trend":
            result = run_safely(aipl.trend, ds, args.months, segment, resolve)
        else:
            d1, d2 = aipl.default_flow_days(ds.as_of)
            result = run_safely(aipl.flow, ds, day_from or d1, day_to or d2, segment, resolve)
    except aipl.AiplInputError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print_json(result.to_dict())
    else:
        print(render(result))
    return 0


def render(result) -> str:
    """The result as a readable table."""
    from core.analyses import aipl

    if isinstance(result, aipl.Funnel):
        lines = [f"AIPL on {result.day}: {result.segment_size:,} members"]
        reached = result.reached
        for s in aipl.ALL_STAGES:
            extra = f"   reached {reached[s]:>10,}" if s in reached else ""
            lines.append(f"  {s:<5}{result.in_stage[s]:>12,}{extra}")
        lines.append(
            "  " + " · ".join(f"{k} {v:.1%}" if v is not None else f"{k} —" for k, v in result.conversion.items())
        )
        return "\n".join(lines)
    if isinstance(result, aipl.Trend):
        lines = ["date        " + "".join(f"{s:>11}" for s in aipl.ALL_STAGES)]
        for p in result.points:
            lines.append(f"{p.day}  " + "".join(f"{p.in_stage[s]:>11,}" for s in aipl.ALL_STAGES))
        return "\n".join(lines)
    m = result.matrix
    lines = [
        f"AIPL flow {result.day_from} → {result.day_to}: {result.base_size:,} members "
        f"(rows: {result.day_from}, columns: {result.day_to})"
    ]
    lines.append("        " + "".join(f"{s:>11}" for s in aipl.ALL_STAGES))
    for r in aipl.ALL_STAGES:
        lines.append(f"  {r:<5} " + "".join(f"{m[r][c]:>11,}" for c in aipl.ALL_STAGES))
    lines.append("  " + " · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in result.summary.items()))
    return "\n".join(lines)
