"""Checks across tables and against dataset.toml (unknown users, purchase event, privacy, experiments)."""

from __future__ import annotations

import tomllib
from typing import Any

from core.config import DatasetConfig, did_you_mean
from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import TableInfo, example_list, plural, verb
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
                f"experiments are configured ({', '.join(e.name for e in config.experiments)}) but there is no assignments table.",
                "Add assignments.parquet (experiment, user_id, variant, assigned_at) or remove the [experiments] tables.",
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
                f"{plural(unknown_rows, 'event')} {verb(unknown_rows, 'belongs', 'belong')} to {plural(unknown_ids, 'user_id')} not in users "
                f"(e.g. {example_list(sorted(set(examples or [])))}); they will not count for any audience.",
                "Add those members to users, or drop their events.",
                "warning",
            )
        if null_rows:
            self.add(
                events.label,
                "user_id",
                f"{plural(null_rows, 'event')} {verb(null_rows, 'has', 'have')} no user_id (null) and will be ignored.",
                "Fill in user_id, or drop those rows.",
                "warning",
            )

    def check_purchase_event(self, config: DatasetConfig, events: TableInfo, configured: bool) -> None:
        name = config.purchase_event
        (found,) = self.fetch("validate_event_exists", {"files": events.paths, "event": name})
        if found:
            return
        names = [r[0] for r in self.con.execute(load_query("validate_event_names"), {"files": events.paths}).fetchall()]
        source = "set in dataset.toml" if configured else "the default"
        self.add(
            "dataset.toml" if configured else events.label,
            "purchase_event",
            f"purchase_event '{name}' ({source}) never occurs in events, so RFM, revenue and AIPL purchases will be empty.",
            f"Set purchase_event in dataset.toml to the name of your purchase event.{did_you_mean(name, names)}",
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
            hints = "".join(did_you_mean(c, columns) for c in absent)
            what = "PII columns" if key.endswith("pii_columns") else "consent columns"
            self.add(
                "dataset.toml",
                key,
                f"{what} {example_list(absent)} named in dataset.toml are not columns of users.",
                f"Correct the names in dataset.toml or add the columns to users.{hints}",
                "warning",
            )
