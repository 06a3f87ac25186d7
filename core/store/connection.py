"""The store's SQLite connection, write transactions and migrations."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.messages import msg
from core.store.helpers import default_db_path, inside_dataset
from core.store.records import StoreError
from core.store.schema import BUSY_TIMEOUT_MS, MIGRATIONS, SCHEMA_VERSION


class StoreConnection:
    """One SQLite file, created and migrated on first use; a new connection per call."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else default_db_path()
        dataset_dir = inside_dataset(self.path.absolute())
        if dataset_dir is not None:
            raise StoreError(msg("store.inside_dataset", path=str(self.path), dataset=str(dataset_dir)))
        if self.path.exists() and self.path.is_dir():
            raise StoreError(msg("store.is_directory", path=str(self.path)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(msg("store.cannot_create_folder", path=str(self.path), error=str(err))) from err
        self._migrate()

    # --- connection and schema ------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each write is
            # exactly one transaction and reads run in autocommit.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(msg("store.cannot_open", path=str(self.path), error=str(err))) from err
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")  # = BUSY_TIMEOUT_MS; PRAGMAs take no parameters
            conn.execute("PRAGMA foreign_keys = ON")
            yield conn
        except sqlite3.DatabaseError as err:
            raise StoreError(msg("store.unusable", path=str(self.path), error=str(err))) from err
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
            raise StoreError(msg("store.newer_schema", path=str(self.path), current=current, known=SCHEMA_VERSION))
        if current == SCHEMA_VERSION:
            return
        with self._write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for version in range(current, SCHEMA_VERSION):
                # Statements one by one (executescript would commit our transaction).
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)

    def schema_version(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
