"""Audience export: a segment's consenting members to CSV or Parquet, PII protected, audited, any size.

The whole file is written by DuckDB: one `COPY (SELECT … FROM profile WHERE
<segment> AND <consent> AND NOT <holdout> ORDER BY user_id) TO <tmp>`. Rows never
pass through Python, so memory does not grow with the export's size. Masking and
hashing of personal data happen inside that SELECT (core.privacy.mask_expression,
`sha256(lower(trim(x)))`), so unmasked values never leave DuckDB.

One export, in order:

1. `plan_export` checks the options and the role, fixes the export id, and counts in
   one pass: members, members excluded for lack of consent, members held out, rows
   to write. The dialog shows these before anything is written.
2. `write_export` logs the export as 'running' in the app store, COPYs into a
   temporary name next to the target (`.NAME.ID.partial`), hashes the file in
   chunks, then in ONE store transaction stores the holdout assignments, renames
   the file into place and marks the export 'succeeded'. Any failure removes the
   partial file and marks the export 'failed'; nothing that looks complete is left.
3. `recreate_export` writes the same export again from the log (same definition,
   same saved-segment snapshot, same export id, hence the same holdout) and
   compares its SHA-256 with the logged one.

Determinism: rows are ordered by user_id and DuckDB writes them in that order, so
the same data, definition and options give the same bytes (a test checks it).

Holdout: a user is held out when the first 52 bits of
`sha256(export_id || '|' || user_id)` read as a number are below
`share × 2^52`. The rule needs nothing but the two strings, so anyone can check an
assignment (`in_holdout`), and it does not depend on DuckDB's internal hash.

Consent: a member may be contacted on a channel only when the channel's consent
column (dataset.toml `[privacy] consent`) is TRUE; false, missing and unreadable
values exclude them. It is the same expression the builder's reach counts use
(core.segments.operations).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlglot import exp

from core.config import did_you_mean
from core.privacy import mask_expression
from core.roles import PII_MODES, RoleInfo
from core.segments.compile import where_form
from core.segments.model import Segment, SegmentError, parse_segment, referenced_segments

# Private helpers shared on purpose: one definition of "member" and of "consented"
# for the builder's live counts and for the export.
from core.segments.operations import consent_true, segment_condition

if TYPE_CHECKING:
    from core.dataset import Dataset
    from core.store import AppStore, ExportRecord

ENV_EXPORT_DIR = "ADESK_EXPORT_DIR"
DEFAULT_EXPORT_DIR = Path("data") / "exports"
CHANNELS: tuple[str, ...] = ("sms", "wechat", "email")
FORMATS: tuple[str, ...] = ("csv", "parquet")
MAX_HOLDOUT = 0.5
HOLDOUT_BITS = 52  # 13 hex digits: exact in a double and in BIGINT
HASH_CHUNK_BYTES = 1 << 20
ASSIGNMENT_BATCH = 100_000
# Whitespace removed before hashing, in SQL and in Python alike.
HASH_TRIM = " \t\n\r\f\v"
# Model columns under readable names (and their short aliases).
MODEL_EXPORT_COLUMNS = {"rfm_class": "_rfm_class", "aipl_stage": "_aipl_stage", "lifecycle": "_lifecycle"}
MODEL_ALIASES = {"rfm": "rfm_class", "aipl": "aipl_stage", "_rfm_class": "rfm_class", "_aipl_stage": "aipl_stage", "_lifecycle": "lifecycle"}
# The contact column an operator usually wants for each channel (pre-selected in the dialog).
CHANNEL_CONTACT = {"sms": "phone", "wechat": "openid", "email": "email"}

Format = Literal["csv", "parquet"]
PiiMode = Literal["masked", "raw", "hashed"]
Progress = Callable[[str, float | None], None]  # (stage, fraction done or None) -> None


class ExportError(Exception):
    """An export that cannot be made as asked; the message says what is wrong and what to do."""


class EmptyExport(ExportError):
    """Nothing to write: the segment is empty, or no member may be contacted on the channel."""


# --- options and columns ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportOptions:
    channel: str | None = None  # sms, wechat, email; None = no consent filter
    columns: tuple[str, ...] = ()  # besides user_id (always first)
    format: str = "csv"
    bom: bool = False  # CSV only: a UTF-8 byte-order mark so Excel reads Chinese text right
    holdout: float = 0.0  # share of consenting members held back, 0 .. 0.5
    pii_mode: str = "masked"  # masked, raw, hashed
    # CSV only: False escapes cells that a spreadsheet would run as a formula (see escape_formula);
    # True writes text exactly as stored, for systems that need the raw value.
    raw_text: bool = False

    def checked(self) -> ExportOptions:
        """The options normalised, or ExportError naming the bad one."""
        channel = self.channel
        if isinstance(channel, str) and channel.strip().lower() in ("", "none"):
            channel = None
        if channel is not None and channel not in CHANNELS:
            raise ExportError(f"Unknown channel {channel!r}; use one of: {', '.join(CHANNELS)}, or none.{did_you_mean(str(channel), CHANNELS)}")
        if self.format not in FORMATS:
            raise ExportError(f"Unknown format {self.format!r}; use csv or parquet.")
        if self.pii_mode not in PII_MODES:
            raise ExportError(f"Unknown PII mode {self.pii_mode!r}; use one of: {', '.join(PII_MODES)}.")
        holdout = self.holdout
        if isinstance(holdout, bool) or not isinstance(holdout, int | float) or holdout != holdout or not 0 <= holdout <= MAX_HOLDOUT:
            raise ExportError(f"The holdout share must be a number from 0 to {MAX_HOLDOUT} (0–50%), got {holdout!r}.")
        columns = tuple(dict.fromkeys(c.strip() for c in self.columns if c and c.strip() and c.strip() != "user_id"))
        csv = self.format == "csv"
        return replace(
            self, channel=channel, columns=columns, holdout=float(holdout), bom=bool(self.bom) and csv,
            raw_text=bool(self.raw_text) or not csv,  # Parquet is typed: nothing to escape
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "columns": list(self.columns),
            "format": self.format,
            "bom": self.bom,
            "holdout": self.holdout,
            "pii_mode": self.pii_mode,
            "raw_text": self.raw_text,
        }


@dataclass(frozen=True)
class OutputColumn:
    name: str  # header in the file
    source: str  # column of `profile`
    kind: Literal["user_id", "attribute", "tag", "model"]
    pii: bool = False  # listed in [privacy] pii_columns
    text: bool = False  # a text column: CSV cells may need escaping (escape_formula)


def exportable_columns(ds: Dataset) -> dict[str, list[str]]:
    """What may be exported, by kind (for the dialog's pickers and `--columns` help)."""
    return {
        "attribute": sorted(ds.catalog.attributes),
        "model": list(MODEL_EXPORT_COLUMNS),
        "tag": sorted(ds.catalog.tags),
    }


def resolve_columns(ds: Dataset, names: Sequence[str]) -> tuple[OutputColumn, ...]:
    """user_id, then each requested column: an attribute, a model column, or a tag (as has-tag true/false)."""
    catalog = ds.catalog
    pii = set(ds.config.privacy.pii_columns)
    out = [OutputColumn("user_id", "user_id", "user_id", text=True)]
    seen = {"user_id"}
    for raw in names:
        name = raw.strip()
        if name in catalog.attributes:
            col = OutputColumn(name, name, "attribute", pii=name in pii, text=catalog.attributes[name].type == "string")
        elif MODEL_ALIASES.get(name, name) in MODEL_EXPORT_COLUMNS:
            canonical = MODEL_ALIASES.get(name, name)
            col = OutputColumn(canonical, MODEL_EXPORT_COLUMNS[canonical], "model")
        elif name in catalog.tags:
            col = OutputColumn(name, catalog.tags[name].column, "tag")
        else:
            known = [*catalog.attributes, *MODEL_EXPORT_COLUMNS, *MODEL_ALIASES, *catalog.tags]
            raise ExportError(
                f"Unknown column {name!r}: not an attribute, a tag, or one of rfm_class, aipl_stage, lifecycle."
                + did_you_mean(name, known)
            )
        if col.name not in seen:
            seen.add(col.name)
            out.append(col)
    return tuple(out)


# --- the rules as SQL, and the same rules in Python (tests keep them equal) ----------------------


def hash_value(value: object) -> str | None:
    """SHA-256 (hex) of the normalised value, as ad platforms expect: trimmed, lower-cased.

    None, and values that are empty after trimming, give None (no hash of nothing).
    """
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip(HASH_TRIM).lower()
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def hash_expression(expr: exp.Expression) -> exp.Expression:
    """`hash_value` as a DuckDB expression."""
    normal = exp.Lower(this=exp.Trim(this=exp.cast(expr, "VARCHAR"), expression=exp.Literal.string(HASH_TRIM)))
    return exp.Case(
        ifs=[exp.If(this=exp.func("coalesce", exp.EQ(this=normal.copy(), expression=exp.Literal.string("")), exp.true()), true=exp.Null())],
        default=exp.func("sha256", normal),
    )


def holdout_threshold(share: float) -> int:
    """Users whose 52-bit bucket is below this are held out."""
    return round(share * 2**HOLDOUT_BITS)


def holdout_bucket(export_id: str, user_id: str) -> int:
    """The user's bucket for an export: the first 52 bits of sha256('<export_id>|<user_id>')."""
    digest = hashlib.sha256(f"{export_id}|{user_id}".encode()).hexdigest()
    return int(digest[: HOLDOUT_BITS // 4], 16)


def in_holdout(export_id: str, user_id: str, share: float) -> bool:
    """Whether the export held this user back (the same rule as the SQL)."""
    return holdout_bucket(export_id, user_id) < holdout_threshold(share)


def _holdout_expression() -> exp.Expression:
    """The SQL twin of `in_holdout`, with parameters $x_export_id and $x_threshold."""
    key = exp.DPipe(
        this=exp.DPipe(this=exp.Placeholder(this="x_export_id"), expression=exp.Literal.string("|")),
        expression=exp.column("user_id", quoted=True),
    )
    hex_digits = exp.Substring(this=exp.func("sha256", key), start=exp.Literal.number(1), length=exp.Literal.number(HOLDOUT_BITS // 4))
    bucket = exp.Cast(this=exp.DPipe(this=exp.Literal.string("0x"), expression=hex_digits), to=exp.DataType.build("BIGINT"))
    return exp.LT(this=bucket, expression=exp.Placeholder(this="x_threshold"))


# CSV formula injection (OWASP): a spreadsheet runs a cell that begins with = + - @ (or a tab or
# carriage return before one) as a formula. A cell beginning with =, @, a tab or a CR, or with + or -
# not followed by a plain number, is written with a leading apostrophe, which spreadsheets show as
# text; "+8613800138000" and "-12.5" stay as they are. The same rule in SQL and in Python.
FORMULA_START = r"^[=@\t\r]"
SIGNED = r"^[+-]"
PLAIN_SIGNED_NUMBER = r"^[+-][0-9]+(\.[0-9]+)?$"


def needs_formula_escape(value: str) -> bool:
    """True for a text cell a spreadsheet would run as a formula (the rule above)."""
    return bool(re.match(FORMULA_START, value)) or (
        bool(re.match(SIGNED, value)) and not re.match(PLAIN_SIGNED_NUMBER, value)
    )


def escape_formula(expr: exp.Expression) -> exp.Expression:
    """`expr` with a leading apostrophe where `needs_formula_escape` holds (NULL stays NULL)."""

    def matches(pattern: str) -> exp.Expression:
        return exp.func("regexp_matches", expr.copy(), exp.Literal.string(pattern))

    risky = exp.or_(
        matches(FORMULA_START), exp.and_(matches(SIGNED), exp.not_(matches(PLAIN_SIGNED_NUMBER)))
    )
    escaped = exp.DPipe(this=exp.Literal.string("'"), expression=expr.copy())
    return exp.Case(ifs=[exp.If(this=risky, true=escaped)], default=expr.copy())


def _consent_expression(ds: Dataset, channel: str | None) -> tuple[exp.Expression, str | None, bool]:
    """(condition, consent column, column present) for a channel; no channel = everyone."""
    if channel is None:
        return exp.true(), None, True
    column = ds.config.privacy.consent_columns.get(channel)
    if column is None or column not in ds.catalog.attributes:
        return exp.false(), column, False  # nobody has said yes
    return consent_true(ds, column), column, True


def _value_expression(col: OutputColumn, pii_mode: str) -> exp.Expression:
    source = exp.column(col.source, quoted=True)
    if col.pii and pii_mode == "masked":
        return mask_expression(col.name, source)
    if col.pii and pii_mode == "hashed":
        return hash_expression(source)
    return source


# --- the plan -----------------------------------------------------------------------------------


def new_export_id() -> str:
    """Sortable and unguessable: exp-YYYYMMDD-HHMMSS-<8 hex>."""
    return "exp-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)


def default_export_dir() -> Path:
    """ADESK_EXPORT_DIR, else data/exports under the current directory."""
    env = os.environ.get(ENV_EXPORT_DIR, "").strip()
    return Path(env) if env else DEFAULT_EXPORT_DIR


def snapshot_references(segment: Segment, resolve: Callable[[str], Any] | Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """id -> definition of every saved segment the definition refers to (at any depth), as they are now.

    The export is compiled against this snapshot and the log keeps it, so a later
    edit of a saved segment cannot change what a re-creation writes.
    """
    if resolve is None:
        return {}
    lookup = resolve.get if isinstance(resolve, Mapping) else resolve
    found: dict[str, dict[str, Any]] = {}
    pending = list(referenced_segments(segment))
    while pending:
        sid = pending.pop()
        if sid in found:
            continue
        raw = lookup(sid)
        if raw is None:
            continue  # the compiler reports the unknown id with suggestions
        try:
            saved = parse_segment(raw)
        except SegmentError:
            continue  # reported by the compiler with its path
        found[sid] = saved.to_dict()
        pending.extend(referenced_segments(saved))
    return found


@dataclass(frozen=True)
class ExportPlan:
    """What an export will write, counted before writing."""

    export_id: str
    options: ExportOptions
    segment: Segment
    columns: tuple[OutputColumn, ...]
    segment_size: int  # members of the segment
    excluded_by_consent: int  # members without consent on the channel
    holdout_rows: int  # consenting members held back
    consent_column: str | None
    consent_column_present: bool
    role: RoleInfo
    dataset_path: str
    dataset_fingerprint: str
    as_of: str
    segment_refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    segment_id: str | None = None
    segment_version: int | None = None

    @property
    def rows_to_write(self) -> int:
        return self.segment_size - self.excluded_by_consent - self.holdout_rows

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    @property
    def extension(self) -> str:
        return self.options.format

    def empty_reason(self) -> str | None:
        """Why nothing would be written (None when there are rows)."""
        if self.segment_size == 0:
            return (
                f"The segment has no members in this data (as of {self.as_of}), so there is nothing to export. "
                "Loosen its conditions and try again."
            )
        if self.segment_size == self.excluded_by_consent:
            if not self.consent_column_present:
                return (
                    f"No member can be contacted by {self.options.channel}: the dataset has no consent column "
                    f"{self.consent_column!r} for it (dataset.toml [privacy] consent). Nothing was exported."
                )
            return (
                f"None of the {self.segment_size:,} members consented to {self.options.channel} "
                f"({self.consent_column} is not true for any of them). Nothing was exported; pick another channel."
            )
        if self.rows_to_write == 0:
            return "Every consenting member fell in the holdout; lower the holdout share."
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            **self.options.to_dict(),
            "output_columns": [c.name for c in self.columns],
            "pii_columns": list(self.pii_columns),
            "segment_size": self.segment_size,
            "excluded_by_consent": self.excluded_by_consent,
            "holdout_rows": self.holdout_rows,
            "rows_to_write": self.rows_to_write,
            "consent_column": self.consent_column,
            "role": self.role.role,
            "as_of": self.as_of,
            "segment_id": self.segment_id,
            "segment_version": self.segment_version,
        }


def _conditions(ds: Dataset, segment: Segment, refs: dict[str, Any], channel: str | None, export_id: str, share: float):
    # The snapshot, not the live store: what was exported is what a re-creation compiles.
    member, params = segment_condition(ds, segment, refs if referenced_segments(segment) else None)
    consent, column, present = _consent_expression(ds, channel)
    holdout: exp.Expression = exp.false()
    if share > 0:
        holdout = _holdout_expression()
        params = {**params, "x_export_id": export_id, "x_threshold": holdout_threshold(share)}
    return member, consent, holdout, params, column, present


def plan_export(
    ds: Dataset,
    segment: Segment | dict | str,
    options: ExportOptions,
    *,
    role: RoleInfo,
    resolve: Callable[[str], Any] | Mapping[str, Any] | None = None,
    segment_id: str | None = None,
    segment_version: int | None = None,
    export_id: str | None = None,
    segment_refs: dict[str, dict[str, Any]] | None = None,
) -> ExportPlan:
    """Check the request and count what it would write (one query; writes nothing).

    Raises ExportError for bad options or a role that may not use the PII mode,
    and SegmentError when the definition does not fit the dataset.
    """
    options = options.checked()
    if not role.pii_modes:
        raise ExportError(
            f"Your role {role.role!r} ({role.source}) may see counts and analyses but not export members. "
            "Ask an admin for the operator role."
        )
    if not role.may_export(options.pii_mode):
        raise ExportError(
            f"PII mode {options.pii_mode!r} needs the 'pii' role; your role is {role.role!r} ({role.source}). "
            "Export masked values, or ask an administrator to set ADESK_ROLE=pii (or role = \"pii\" in .streamlit/secrets.toml)."
        )
    segment = parse_segment(segment)
    columns = resolve_columns(ds, options.columns)
    refs = segment_refs if segment_refs is not None else snapshot_references(segment, resolve)
    export_id = export_id or new_export_id()
    member, consent, holdout, params, column, present = _conditions(ds, segment, refs, options.channel, export_id, options.holdout)
    query = (
        exp.select(
            exp.alias_(exp.Count(this=exp.Star()), "members"),
            exp.alias_(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=consent)), "consented"),
            exp.alias_(
                exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.and_(consent.copy(), holdout))),
                "held_out",
            ),
        )
        .from_("profile")
        .where(where_form(member))
    )
    cur = ds.cursor()
    try:
        members, consented, held_out = cur.execute(query.sql("duckdb"), params).fetchone()
    finally:
        cur.close()
    return ExportPlan(
        export_id=export_id,
        options=options,
        segment=segment,
        columns=columns,
        segment_size=int(members),
        excluded_by_consent=int(members) - int(consented),
        holdout_rows=int(held_out),
        consent_column=column,
        consent_column_present=present,
        role=role,
        dataset_path=str(ds.path),
        dataset_fingerprint=ds.fingerprint,
        as_of=ds.as_of.isoformat(),
        segment_refs=refs,
        segment_id=segment_id,
        segment_version=segment_version,
    )


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    export_id: str
    path: str
    format: str
    rows_written: int
    segment_size: int
    excluded_by_consent: int
    holdout_rows: int
    sha256: str
    bytes: int
    seconds: float
    channel: str | None
    pii_mode: str
    columns: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "rows_written": self.rows_written,
            "excluded_by_consent": self.excluded_by_consent,
            "holdout_rows": self.holdout_rows,
            "sha256": self.sha256,
            "segment_size": self.segment_size,
            "path": self.path,
            "format": self.format,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "channel": self.channel,
            "pii_mode": self.pii_mode,
            "columns": list(self.columns),
        }


def _select(ds: Dataset, plan: ExportPlan) -> tuple[exp.Expression, exp.Expression, dict[str, object]]:
    """(the file's SELECT, the assignments' SELECT, parameters)."""
    member, consent, holdout, params, _col, _present = _conditions(
        ds, plan.segment, plan.segment_refs, plan.options.channel, plan.export_id, plan.options.holdout
    )
    outputs = []
    for i, col in enumerate(plan.columns):
        # A BOM is the first bytes of the file; in a CSV those are the first header's.
        name = "\ufeff" + col.name if (i == 0 and plan.options.bom) else col.name
        value = _value_expression(col, plan.options.pii_mode)
        if col.text and not plan.options.raw_text:
            value = escape_formula(value)
        outputs.append(exp.alias_(value, name, quoted=True))
    user_id = exp.column("user_id", quoted=True)
    rows = (
        exp.select(*outputs)
        .from_("profile")
        .where(exp.and_(where_form(exp.and_(member, consent)), exp.not_(holdout)))
        .order_by(user_id)
    )
    variant = exp.Case(ifs=[exp.If(this=holdout.copy(), true=exp.Literal.string("holdout"))], default=exp.Literal.string("target"))
    assignments = (
        exp.select(user_id.copy(), exp.alias_(variant, "variant"))
        .from_("profile")
        .where(where_form(exp.and_(member.copy(), consent.copy())))
        .order_by(user_id.copy())
    )
    return rows, assignments, params


def export_select(ds: Dataset, plan: ExportPlan) -> tuple[exp.Expression, dict[str, object]]:
    """The export file's SELECT and its parameters (any engine computes these rows; core/engine/spark.py)."""
    rows, _assignments, params = _select(ds, plan)
    return rows, params


def copy_statement(select: exp.Expression, path: Path, fmt: str) -> str:
    """The COPY that writes an export file (the one writer, so the same rows give the same bytes)."""
    return _copy_statement(select, path, fmt)


def _copy_statement(select: exp.Expression, path: Path, fmt: str) -> str:
    params = [exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var(fmt.upper()))]
    if fmt == "csv":
        params.append(exp.CopyParameter(this=exp.var("HEADER"), expression=exp.true()))
    else:
        params.append(exp.CopyParameter(this=exp.var("COMPRESSION"), expression=exp.var("ZSTD")))
    # The path is a literal (COPY takes no parameter there); sqlglot quotes it.
    return exp.Copy(this=exp.Subquery(this=select), kind=False, files=[exp.Literal.string(str(path))], params=params).sql("duckdb")


def _run_with_progress(cur, sql: str, params: dict[str, object], progress: Progress | None) -> int:
    """Run a COPY on a worker thread, reporting DuckDB's progress; interrupt it if the caller stops."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["rows"] = cur.execute(sql, params).fetchone()[0]
        except BaseException as err:  # noqa: BLE001 - re-raised on the calling thread
            outcome["error"] = err

    worker = threading.Thread(target=work, name="adesk-export-copy", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
            if progress is not None and worker.is_alive():
                try:
                    pct = cur.query_progress()
                except Exception:  # noqa: BLE001 - progress is best effort
                    pct = -1
                progress("writing", pct / 100 if pct is not None and pct >= 0 else None)
    except BaseException:
        cur.interrupt()  # the caller gave up (or its progress display failed): stop DuckDB too
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["rows"])


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    """SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    total = max(1, path.stat().st_size)
    done = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None and (done % (16 * HASH_CHUNK_BYTES) == 0 or done == total):
                progress("hashing", done / total)
    return digest.hexdigest()


def _target_path(ds: Dataset, plan: ExportPlan, out: str | Path | None) -> Path:
    if out is None:
        target = default_export_dir() / f"{plan.export_id}.{plan.extension}"
    else:
        target = Path(out).expanduser()
        if target.is_dir():
            target = target / f"{plan.export_id}.{plan.extension}"
    absolute = target.absolute()
    dataset = ds.path.resolve()
    if absolute.resolve() == dataset or dataset in absolute.resolve().parents:
        raise ExportError(
            f"The export file {str(target)!r} would be inside the dataset directory {str(dataset)!r}; "
            f"a data reload could delete it and it would change the dataset. Write it elsewhere (default {DEFAULT_EXPORT_DIR}/ or ADESK_EXPORT_DIR)."
        )
    return absolute


def _write_file(ds: Dataset, plan: ExportPlan, target: Path, progress: Progress | None) -> tuple[Path, int, str, int]:
    """COPY into a temporary name next to `target`; (tmp path, rows, sha256, bytes). Removes it on failure."""
    import duckdb

    rows_select, _assign, params = _select(ds, plan)
    tmp = target.with_name(f".{target.name}.{plan.export_id}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"Cannot create the folder {str(target.parent)!r} for the export: {err.strerror or err}.") from err
    cur = ds.cursor()
    try:
        rows = _run_with_progress(cur, _copy_statement(rows_select, tmp, plan.options.format), params, progress)
        if progress is not None:
            progress("writing", 1.0)
        size = tmp.stat().st_size
        sha = file_sha256(tmp, progress)
    except duckdb.Error as err:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"Writing the export file failed: {err}. Nothing was exported; check the disk space and try again.") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        cur.close()
    return tmp, rows, sha, size


def _assignment_batches(ds: Dataset, plan: ExportPlan, progress: Progress | None) -> Iterator[list[tuple[str, str]]]:
    """(user_id, 'target' | 'holdout') for every consenting member, streamed from DuckDB in batches."""
    _rows, assignments, params = _select(ds, plan)
    total = max(1, plan.segment_size - plan.excluded_by_consent)
    cur = ds.cursor()
    try:
        reader = cur.sql(assignments.sql("duckdb"), params=params).to_arrow_reader(ASSIGNMENT_BATCH)
        done = 0
        for batch in reader:
            users = batch.column(0).to_pylist()
            yield list(zip(users, batch.column(1).to_pylist(), strict=True))
            done += len(users)
            if progress is not None:
                progress("assignments", done / total)
    finally:
        cur.close()


def write_export(
    ds: Dataset,
    plan: ExportPlan,
    store: AppStore,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    who: str | None = None,
) -> ExportResult:
    """Write the planned export, log it, and record its holdout; see the module docstring for the steps.

    Raises EmptyExport when there is nothing to write (no file, no log row) and
    ExportError for other problems; a failed export is logged as 'failed'.
    """
    from core.store import ExportRecord, current_user

    if plan.dataset_fingerprint != ds.fingerprint:
        raise ExportError("The data changed since this export was planned; count again before writing.")
    reason = plan.empty_reason()
    if reason:
        raise EmptyExport(reason)
    target = _target_path(ds, plan, out)
    if target.exists() and not overwrite:
        raise ExportError(f"{str(target)!r} already exists; choose another --out path, or pass --overwrite.")
    started = time.perf_counter()
    record = ExportRecord(
        export_id=plan.export_id,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        created_by=who or current_user(),
        role=plan.role.role,
        definition=plan.segment.to_dict(),
        segment_refs=plan.segment_refs,
        dataset_path=plan.dataset_path,
        dataset_fingerprint=plan.dataset_fingerprint,
        as_of=plan.as_of,
        channel=plan.options.channel,
        columns=plan.options.columns,
        format=plan.options.format,
        bom=plan.options.bom,
        pii_mode=plan.options.pii_mode,
        raw_text=plan.options.raw_text,
        holdout_share=plan.options.holdout,
        segment_size=plan.segment_size,
        excluded_by_consent=plan.excluded_by_consent,
        holdout_rows=plan.holdout_rows,
        segment_id=plan.segment_id,
        segment_version=plan.segment_version,
    )
    store.start_export(record)
    tmp: Path | None = None
    renamed = False
    try:
        tmp, rows, sha, size = _write_file(ds, plan, target, progress)

        def finalize() -> None:
            nonlocal renamed
            if progress is not None:
                progress("finishing", None)
            os.replace(tmp, target)  # atomic on one file system: the file appears complete or not at all
            renamed = True

        batches = _assignment_batches(ds, plan, progress) if plan.options.holdout > 0 else ()
        store.complete_export(
            plan.export_id,
            rows_written=rows,
            file_path=str(target),
            file_bytes=size,
            sha256=sha,
            seconds=time.perf_counter() - started,
            assignments=batches,
            finalize=finalize,
        )
    except BaseException as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if renamed:  # renamed, but the transaction that marks success did not commit
            target.unlink(missing_ok=True)
        try:
            store.fail_export(plan.export_id, _error_text(err))
        except Exception:  # noqa: BLE001 - the original error matters more; the row stays 'running', never 'succeeded'
            pass
        if isinstance(err, ExportError | KeyboardInterrupt | SystemExit):
            raise
        if isinstance(err, Exception):
            raise ExportError(f"The export failed: {_error_text(err)}. Nothing was exported.") from err
        raise
    if progress is not None:
        progress("done", 1.0)
    return ExportResult(
        export_id=plan.export_id,
        path=str(target),
        format=plan.options.format,
        rows_written=rows,
        segment_size=plan.segment_size,
        excluded_by_consent=plan.excluded_by_consent,
        holdout_rows=plan.holdout_rows,
        sha256=sha,
        bytes=size,
        seconds=time.perf_counter() - started,
        channel=plan.options.channel,
        pii_mode=plan.options.pii_mode,
        columns=tuple(c.name for c in plan.columns),
    )


def _error_text(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if isinstance(err, ExportError) else f"{type(err).__name__}: {text}"


# --- the log: re-creating an export -------------------------------------------------------------


@dataclass(frozen=True)
class Recreated:
    export_id: str
    path: str
    sha256: str
    logged_sha256: str
    rows_written: int
    bytes: int

    @property
    def matches(self) -> bool:
        return self.sha256 == self.logged_sha256

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "path": self.path,
            "sha256": self.sha256,
            "logged_sha256": self.logged_sha256,
            "matches": self.matches,
            "rows_written": self.rows_written,
            "bytes": self.bytes,
        }


def plan_from_record(ds: Dataset, record: ExportRecord, role: RoleInfo) -> ExportPlan:
    """The plan of a logged export, on the same data (ExportError when the data changed)."""
    if record.status != "succeeded":
        raise ExportError(f"Export {record.export_id} did not succeed (status {record.status}); there is no file to re-create.")
    if record.dataset_fingerprint != ds.fingerprint or record.as_of != ds.as_of.isoformat():
        raise ExportError(
            f"Export {record.export_id} was made from other data (dataset {record.dataset_path}, as of {record.as_of}); "
            f"the open dataset {ds.path} (as of {ds.as_of}) has changed since, so the identical file cannot be re-created."
        )
    options = ExportOptions(
        channel=record.channel,
        columns=record.columns,
        format=record.format,
        bom=record.bom,
        holdout=record.holdout_share,
        pii_mode=record.pii_mode,
        raw_text=record.raw_text,
    )
    return plan_export(
        ds,
        record.definition,
        options,
        role=role,
        export_id=record.export_id,
        segment_refs=record.segment_refs,
        segment_id=record.segment_id,
        segment_version=record.segment_version,
    )


def recreate_export(
    ds: Dataset,
    store: AppStore,
    export_id: str,
    *,
    role: RoleInfo,
    out: str | Path | None = None,
    progress: Progress | None = None,
    who: str | None = None,
) -> Recreated:
    """Write a logged export again from the same data and compare its SHA-256 with the log.

    The new file goes to `out` (default: next to the original, `<id>.recreated.<ext>`);
    the re-creation is recorded in the export's log.
    """
    record = store.get_export(export_id)
    if record is None:
        raise ExportError(f"There is no export {export_id!r}. `adesk exports list` shows the exports.")
    plan = plan_from_record(ds, record, role)
    if out is None:
        base = Path(record.file_path).parent if record.file_path else default_export_dir()
        out = base / f"{export_id}.recreated.{plan.extension}"
    target = _target_path(ds, plan, out)
    tmp, rows, sha, size = _write_file(ds, plan, target, progress)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    result = Recreated(export_id, str(target), sha, record.sha256 or "", rows, size)
    store.log_export_action(export_id, "recreate", who, {"path": str(target), "sha256": sha, "matches": result.matches})
    return result
