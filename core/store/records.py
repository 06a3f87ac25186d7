"""The store's errors and records: saved segments, the resolver, logged exports and holdout files."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.messages import CodedError, Message, msg
from core.segments import refs
from core.segments.model import Segment

if TYPE_CHECKING:
    from core.store import AppStore


class StoreError(CodedError):
    """A store operation that cannot be done; the message (coded: `message_obj`) says why and what to do."""


class SegmentNotFound(StoreError):
    def __init__(self, segment_id: str, version: int | None = None):
        self.segment_id = segment_id
        self.version = version
        super().__init__(
            msg("store.version_not_found", version=version, id=segment_id)
            if version
            else msg("store.segment_not_found", id=segment_id)
        )


class SegmentInUse(StoreError):
    """Deleting a segment that other live saved segments refer to."""

    def __init__(self, segment_id: str, referrers: tuple[tuple[str, str], ...]):
        self.segment_id = segment_id
        self.referrers = referrers  # (id, name) of each live segment that refers to it
        names = ", ".join(f"{rid!r} ({name})" for rid, name in referrers)
        super().__init__(msg("store.segment_in_use", id=segment_id, names=names))


class SegmentCycle(StoreError):
    """Saving a definition that would make a segment refer to itself."""

    def __init__(self, path: tuple[str, ...]):
        self.path = path
        super().__init__(refs.cycle_message(path))  # the compiler's words (core.segments.refs)


class UnknownSegmentRef(StoreError):
    def __init__(self, segment_id: str, message: Message):
        self.segment_id = segment_id
        super().__init__(message)  # the compiler's words (core.segments.refs.unknown)


@dataclass(frozen=True)
class SavedSegment:
    id: str
    name: str
    version: int
    segment: Segment
    saved_at: str
    saved_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "saved_at": self.saved_at,
            "saved_by": self.saved_by,
            "definition": self.segment.to_dict(),
        }


class SegmentResolver:
    """Callable id -> current Segment (or None); `known_ids()` lets the compiler suggest close ids.

    Reads the store on each call, so a segment saved in another session is seen at once.
    """

    def __init__(self, store: AppStore):
        self._store = store

    def __call__(self, segment_id: str) -> Segment | None:
        saved = self._store.get_segment(segment_id)
        return saved.segment if saved is not None else None

    def known_ids(self) -> list[str]:
        return self._store.live_ids()


@dataclass(frozen=True)
class HoldoutFile:
    """An export's holdout assignments written as Parquet: where, its SHA-256, and its rows."""

    path: str
    sha256: str
    rows: int


EXPORT_COLUMNS = (
    "export_id",
    "status",
    "created_at",
    "created_by",
    "role",
    "definition",
    "segment_id",
    "segment_version",
    "segment_refs",
    "dataset_path",
    "dataset_fingerprint",
    "as_of",
    "channel",
    "columns",
    "format",
    "bom",
    "pii_mode",
    "holdout_share",
    "segment_size",
    "excluded_by_consent",
    "holdout_rows",
    "raw_text",
)
# The same columns, in the same order (a test checks they agree).
INSERT_EXPORT = """
    INSERT INTO exports (
        export_id, status, created_at, created_by, role, definition, segment_id, segment_version,
        segment_refs, dataset_path, dataset_fingerprint, as_of, channel, columns, format, bom,
        pii_mode, holdout_share, segment_size, excluded_by_consent, holdout_rows, raw_text
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class ExportRecord:
    """One row of the export audit log."""

    export_id: str
    created_at: str
    created_by: str
    role: str
    definition: dict[str, Any]  # SEGMENT_SPEC JSON as exported
    segment_refs: dict[str, Any]  # id -> definition of each saved segment it refers to, at export time
    dataset_path: str
    dataset_fingerprint: str
    as_of: str
    channel: str | None
    columns: tuple[str, ...]
    format: str
    bom: bool
    pii_mode: str
    holdout_share: float
    segment_size: int
    excluded_by_consent: int
    holdout_rows: int
    segment_id: str | None = None
    segment_version: int | None = None
    raw_text: bool = True  # CSV text written as stored (False: formula-like cells escaped)
    status: str = "running"
    finished_at: str | None = None
    error: str | None = None
    rows_written: int | None = None
    file_path: str | None = None
    file_bytes: int | None = None
    sha256: str | None = None
    seconds: float | None = None

    def to_row(self) -> dict[str, Any]:
        return {
            **{
                k: getattr(self, k)
                for k in EXPORT_COLUMNS
                if k not in ("definition", "segment_refs", "columns", "bom", "raw_text")
            },
            "definition": json.dumps(self.definition, ensure_ascii=False, sort_keys=True),
            "segment_refs": json.dumps(self.segment_refs, ensure_ascii=False, sort_keys=True),
            "columns": json.dumps(list(self.columns), ensure_ascii=False),
            "bom": int(self.bom),
            "raw_text": int(self.raw_text),
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ExportRecord:
        d = dict(row)
        return cls(
            **{
                **d,
                "definition": json.loads(d["definition"]),
                "segment_refs": json.loads(d["segment_refs"]),
                "columns": tuple(json.loads(d["columns"])),
                "bom": bool(d["bom"]),
                "raw_text": bool(d["raw_text"]),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["columns"] = list(self.columns)
        return d
