"""Checks of the data values inside one table (rows present, unique user ids, catalog values)."""

from __future__ import annotations

import duckdb

from core.messages import counted, msg
from core.models.rfm import MAX_AMOUNT
from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import REEXPORT, TableInfo, example_list, first_line
from core.validate.tables import NUMERIC, STRING, TAG_CATALOG_VALUES, TableSpec


class ValueChecks(CheckerBase):
    """Rows present, one row per user_id, tag_catalog values among the allowed ones."""

    def check_data(self, spec: TableSpec, info: TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
        if spec.name == "users":
            if info.rows == 0:
                self.add(info.label, None, msg("validate.no_rows"), msg("validate.no_rows.fix"))
            if "user_id" in info.families:
                self.check_user_ids(info)
        elif spec.name == "events" and info.rows == 0:
            self.add(
                info.label,
                None,
                msg("validate.no_events"),
                msg("validate.no_events.fix"),
                "warning",
            )
        elif spec.name == "events" and info.families.get("amount") == NUMERIC:
            self.check_amounts(info)
        elif spec.name == "tag_catalog":
            self.check_catalog_values(info, relation)

    def check_user_ids(self, info: TableInfo) -> None:
        try:
            nulls, dup_ids, dup_rows, examples = self.fetch("validate_user_ids", {"files": info.paths})
        except duckdb.Error as err:
            self.add(info.label, "user_id", msg("validate.unreadable", error=first_line(err)), REEXPORT)
            info.queryable = False  # already reported: cross-table checks skip it
            return
        if nulls:
            self.add(
                info.label,
                "user_id",
                counted("validate.null_user_ids", nulls),
                msg("validate.null_user_ids.fix"),
            )
        if dup_ids:
            self.add(
                info.label,
                "user_id",
                counted("validate.duplicate_user_ids", dup_ids, rows=dup_rows, examples=example_list(examples or [])),
                msg("validate.duplicate_user_ids.fix"),
            )

    def check_amounts(self, info: TableInfo) -> None:
        """Amounts are finite and below MAX_AMOUNT in size: revenue is summed exactly in millionths (BIGINT)."""
        try:
            bad, examples = self.fetch("validate_amounts", {"files": info.paths, "limit": MAX_AMOUNT})
        except duckdb.Error as err:
            self.add(info.label, "amount", msg("validate.unreadable", error=first_line(err)), REEXPORT)
            info.queryable = False
            return
        if bad:
            self.add(
                info.label,
                "amount",
                counted("validate.bad_amounts", bad, examples=example_list(examples or [])),
                msg("validate.bad_amounts.fix"),
            )

    def check_catalog_values(self, info: TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
        for name, allowed in TAG_CATALOG_VALUES.items():
            if info.families.get(name) != STRING:
                continue
            try:
                projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
                values = [r[0] for r in projected.query("_col", load_query("validate_distinct_values")).fetchall()]
            except duckdb.Error as err:
                self.add(info.label, name, msg("validate.unreadable", error=first_line(err)), REEXPORT)
                info.queryable = False
                return
            unknown = [v for v in values if v not in allowed]
            if unknown:
                self.add(
                    info.label,
                    name,
                    msg(
                        "validate.unknown_catalog_values" if len(unknown) > 1 else "validate.unknown_catalog_value",
                        column=name,
                        examples=example_list(unknown[:3]),
                        more=msg("validate.and_more", n=len(unknown) - 3) if len(unknown) > 3 else "",
                        allowed=", ".join(allowed),
                    ),
                    msg("validate.unknown_catalog_value.fix", allowed=", ".join(allowed)),
                    "warning",
                )
