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

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.segments.model import Segment, SegmentError, parse_segment

DEFAULT_DB_PATH = Path("data") / "app.db"
ENV_DB_PATH = "ADESK_APP_DB"
ENV_USER = "ADESK_USER"
BUSY_TIMEOUT_MS = 30_000
MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 60

# Forward migrations: entry i brings the schema from user_version i to i + 1 and
# ends by setting `PRAGMA user_version = i + 1` (a test checks it). Append only;
# never edit a migration that has shipped.
_MIGRATIONS: tuple[str, ...] = (
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
SCHEMA_VERSION = len(_MIGRATIONS)


class StoreError(Exception):
    """A store operation that cannot be done; the message says why and what to do."""


class SegmentNotFound(StoreError):
    def __init__(self, segment_id: str, version: int | None = None):
        self.segment_id = segment_id
        self.version = version
        what = (
            f"version {version} of saved segment {segment_id!r}"
            if version
            else f"saved segment {segment_id!r}"
        )
        super().__init__(f"There is no {what}. `adesk segments list` shows the saved segments.")


class SegmentInUse(StoreError):
    """Deleting a segment that other live saved segments refer to."""

    def __init__(self, segment_id: str, referrers: tuple[tuple[str, str], ...]):
        self.segment_id = segment_id
        self.referrers = referrers  # (id, name) of each live segment that refers to it
        names = ", ".join(f"{rid!r} ({name})" for rid, name in referrers)
        super().__init__(
            f"Saved segment {segment_id!r} is used by {names}. "
            "Remove the reference from those segments (or delete them) first."
        )


class SegmentCycle(StoreError):
    """Saving a definition that would make a segment refer to itself."""

    def __init__(self, path: tuple[str, ...]):
        self.path = path
        super().__init__(
            "A segment cannot refer to itself, directly or through other saved segments: "
            + " → ".join(repr(p) for p in path)
            + ". Remove that segment condition."
        )


class UnknownSegmentRef(StoreError):
    def __init__(self, segment_id: str, referred_by: str):
        self.segment_id = segment_id
        super().__init__(
            f"The definition{referred_by} refers to saved segment {segment_id!r}, which does not exist "
            "(or was deleted). `adesk segments list` shows the saved segments."
        )


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


def current_user() -> str:
    """Who is acting: env ADESK_USER, else the login name, else 'unknown'."""
    who = os.environ.get(ENV_USER, "").strip()
    if who:
        return who
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"  # containers without a passwd entry


def default_db_path() -> Path:
    """ADESK_APP_DB if set, else data/app.db under the current directory."""
    env = os.environ.get(ENV_DB_PATH, "").strip()
    return Path(env) if env else DEFAULT_DB_PATH


def slugify(name: str) -> str:
    """A URL-safe id from a name: lower-case ASCII letters, digits and hyphens.

    >>> slugify("  VIP Buyers — Shanghai (Q3) ")
    'vip-buyers-shanghai-q3'
    >>> slugify("高价值客户")
    'segment'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    # Names in Chinese (or only punctuation) have no ASCII letters; the
    # uniqueness suffix (-2, -3…) keeps those ids apart.
    return slug or "segment"


def referenced_ids(definition: Segment | dict[str, Any]) -> set[str]:
    """Ids of saved segments a definition refers to, at any depth of nesting."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("kind") == "segment" and isinstance(node.get("segment"), str):
                found.add(node["segment"])
            for child in node.get("conditions") or ():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(definition.to_dict() if isinstance(definition, Segment) else definition)
    return found


def _inside_dataset(path: Path) -> Path | None:
    """The dataset directory that `path` would be inside, if any."""
    for parent in path.parents:
        if (parent / "users.parquet").is_file() or (
            (parent / "users").is_dir() and (parent / "events").exists()
        ):
            return parent
    return None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _clean_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError("A saved segment needs a name; give a non-empty name.")
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise StoreError(
            f"The name is {len(name)} characters long; keep it under {MAX_NAME_LENGTH}."
        )
    return name


_LATEST_SQL = """
    SELECT s.id, s.name, v.version, v.definition, v.saved_at, v.saved_by
    FROM segments AS s
    JOIN segment_versions AS v ON v.segment_id = s.id
    WHERE v.version = (SELECT max(version) FROM segment_versions WHERE segment_id = s.id)
"""


class AppStore:
    """Saved segments (with every version) in one SQLite file, created on first use."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        dataset_dir = _inside_dataset(self.path.absolute())
        if dataset_dir is not None:
            raise StoreError(
                f"The app database {str(self.path)!r} would be inside the dataset directory {str(dataset_dir)!r}; "
                "a data reload could lose it. Put it elsewhere (--db PATH or ADESK_APP_DB)."
            )
        if self.path.exists() and self.path.is_dir():
            raise StoreError(
                f"The app database path {str(self.path)!r} is a directory; give a file path."
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(
                f"Cannot create the folder for the app database {str(self.path)!r}: {err}."
            ) from err
        self._migrate()

    # --- connection and schema ------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each write is
            # exactly one transaction and reads run in autocommit.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"Cannot open the app database {str(self.path)!r}: {err}.") from err
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(
                "PRAGMA busy_timeout = 30000"
            )  # = BUSY_TIMEOUT_MS; PRAGMAs take no parameters
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        except sqlite3.DatabaseError as err:
            raise StoreError(f"The app database {str(self.path)!r} cannot be used: {err}.") from err
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock up front."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def reader(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A connection for reads (autocommit), for the store's sibling modules (core/access.py)."""
        return self._connect()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT), for the store's sibling modules."""
        return self._write()

    def _migrate(self) -> None:
        with self._connect() as conn:
            # WAL is a property of the file; setting it again is a no-op.
            conn.execute("PRAGMA journal_mode = WAL")
            current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"The app database {str(self.path)!r} has schema version {current}, newer than this "
                f"program knows ({SCHEMA_VERSION}). Upgrade Audience Desk, or use another --db."
            )
        if current == SCHEMA_VERSION:
            return
        with self._write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for version in range(current, SCHEMA_VERSION):
                # Statements one by one (executescript would commit our transaction).
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)

    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    # --- saved segments ---------------------------------------------------------

    @staticmethod
    def _row_to_saved(row: sqlite3.Row) -> SavedSegment:
        try:
            segment = parse_segment(row["definition"])
        except SegmentError as err:
            raise StoreError(
                f"Saved segment {row['id']!r} version {row['version']} no longer reads as a valid definition: {err}."
            ) from err
        return SavedSegment(
            id=row["id"],
            name=row["name"],
            version=int(row["version"]),
            segment=segment,
            saved_at=row["saved_at"],
            saved_by=row["saved_by"],
        )

    @staticmethod
    def _latest_definitions(conn: sqlite3.Connection) -> dict[str, tuple[str, dict[str, Any]]]:
        """id -> (name, latest definition as a dict) for every live segment."""
        rows = conn.execute(_LATEST_SQL + " AND s.deleted_at IS NULL").fetchall()
        return {row["id"]: (row["name"], json.loads(row["definition"])) for row in rows}

    @staticmethod
    def _check_references(conn: sqlite3.Connection, segment_id: str, segment: Segment) -> None:
        """Refuse unknown references and any path of references leading back to `segment_id`."""
        live = AppStore._latest_definitions(conn)
        graph = {sid: referenced_ids(defn) for sid, (_, defn) in live.items()}
        graph[segment_id] = referenced_ids(segment)
        for ref in sorted(graph[segment_id]):
            if ref != segment_id and ref not in live:
                raise UnknownSegmentRef(ref, "")

        # Depth-first search from the new definition; a path back to it is a cycle.
        seen: set[str] = set()

        def visit(node: str, path: tuple[str, ...]) -> None:
            for ref in sorted(graph.get(node, ())):
                if ref == segment_id:
                    raise SegmentCycle((*path, ref))
                if ref not in seen:
                    seen.add(ref)
                    visit(ref, (*path, ref))

        visit(segment_id, (segment_id,))

    def _unique_slug(self, conn: sqlite3.Connection, name: str) -> str:
        base = slugify(name)
        taken = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM segments WHERE id = ? OR id LIKE ? ESCAPE '\\'",
                (base, base.replace("_", "\\_").replace("%", "\\%") + "-%"),
            )
        }
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def save_segment(
        self,
        name: str | None,
        segment: Segment | dict[str, Any] | str,
        who: str | None = None,
        segment_id: str | None = None,
    ) -> SavedSegment:
        """Save a new segment, or a new version of `segment_id` (renaming it when `name` differs)."""
        if not isinstance(segment, Segment):
            segment = parse_segment(segment)
        who = who or current_user()
        definition = json.dumps(segment.to_dict(), ensure_ascii=False, sort_keys=True)
        now = utc_now()
        with self._write() as conn:
            if segment_id is None:
                name = _clean_name(name or "")
                segment_id = self._unique_slug(conn, name)
                self._check_references(conn, segment_id, segment)
                conn.execute(
                    "INSERT INTO segments (id, name, created_at, created_by) VALUES (?, ?, ?, ?)",
                    (segment_id, name, now, who),
                )
                version = 1
                conn.execute(
                    "INSERT INTO segment_log (segment_id, action, at, who) VALUES (?, 'create', ?, ?)",
                    (segment_id, now, who),
                )
            else:
                row = conn.execute(
                    "SELECT name FROM segments WHERE id = ? AND deleted_at IS NULL", (segment_id,)
                ).fetchone()
                if row is None:
                    raise SegmentNotFound(segment_id)
                self._check_references(conn, segment_id, segment)
                if name is not None and _clean_name(name) != row["name"]:
                    self._rename(conn, segment_id, row["name"], _clean_name(name), who, now)
                name = _clean_name(name) if name is not None else row["name"]
                version = (
                    1
                    + conn.execute(
                        "SELECT coalesce(max(version), 0) FROM segment_versions WHERE segment_id = ?",
                        (segment_id,),
                    ).fetchone()[0]
                )
                conn.execute(
                    "INSERT INTO segment_log (segment_id, action, at, who, detail) VALUES (?, 'save', ?, ?, ?)",
                    (segment_id, now, who, json.dumps({"version": version})),
                )
            conn.execute(
                "INSERT INTO segment_versions (segment_id, version, definition, saved_at, saved_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (segment_id, version, definition, now, who),
            )
        return SavedSegment(segment_id, name, version, segment, now, who)

    def get_segment(
        self, segment_id: str, version: int | None = None, include_deleted: bool = False
    ) -> SavedSegment | None:
        """One saved segment at `version` (default: latest); None when absent or deleted."""
        query = (
            "SELECT s.id, s.name, v.version, v.definition, v.saved_at, v.saved_by "
            "FROM segments AS s JOIN segment_versions AS v ON v.segment_id = s.id "
            "WHERE s.id = ? AND (? OR s.deleted_at IS NULL) "
        )
        with self._connect() as conn:
            if version is None:
                row = conn.execute(
                    query + "ORDER BY v.version DESC LIMIT 1", (segment_id, include_deleted)
                ).fetchone()
            else:
                row = conn.execute(
                    query + "AND v.version = ?", (segment_id, include_deleted, int(version))
                ).fetchone()
        return self._row_to_saved(row) if row is not None else None

    def list_segments(self) -> list[SavedSegment]:
        """The latest version of every live saved segment, by name."""
        with self._connect() as conn:
            rows = conn.execute(
                _LATEST_SQL + " AND s.deleted_at IS NULL ORDER BY lower(s.name), s.id"
            ).fetchall()
        return [self._row_to_saved(row) for row in rows]

    def versions(self, segment_id: str) -> list[SavedSegment]:
        """Every version of a live saved segment, oldest first (empty when absent or deleted)."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT s.id, s.name, v.version, v.definition, v.saved_at, v.saved_by "
                "FROM segments AS s JOIN segment_versions AS v ON v.segment_id = s.id "
                "WHERE s.id = ? AND s.deleted_at IS NULL ORDER BY v.version",
                (segment_id,),
            ).fetchall()
        return [self._row_to_saved(row) for row in rows]

    @staticmethod
    def _rename(
        conn: sqlite3.Connection, segment_id: str, old: str, new: str, who: str, now: str
    ) -> None:
        conn.execute("UPDATE segments SET name = ? WHERE id = ?", (new, segment_id))
        conn.execute(
            "INSERT INTO segment_log (segment_id, action, at, who, detail) VALUES (?, 'rename', ?, ?, ?)",
            (segment_id, now, who, json.dumps({"from": old, "to": new}, ensure_ascii=False)),
        )

    def rename_segment(
        self, segment_id: str, new_name: str, who: str | None = None
    ) -> SavedSegment:
        """Change a segment's display name; its id (and every link to it) stays the same."""
        new_name = _clean_name(new_name)
        with self._write() as conn:
            row = conn.execute(
                "SELECT name FROM segments WHERE id = ? AND deleted_at IS NULL", (segment_id,)
            ).fetchone()
            if row is None:
                raise SegmentNotFound(segment_id)
            if row["name"] != new_name:
                self._rename(conn, segment_id, row["name"], new_name, who or current_user(), utc_now())
        saved = self.get_segment(segment_id)
        if saved is None:  # deleted by another process between the two statements
            raise SegmentNotFound(segment_id)
        return saved

    def delete_segment(self, segment_id: str, who: str | None = None) -> None:
        """Soft-delete a segment; refused with SegmentInUse while live segments refer to it."""
        who = who or current_user()
        with self._write() as conn:
            live = self._latest_definitions(conn)
            if segment_id not in live:
                raise SegmentNotFound(segment_id)
            referrers = tuple(
                (sid, name)
                for sid, (name, defn) in sorted(live.items())
                if sid != segment_id and segment_id in referenced_ids(defn)
            )
            if referrers:
                raise SegmentInUse(segment_id, referrers)
            now = utc_now()
            conn.execute(
                "UPDATE segments SET deleted_at = ?, deleted_by = ? WHERE id = ?",
                (now, who, segment_id),
            )
            conn.execute(
                "INSERT INTO segment_log (segment_id, action, at, who) VALUES (?, 'delete', ?, ?)",
                (segment_id, now, who),
            )

    def history(self, segment_id: str) -> list[dict[str, Any]]:
        """Who created, saved, renamed or deleted a segment, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT action, at, who, detail FROM segment_log WHERE segment_id = ? ORDER BY seq",
                (segment_id,),
            ).fetchall()
        return [
            {
                "action": r["action"],
                "at": r["at"],
                "who": r["who"],
                "detail": json.loads(r["detail"]) if r["detail"] else None,
            }
            for r in rows
        ]

    def live_ids(self) -> list[str]:
        """Ids of every live saved segment."""
        with self._connect() as conn:
            return [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM segments WHERE deleted_at IS NULL ORDER BY id"
                )
            ]

    def resolver(self) -> SegmentResolver:
        """For the compiler: a saved segment's current definition by id (None when absent or deleted)."""
        return SegmentResolver(self)

    # --- export audit log (added by export work) ---
    # Add its table as a new entry at the end of _MIGRATIONS (ending with
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
                raise StoreError(f"An export with id {record.export_id!r} is already logged; start a new export.")
            conn.execute(_INSERT_EXPORT, [fields[c] for c in _EXPORT_COLUMNS])

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
                raise StoreError(f"Export {export_id!r} is not running; it cannot be completed.")
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
                "SELECT * FROM exports WHERE (? IS NULL OR status = ?) ORDER BY created_at DESC, export_id DESC LIMIT ?",
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
            row = conn.execute("SELECT path, sha256, rows FROM export_holdouts WHERE export_id = ?", (export_id,)).fetchone()
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

    def log_export_action(self, export_id: str, action: str, who: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Record a re-creation or download of an export's file."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO export_log (export_id, action, at, who, detail) VALUES (?, ?, ?, ?, ?)",
                (export_id, action, utc_now(), who or current_user(), json.dumps(detail, ensure_ascii=False) if detail else None),
            )

    def export_actions(self, export_id: str) -> list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT action, at, who, detail FROM export_log WHERE export_id = ? ORDER BY seq", (export_id,)
            ).fetchall()
        return [
            {"action": r["action"], "at": r["at"], "who": r["who"], "detail": json.loads(r["detail"]) if r["detail"] else None}
            for r in rows
        ]


@dataclass(frozen=True)
class HoldoutFile:
    """An export's holdout assignments written as Parquet: where, its SHA-256, and its rows."""

    path: str
    sha256: str
    rows: int


_EXPORT_COLUMNS = (
    "export_id", "status", "created_at", "created_by", "role", "definition", "segment_id", "segment_version",
    "segment_refs", "dataset_path", "dataset_fingerprint", "as_of", "channel", "columns", "format", "bom",
    "pii_mode", "holdout_share", "segment_size", "excluded_by_consent", "holdout_rows", "raw_text",
)
# The same columns, in the same order (a test checks they agree).
_INSERT_EXPORT = """
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
            **{k: getattr(self, k) for k in _EXPORT_COLUMNS if k not in ("definition", "segment_refs", "columns", "bom", "raw_text")},
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
