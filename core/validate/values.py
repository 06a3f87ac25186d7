"""Checks of the data values inside one table (rows present, unique user ids, catalog values)."""

from __future__ import annotations

import duckdb

from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import REEXPORT, TableInfo, example_list, first_line, plural, verb
from core.validate.tables import STRING, TAG_CATALOG_VALUES, TableSpec


class ValueChecks(CheckerBase):
    """Rows present, one row per user_id, tag_catalog values among the allowed ones."""

    def check_data(self, spec: TableSpec, info: TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
        if spec.name == "users":
            if info.rows == 0:
                self.add(info.label, None, "has no rows.", "Export at least one member.")
            if "user_id" in info.families:
                self.check_user_ids(info)
        elif spec.name == "events" and info.rows == 0:
            self.add(
                info.label,
                None,
                "has no rows: behaviour filters and RFM/AIPL/lifecycle will be empty.",
                "Export the events table with its rows.",
                "warning",
            )
        elif spec.name == "tag_catalog":
            self.check_catalog_values(info, relation)

    def check_user_ids(self, info: TableInfo) -> None:
        try:
            nulls, dup_ids, dup_rows, examples = self.fetch("validate_user_ids", {"files": info.paths})
        except duckdb.Error as err:
            self.add(info.label, "user_id", f"could not be read: {first_line(err)}.", REEXPORT)
            info.queryable = False  # already reported: cross-table checks skip it
            return
        if nulls:
            self.add(
                info.label,
                "user_id",
                f"{plural(nulls, 'row')} {verb(nulls, 'has', 'have')} no user_id (null).",
                "Give every member a user_id, or drop those rows.",
            )
        if dup_ids:
            self.add(
                info.label,
                "user_id",
                f"{plural(dup_ids, 'user_id')} {verb(dup_ids, 'appears', 'appear')} more than once ({dup_rows:,} rows), e.g. {example_list(examples or [])}; "
                "users must have one row per member.",
                "Keep one row per user_id (e.g. the latest), then re-export.",
            )

    def check_catalog_values(self, info: TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
        for name, allowed in TAG_CATALOG_VALUES.items():
            if info.families.get(name) != STRING:
                continue
            try:
                projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
                values = [r[0] for r in projected.query("_col", load_query("validate_distinct_values")).fetchall()]
            except duckdb.Error as err:
                self.add(info.label, name, f"could not be read: {first_line(err)}.", REEXPORT)
                info.queryable = False
                return
            unknown = [v for v in values if v not in allowed]
            if unknown:
                self.add(
                    info.label,
                    name,
                    f"unknown {name} value{'s' if len(unknown) > 1 else ''} {example_list(unknown[:3])}"
                    + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
                    + f"; expected one of {', '.join(allowed)}.",
                    f"Use one of {', '.join(allowed)}.",
                    "warning",
                )
