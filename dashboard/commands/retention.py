"""`adesk retention DIR`: the Cohorts page's table (ANALYSES.md §4) as JSON or text."""

from __future__ import annotations

import argparse
from datetime import date

from dashboard.cli import UsageError, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retention", help="cohort retention: of the members who started in a week or month, how many came back"
    )
    p.add_argument("dir", help="dataset directory")
    p.add_argument(
        "--start", required=True, help="signup (signup_at) or an event name: the first such event ever starts a member"
    )
    p.add_argument(
        "--start-where",
        default=None,
        metavar="JSON",
        help='filters on the start event, e.g. \'[{"field": "channel", "op": "eq", "value": "app"}]\'',
    )
    p.add_argument(
        "--return",
        dest="return_event",
        default="any",
        help="any (default) or an event name: what counts as coming back",
    )
    p.add_argument(
        "--return-where", default=None, metavar="JSON", help="filters on the return event (same form as --start-where)"
    )
    p.add_argument("--period", required=True, help="week (ISO, from Monday) or month")
    p.add_argument(
        "--from", dest="first", required=True, metavar="D", help="first day of the range of cohorts (YYYY-MM-DD)"
    )
    p.add_argument(
        "--to", dest="last", required=True, metavar="D", help="last day of the range of cohorts (YYYY-MM-DD)"
    )
    p.add_argument("--mode", default="on", help="on (a return in period k) or on_or_after (in k or later); default on")
    p.add_argument(
        "--segment",
        default=None,
        metavar="FILE",
        help="only the members of this segment (JSON definition; - for stdin)",
    )
    p.add_argument("--db", default=None, help="app database with saved segments (default: ADESK_APP_DB or data/app.db)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not a date; write YYYY-MM-DD.") from None


def spec_from_args(args: argparse.Namespace):
    """The RetentionSpec the flags ask for; UsageError names the flag that is wrong."""
    from core.analyses.retention import MODES, PERIODS, RetentionError, RetentionSpec, parse_filters

    if args.period not in PERIODS:
        raise UsageError(f"--period must be week or month, got {args.period!r}.")
    if args.mode not in MODES:
        raise UsageError(f"--mode must be on or on_or_after, got {args.mode!r}.")
    try:
        start_where = parse_filters(args.start_where, "--start-where")
        return_where = parse_filters(args.return_where, "--return-where")
    except RetentionError as err:
        raise UsageError(str(err)) from None
    return RetentionSpec(
        period=args.period,
        first=_day(args.first, "--from"),
        last=_day(args.last, "--to"),
        start=args.start,
        start_where=start_where,
        return_event=None if args.return_event == "any" else args.return_event,
        return_where=return_where,
        mode=args.mode,
    )


def run(args: argparse.Namespace) -> int:
    from core.analyses.retention import RetentionError, retention
    from core.dataset import open_dataset
    from dashboard.commands.common import on_engine, read_definition, resolver

    spec = spec_from_args(args)
    segment = read_definition(args.segment) if args.segment else None
    ds = on_engine(open_dataset(args.dir))  # unusable: main() lists its problems, exit 1
    try:
        result = retention(ds, spec, segment, resolver(segment, args.db) if segment else None)
    except RetentionError as err:
        raise UsageError(str(err)) from None
    if args.json:
        print_json(result.to_dict())
        return 0
    print(
        f"{result.total:,} members in {len(result.cohorts)} {spec.period} cohorts, as of {result.as_of} "
        f"(mode {spec.mode}; * = incomplete)"
    )
    for c in result.cohorts:
        cells = [
            f"{s:.0%}" + ("*" if not done else "") if s is not None else "—"
            for s, done in zip(c.shares, c.complete, strict=True)
        ]
        print(f"  {c.start}  {c.size:>9,}  " + " ".join(f"{x:>5}" for x in cells))
    print("  mean        " + " " * 9 + " ".join(f"{m:>5.0%}" if m is not None else "    —" for m in result.mean))
    return 0
