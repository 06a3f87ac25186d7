"""Saved segments with every version: save, rename, delete, history, resolve."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from core.messages import msg
from core.segments import refs
from core.segments.model import Segment, SegmentError, parse_segment
from core.store.connection import StoreConnection
from core.store.helpers import clean_name, current_user, log_entries, referenced_ids, slugify, utc_now
from core.store.records import (
    SavedSegment,
    SegmentCycle,
    SegmentInUse,
    SegmentNotFound,
    SegmentResolver,
    StoreError,
    UnknownSegmentRef,
)

_LATEST_SQL = """
    SELECT s.id, s.name, v.version, v.definition, v.saved_at, v.saved_by
    FROM segments AS s
    JOIN segment_versions AS v ON v.segment_id = s.id
    WHERE v.version = (SELECT max(version) FROM segment_versions WHERE segment_id = s.id)
"""


class SavedSegments(StoreConnection):
    """Saved segments (with every version)."""

    @staticmethod
    def _row_to_saved(row: sqlite3.Row) -> SavedSegment:
        try:
            segment = parse_segment(row["definition"])
        except SegmentError as err:
            raise StoreError(
                msg("store.segment_unreadable", id=row["id"], version=row["version"], error=str(err))
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
        live = {sid: defn for sid, (_, defn) in SavedSegments._latest_definitions(conn).items()}
        walk = refs.walk(segment, live, segment_id)  # the walker every reader of references uses
        if walk.missing:
            raise UnknownSegmentRef(walk.missing[0], refs.unknown(walk.missing[0], live))
        if walk.cycles:
            raise SegmentCycle(walk.cycles[0])

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
                name = clean_name(name or "")
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
                if name is not None and clean_name(name) != row["name"]:
                    self._rename(conn, segment_id, row["name"], clean_name(name), who, now)
                name = clean_name(name) if name is not None else row["name"]
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
                row = conn.execute(query + "ORDER BY v.version DESC LIMIT 1", (segment_id, include_deleted)).fetchone()
            else:
                row = conn.execute(query + "AND v.version = ?", (segment_id, include_deleted, int(version))).fetchone()
        return self._row_to_saved(row) if row is not None else None

    def list_segments(self) -> list[SavedSegment]:
        """The latest version of every live saved segment, by name."""
        with self._connect() as conn:
            rows = conn.execute(_LATEST_SQL + " AND s.deleted_at IS NULL ORDER BY lower(s.name), s.id").fetchall()
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
    def _rename(conn: sqlite3.Connection, segment_id: str, old: str, new: str, who: str, now: str) -> None:
        conn.execute("UPDATE segments SET name = ? WHERE id = ?", (new, segment_id))
        conn.execute(
            "INSERT INTO segment_log (segment_id, action, at, who, detail) VALUES (?, 'rename', ?, ?, ?)",
            (segment_id, now, who, json.dumps({"from": old, "to": new}, ensure_ascii=False)),
        )

    def rename_segment(self, segment_id: str, new_name: str, who: str | None = None) -> SavedSegment:
        """Change a segment's display name; its id (and every link to it) stays the same."""
        new_name = clean_name(new_name)
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
        return log_entries(rows)

    def live_ids(self) -> list[str]:
        """Ids of every live saved segment."""
        with self._connect() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM segments WHERE deleted_at IS NULL ORDER BY id")]

    def resolver(self) -> SegmentResolver:
        """For the compiler: a saved segment's current definition by id (None when absent or deleted)."""
        return SegmentResolver(self)
