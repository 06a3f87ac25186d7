"""App state in SQLite: saved segments with their versions (and, later, the export audit log).

The file lives outside every dataset directory (default `data/app.db` under the
current directory, or env `ADESK_APP_DB`), so reloading data never loses it.
SQLite runs in WAL mode with a busy timeout so several browser sessions and CLI
processes can write at once; every write is one `BEGIN IMMEDIATE` transaction,
which serialises writers and makes the checks inside it (unique id, reference
cycles, referrers on delete) hold at commit time.

A new connection is opened per call: `sqlite3` connections must not be shared
between threads, and Streamlit serves each session on its own thread.
"""

from core.store.connection import StoreConnection
from core.store.exports import ExportLog
from core.store.helpers import (
    clean_name,
    current_user,
    default_db_path,
    inside_dataset,
    referenced_ids,
    slugify,
    utc_now,
)
from core.store.records import (
    EXPORT_COLUMNS,
    INSERT_EXPORT,
    ExportRecord,
    HoldoutFile,
    SavedSegment,
    SegmentCycle,
    SegmentInUse,
    SegmentNotFound,
    SegmentResolver,
    StoreError,
    UnknownSegmentRef,
)
from core.store.schema import (
    BUSY_TIMEOUT_MS,
    DEFAULT_DB_PATH,
    ENV_DB_PATH,
    ENV_USER,
    MAX_NAME_LENGTH,
    MAX_SLUG_LENGTH,
    MIGRATIONS,
    SCHEMA_VERSION,
)
from core.store.segments import SavedSegments


class AppStore(SavedSegments, ExportLog):
    """Saved segments (with every version) in one SQLite file, created on first use."""


__all__ = [
    "AppStore",
    "BUSY_TIMEOUT_MS",
    "DEFAULT_DB_PATH",
    "ENV_DB_PATH",
    "ENV_USER",
    "EXPORT_COLUMNS",
    "ExportLog",
    "ExportRecord",
    "HoldoutFile",
    "INSERT_EXPORT",
    "MAX_NAME_LENGTH",
    "MAX_SLUG_LENGTH",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SavedSegment",
    "SavedSegments",
    "SegmentCycle",
    "SegmentInUse",
    "SegmentNotFound",
    "SegmentResolver",
    "StoreConnection",
    "StoreError",
    "UnknownSegmentRef",
    "clean_name",
    "current_user",
    "default_db_path",
    "inside_dataset",
    "referenced_ids",
    "slugify",
    "utc_now",
]
