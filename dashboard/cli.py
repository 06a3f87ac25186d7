"""`adesk`: the command line. Each command module in dashboard/commands registers its subcommands."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from core.engine import EngineError as EngineSettingError
from core.problems import DatasetError
from core.problems import EngineError as QueryError

# One module per area; each has `register(subparsers)` adding parsers whose
# `func(args) -> int` does the work. Keep this list short and alphabetical.
COMMAND_MODULES = (
    "dashboard.commands.ab",
    "dashboard.commands.access",
    "dashboard.commands.aipl",
    "dashboard.commands.bench",
    "dashboard.commands.data",
    "dashboard.commands.demo",
    "dashboard.commands.export",
    "dashboard.commands.funnels",
    "dashboard.commands.overview",
    "dashboard.commands.retention",
    "dashboard.commands.segments",
    "dashboard.commands.serve",
)


class UsageError(Exception):
    """Bad input from the user: printed to stderr, exit status 2."""


def print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adesk", description="Audience Desk: audiences from your member data.")
    parser.add_argument(
        "--lang", choices=("en", "zh"), default="en",
        help="language of the reasons core gives (segment errors, validation problems, refusals); default en",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:
                continue  # area not built yet
            raise
        module.register(sub)
    return parser


# Commands that read no member data run without a grant (serve's server asks each person to sign in).
OPEN_COMMANDS = frozenset({"demo", "serve"})


def _install_access(args: argparse.Namespace) -> None:
    """Team mode (grants exist): the person running the command needs one; its scope limits every dataset opened."""
    from pathlib import Path

    from core.access import AccessError, cli_access, use_for_process
    from core.store import AppStore, StoreError, current_user, default_db_path

    use_for_process(None)
    if args.command in OPEN_COMMANDS or getattr(args, "manages_access", False):
        return
    path = Path(getattr(args, "db", None) or default_db_path())
    if not path.is_file():
        return  # no app store yet: local mode
    try:
        use_for_process(cli_access(AppStore(path), current_user()))
    except (AccessError, StoreError) as err:
        raise UsageError(str(err)) from None


def problem_texts(args: argparse.Namespace):
    """A validation problem's (message, fix) in the language of `--lang`; None for English."""
    if getattr(args, "lang", "en") == "en":
        return None
    from dashboard.messages import problem_text

    return lambda p: problem_text(p, args.lang)


def usage_text(err: UsageError, lang: str) -> str:
    """The usage error's text with core's reason in `lang`: the command's own words around it stay English.

    Commands raise `UsageError(...) from` the core error, whose English text (or each issue's line) is
    part of the message; that part is swapped for the same message in `lang`.
    """
    text, cause = str(err), err.__context__
    if lang == "en" or cause is None:
        return text
    from core.segments.conditions import SegmentError
    from dashboard.messages import error_text, issue_text

    if str(cause) and str(cause) in text:  # the whole message ("Invalid segment: …", a refusal)
        return text.replace(str(cause), error_text(cause, lang), 1)
    if isinstance(cause, SegmentError):  # its issues listed one a line by the command
        for issue in cause.issues:
            text = text.replace(str(issue), issue_text(issue, lang), 1)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _install_access(args)
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"adesk {args.command}: {usage_text(err, args.lang)}", file=sys.stderr)
        return 2
    except DatasetError as err:  # any command on a dataset that cannot be used: every problem, exit 1
        print(f"adesk {args.command}: the dataset {err.report.dataset} cannot be used:", file=sys.stderr)
        texts = problem_texts(args)
        for problem in err.report.errors:
            if texts is None:
                print(f"  {problem}", file=sys.stderr)
            else:
                message, fix = texts(problem)
                where = problem.file + (f" [{problem.column}]" if problem.column else "")
                print(f"  {problem.severity.upper()}: {where}: {message} Fix: {fix}", file=sys.stderr)
        return 1
    except (QueryError, EngineSettingError) as err:  # the engine could not answer (e.g. Spark): the reason, exit 1
        print(f"adesk {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        from core.access import use_for_process

        use_for_process(None)  # main() may run again in this process (tests): nothing carries over


if __name__ == "__main__":
    # `python -m dashboard.cli` runs this file as __main__; call the imported module's main so
    # that commands (which import dashboard.cli) raise the same UsageError class it catches.
    from dashboard.cli import main as _main

    sys.exit(_main())
