"""Checks of a table's columns: names, required columns and their types."""

from __future__ import annotations

import re

import duckdb

from core.config import closest
from core.messages import counted, msg
from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import (
    REEXPORT,
    TableInfo,
    example_list,
    first_line,
    snake_suggestion,
    type_label,
)
from core.validate.tables import NUMERIC, STRING, TEMPORAL, TableSpec

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


class ColumnChecks(CheckerBase):
    """Column names, required columns present, and each known column of the expected type."""

    def check_names(self, spec: TableSpec, info: TableInfo, present: set[str]) -> None:
        seen: dict[str, str] = {}
        for name in sorted(present):
            other = seen.setdefault(name.lower(), name)
            if other != name:
                self.add(
                    info.label,
                    name,
                    msg("validate.case_clash", other=other, column=name),
                    msg("validate.case_clash.fix"),
                )
            if _PANDAS_INDEX.match(name):
                self.add(
                    info.label,
                    name,
                    msg("validate.pandas_index", column=name),
                    msg("validate.pandas_index.fix"),
                    "warning",
                )
            elif spec.name == "users" and name.startswith("_"):
                self.add(
                    info.label,
                    name,
                    msg("validate.reserved_name", column=name),
                    msg("validate.reserved_name.fix", suggestion=snake_suggestion(name)),
                )
            elif not _SNAKE.match(name):
                self.add(
                    info.label,
                    name,
                    msg("validate.not_snake_case", column=name),
                    msg("validate.not_snake_case.fix", suggestion=snake_suggestion(name)),
                    "warning",
                )

    def check_required(self, spec: TableSpec, info: TableInfo, present: set[str]) -> None:
        for name, family in spec.columns.items():
            if name in present:
                continue
            same_case = [c for c in present if c.lower() == name]
            like = same_case or closest(name, present)
            add = "validate.missing_column.add_text" if family == STRING else "validate.missing_column.add_timestamp"
            hint = (
                msg("validate.missing_column.rename", found=example_list(like), column=name)
                if like
                else msg(add, column=name)
            )
            self.add(
                info.label,
                name,
                msg("validate.missing_column", column=name, table=spec.name),
                msg(
                    "validate.missing_column.fix",
                    table=spec.name,
                    columns=", ".join(repr(c) for c in spec.columns),
                    hint=hint,
                ),
            )

    def check_types(self, spec: TableSpec, info: TableInfo, relation: duckdb.DuckDBPyRelation | None) -> None:
        expected = {**spec.columns, **spec.optional}
        for name, want in expected.items():
            have = info.families.get(name)
            if have is None or have == "null" or have == want:
                continue
            shown = self.type_name(info, name)
            if want == STRING:
                self.add(
                    info.label,
                    name,
                    msg("validate.must_be_text", column=name, type=shown),
                    msg("validate.must_be_text.fix", column=name),
                )
            elif want == NUMERIC:
                self.add(
                    info.label,
                    name,
                    msg("validate.must_be_numeric", column=name, type=shown),
                    msg("validate.must_be_numeric.fix", column=name),
                )
            elif want == TEMPORAL and have == STRING:
                self.check_text_timestamps(info, name, relation)
            else:
                self.add(
                    info.label,
                    name,
                    msg("validate.must_be_temporal", column=name, type=shown),
                    msg(
                        "validate.must_be_temporal.fix",
                        column=name,
                        epoch=msg("validate.epoch_hint" if have == NUMERIC else "validate.period"),
                    ),
                )

    @staticmethod
    def type_name(info: TableInfo, name: str) -> str:
        for f in info.files:
            if name in f.schema.names:
                return type_label(f.schema.field(name).type)
        return info.families.get(name, "unknown")

    def check_text_timestamps(self, info: TableInfo, name: str, relation: duckdb.DuckDBPyRelation | None) -> None:
        if relation is None:
            return
        try:
            projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
            bad, non_null, examples = projected.query("_col", load_query("validate_text_timestamps")).fetchall()[0]
        except duckdb.Error as err:
            self.add(info.label, name, msg("validate.unreadable", error=first_line(err)), REEXPORT)
            info.queryable = False  # already reported: cross-table checks skip it
            return
        if bad == 0:
            self.add(
                info.label,
                name,
                msg("validate.text_timestamps", column=name),
                msg("validate.text_timestamps.fix", column=name),
                "warning",
            )
        else:
            self.add(
                info.label,
                name,
                msg(
                    "validate.bad_text_timestamps",
                    column=name,
                    bad=counted("validate.n_values", bad),
                    non_null=non_null,
                    examples=example_list(examples or []),
                ),
                msg("validate.bad_text_timestamps.fix", column=name),
            )
