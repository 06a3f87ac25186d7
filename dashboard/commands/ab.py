"""`adesk ab list DIR` and `adesk ab DIR --experiment X`: A/B results (ANALYSES.md §5)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboard.cli import UsageError, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ab",
        help="A/B results: `ab list DIR` lists experiments; `ab DIR --experiment X` reads one",
        description="adesk ab list DIR [--json]  |  "
        "adesk ab DIR --experiment X [--segment FILE] [--cuped] [--sequential] [--json]",
    )
    p.add_argument("target", nargs="+", metavar="DIR", help="`list DIR`, or the dataset directory")
    p.add_argument("--experiment", help="the experiment's name (an export id for an export's holdout)")
    p.add_argument("--segment", metavar="FILE", help="results within a segment: its JSON definition (- for stdin)")
    p.add_argument("--cuped", action="store_true", help="CUPED: adjust by the same metric before assignment")
    p.add_argument("--sequential", action="store_true", help="sequential testing (confidence sequences)")
    p.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="app database with the exports (default: $ADESK_APP_DB or data/app.db)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _store(db: str | None):
    """The app store when it exists (exports with a holdout are experiments too); never created here."""
    from core.store import AppStore, StoreError, default_db_path

    path = Path(db) if db else default_db_path()
    if not path.exists():
        return None
    try:
        return AppStore(path)
    except StoreError as err:
        raise UsageError(str(err)) from None


def _pct(x: float | None, signed: bool = False) -> str:
    return "—" if x is None else (f"{x:+.1%}" if signed else f"{x:.1%}")


def run(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset

    listing = len(args.target) == 2 and args.target[0] == "list"
    if len(args.target) > 1 and not listing:
        raise UsageError("give one dataset directory: `adesk ab list DIR` or `adesk ab DIR --experiment X`.")
    directory = args.target[-1]
    if not listing and not args.experiment:
        raise UsageError("name the experiment: --experiment X (`adesk ab list DIR` lists them).")
    from dashboard.commands.common import on_engine

    ds = on_engine(open_dataset(directory))  # ADESK_ENGINE=spark: aggregated by Spark
    store = _store(args.db)
    from core.analyses import ab_members
    from dashboard.commands.common import echo

    # the first read of a data version resolves the assignments per member: say so on stderr (not in the JSON)
    ab_members.ensure(ds, progress=lambda text: echo(f"  {text}", err=True))
    if listing:
        return _list(ds, store, args.json)
    return _one(ds, store, args)


def _list(ds, store, as_json: bool) -> int:
    from core.analyses.ab import experiment_list

    rows = experiment_list(ds, store)
    if as_json:
        print_json({"as_of": ds.as_of.isoformat(), "experiments": [s.to_dict() for s in rows]})
        return 0
    for s in rows:
        variants = ", ".join(f"{n} {u:,}" for n, u in s.variants)
        print(f"{s.experiment.name:<28} {s.status:<16} {s.users:>10,}  {variants}")
    return 0


def _one(ds, store, args: argparse.Namespace) -> int:
    from core.analyses.ab import ABSpec, ab_result
    from core.analyses.experiments import UnknownExperiment
    from core.segments.model import SegmentError
    from dashboard.commands.common import read_definition, segment_problems

    segment = read_definition(args.segment).to_dict() if args.segment else None
    spec = ABSpec(args.experiment, segment=segment, cuped=args.cuped, sequential=args.sequential)
    try:
        result = ab_result(ds, spec, store)
    except UnknownExperiment as err:
        raise UsageError(str(err)) from None
    except SegmentError as err:
        raise UsageError(f"the segment cannot be used on this dataset:\n{segment_problems(err)}") from None
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"{result.experiment.name}  (control {result.control}; SRM p = {result.srm_p_value})")
    if result.srm_flag:
        print("  SAMPLE RATIO MISMATCH: the split is broken; do not trust this result.")
    for v in result.variants:
        conv, rev = v.metric("conversion"), v.metric("revenue")
        c = conv.comparison
        lift = (
            ""
            if c is None
            else (
                c.reason
                if not c.enough_data
                else f"lift {_pct(c.lift, True)} [{_pct(c.ci_low, True)}, {_pct(c.ci_high, True)}] p={c.p_value:.4f}"
            )
        )
        print(
            f"  {v.name:<12} users {v.aggregate.users:>9,}  conversion {_pct(conv.mean)}  "
            f"revenue/user {rev.mean or 0:.2f}  {lift}"
        )
    print(
        f"  excluded: {result.excluded_multiple_exposure:,} multiple exposure, "
        f"{result.excluded_unknown_users:,} unknown users;"
        f" windows not over: {result.windows_incomplete:,}"
    )
    return 0
