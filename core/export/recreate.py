"""Re-creating a logged export from the log and comparing its SHA-256."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.export.options import ExportError, ExportOptions, Progress
from core.export.plan import ExportPlan, default_export_dir, plan_export
from core.export.write import target_path, write_file
from core.messages import msg
from core.roles import RoleInfo

if TYPE_CHECKING:
    from core.dataset import Dataset
    from core.store import AppStore, ExportRecord


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
        raise ExportError(msg("export.not_succeeded", id=record.export_id, status=record.status))
    if record.dataset_fingerprint != ds.fingerprint or record.as_of != ds.as_of.isoformat():
        raise ExportError(
            msg(
                "export.other_data",
                id=record.export_id,
                dataset=record.dataset_path,
                as_of=record.as_of,
                open=ds.path,
                open_as_of=ds.as_of,
            )
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
        raise ExportError(msg("export.unknown_export", id=export_id))
    plan = plan_from_record(ds, record, role)
    if out is None:
        base = Path(record.file_path).parent if record.file_path else default_export_dir()
        out = base / f"{export_id}.recreated.{plan.extension}"
    target = target_path(ds, plan, out)
    tmp, rows, sha, size = write_file(ds, plan, target, progress)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    result = Recreated(export_id, str(target), sha, record.sha256 or "", rows, size)
    store.log_export_action(export_id, "recreate", who, {"path": str(target), "sha256": sha, "matches": result.matches})
    return result
