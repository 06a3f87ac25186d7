"""The export audit log and its holdout assignments."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from core.messages import msg
from core.store.connection import StoreConnection
from core.store.helpers import current_user, log_entries, utc_now
from core.store.records import EXPORT_COLUMNS, INSERT_EXPORT, ExportRecord, HoldoutFile, StoreError


class ExportLog(StoreConnection):
    """The export audit log: one row per export, its actions, its holdout assignments."""

    # --- export audit log (added by export work) ---
    # Add its table as a new entry at the end of MIGRATIONS (ending with
    # `PRAGMA user_version = 2;`; statements are split on ";", so no ";" inside
    # literals or triggers) and its methods below. Writes go through
    # `with self._write() as conn:` (one BEGIN IMMEDIATE transaction), reads through
    # `with self._connect() as conn:`.

    # An export is written as 'running' before its file, and turns 'succeeded' only in
    # the transaction that also stores its holdout assignments and in which the file
    # is renamed into place: a crash at any point leaves 'running' or 'failed', never
    # a 'succeeded' row without its file and assignments.

    def start_export(self, record: ExportRecord) -> None:
        """Log an export about to be written (status 'running')."""
        fields = record.to_row()
        fields["status"] = "running"
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM exports WHERE export_id = ?", (record.export_id,)).fetchone():
                raise StoreError(msg("store.export_logged", id=record.export_id))
            conn.execute(INSERT_EXPORT, [fields[c] for c in EXPORT_COLUMNS])

    def complete_export(
        self,
        export_id: str,
        *,
        rows_written: int,
        file_path: str,
        file_bytes: int,
        sha256: str,
        seconds: float,
        assignments: Iterable[list[tuple[str, str]]] = (),
        finalize: Callable[[], None] | None = None,
        holdout_file: HoldoutFile | None = None,
    ) -> None:
        """Store the holdout assignments, run `finalize` (the rename), and mark the export succeeded.

        All in one transaction: if storing the assignments or `finalize` raises,
        nothing of it is kept and the export is still 'running' (the caller marks it failed).
        `assignments` yields batches of (user_id, 'target' | 'holdout').
        """
        with self._write() as conn:
            row = conn.execute("SELECT status FROM exports WHERE export_id = ?", (export_id,)).fetchone()
            if row is None or row["status"] != "running":
                raise StoreError(msg("store.export_not_running", id=export_id))
            for batch in assignments:
                conn.executemany(
                    "INSERT INTO experiment_assignments (experiment, user_id, variant) VALUES (?, ?, ?)",
                    ((export_id, user_id, variant) for user_id, variant in batch),
                )
            if holdout_file is not None:
                conn.execute(
                    "INSERT INTO export_holdouts (export_id, path, sha256, rows) VALUES (?, ?, ?, ?)",
                    (export_id, holdout_file.path, holdout_file.sha256, holdout_file.rows),
                )
            if finalize is not None:
                finalize()
            conn.execute(
                "UPDATE exports SET status = 'succeeded', finished_at = ?, rows_written = ?, file_path = ?, "
                "file_bytes = ?, sha256 = ?, seconds = ? WHERE export_id = ?",
                (utc_now(), rows_written, file_path, file_bytes, sha256, seconds, export_id),
            )

    def fail_export(self, export_id: str, error: str) -> None:
        """Mark a running export failed, with the reason (a succeeded export is never changed)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE exports SET status = 'failed', finished_at = ?, error = ? "
                "WHERE export_id = ? AND status = 'running'",
                (utc_now(), error[:2000], export_id),
            )

    def get_export(self, export_id: str) -> ExportRecord | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM exports WHERE export_id = ?", (export_id,)).fetchone()
        return ExportRecord.from_row(row) if row is not None else None

    def list_exports(self, limit: int = 500, status: str | None = None) -> list[ExportRecord]:
        """The latest exports first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM exports WHERE (? IS NULL OR status = ?) "
                "ORDER BY created_at DESC, export_id DESC LIMIT ?",
                (status, status, int(limit)),
            ).fetchall()
        return [ExportRecord.from_row(r) for r in rows]

    def assignment_counts(self, export_id: str) -> dict[str, int]:
        """Users per variant ('target', 'holdout') recorded for an export (its Parquet file, or older rows)."""
        counts: dict[str, int] = {}
        for batch in self.iter_assignments(export_id):
            for _user, variant in batch:
                counts[variant] = counts.get(variant, 0) + 1
        return counts

    def holdout_file(self, export_id: str) -> HoldoutFile | None:
        """The export's holdout Parquet file as recorded (None for older exports and exports without a holdout)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT path, sha256, rows FROM export_holdouts WHERE export_id = ?", (export_id,)
            ).fetchone()
        return HoldoutFile(row["path"], row["sha256"], int(row["rows"])) if row is not None else None

    def holdout_dir(self) -> Path:
        """Where export holdout files live: a folder beside the app database."""
        return self.path.absolute().with_name(f"{self.path.stem}_holdouts")

    def iter_assignments(self, export_id: str, batch_size: int = 100_000) -> Iterator[list[tuple[str, str]]]:
        """(user_id, variant) of an export's assignments, in user_id order, in batches."""
        recorded = self.holdout_file(export_id)
        if recorded is not None:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(recorded.path).iter_batches(batch_size, columns=["user_id", "variant"]):
                yield list(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True))
            return
        with self._connect() as conn:
            cursor = conn.execute(
                "SELECT user_id, variant FROM experiment_assignments WHERE experiment = ? ORDER BY user_id",
                (export_id,),
            )
            while True:
                batch = cursor.fetchmany(batch_size)
                if not batch:
                    return
                yield [(r[0], r[1]) for r in batch]

    def log_export_action(
        self, export_id: str, action: str, who: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        """Record a re-creation or download of an export's file."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO export_log (export_id, action, at, who, detail) VALUES (?, ?, ?, ?, ?)",
                (
                    export_id,
                    action,
                    utc_now(),
                    who or current_user(),
                    json.dumps(detail, ensure_ascii=False) if detail else None,
                ),
            )

    def export_actions(self, export_id: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT action, at, who, detail FROM export_log WHERE export_id = ? ORDER BY seq", (export_id,)
            ).fetchall()
        return log_entries(rows)
