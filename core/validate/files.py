"""Per-file facts of a table (schema, rows, partition keys) and the small helpers messages use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.validate.tables import NUMERIC, STRING, TEMPORAL, TableSpec

REEXPORT = (
    "Re-export it as Parquet (e.g. pandas DataFrame.to_parquet, or DuckDB "
    "COPY ... TO 'file.parquet'), or remove it from the dataset."
)


# ---------------------------------------------------------------------------
# Per-file facts


@dataclass
class FileInfo:
    path: Path
    rel: str  # path relative to the dataset, with "/"
    schema: pa.Schema
    rows: int
    hive: dict[str, str]  # partition keys from the folders (key=value)


@dataclass
class TableInfo:
    spec: TableSpec
    label: str  # how problems name the table: its single file, or its folder
    files: list[FileInfo]
    families: dict[str, str]  # column -> family, for columns whose files agree
    queryable: bool  # DuckDB can read all readable files together
    rows: int = 0

    @property
    def paths(self) -> list[str]:
        return [str(f.path) for f in self.files]


def family(t: pa.DataType) -> str:
    """Coarse type family used for compatibility and contract checks."""
    if pa.types.is_dictionary(t):  # pandas categoricals
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return STRING
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return NUMERIC
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return TEMPORAL
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_null(t):
        return "null"  # a column with no values at all: compatible with anything
    return str(t)


def duckdb_family(type_name: str) -> str:
    t = type_name.upper()
    if t == "VARCHAR":
        return STRING
    if t.startswith(("TIMESTAMP", "DATE")):
        return TEMPORAL
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL")) or t.endswith("INT"):
        return NUMERIC
    return type_name.lower()


def hive_keys(rel_parts: Iterable[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for part in rel_parts:
        if "=" in part:
            key, _, value = part.partition("=")
            keys[key] = value
    return keys


def snake_suggestion(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    if s and s[0].isdigit():
        s = f"c_{s}"
    return s or "column_1"


def more(n: int) -> str:
    return f" (and {n} more file{'s' if n != 1 else ''})" if n else ""


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def type_label(t: pa.DataType) -> str:
    """How a Parquet column type is shown in messages (pandas' large_string is just string)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def example_list(values: Iterable[Any]) -> str:
    return ", ".join(repr(str(v)) for v in values)


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0].rstrip(".!") if text else type(err).__name__
