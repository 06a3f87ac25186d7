"""Saved funnels: a name and every version of its definition, in the app database beside saved segments.

Its own table (`funnel_versions`), so it never touches the segment tables of core/store.py.
A save with the id of an existing funnel adds a version; earlier versions stay readable.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.analyses.funnel_spec import FunnelSpec, parse_funnel
from core.messages import msg
from core.store import StoreError, current_user, default_db_path, slugify, utc_now

MAX_NAME = 200
SCHEMA = """
create table if not exists funnel_versions (
    id          text not null,
    version     integer not null,
    name        text not null,
    definition  text not null,
    created_at  text not null,
    created_by  text not null,
    primary key (id, version)
)
"""


@dataclass(frozen=True)
class SavedFunnel:
    id: str
    name: str
    version: int
    funnel: FunnelSpec
    created_at: str
    created_by: str


class FunnelStore:
    """Saved funnels in the app database (ADESK_APP_DB, default data/app.db)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(msg("store.cannot_open", path=str(self.path), error=str(err))) from err
        try:
            conn.row_factory = sqlite3.Row
            yield conn
        except sqlite3.Error as err:
            raise StoreError(msg("store.not_usable", path=str(self.path), error=str(err))) from err
        finally:
            conn.close()

    def save(
        self, name: str, funnel: FunnelSpec | dict, who: str | None = None, funnel_id: str | None = None
    ) -> SavedFunnel:
        """A new funnel (an id from its name) or, with `funnel_id`, a new version of it; checked before writing."""
        spec = parse_funnel(funnel)  # a bad definition is refused before anything is written
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise StoreError(msg("store.funnel_name", limit=MAX_NAME))
        name = " ".join(name.split())
        text = json.dumps(spec.to_dict(), ensure_ascii=False, sort_keys=True)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if funnel_id is None:
                    base = slugify(name) or "funnel"
                    taken = {r[0] for r in conn.execute("select distinct id from funnel_versions")}
                    funnel_id, n = base, 2
                    while funnel_id in taken:
                        funnel_id, n = f"{base}-{n}", n + 1
                    version = 1
                else:
                    last = conn.execute(
                        "select max(version) from funnel_versions where id = ?", (funnel_id,)
                    ).fetchone()[0]
                    if last is None:
                        raise StoreError(msg("store.funnel_not_found", id=funnel_id))
                    version = last + 1
                saved = SavedFunnel(funnel_id, name, version, spec, utc_now(), who or current_user())
                conn.execute(
                    "insert into funnel_versions (id, version, name, definition, created_at, created_by) "
                    "values (?, ?, ?, ?, ?, ?)",
                    (saved.id, saved.version, saved.name, text, saved.created_at, saved.created_by),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return saved

    def get(self, funnel_id: str, version: int | None = None) -> SavedFunnel | None:
        """One saved funnel at `version` (default: the latest); None when absent."""
        with self._connect() as conn:
            if version is None:
                row = conn.execute(
                    "select * from funnel_versions where id = ? order by version desc limit 1", (funnel_id,)
                ).fetchone()
            else:
                row = conn.execute(
                    "select * from funnel_versions where id = ? and version = ?", (funnel_id, version)
                ).fetchone()
        return _saved(row) if row is not None else None

    def list(self) -> list[SavedFunnel]:
        """The latest version of every saved funnel, by name."""
        with self._connect() as conn:
            rows = conn.execute(
                "select f.* from funnel_versions f"
                " join (select id, max(version) as v from funnel_versions group by id) m"
                " on f.id = m.id and f.version = m.v order by f.name, f.id"
            ).fetchall()
        return [_saved(r) for r in rows]

    def versions(self, funnel_id: str) -> list[SavedFunnel]:
        with self._connect() as conn:
            rows = conn.execute("select * from funnel_versions where id = ? order by version", (funnel_id,)).fetchall()
        return [_saved(r) for r in rows]


def _saved(row: sqlite3.Row) -> SavedFunnel:
    return SavedFunnel(
        row["id"],
        row["name"],
        row["version"],
        parse_funnel(json.loads(row["definition"])),
        row["created_at"],
        row["created_by"],
    )
