"""`adesk count`, `adesk breakdown` and `adesk segments …`: segments from the command line.

Definitions come from a file or stdin (`-`) in the SEGMENT_SPEC JSON shape.
A bad definition exits 2 with the problems on stderr; an unusable dataset exits 1
with its validation report. Saved segments live in the app database
(`--db PATH`, env ADESK_APP_DB, default data/app.db).
"""

from __future__ import annotations

import argparse
import json

from core.store import current_user
from dashboard.cli import UsageError, print_json
from dashboard.commands.common import (
    echo,
    engine_name,
    on_engine,
    open_store,
    pct,
    read_definition,
    resolver,
    run_safely,
    table,
)

# --- count / breakdown ------------------------------------------------------------------------------


def cmd_count(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset
    from core.segments.describe import describe
    from core.segments.operations import size

    segment = read_definition(args.segment)
    ds = open_dataset(args.dir)  # a dataset that cannot be used: main() lists its problems, exit 1
    resolve = resolver(segment, args.db)
    engine = engine_name()
    ds = on_engine(ds)  # ADESK_ENGINE=spark: the same compiled definition, counted by Spark
    result = run_safely(size, ds, segment, resolve=resolve)
    description = run_safely(describe, segment, ds.catalog, lang=args.lang, resolve=resolve)
    if args.json:
        extra = {"engine": engine} if engine != "duckdb" else {}
        print_json({**result.to_dict(), "description": description, **extra})
    else:
        echo(f"{result.count:,} of {result.total_users:,} users ({pct(result.share)}) as of {result.as_of.isoformat()}")
        echo(description)
    return 0


def cmd_breakdown(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset
    from core.segments.operations import breakdown

    segment = read_definition(args.segment)
    ds = on_engine(open_dataset(args.dir))  # unusable: main() lists its problems, exit 1
    result = run_safely(breakdown, ds, segment, args.by, resolve=resolver(segment, args.db), limit=args.limit)
    if args.json:
        print_json(result.to_dict())
        return 0
    echo(
        f"{result.by} ({result.by_kind}): {result.segment_size:,} in segment, {result.total_users:,} users, "
        f"as of {result.as_of.isoformat()}"
    )
    rows = [
        [
            r.value,
            f"{r.count_in_segment:,}",
            pct(r.share_in_segment),
            f"{r.count_in_base:,}",
            pct(r.share_in_base),
            "—" if r.index is None else f"{r.index:.0f}",
        ]
        for r in result.rows
    ]
    echo(
        table(
            ["value", "in segment", "share", "all users", "share", "index"],
            rows,
            right={1, 2, 3, 4, 5},
        )
    )
    return 0


# --- saved segments ------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    saved = run_safely(open_store(args.db).list_segments)
    if args.json:
        print_json([s.to_dict() for s in saved])
        return 0
    if not saved:
        echo("No saved segments yet. Save one with: adesk segments save --name NAME --segment FILE")
        return 0
    echo(
        table(
            ["id", "name", "version", "saved_at", "saved_by"],
            [[s.id, s.name, str(s.version), s.saved_at[:19], s.saved_by] for s in saved],
            right={2},
        )
    )
    return 0


def cmd_save(args: argparse.Namespace) -> int:
    if args.id is None and not args.name:
        raise UsageError("a new saved segment needs --name NAME (or give --id ID to save a new version).")
    segment = read_definition(args.segment)
    store = open_store(args.db)
    saved = run_safely(store.save_segment, args.name, segment, current_user(), segment_id=args.id)
    if args.json:
        print_json(saved.to_dict())
    else:
        echo(f"Saved {saved.name!r} as {saved.id!r}, version {saved.version}.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    if args.version is not None and args.version < 1:
        raise UsageError("--version must be 1 or more.")
    saved = run_safely(open_store(args.db).get_segment, args.id, args.version)
    if saved is None:
        what = f"version {args.version} of saved segment {args.id!r}" if args.version else f"saved segment {args.id!r}"
        raise UsageError(f"there is no {what}. `adesk segments list` shows the saved segments.")
    if args.json:
        print_json(saved.to_dict())
    else:
        # Only the definition, so that `adesk segments show ID | adesk count DIR --segment -` works.
        echo(json.dumps(saved.segment.to_dict(), ensure_ascii=False, indent=2))
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    versions = run_safely(open_store(args.db).versions, args.id)
    if not versions:
        raise UsageError(f"there is no saved segment {args.id!r}. `adesk segments list` shows the saved segments.")
    if args.json:
        print_json([v.to_dict() for v in versions])
    else:
        echo(
            table(
                ["version", "saved_at", "saved_by"],
                [[str(v.version), v.saved_at[:19], v.saved_by] for v in versions],
                right={0},
            )
        )
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    run_safely(open_store(args.db).delete_segment, args.id, current_user())
    echo(f"Deleted saved segment {args.id!r}.")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    saved = run_safely(open_store(args.db).rename_segment, args.id, args.name, current_user())
    if args.json:
        print_json(saved.to_dict())
    else:
        echo(f"Renamed {saved.id!r} to {saved.name!r}.")
    return 0


# --- registration ---------------------------------------------------------------------------------


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="app database (default: $ADESK_APP_DB or data/app.db)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    count = subparsers.add_parser("count", help="how many users a segment holds")
    count.add_argument("dir", metavar="DIR", help="dataset directory")
    count.add_argument(
        "--segment",
        required=True,
        metavar="FILE",
        help="segment definition JSON file, or - for stdin",
    )
    count.add_argument(
        "--lang",
        choices=("en", "zh"),
        default=argparse.SUPPRESS,
        help="language of the description and of any error (same as `adesk --lang`; default en)",
    )
    count.add_argument("--json", action="store_true", help="print JSON")
    _add_db(count)
    count.set_defaults(func=cmd_count)

    brk = subparsers.add_parser("breakdown", help="a segment's make-up by one attribute, tag, rfm, aipl or lifecycle")
    brk.add_argument("dir", metavar="DIR", help="dataset directory")
    brk.add_argument(
        "--segment",
        required=True,
        metavar="FILE",
        help="segment definition JSON file, or - for stdin",
    )
    brk.add_argument(
        "--by",
        required=True,
        metavar="FIELD",
        help="attribute, tag path, or rfm / aipl / lifecycle",
    )
    brk.add_argument("--limit", type=int, default=20, help="values shown before the rest is folded into (other)")
    brk.add_argument("--json", action="store_true", help="print JSON")
    _add_db(brk)
    brk.set_defaults(func=cmd_breakdown)

    seg = subparsers.add_parser("segments", help="saved segments: list, save, show, versions, rename, delete")
    actions = seg.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", help="the saved segments (latest versions)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db(p)
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("save", help="save a new segment, or a new version with --id")
    p.add_argument("--name", help="display name (required for a new segment)")
    p.add_argument(
        "--segment",
        required=True,
        metavar="FILE",
        help="segment definition JSON file, or - for stdin",
    )
    p.add_argument("--id", help="save as a new version of this saved segment")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db(p)
    p.set_defaults(func=cmd_save)

    p = actions.add_parser("show", help="print a saved segment's definition JSON")
    p.add_argument("id", metavar="ID")
    p.add_argument("--version", type=int, help="an earlier version (default: the latest)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the whole record (id, name, version, who, when, definition)",
    )
    _add_db(p)
    p.set_defaults(func=cmd_show)

    p = actions.add_parser("versions", help="every version of a saved segment")
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db(p)
    p.set_defaults(func=cmd_versions)

    p = actions.add_parser("rename", help="change a saved segment's name (its id stays)")
    p.add_argument("id", metavar="ID")
    p.add_argument("--name", required=True, help="the new name")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_db(p)
    p.set_defaults(func=cmd_rename)

    p = actions.add_parser("delete", help="delete a saved segment (refused while others refer to it)")
    p.add_argument("id", metavar="ID")
    _add_db(p)
    p.set_defaults(func=cmd_delete)
