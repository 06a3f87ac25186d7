"""The app store's settings and its schema: forward migrations, append only."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DB_PATH = Path("data") / "app.db"
ENV_DB_PATH = "ADESK_APP_DB"
ENV_USER = "ADESK_USER"
BUSY_TIMEOUT_MS = 30_000
MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 60

# Forward migrations: entry i brings the schema from user_version i to i + 1 and
# ends by setting `PRAGMA user_version = i + 1` (a test checks it). Append only;
# never edit a migration that has shipped.
MIGRATIONS: tuple[str, ...] = (
    # 1: saved segments, their versions, and a log of who changed what.
    """
    CREATE TABLE segments (
        id          TEXT PRIMARY KEY,          -- URL-safe slug, never reused
        name        TEXT NOT NULL,
        created_at  TEXT NOT NULL,             -- ISO-8601 UTC
        created_by  TEXT NOT NULL,
        deleted_at  TEXT,                      -- soft delete: exports keep pointing at it
        deleted_by  TEXT
    );
    CREATE TABLE segment_versions (
        segment_id  TEXT NOT NULL REFERENCES segments(id),
        version     INTEGER NOT NULL CHECK (version >= 1),
        definition  TEXT NOT NULL,             -- SEGMENT_SPEC JSON
        saved_at    TEXT NOT NULL,
        saved_by    TEXT NOT NULL,
        PRIMARY KEY (segment_id, version)
    );
    CREATE TABLE segment_log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        segment_id  TEXT NOT NULL REFERENCES segments(id),
        action      TEXT NOT NULL CHECK (action IN ('create', 'save', 'rename', 'delete')),
        at          TEXT NOT NULL,
        who         TEXT NOT NULL,
        detail      TEXT                       -- JSON, e.g. {"from": "old name", "to": "new name"}
    );
    PRAGMA user_version = 1;
    """,
    # 2: the export audit log, holdout assignments per export, and re-creations/downloads.
    """
    CREATE TABLE exports (
        export_id           TEXT PRIMARY KEY,
        status              TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
        created_at          TEXT NOT NULL,
        created_by          TEXT NOT NULL,
        role                TEXT NOT NULL,
        finished_at         TEXT,
        error               TEXT,
        definition          TEXT NOT NULL,     -- SEGMENT_SPEC JSON as exported
        segment_id          TEXT,              -- saved segment, when exported from one
        segment_version     INTEGER,
        segment_refs        TEXT NOT NULL,     -- JSON id -> definition of saved segments it refers to
        dataset_path        TEXT NOT NULL,
        dataset_fingerprint TEXT NOT NULL,
        as_of               TEXT NOT NULL,
        channel             TEXT,              -- sms, wechat, email, or NULL for no consent filter
        columns             TEXT NOT NULL,     -- JSON list of requested columns
        format              TEXT NOT NULL CHECK (format IN ('csv', 'parquet')),
        bom                 INTEGER NOT NULL,
        pii_mode            TEXT NOT NULL CHECK (pii_mode IN ('masked', 'raw', 'hashed')),
        holdout_share       REAL NOT NULL,
        segment_size        INTEGER,
        excluded_by_consent INTEGER,
        holdout_rows        INTEGER,
        rows_written        INTEGER,
        file_path           TEXT,
        file_bytes          INTEGER,
        sha256              TEXT,
        seconds             REAL
    );
    CREATE INDEX exports_by_time ON exports (created_at);
    CREATE TABLE experiment_assignments (
        experiment  TEXT NOT NULL REFERENCES exports(export_id),
        user_id     TEXT NOT NULL,
        variant     TEXT NOT NULL CHECK (variant IN ('target', 'holdout')),
        PRIMARY KEY (experiment, user_id)
    ) WITHOUT ROWID;
    CREATE TABLE export_log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        export_id   TEXT NOT NULL REFERENCES exports(export_id),
        action      TEXT NOT NULL CHECK (action IN ('recreate', 'download')),
        at          TEXT NOT NULL,
        who         TEXT NOT NULL,
        detail      TEXT
    );
    PRAGMA user_version = 2;
    """,
    # 3: whether a CSV export escaped formula-like text cells (exports logged before wrote raw text).
    """
    ALTER TABLE exports ADD COLUMN raw_text INTEGER NOT NULL DEFAULT 1;
    PRAGMA user_version = 3;
    """,
    # 4: who may use the app (core/access.py): a role per e-mail or identity-provider group, with an
    # optional data scope (a segment definition every count, analysis and export is ANDed with).
    """
    CREATE TABLE access_grants (
        subject     TEXT PRIMARY KEY,          -- 'email:ann@brand.com' or 'group:crm-shanghai'
        role        TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'pii', 'admin')),
        scope       TEXT,                      -- SEGMENT_SPEC JSON, or NULL for all members
        granted_at  TEXT NOT NULL,
        granted_by  TEXT NOT NULL
    );
    CREATE TABLE access_log (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        subject     TEXT NOT NULL,
        action      TEXT NOT NULL CHECK (action IN ('grant', 'revoke')),
        at          TEXT NOT NULL,
        who         TEXT NOT NULL,
        detail      TEXT                       -- JSON: the role and scope granted
    );
    PRAGMA user_version = 4;
    """,
    # 5: an export's holdout assignments as one Parquet file beside the app database (path and
    #    SHA-256), recorded in the transaction that marks the export succeeded. Older exports keep
    #    their rows in experiment_assignments; both are read.
    """
    CREATE TABLE export_holdouts (
        export_id   TEXT PRIMARY KEY REFERENCES exports(export_id),
        path        TEXT NOT NULL,             -- Parquet: experiment, user_id, variant, assigned_at (UTC)
        sha256      TEXT NOT NULL,
        rows        INTEGER NOT NULL
    );
    PRAGMA user_version = 5;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
