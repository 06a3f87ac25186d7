"""`adesk export` (write an audience file) and `adesk exports list|show|recreate` (the audit log).

    adesk export DIR --segment FILE --out PATH [--channel C] [--columns a,b]
                 [--format csv|parquet] [--bom] [--raw-text] [--holdout 0.1] [--pii masked|raw|hashed] [--json]

The file is written by DuckDB under a temporary name and renamed when complete
(with ADESK_ENGINE=spark Spark computes the rows and DuckDB writes them: the same bytes);
progress goes to stderr when it is a terminal. `--json` prints
{"export_id", "rows_written", "excluded_by_consent", "holdout_rows", "sha256", …}.
An empty result (no members, or none with consent) writes no file and exits 1
with the reason. Raw or hashed PII needs the `pii` role (ADESK_ROLE or
`.streamlit/secrets.toml`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dashboard.cli import UsageError, print_json
from dashboard.commands.common import echo, on_engine, open_store, segment_problems, table


def _share(text: str) -> float:
    """0.1, or 10%."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share; write 0.1 or 10%.") from None
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"the holdout share must be from 0 to 0.5 (0–50%), got {text!r}.")
    return value


def _progress(enabled: bool):
    if not enabled:
        return None
    last: dict[str, Any] = {"stage": None}

    def report(stage: str, fraction: float | None) -> None:
        text = f"\r  {stage}" + (f" {fraction:5.0%}" if fraction is not None else "")
        if stage != last["stage"] and last["stage"] is not None:
            sys.stderr.write("\n")
        last["stage"] = stage
        sys.stderr.write(text)
        if stage == "done":
            sys.stderr.write("\n")
        sys.stderr.flush()

    return report


def _segment_source(args: argparse.Namespace, store_needed: bool):
    """(segment, saved id, saved version, resolver) from --segment or --saved."""
    from core.segments.model import referenced_segments
    from dashboard.commands.common import read_definition

    if (args.segment is None) == (args.saved is None):
        raise UsageError(
            "give the audience as --segment FILE (JSON definition, - for stdin) or --saved ID[@VERSION], not both."
        )
    store = None
    saved_id = version = None
    if args.saved is not None:
        saved_id, _, ver = args.saved.partition("@")
        if ver and not ver.isdigit():
            raise UsageError(f"--saved {args.saved!r}: the version after @ must be a whole number, e.g. vip-buyers@3.")
        store = open_store(args.db)
        saved = store.get_segment(saved_id, int(ver) if ver else None)
        if saved is None:
            raise UsageError(
                f"there is no saved segment {args.saved!r}. `adesk segments list` shows the saved segments."
            )
        segment, version = saved.segment, saved.version
    else:
        segment = read_definition(args.segment)
    resolver = None
    if referenced_segments(segment) or store_needed:
        store = store or open_store(args.db)
        resolver = store.resolver()
    return segment, saved_id, version, resolver, store


def cmd_export(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset
    from core.export import EmptyExport, ExportError, ExportOptions, plan_export, write_export
    from core.roles import current_role
    from core.segments.model import SegmentError
    from core.store import StoreError

    role = current_role()
    if role.problem:
        echo(f"adesk export: warning: {role.problem}", err=True)
    segment, saved_id, version, resolver, store = _segment_source(args, store_needed=False)
    columns = tuple(c.strip() for c in (args.columns or "").split(",") if c.strip())
    options = ExportOptions(
        channel=args.channel,
        columns=columns,
        format=args.format,
        bom=args.bom,
        holdout=args.holdout,
        pii_mode=args.pii,
        raw_text=args.raw_text,
    )
    ds = on_engine(open_dataset(args.dir))  # unusable: main() lists its problems, exit 1
    try:
        plan = plan_export(
            ds, segment, options, role=role, resolve=resolver, segment_id=saved_id, segment_version=version
        )
        reason = plan.empty_reason()
        if reason:
            raise EmptyExport(reason)
        store = store or open_store(args.db)
        result = write_export(
            ds,
            plan,
            store,
            out=args.out,
            overwrite=args.overwrite,
            progress=_progress(sys.stderr.isatty() and not args.json),
        )
    except SegmentError as err:
        raise UsageError(f"the segment cannot be used on this dataset:\n{segment_problems(err)}") from None
    except EmptyExport as err:
        echo(f"adesk export: {err}", err=True)
        return 1
    except (ExportError, StoreError) as err:
        raise UsageError(str(err)) from None
    if args.json:
        print_json(result.to_dict())
        return 0
    echo(f"Wrote {result.rows_written:,} rows to {result.path}")
    echo(f"  export id            {result.export_id}")
    echo(f"  members              {result.segment_size:,}")
    echo(
        f"  excluded by consent  {result.excluded_by_consent:,}"
        + (f" (channel {result.channel})" if result.channel else " (no channel: no consent filter)")
    )
    echo(f"  held out             {result.holdout_rows:,}")
    echo(f"  PII                  {result.pii_mode}")
    echo(f"  sha256               {result.sha256}")
    echo(f"  {result.bytes:,} bytes in {result.seconds:.2f} s")
    return 0


# --- the audit log --------------------------------------------------------------------------------


def _record(store, export_id: str):
    record = store.get_export(export_id)
    if record is None:
        raise UsageError(f"there is no export {export_id!r}. `adesk exports list` shows the exports.")
    return record


def cmd_list(args: argparse.Namespace) -> int:

    records = open_store(args.db).list_exports(limit=args.limit)
    if args.json:
        print_json([r.to_dict() for r in records])
        return 0
    if not records:
        echo("No exports yet. Make one with: adesk export DIR --segment FILE --out PATH")
        return 0
    rows = [
        [
            r.export_id,
            r.created_at[:19].replace("T", " "),
            r.created_by,
            r.status,
            r.channel or "—",
            r.pii_mode,
            "—" if r.rows_written is None else f"{r.rows_written:,}",
            f"{r.excluded_by_consent:,}",
            f"{r.holdout_rows:,}",
        ]
        for r in records
    ]
    echo(
        table(
            ["export_id", "created (UTC)", "by", "status", "channel", "pii", "rows", "no consent", "holdout"],
            rows,
            right={6, 7, 8},
        )
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from core.segments.describe import describe
    from core.segments.model import SegmentError, parse_segment

    store = open_store(args.db)
    record = _record(store, args.export_id)
    data: dict[str, Any] = record.to_dict()
    data["assignments"] = store.assignment_counts(record.export_id)
    data["log"] = store.export_actions(record.export_id)
    try:
        data["description"] = describe(parse_segment(record.definition), None, resolve=record.segment_refs.get)
    except (SegmentError, TypeError):
        data["description"] = None
    if args.json:
        print_json(data)
        return 0
    for key in (
        "export_id",
        "status",
        "created_at",
        "created_by",
        "role",
        "dataset_path",
        "as_of",
        "channel",
        "format",
        "pii_mode",
        "holdout_share",
        "segment_size",
        "excluded_by_consent",
        "holdout_rows",
        "rows_written",
        "file_path",
        "sha256",
        "error",
    ):
        value = data.get(key)
        if value is not None:
            echo(f"{key:20} {value}")
    if record.segment_id:
        echo(f"{'saved segment':20} {record.segment_id} v{record.segment_version}")
    echo(f"{'columns':20} user_id, {', '.join(record.columns)}" if record.columns else f"{'columns':20} user_id")
    if data["description"]:
        echo(f"{'segment':20} {data['description']}")
    echo("definition:")
    echo(json.dumps(record.definition, ensure_ascii=False, indent=2))
    return 0


def cmd_recreate(args: argparse.Namespace) -> int:
    from core.dataset import open_dataset
    from core.export import ExportError, recreate_export
    from core.roles import current_role
    from core.segments.model import SegmentError
    from core.store import StoreError

    store = open_store(args.db)
    record = _record(store, args.export_id)
    ds = on_engine(open_dataset(args.dir or record.dataset_path))
    try:
        result = recreate_export(
            ds,
            store,
            record.export_id,
            role=current_role(),
            out=args.out,
            progress=_progress(sys.stderr.isatty() and not args.json),
        )
    except (ExportError, StoreError, SegmentError) as err:
        raise UsageError(str(err)) from None
    if args.json:
        print_json(result.to_dict())
    else:
        verdict = "identical to the logged file" if result.matches else "DIFFERENT from the logged file"
        echo(f"Re-created {result.rows_written:,} rows to {result.path}: sha256 {result.sha256}, {verdict}.")
    return 0 if result.matches else 1


# --- registration ---------------------------------------------------------------------------------


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", default=None, help="app database (default: $ADESK_APP_DB or data/app.db)"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    from core.export import CHANNELS, FORMATS
    from core.roles import PII_MODES

    p = subparsers.add_parser("export", help="write a segment's consenting members to CSV or Parquet (audited)")
    p.add_argument("dir", metavar="DIR", help="dataset directory")
    p.add_argument("--segment", metavar="FILE", help="segment definition JSON file, or - for stdin")
    p.add_argument(
        "--saved", metavar="ID[@VERSION]", help="a saved segment instead of --segment (default: its latest version)"
    )
    p.add_argument(
        "--out",
        metavar="PATH",
        help="output file or folder (default: $ADESK_EXPORT_DIR or data/exports/<export id>.<format>)",
    )
    p.add_argument(
        "--channel",
        choices=(*CHANNELS, "none"),
        default="none",
        help="keep only members who consented to this channel (default: none = no consent filter)",
    )
    p.add_argument(
        "--columns",
        metavar="a,b",
        help="columns besides user_id: attributes, tag paths, rfm_class, aipl_stage, lifecycle",
    )
    p.add_argument("--format", choices=FORMATS, default="csv")
    p.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 byte-order mark (for Excel)")
    p.add_argument(
        "--raw-text",
        action="store_true",
        help="CSV: write text exactly as stored (default: a cell starting with = @ + - tab or CR that is not a "
        "plain number gets a leading ' so spreadsheets do not run it as a formula)",
    )
    p.add_argument(
        "--holdout",
        type=_share,
        default=0.0,
        metavar="SHARE",
        help="share held back as a control group, 0 to 0.5 (or 0%%–50%%)",
    )
    p.add_argument(
        "--pii",
        choices=PII_MODES,
        default="masked",
        help="personal-data columns: masked (default), raw or hashed (SHA-256); raw/hashed need the pii role",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing file at --out")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_db(p)
    p.set_defaults(func=cmd_export)

    log = subparsers.add_parser("exports", help="the export audit log: list, show, recreate")
    actions = log.add_subparsers(dest="action", required=True, metavar="ACTION")

    a = actions.add_parser("list", help="the latest exports")
    a.add_argument("--limit", type=int, default=100)
    a.add_argument("--json", action="store_true", help="print JSON")
    _add_db(a)
    a.set_defaults(func=cmd_list)

    a = actions.add_parser("show", help="one export: who, when, definition, counts, hash")
    a.add_argument("export_id", metavar="EXPORT_ID")
    a.add_argument("--json", action="store_true", help="print JSON")
    _add_db(a)
    a.set_defaults(func=cmd_show)

    a = actions.add_parser("recreate", help="write a logged export again from the same data and compare its hash")
    a.add_argument("export_id", metavar="EXPORT_ID")
    a.add_argument("dir", metavar="DIR", nargs="?", help="dataset directory (default: the one logged)")
    a.add_argument(
        "--out", metavar="PATH", help="where to write it (default: next to the original, <id>.recreated.<ext>)"
    )
    a.add_argument("--json", action="store_true", help="print JSON")
    _add_db(a)
    a.set_defaults(func=cmd_recreate)
