"""Checks across tables and against dataset.toml (unknown users, purchase event, privacy, experiments)."""

from __future__ import annotations

import tomllib
from typing import Any

from core.config import DatasetConfig
from core.messages import counted, hint, join_messages, msg
from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import TableInfo, example_list
from core.validate.tables import STRING


class CrossTableChecks(CheckerBase):
    """Tables against each other and against the settings of dataset.toml."""

    # -- across tables and config --------------------------------------------

    def check_across(self, config: DatasetConfig, tables: dict[str, TableInfo]) -> None:
        raw = self.raw_config()
        users, events = tables.get("users"), tables.get("events")
        if self.deep and users and events and users.queryable and events.queryable:
            if users.families.get("user_id") == STRING and events.families.get("user_id") == STRING:
                self.check_unknown_users(users, events)
        if self.deep and events and events.queryable and events.families.get("event") == STRING and events.rows:
            self.check_purchase_event(config, events, configured="purchase_event" in raw)
        if users:
            self.check_privacy_columns(config, users, raw.get("privacy", {}))
        if config.experiments and "assignments" not in tables:
            self.add(
                "dataset.toml",
                "experiments",
                msg("validate.no_assignments", names=", ".join(e.name for e in config.experiments)),
                msg("validate.no_assignments.fix"),
                "warning",
            )

    def raw_config(self) -> dict[str, Any]:
        # Which keys the file sets explicitly (defaults are not worth a warning).
        try:
            raw = tomllib.loads((self.root / "dataset.toml").read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            return {}
        return raw

    def check_unknown_users(self, users: TableInfo, events: TableInfo) -> None:
        null_rows, unknown_rows, unknown_ids, examples = self.fetch(
            "validate_unknown_users", {"events": events.paths, "users": users.paths}
        )
        if unknown_rows:
            self.add(
                events.label,
                "user_id",
                counted(
                    "validate.unknown_users",
                    unknown_rows,
                    ids=counted("validate.n_user_ids", unknown_ids),
                    examples=example_list(sorted(set(examples or []))),
                ),
                msg("validate.unknown_users.fix"),
                "warning",
            )
        if null_rows:
            self.add(
                events.label,
                "user_id",
                counted("validate.null_event_users", null_rows),
                msg("validate.null_event_users.fix"),
                "warning",
            )

    def check_purchase_event(self, config: DatasetConfig, events: TableInfo, configured: bool) -> None:
        name = config.purchase_event
        (found,) = self.fetch("validate_event_exists", {"files": events.paths, "event": name})
        if found:
            return
        names = [r[0] for r in self.con.execute(load_query("validate_event_names"), {"files": events.paths}).fetchall()]
        source = msg("validate.purchase_event.configured" if configured else "validate.purchase_event.default")
        self.add(
            "dataset.toml" if configured else events.label,
            "purchase_event",
            msg("validate.purchase_event", name=name, source=source),
            msg("validate.purchase_event.fix", hint=hint(name, names)),
            "warning",
        )

    def check_privacy_columns(self, config: DatasetConfig, users: TableInfo, privacy_raw: Any) -> None:
        if not isinstance(privacy_raw, dict):
            return
        columns = set(users.families)
        checks: list[tuple[str, list[str]]] = []
        if "pii_columns" in privacy_raw:
            checks.append(("privacy.pii_columns", list(config.privacy.pii_columns)))
        if "consent" in privacy_raw:
            checks.append(("privacy.consent", list(config.privacy.consent_columns.values())))
        for key, wanted in checks:
            absent = [c for c in wanted if c not in columns]
            if not absent:
                continue
            hints = join_messages([hint(c, columns) for c in absent])
            what = "validate.privacy_pii" if key.endswith("pii_columns") else "validate.privacy_consent"
            self.add(
                "dataset.toml",
                key,
                msg(what, columns=example_list(absent)),
                msg("validate.privacy.fix", hints=hints),
                "warning",
            )
