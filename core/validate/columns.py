"""Checks of a table's columns: names, required columns and their types."""

from __future__ import annotations

import re

import duckdb

from core.config import closest
from core.queries import load_query
from core.validate.base import CheckerBase
from core.validate.files import (
    REEXPORT,
    TableInfo,
    example_list,
    first_line,
    plural,
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
                    f"columns '{other}' and '{name}' differ only by upper/lower case; queries cannot tell them apart.",
                    "Rename one of them.",
                )
            if _PANDAS_INDEX.match(name):
                self.add(
                    info.label,
                    name,
                    f"'{name}' is a pandas index written as a column; it will be read as an ordinary column.",
                    "Export with DataFrame.to_parquet(..., index=False).",
                    "warning",
                )
            elif spec.name == "users" and name.startswith("_"):
                self.add(
                    info.label,
                    name,
                    f"column '{name}' starts with '_', which is reserved for derived columns (RFM, AIPL, lifecycle).",
                    f"Rename it, e.g. to '{snake_suggestion(name)}'.",
                )
            elif not _SNAKE.match(name):
                self.add(
                    info.label,
                    name,
                    f"column name '{name}' is not lower-case snake_case.",
                    f"Rename it to '{snake_suggestion(name)}'.",
                    "warning",
                )

    def check_required(self, spec: TableSpec, info: TableInfo, present: set[str]) -> None:
        for name, family in spec.columns.items():
            if name in present:
                continue
            same_case = [c for c in present if c.lower() == name]
            like = same_case or closest(name, present)
            hint = (
                f" Did you mean {example_list(like)}? Rename it to '{name}'."
                if like
                else f" Add a '{name}' column ({'text' if family == STRING else 'timestamp'})."
            )
            self.add(
                info.label,
                name,
                f"required column '{name}' is missing from {spec.name}.",
                f"The {spec.name} table needs {', '.join(repr(c) for c in spec.columns)}.{hint}",
            )

    def check_types(
        self, spec: TableSpec, info: TableInfo, relation: duckdb.DuckDBPyRelation | None
    ) -> None:
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
                    f"'{name}' is {shown}; it must be text (string).",
                    f"Cast it to string before export (e.g. df['{name}'] = df['{name}'].astype(str)).",
                )
            elif want == NUMERIC:
                self.add(
                    info.label,
                    name,
                    f"'{name}' is {shown}; it must be numeric.",
                    f"Store '{name}' as a number (double), e.g. pd.to_numeric(df['{name}']).",
                )
            elif want == TEMPORAL and have == STRING:
                self.check_text_timestamps(info, name, relation)
            else:
                self.add(
                    info.label,
                    name,
                    f"'{name}' is {shown}; it must be a timestamp or a date.",
                    f"Convert it before export, e.g. pd.to_datetime(df['{name}'])"
                    + (" (unit='s' for epoch seconds)." if have == NUMERIC else "."),
                )

    @staticmethod
    def type_name(info: TableInfo, name: str) -> str:
        for f in info.files:
            if name in f.schema.names:
                return type_label(f.schema.field(name).type)
        return info.families.get(name, "unknown")

    def check_text_timestamps(
        self, info: TableInfo, name: str, relation: duckdb.DuckDBPyRelation | None
    ) -> None:
        if relation is None:
            return
        try:
            projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
            bad, non_null, examples = projected.query(
                "_col", load_query("validate_text_timestamps")
            ).fetchall()[0]
        except duckdb.Error as err:
            self.add(info.label, name, f"could not be read: {first_line(err)}.", REEXPORT)
            info.queryable = False  # already reported: cross-table checks skip it
            return
        if bad == 0:
            self.add(
                info.label,
                name,
                f"'{name}' is stored as text; it will be parsed as a timestamp.",
                f"Store '{name}' as a Parquet timestamp to skip the parsing (e.g. pd.to_datetime(df['{name}'])).",
                "warning",
            )
        else:
            self.add(
                info.label,
                name,
                f"'{name}' is text and {plural(bad, 'value')} of {non_null:,} cannot be read as a timestamp, "
                f"e.g. {example_list(examples or [])}.",
                f"Fix or remove those values, and write '{name}' as a timestamp ('YYYY-MM-DD HH:MM:SS' as text also works).",
            )
