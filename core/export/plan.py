"""The export plan: options and role checked, the id fixed, the rows counted in one pass."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from core.export.options import (
    DEFAULT_EXPORT_DIR,
    ENV_EXPORT_DIR,
    ExportError,
    ExportOptions,
    OutputColumn,
    resolve_columns,
)
from core.export.rules import consent_expression, holdout_expression, holdout_threshold
from core.messages import msg
from core.roles import RoleInfo
from core.segments.compile import where_form
from core.segments.model import Segment, parse_segment, referenced_segments

# Private helpers shared on purpose: one definition of "member" and of "consented"
# for the builder's live counts and for the export.
from core.segments.operations import segment_condition
from core.segments.refs import walk as walk_references

if TYPE_CHECKING:
    from core.dataset import Dataset


# --- the plan -----------------------------------------------------------------------------------


def new_export_id() -> str:
    """Sortable and unguessable: exp-YYYYMMDD-HHMMSS-<8 hex>."""
    return "exp-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(4)


def default_export_dir() -> Path:
    """ADESK_EXPORT_DIR, else data/exports under the current directory."""
    env = os.environ.get(ENV_EXPORT_DIR, "").strip()
    return Path(env) if env else DEFAULT_EXPORT_DIR


def snapshot_references(
    segment: Segment, resolve: Callable[[str], Any] | Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """id -> definition of every saved segment the definition refers to (at any depth), as they are now.

    The export is compiled against this snapshot and the log keeps it, so a later
    edit of a saved segment cannot change what a re-creation writes.
    """
    if resolve is None:
        return {}
    # Unknown ids, cycles and unreadable definitions are left out: the compiler reports them.
    return {sid: saved.to_dict() for sid, saved in walk_references(segment, resolve).definitions.items()}


@dataclass(frozen=True)
class ExportPlan:
    """What an export will write, counted before writing."""

    export_id: str
    options: ExportOptions
    segment: Segment
    columns: tuple[OutputColumn, ...]
    segment_size: int  # members of the segment
    excluded_by_consent: int  # members without consent on the channel
    holdout_rows: int  # consenting members held back
    consent_column: str | None
    consent_column_present: bool
    role: RoleInfo
    dataset_path: str
    dataset_fingerprint: str
    as_of: str
    segment_refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    segment_id: str | None = None
    segment_version: int | None = None

    @property
    def rows_to_write(self) -> int:
        return self.segment_size - self.excluded_by_consent - self.holdout_rows

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    @property
    def extension(self) -> str:
        return self.options.format

    def empty_reason(self) -> str | None:
        """Why nothing would be written (None when there are rows)."""
        if self.segment_size == 0:
            return (
                f"The segment has no members in this data (as of {self.as_of}), so there is nothing to export. "
                "Loosen its conditions and try again."
            )
        if self.segment_size == self.excluded_by_consent:
            if not self.consent_column_present:
                return (
                    f"No member can be contacted by {self.options.channel}: the dataset has no consent column "
                    f"{self.consent_column!r} for it (dataset.toml [privacy] consent). Nothing was exported."
                )
            return (
                f"None of the {self.segment_size:,} members consented to {self.options.channel} "
                f"({self.consent_column} is not true for any of them). Nothing was exported; pick another channel."
            )
        if self.rows_to_write == 0:
            return "Every consenting member fell in the holdout; lower the holdout share."
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            **self.options.to_dict(),
            "output_columns": [c.name for c in self.columns],
            "pii_columns": list(self.pii_columns),
            "segment_size": self.segment_size,
            "excluded_by_consent": self.excluded_by_consent,
            "holdout_rows": self.holdout_rows,
            "rows_to_write": self.rows_to_write,
            "consent_column": self.consent_column,
            "role": self.role.role,
            "as_of": self.as_of,
            "segment_id": self.segment_id,
            "segment_version": self.segment_version,
        }


def export_conditions(
    ds: Dataset, segment: Segment, refs: dict[str, Any], channel: str | None, export_id: str, share: float
):
    # The snapshot, not the live store: what was exported is what a re-creation compiles.
    member, params = segment_condition(ds, segment, refs if referenced_segments(segment) else None)
    consent, column, present = consent_expression(ds, channel)
    holdout: exp.Expression = exp.false()
    if share > 0:
        holdout = holdout_expression()
        params = {**params, "x_export_id": export_id, "x_threshold": holdout_threshold(share)}
    return member, consent, holdout, params, column, present


def plan_export(
    ds: Dataset,
    segment: Segment | dict | str,
    options: ExportOptions,
    *,
    role: RoleInfo,
    resolve: Callable[[str], Any] | Mapping[str, Any] | None = None,
    segment_id: str | None = None,
    segment_version: int | None = None,
    export_id: str | None = None,
    segment_refs: dict[str, dict[str, Any]] | None = None,
) -> ExportPlan:
    """Check the request and count what it would write (one query; writes nothing).

    Raises ExportError for bad options or a role that may not use the PII mode,
    and SegmentError when the definition does not fit the dataset.
    """
    options = options.checked()
    if not role.pii_modes:
        raise ExportError(msg("export.role_no_export", role=role.role, source=role.source))
    if not role.may_export(options.pii_mode):
        raise ExportError(msg("export.role_no_pii", mode=options.pii_mode, role=role.role, source=role.source))
    segment = parse_segment(segment)
    columns = resolve_columns(ds, options.columns)
    refs = segment_refs if segment_refs is not None else snapshot_references(segment, resolve)
    export_id = export_id or new_export_id()
    member, consent, holdout, params, column, present = export_conditions(
        ds, segment, refs, options.channel, export_id, options.holdout
    )
    query = (
        exp.select(
            exp.alias_(exp.Count(this=exp.Star()), "members"),
            exp.alias_(exp.Filter(this=exp.Count(this=exp.Star()), expression=exp.Where(this=consent)), "consented"),
            exp.alias_(
                exp.Filter(
                    this=exp.Count(this=exp.Star()), expression=exp.Where(this=exp.and_(consent.copy(), holdout))
                ),
                "held_out",
            ),
        )
        .from_("profile")
        .where(where_form(member))
    )
    cur = ds.cursor()
    try:
        members, consented, held_out = cur.execute(query.sql("duckdb"), params).fetchone()
    finally:
        cur.close()
    return ExportPlan(
        export_id=export_id,
        options=options,
        segment=segment,
        columns=columns,
        segment_size=int(members),
        excluded_by_consent=int(members) - int(consented),
        holdout_rows=int(held_out),
        consent_column=column,
        consent_column_present=present,
        role=role,
        dataset_path=str(ds.path),
        dataset_fingerprint=ds.fingerprint,
        as_of=ds.as_of.isoformat(),
        segment_refs=refs,
        segment_id=segment_id,
        segment_version=segment_version,
    )
