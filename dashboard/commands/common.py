"""What every `adesk` command shares: reading a segment definition, the app store, tables, usage errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from core.segments.model import Segment, SegmentError, parse_segment
from core.store import AppStore, StoreError, default_db_path, referenced_ids
from dashboard.cli import UsageError

# Definitions are small; a cap keeps a hostile or mistaken input (a Parquet file,
# /dev/zero) from being read whole.
MAX_DEFINITION_BYTES = 1_000_000


def echo(text: str = "", err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")


def segment_problems(err: SegmentError) -> str:
    issues = getattr(err, "issues", ()) or ()
    if not issues:
        return str(err)
    lines = [f"  {issue.path}: {issue.message}" if issue.path else f"  {issue.message}" for issue in issues]
    return "\n".join(lines)


def read_source(source: str) -> bytes:
    """The bytes of a file (or stdin for '-'), at most one past MAX_DEFINITION_BYTES: a larger one shows as such."""
    if source == "-":
        if hasattr(sys.stdin, "buffer"):
            return sys.stdin.buffer.read(MAX_DEFINITION_BYTES + 1)
        return sys.stdin.read(MAX_DEFINITION_BYTES + 1).encode()
    with open(source, "rb") as fh:
        return fh.read(MAX_DEFINITION_BYTES + 1)


def read_definition(source: str) -> Segment:
    """The segment in a file (or stdin for '-'); UsageError naming what is wrong."""
    label = "stdin" if source == "-" else repr(source)
    try:
        data = read_source(source)
    except FileNotFoundError:
        raise UsageError(
            f"segment file {label} does not exist. Give the path of a JSON definition, or - for stdin."
        ) from None
    except IsADirectoryError:
        raise UsageError(f"segment file {label} is a directory. Give the path of a JSON definition file.") from None
    except OSError as err:
        raise UsageError(f"cannot read segment file {label}: {err.strerror or err}.") from None
    if len(data) > MAX_DEFINITION_BYTES:
        raise UsageError(
            f"the segment definition in {label} is larger than {MAX_DEFINITION_BYTES:,} bytes; is it the right file?"
        )
    if not data.strip():
        raise UsageError(
            f"the segment definition in {label} is empty. Write a JSON object like "
            '{"version": 1, "match": "all", "conditions": []}.'
        )
    try:
        return parse_segment(data)
    except SegmentError as err:
        raise UsageError(f"bad segment definition in {label}:\n{segment_problems(err)}") from None


def open_store(db: str | None) -> AppStore:
    try:
        return AppStore(db)
    except StoreError as err:
        raise UsageError(str(err)) from None


def resolver(segment: Segment, db: str | None):
    """The saved-segment resolver, only when the definition refers to saved segments."""
    if not referenced_ids(segment):
        return None
    path = Path(db) if db else default_db_path()
    if not path.exists():
        return lambda _segment_id: None  # nothing saved yet: the compiler reports the unknown id
    return open_store(db).resolver()


def pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    right = right or set()
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def run_safely(fn, *args: Any, **kwargs: Any) -> Any:
    """Turn definition and request problems into exit-2 usage errors."""
    from core.segments.operations import OperationError

    try:
        return fn(*args, **kwargs)
    except SegmentError as err:
        raise UsageError(f"the segment cannot be used on this dataset:\n{segment_problems(err)}") from None
    except (OperationError, StoreError) as err:
        raise UsageError(str(err)) from None


def engine_name() -> str:
    """ADESK_ENGINE (duckdb or spark); a bad value is a usage error naming the fix."""
    from core.engine import EngineError, engine_settings

    try:
        return engine_settings().engine
    except EngineError as err:
        raise UsageError(str(err)) from None


def on_engine(ds):
    """The dataset answered by ADESK_ENGINE's engine (Spark: core/engine/spark_dataset.py)."""
    from core.engine import EngineError, engine_dataset

    engine_name()  # a bad setting is a usage error before Spark starts
    try:
        return engine_dataset(ds)
    except EngineError as err:
        raise UsageError(str(err)) from None
