"""`adesk funnel DIR --funnel FILE|-`: an event funnel (ANALYSES.md §3) from the command line."""

from __future__ import annotations

import argparse
import json

from dashboard.cli import UsageError, print_json
from dashboard.commands.common import (
    MAX_DEFINITION_BYTES,
    echo,
    on_engine,
    pct,
    read_definition,
    read_source,
    resolver,
    run_safely,
    segment_problems,
    table,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "funnel", help="an event funnel: members per step, conversion, time to convert, breakdown, trend"
    )
    p.add_argument("dir", help="dataset directory")
    p.add_argument(
        "--funnel",
        required=True,
        metavar="FILE",
        help='funnel JSON file, or - for stdin: {"steps": [{"event", "where"}], "from", "to", "window", "exclusions"}',
    )
    p.add_argument("--segment", metavar="FILE", help="count only this segment's members (a segment JSON file)")
    p.add_argument("--breakdown", metavar="FIELD", help="an attribute, tag:PATH, rfm|aipl|lifecycle, or step1:PROPERTY")
    p.add_argument("--trend", choices=("day", "week"), help="overall conversion by entry day or week")
    p.add_argument("--db", help="app database with saved segments (default data/app.db)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def read_funnel(source: str):
    """The funnel in a file (or stdin for '-') as a spec; UsageError naming what is wrong."""
    from core.analyses.funnel_spec import parse_funnel
    from core.segments.model import SegmentError

    label = "stdin" if source == "-" else repr(source)
    try:
        data = read_source(source)
    except FileNotFoundError:
        raise UsageError(
            f"funnel file {label} does not exist. Give the path of a funnel JSON file, or - for stdin."
        ) from None
    except OSError as err:
        raise UsageError(f"cannot read funnel file {label}: {err.strerror or err}.") from None
    if len(data) > MAX_DEFINITION_BYTES:
        raise UsageError(f"the funnel in {label} is larger than {MAX_DEFINITION_BYTES:,} bytes; is it the right file?")
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise UsageError(f"the funnel in {label} is not JSON: {err}.") from None
    try:
        return parse_funnel(obj)
    except SegmentError as err:
        raise UsageError(f"bad funnel in {label}:\n{segment_problems(err)}") from None


def run(args: argparse.Namespace) -> int:
    from core.analyses.funnel_spec import FunnelError
    from core.analyses.funnels import funnel
    from core.dataset import open_dataset

    spec = read_funnel(args.funnel)
    segment = read_definition(args.segment) if args.segment else None
    ds = open_dataset(args.dir)  # a dataset that cannot be used: main() lists its problems, exit 1
    ds = on_engine(ds)  # ADESK_ENGINE=spark: computed by Spark (core/engine/spark_funnels.py)
    resolve = resolver(segment, args.db) if segment is not None else None

    def counted():
        try:
            return funnel(ds, spec, segment=segment, resolve=resolve, breakdown=args.breakdown, trend=args.trend)
        except FunnelError as err:  # run_safely speaks of segments; this is the funnel's problem
            raise UsageError(f"the funnel cannot be used on this dataset:\n{segment_problems(err)}") from None

    result = run_safely(counted)
    if args.json:
        print_json(result.to_dict())
        return 0
    echo(f"entered {result.entered:,} ({result.start} .. {result.end}, window {spec.window_value} {spec.window_unit}), "
          f"excluded {result.excluded:,}, window still open {result.open:,}")  # fmt: skip
    rows = [
        [str(s.step), s.event, f"{s.users:,}", pct(result.conversion_from_previous(s.step)),
         pct(result.conversion_from_first(s.step)),
         "—" if s.median_seconds_from_previous is None else f"{s.median_seconds_from_previous / 3600:.1f} h",
         f"{result.dropped[s.step - 1]:,}"]
        for s in result.steps
    ]  # fmt: skip
    echo(
        table(
            ["step", "event", "members", "from previous", "from first", "median time", "dropped"],
            rows,
            right={2, 3, 4, 5, 6},
        )
    )
    for b in result.breakdown:
        echo(f"  {b.value}: " + " → ".join(f"{u:,}" for u in b.users))
    for t in result.trend:
        echo(f"  {t.period} entered {t.entered:,} converted {t.converted:,}{'' if t.complete else ' (incomplete)'}")
    return 0
