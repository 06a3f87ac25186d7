"""`adesk demo`: write the synthetic demo dataset (see data/README.md for its stories)."""

from __future__ import annotations

import argparse
import sys

from core.demo import DEFAULT_SEED, DEFAULT_USERS, MAX_USERS, DemoError, generate
from dashboard.cli import UsageError, print_json

DEFAULT_OUT = "data/demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="write the synthetic demo dataset",
        description=(
            "Write a seeded, reproducible synthetic dataset (users, events, tags, tag catalog, "
            "A/B assignments, dataset.toml). The same --users and --seed give byte-identical files. "
            "Then records the demo's past campaign export (lapsed buyers, 10%% holdout, 2026-10-08) in the app "
            "database, once per dataset, so the Experiments page shows its lift."
        ),
    )
    parser.add_argument(
        "--users",
        type=_count,
        default=DEFAULT_USERS,
        help=f"members to generate (default {DEFAULT_USERS:,})",
    )
    parser.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"dataset directory to create (default {DEFAULT_OUT})")
    parser.add_argument("--force", action="store_true", help="replace an existing dataset in --out")
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="app database to record the demo's past campaign export in (default: $ADESK_APP_DB or data/app.db)",
    )
    parser.add_argument(
        "--no-campaign",
        action="store_true",
        help="do not record the demo's past campaign export (data/README.md, story 10)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(func=run)


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number (e.g. --users 200000)") from None
    if not 1 <= value <= MAX_USERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_USERS:,}, got {value:,}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number (e.g. --seed 7)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    def progress(message: str) -> None:
        if not args.quiet:
            print(f"  {message}", file=sys.stderr)  # noqa: T201 - progress goes to stderr, results to stdout

    try:
        summary = generate(args.out, users=args.users, seed=args.seed, progress=progress, overwrite=args.force)
    except DemoError as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(
            f"cannot write {args.out}: {err.strerror or err}. Check the path and free disk space."
        ) from None
    campaign = None if args.no_campaign else _record_campaign(args, progress)
    if args.json:
        print_json(
            {
                "users": summary.users,
                "events": summary.events,
                "out_dir": str(summary.out_dir),
                "seconds": round(summary.seconds, 2),
                "seed": args.seed,
                "campaign": campaign.to_dict() if campaign is not None else None,
            }
        )
    else:
        print(  # noqa: T201
            f"Wrote {summary.users:,} users and {summary.events:,} events to {summary.out_dir} "
            f"in {summary.seconds:.1f} s (seed {args.seed}).\n"
            + (f"{campaign.message}\n" if campaign is not None else "")
            + f"Open it with: adesk serve --data {args.out}"
        )
    return 0


def _record_campaign(args: argparse.Namespace, progress):
    """Story 10's export in the app database; a store problem is reported, the dataset stays written."""
    from core.demo.campaign_record import record_campaign
    from core.export import ExportError
    from core.store import AppStore, StoreError

    progress("recording the past campaign export (story 10)")
    try:
        return record_campaign(args.out, AppStore(args.db), users=args.users, seed=args.seed)
    except (StoreError, ExportError, OSError) as err:
        raise UsageError(
            f"The dataset was written to {args.out}, but its campaign export could not be recorded: {err} "
            "(run again with --db PATH, or --no-campaign)."
        ) from None
