"""Writing an export: one DuckDB COPY to a partial file, hashed, then logged and renamed in one transaction."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.export.options import (
    DEFAULT_EXPORT_DIR,
    HASH_CHUNK_BYTES,
    EmptyExport,
    ExportError,
    Progress,
)
from core.export.plan import ExportPlan, default_export_dir, export_conditions
from core.export.rules import escape_formula, value_expression
from core.messages import msg
from core.segments.compile import where_form

if TYPE_CHECKING:
    from core.dataset import Dataset
    from core.store import AppStore


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
    member, consent, holdout, params, _col, _present = export_conditions(
        ds, plan.segment, plan.segment_refs, plan.options.channel, plan.export_id, plan.options.holdout
    )
    # A BOM is the first bytes of the file; in a CSV those are the first header's.
    names = ["\ufeff" + col.name if (i == 0 and plan.options.bom) else col.name for i, col in enumerate(plan.columns)]
    values = [value_expression(col, plan.options.pii_mode) for col in plan.columns]
    user_id = exp.column("user_id", quoted=True)
    where = exp.and_(where_form(exp.and_(member, consent)), exp.not_(holdout))
    if plan.options.raw_text or not any(col.text for col in plan.columns):
        outputs = [exp.alias_(value, name, quoted=True) for value, name in zip(values, names, strict=True)]
        rows = exp.select(*outputs).from_("profile").where(where).order_by(user_id)
    else:
        rows = _escaped_rows(plan, names, values, where)
    variant = exp.Case(
        ifs=[exp.If(this=holdout.copy(), true=exp.Literal.string("holdout"))], default=exp.Literal.string("target")
    )
    assignments = (
        exp.select(user_id.copy(), exp.alias_(variant, "variant"))
        .from_("profile")
        .where(where_form(exp.and_(member.copy(), consent.copy())))
        .order_by(user_id.copy())
    )
    return rows, assignments, params


def _escaped_rows(plan: ExportPlan, names: list[str], values: list[exp.Expression], where: exp.Expression):
    """The rows with formula-like text cells escaped: values computed once below, escaped above.

    escape_formula names its input several times; over a computed value (a masked phone) DuckDB
    would compute it that often a row, so an inner SELECT computes each value once (as _c0, _c1,
    …) and the outer one escapes the text columns by reference. The rows are sorted by the raw
    user id, which is the user_id column as stored (never masked or hashed; options.output_columns).
    """
    inner = exp.select(*[exp.alias_(v, f"_c{i}", quoted=True) for i, v in enumerate(values)]).from_("profile")
    outputs = []
    for i, (col, name) in enumerate(zip(plan.columns, names, strict=True)):
        ref = exp.column(f"_c{i}", quoted=True)
        outputs.append(exp.alias_(escape_formula(ref) if col.text else ref, name, quoted=True))
    key = next(i for i, col in enumerate(plan.columns) if col.kind == "user_id")
    return (
        exp.select(*outputs)
        .from_(exp.Subquery(this=inner.where(where), alias=exp.TableAlias(this=exp.to_identifier("src"))))
        .order_by(exp.column(f"_c{key}", quoted=True))
    )


def export_select(ds: Dataset, plan: ExportPlan) -> tuple[exp.Expression, dict[str, object]]:
    """The export file's SELECT and its parameters (any engine computes these rows; core/engine/spark.py)."""
    rows, _assignments, params = _select(ds, plan)
    return rows, params


def copy_statement(select: exp.Expression, path: Path, fmt: str) -> str:
    """The COPY that writes an export file (the one writer, so the same rows give the same bytes)."""
    params = [exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var(fmt.upper()))]
    if fmt == "csv":
        params.append(exp.CopyParameter(this=exp.var("HEADER"), expression=exp.true()))
    else:
        params.append(exp.CopyParameter(this=exp.var("COMPRESSION"), expression=exp.var("ZSTD")))
    # The path is a literal (COPY takes no parameter there); sqlglot quotes it.
    return exp.Copy(
        this=exp.Subquery(this=select), kind=False, files=[exp.Literal.string(str(path))], params=params
    ).sql("duckdb")


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


def target_path(ds: Dataset, plan: ExportPlan, out: str | Path | None) -> Path:
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
            msg("export.inside_dataset", target=str(target), dataset=str(dataset), default=DEFAULT_EXPORT_DIR)
        )
    return absolute


def write_file(ds: Dataset, plan: ExportPlan, target: Path, progress: Progress | None) -> tuple[Path, int, str, int]:
    """COPY into a temporary name next to `target`; (tmp path, rows, sha256, bytes). Removes it on failure."""
    rows_select, _assign, params = _select(ds, plan)
    tmp = target.with_name(f".{target.name}.{plan.export_id}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(
            msg("export.cannot_create_folder", folder=str(target.parent), error=err.strerror or err)
        ) from err
    rows, sha, size = copy_hashed(ds, rows_select, params, tmp, plan.options.format, "export.write_failed", progress)
    return tmp, rows, sha, size


def copy_hashed(
    ds: Dataset,
    select: exp.Expression,
    params: dict[str, object],
    tmp: Path,
    fmt: str,
    failed: str,
    progress: Progress | None = None,
    errors: tuple[type[Exception], ...] = (),
) -> tuple[int, str, int]:
    """COPY `select` into `tmp` and hash it: (rows, sha256, bytes).

    On any failure `tmp` is removed; an engine error (or one of `errors`) becomes ExportError(`failed`).
    """
    import duckdb

    cur = ds.cursor()
    try:
        rows = _run_with_progress(cur, copy_statement(select, tmp, fmt), params, progress)
        if progress is not None:
            progress("writing", 1.0)
        size = tmp.stat().st_size
        sha = file_sha256(tmp, progress)
    except (duckdb.Error, *errors) as err:
        tmp.unlink(missing_ok=True)
        raise ExportError(msg(failed, error=err)) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        cur.close()
    return rows, sha, size


def _write_holdout(
    ds: Dataset, plan: ExportPlan, store: AppStore, assigned_at: datetime, progress: Progress | None
) -> tuple[Path, Path, str, int]:
    """COPY every consenting member's variant ('target' | 'holdout') to a Parquet file beside the app store.

    Written by DuckDB under a temporary name; (tmp path, final path, sha256, rows). The file holds
    the data contract's `assignments` columns (experiment = export id, assigned_at = the export's
    time as a UTC instant), so the A/B engine reads it beside the contract's assignments.
    """
    _rows, assignments, params = _select(ds, plan)
    select = exp.select(
        exp.alias_(exp.Placeholder(this="x_experiment"), "experiment"),
        exp.column("user_id", quoted=True),
        exp.column("variant"),
        exp.alias_(
            exp.Cast(this=exp.Placeholder(this="x_assigned_at"), to=exp.DataType.build("TIMESTAMPTZ")), "assigned_at"
        ),
    ).from_(exp.Subquery(this=assignments, alias=exp.TableAlias(this=exp.to_identifier("a"))))
    folder = store.holdout_dir()
    final = folder / f"{plan.export_id}.parquet"
    tmp = folder / f".{plan.export_id}.parquet.partial"
    if progress is not None:
        progress("assignments", 0.0)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(msg("export.holdout_failed", error=err)) from err
    params = {**params, "x_experiment": plan.export_id, "x_assigned_at": assigned_at}
    rows, sha, _size = copy_hashed(ds, select, params, tmp, "parquet", "export.holdout_failed", errors=(OSError,))
    if progress is not None:
        progress("assignments", 1.0)
    return tmp, final, sha, rows


def write_export(
    ds: Dataset,
    plan: ExportPlan,
    store: AppStore,
    *,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    who: str | None = None,
    at: datetime | None = None,
) -> ExportResult:
    """Write the planned export, log it, and record its holdout; see the module docstring for the steps.

    `at` is the export's time (default now, UTC); `adesk demo` records a past campaign with it.

    Raises EmptyExport when there is nothing to write (no file, no log row) and
    ExportError for other problems; a failed export is logged as 'failed'.
    """
    from core.store import ExportRecord, HoldoutFile, current_user

    if plan.dataset_fingerprint != ds.fingerprint:
        raise ExportError(msg("export.data_changed"))
    reason = plan.empty_reason()
    if reason:
        raise EmptyExport(reason)
    target = target_path(ds, plan, out)
    if target.exists() and not overwrite:
        raise ExportError(msg("export.exists", target=str(target)))
    started = time.perf_counter()
    record = ExportRecord(
        export_id=plan.export_id,
        created_at=(at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds"),
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
    holdout: tuple[Path, Path, str, int] | None = None
    renamed = False
    try:
        tmp, rows, sha, size = write_file(ds, plan, target, progress)
        if plan.options.holdout > 0:
            holdout = _write_holdout(ds, plan, store, datetime.fromisoformat(record.created_at), progress)

        def finalize() -> None:
            nonlocal renamed
            if progress is not None:
                progress("finishing", None)
            if holdout is not None:
                os.replace(holdout[0], holdout[1])
            os.replace(tmp, target)  # atomic on one file system: the file appears complete or not at all
            renamed = True

        store.complete_export(
            plan.export_id,
            rows_written=rows,
            file_path=str(target),
            file_bytes=size,
            sha256=sha,
            seconds=time.perf_counter() - started,
            finalize=finalize,
            holdout_file=HoldoutFile(str(holdout[1]), holdout[2], holdout[3]) if holdout is not None else None,
        )
    except BaseException as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if holdout is not None:  # neither the partial nor a renamed holdout file outlives a failed export
            holdout[0].unlink(missing_ok=True)
            holdout[1].unlink(missing_ok=True)
        if renamed:  # renamed, but the transaction that marks success did not commit
            target.unlink(missing_ok=True)
        try:
            store.fail_export(plan.export_id, _error_text(err))
        except Exception:  # noqa: BLE001 - the original error matters more; the row stays 'running', never 'succeeded'
            pass
        if isinstance(err, ExportError | KeyboardInterrupt | SystemExit):
            raise
        if isinstance(err, Exception):
            raise ExportError(msg("export.failed", error=_error_text(err))) from err
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
