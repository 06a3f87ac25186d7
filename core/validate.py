"""Check a dataset directory against the data contract (DATA_CONTRACT.md).

`validate_dataset` reports every problem it finds (file, column, what is wrong,
how to fix it) instead of stopping at the first; it never raises on bad data.
Errors make a dataset unusable; warnings do not. Every check that can produce
an error runs whatever `deep` is, so `usable` never depends on it: `deep=False`
only skips the warnings that need a full pass over events (events of unknown
users, a `purchase_event` that never occurs).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.config import DatasetConfig, closest, did_you_mean, load_config
from core.problems import Problem, ValidationReport
from core.queries import load_query

# Expected "family" of a known column: string, temporal (timestamp or date) or numeric.
_STRING, _TEMPORAL, _NUMERIC = "string", "temporal", "numeric"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    columns: dict[str, str]  # required column -> expected family
    optional: dict[str, str] = field(default_factory=dict)  # known optional column -> family


TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("users", True, {"user_id": _STRING}, {"signup_at": _TEMPORAL}),
    TableSpec(
        "events",
        True,
        {"user_id": _STRING, "event": _STRING, "ts": _TEMPORAL},
        {"amount": _NUMERIC},
    ),
    TableSpec("tags", False, {"user_id": _STRING, "tag": _STRING}, {"updated_at": _TEMPORAL}),
    TableSpec("tag_catalog", False, {"tag": _STRING}),
    TableSpec(
        "assignments",
        False,
        {"experiment": _STRING, "user_id": _STRING, "variant": _STRING, "assigned_at": _TEMPORAL},
    ),
)
TABLE_NAMES: tuple[str, ...] = tuple(s.name for s in TABLE_SPECS)

# Allowed values of tag_catalog's enumerated columns.
TAG_CATALOG_VALUES: dict[str, tuple[str, ...]] = {
    "source": ("fact", "rule", "model"),
    "update_cycle": ("daily", "weekly", "monthly", "once"),
    "status": ("active", "deprecated"),
}

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")
_REEXPORT = (
    "Re-export it as Parquet (e.g. pandas DataFrame.to_parquet, or DuckDB "
    "COPY ... TO 'file.parquet'), or remove it from the dataset."
)


# ---------------------------------------------------------------------------
# Which files make up each table


def _hidden(part: str) -> bool:
    # Spark/Hive write _SUCCESS, _temporary/, .crc files next to the data: not data.
    return part.startswith((".", "_"))


def _parquet_files_under(directory: Path) -> list[Path]:
    found = [
        p
        for p in directory.rglob("*.parquet")
        if p.is_file() and not any(_hidden(part) for part in p.relative_to(directory).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def table_files(path: str | Path) -> dict[str, list[Path]]:
    """The Parquet files of each table present in the dataset directory, in a stable order.

    A table is `<name>.parquet` (a file, or a directory as Spark writes it) and/or a
    `<name>/` directory searched recursively (hive partitions such as
    `events/dt=2026-05-01/part-0.parquet`); hidden files and `_`-prefixed entries
    (`_SUCCESS`, `_temporary/`) are ignored. Tables with no Parquet file are left out.
    If both `users.parquet` and `users/` exist, both are listed (validation refuses that).
    """
    root = Path(path)
    out: dict[str, list[Path]] = {}
    for name in TABLE_NAMES:
        files: list[Path] = []
        for candidate in (root / f"{name}.parquet", root / name):
            if candidate.is_file():
                files.append(candidate)
            elif candidate.is_dir():
                files.extend(_parquet_files_under(candidate))
        if files:
            out[name] = files
    return out


# ---------------------------------------------------------------------------
# Per-file facts


@dataclass
class _FileInfo:
    path: Path
    rel: str  # path relative to the dataset, with "/"
    schema: pa.Schema
    rows: int
    hive: dict[str, str]  # partition keys from the folders (key=value)


@dataclass
class _TableInfo:
    spec: TableSpec
    label: str  # how problems name the table: its single file, or its folder
    files: list[_FileInfo]
    families: dict[str, str]  # column -> family, for columns whose files agree
    queryable: bool  # DuckDB can read all readable files together
    rows: int = 0

    @property
    def paths(self) -> list[str]:
        return [str(f.path) for f in self.files]


def _family(t: pa.DataType) -> str:
    """Coarse type family used for compatibility and contract checks."""
    if pa.types.is_dictionary(t):  # pandas categoricals
        t = t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _STRING
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _NUMERIC
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _TEMPORAL
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_null(t):
        return "null"  # a column with no values at all: compatible with anything
    return str(t)


def _duckdb_family(type_name: str) -> str:
    t = type_name.upper()
    if t == "VARCHAR":
        return _STRING
    if t.startswith(("TIMESTAMP", "DATE")):
        return _TEMPORAL
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL")) or t.endswith("INT"):
        return _NUMERIC
    return type_name.lower()


def _hive_keys(rel_parts: Iterable[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for part in rel_parts:
        if "=" in part:
            key, _, value = part.partition("=")
            keys[key] = value
    return keys


def _snake_suggestion(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    if s and s[0].isdigit():
        s = f"c_{s}"
    return s or "column_1"


def _more(n: int) -> str:
    return f" (and {n} more file{'s' if n != 1 else ''})" if n else ""


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _type_label(t: pa.DataType) -> str:
    """How a Parquet column type is shown in messages (pandas' large_string is just string)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    return str(t)


def _examples(values: Iterable[Any]) -> str:
    return ", ".join(repr(str(v)) for v in values)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0].rstrip(".!") if text else type(err).__name__


# ---------------------------------------------------------------------------
# The checker


class _Checker:
    def __init__(self, root: Path, deep: bool):
        self.root = root
        self.deep = deep
        self.problems: list[Problem] = []
        self.con = duckdb.connect()
        self.con.execute("set enable_progress_bar = false")  # never draw on the user's terminal

    # -- helpers -------------------------------------------------------------

    def add(self, file: str, column: str | None, message: str, fix: str, severity: str = "error") -> None:
        self.problems.append(Problem(file, column, message, fix, severity))  # type: ignore[arg-type]

    def rel(self, p: Path) -> str:
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(p)

    def fetch(self, query: str, params: dict[str, Any]) -> tuple:
        return self.con.execute(load_query(query), params).fetchall()[0]

    # -- dataset level -------------------------------------------------------

    def run(self) -> None:
        try:
            config, config_problems = load_config(self.root)
        except Exception as err:  # a value load_config did not foresee: report, don't crash
            config, config_problems = (
                DatasetConfig(),
                [
                    Problem(
                        "dataset.toml",
                        None,
                        f"could not be read: {_first_line(err)}.",
                        "Fix the value (see DATA_CONTRACT.md).",
                    )
                ],
            )
        self.problems.extend(config_problems)
        files = table_files(self.root)
        self.check_layout(files)
        tables: dict[str, _TableInfo] = {}
        for spec in TABLE_SPECS:
            if spec.name not in files:
                continue
            try:
                info = self.check_table(spec, files[spec.name])
            except Exception as err:  # last resort: a bug or an odd file must not become a traceback
                self.add(
                    self.table_label(spec.name, files[spec.name]),
                    None,
                    f"could not be checked: {type(err).__name__}: {_first_line(err)}.",
                    _REEXPORT,
                )
                continue
            if info is not None:
                tables[spec.name] = info
        try:
            self.check_across(config, tables)
        except duckdb.Error as err:  # e.g. a damaged data page that only a full read of events meets
            label = tables["events"].label if "events" in tables else "events"
            self.add(label, None, f"could not be read: {_first_line(err)}.", _REEXPORT)

    def table_label(self, name: str, files: list[Path]) -> str:
        if len(files) == 1 and files[0].parent == self.root:
            return self.rel(files[0])
        for candidate in (self.root / name, self.root / f"{name}.parquet"):
            if candidate.is_dir():
                return f"{self.rel(candidate)}/"
        return name

    def check_layout(self, files: dict[str, list[Path]]) -> None:
        """Required tables present; no table given twice; no empty or stray table folders."""
        known = set()
        for name in TABLE_NAMES:
            known |= {f"{name}.parquet", name}
        stray = sorted(
            p.name
            for p in self.root.iterdir()
            if p.name not in known
            and not _hidden(p.name)
            and ((p.is_file() and p.suffix == ".parquet") or (p.is_dir() and any(_parquet_files_under(p))))
        )
        stray_stems = {s.removesuffix(".parquet"): s for s in stray}
        for spec in TABLE_SPECS:
            single, folder = self.root / f"{spec.name}.parquet", self.root / spec.name
            if single.exists() and folder.exists():
                self.add(
                    f"{spec.name}/",
                    None,
                    f"table '{spec.name}' is given twice: as {spec.name}.parquet and as the folder {spec.name}/.",
                    f"Keep one of them: either a single {spec.name}.parquet or a {spec.name}/ folder of parts.",
                )
            for candidate in (single, folder):
                if candidate.is_dir() and spec.name not in files:
                    self.add(
                        f"{self.rel(candidate)}/",
                        None,
                        "folder holds no .parquet files.",
                        f"Put the {spec.name} Parquet files in it (e.g. {self.rel(candidate)}/part-0.parquet) or remove it.",
                        "error" if spec.required else "warning",
                    )
            if spec.required and spec.name not in files and not folder.is_dir() and not single.is_dir():
                like = closest(spec.name, list(stray_stems))
                hint = (
                    f" Found {_examples(stray_stems[s] for s in like)}: did you mean to name it "
                    f"{spec.name}.parquet?"
                    if like
                    else ""
                )
                what = (
                    "one row per member with a text user_id"
                    if spec.name == "users"
                    else "one row per behaviour with user_id, event and ts"
                )
                self.add(
                    f"{spec.name}.parquet",
                    None,
                    f"required table '{spec.name}' is missing: there is no {spec.name}.parquet file or {spec.name}/ folder.",
                    f"Export the {spec.name} table ({what}) as {spec.name}.parquet.{hint}",
                )
        for name in stray:
            self.add(
                name,
                None,
                "is not a table of the data contract and is ignored.",
                (
                    f"Rename it if it is meant to be one of {', '.join(TABLE_NAMES)}.{did_you_mean(name.removesuffix('.parquet'), TABLE_NAMES)}"
                ),
                "warning",
            )

    # -- one table -----------------------------------------------------------

    def read_files(self, spec: TableSpec, paths: list[Path]) -> list[_FileInfo]:
        good: list[_FileInfo] = []
        table_dir = self.root / spec.name
        for p in paths:
            rel = self.rel(p)
            try:
                meta = pq.read_metadata(p)
                schema = meta.schema.to_arrow_schema()
            except Exception as err:  # random bytes, truncated, empty, unreadable: all the same to the user
                self.add(rel, None, f"is not a readable Parquet file ({_first_line(err)}).", _REEXPORT)
                continue
            parts: tuple[str, ...] = ()
            for base in (table_dir, self.root / f"{spec.name}.parquet"):
                if base.is_dir() and p.is_relative_to(base):
                    parts = p.relative_to(base).parent.parts
            good.append(_FileInfo(p, rel, schema, meta.num_rows, _hive_keys(parts)))
        return good

    def check_table(self, spec: TableSpec, paths: list[Path]) -> _TableInfo | None:
        label = self.table_label(spec.name, paths)
        files = self.read_files(spec, paths)
        if not files:
            return None
        # Files of one table are read together (union by name), so their folders and
        # column types must agree.
        queryable = self.check_partitions(files)
        families, present = self.check_consistency(spec, files)
        info = _TableInfo(spec, label, files, families, queryable, rows=sum(f.rows for f in files))
        relation = self.relation(info) if queryable else None
        if relation is not None:
            # Hive partition keys are columns too; their type comes from DuckDB.
            for name, dtype in zip(relation.columns, relation.types, strict=True):
                if name not in present:
                    present.add(name)
                    families[name] = _duckdb_family(str(dtype))
        self.check_names(spec, info, present)
        self.check_required(spec, info, present)
        self.check_types(spec, info, relation)
        if relation is not None:
            self.check_data(spec, info, relation)
        return info

    def check_partitions(self, files: list[_FileInfo]) -> bool:
        groups: dict[tuple[str, ...], _FileInfo] = {}
        for f in files:
            groups.setdefault(tuple(sorted(f.hive)), f)
        if len(groups) <= 1:
            return True
        (keys_a, a), (keys_b, b) = list(groups.items())[:2]

        def desc(keys: tuple[str, ...]) -> str:
            return (
                f"partition folders {', '.join(k + '=…' for k in keys)}" if keys else "no partition folders"
            )

        self.add(
            b.rel,
            None,
            f"its folder layout ({desc(keys_b)}) differs from {a.rel} ({desc(keys_a)}), so the files cannot be read as one table.",
            "Put every file of the table under the same partition folders (e.g. all under month=YYYY-MM/).",
        )
        return False

    def check_consistency(self, spec: TableSpec, files: list[_FileInfo]) -> tuple[dict[str, str], set[str]]:
        """Column types agree across files; required columns are in every file."""
        by_column: dict[str, dict[str, list[_FileInfo]]] = {}
        order: list[str] = []
        for f in files:
            for fld in f.schema:
                if fld.name not in by_column:
                    order.append(fld.name)
                by_column.setdefault(fld.name, {}).setdefault(_family(fld.type), []).append(f)
        families: dict[str, str] = {}
        required = set(spec.columns)
        for name in order:
            groups = {fam: fs for fam, fs in by_column[name].items() if fam != "null"}
            if len(groups) > 1:
                # The most common type is taken as the intended one; report each other one.
                ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), files.index(kv[1][0])))
                ref_fam, ref_files = ranked[0]
                ref_type = _type_label(ref_files[0].schema.field(name).type)
                for _fam, odd in ranked[1:]:
                    odd_type = _type_label(odd[0].schema.field(name).type)
                    self.add(
                        odd[0].rel,
                        name,
                        f"'{name}' is {odd_type} here{_more(len(odd) - 1)} but {ref_type} in "
                        f"{ref_files[0].rel}{_more(len(ref_files) - 1)}: the files of one table must agree.",
                        f"Re-export the files so '{name}' has one type ({ref_type}) in all of them.",
                    )
            else:
                families[name] = next(iter(groups), "null")
            if name in required:
                having = {id(f) for fs in by_column[name].values() for f in fs}
                lacking = [f for f in files if id(f) not in having]
                if lacking:
                    self.add(
                        lacking[0].rel,
                        name,
                        f"required column '{name}' is missing here{_more(len(lacking) - 1)} but present in "
                        f"{next(f for f in files if id(f) in having).rel}.",
                        f"Re-export the files so every part of {spec.name} has a '{name}' column.",
                    )
        return families, set(order)

    def relation(self, info: _TableInfo) -> duckdb.DuckDBPyRelation | None:
        try:
            return self.con.read_parquet(info.paths, union_by_name=True, hive_partitioning=True)
        except duckdb.Error as err:
            self.add(info.label, None, f"could not be read as one table: {_first_line(err)}.", _REEXPORT)
            info.queryable = False
            return None

    def check_names(self, spec: TableSpec, info: _TableInfo, present: set[str]) -> None:
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
                    f"Rename it, e.g. to '{_snake_suggestion(name)}'.",
                )
            elif not _SNAKE.match(name):
                self.add(
                    info.label,
                    name,
                    f"column name '{name}' is not lower-case snake_case.",
                    f"Rename it to '{_snake_suggestion(name)}'.",
                    "warning",
                )

    def check_required(self, spec: TableSpec, info: _TableInfo, present: set[str]) -> None:
        for name, family in spec.columns.items():
            if name in present:
                continue
            same_case = [c for c in present if c.lower() == name]
            like = same_case or closest(name, present)
            hint = (
                f" Did you mean {_examples(like)}? Rename it to '{name}'."
                if like
                else f" Add a '{name}' column ({'text' if family == _STRING else 'timestamp'})."
            )
            self.add(
                info.label,
                name,
                f"required column '{name}' is missing from {spec.name}.",
                f"The {spec.name} table needs {', '.join(repr(c) for c in spec.columns)}.{hint}",
            )

    def check_types(
        self, spec: TableSpec, info: _TableInfo, relation: duckdb.DuckDBPyRelation | None
    ) -> None:
        expected = {**spec.columns, **spec.optional}
        for name, want in expected.items():
            have = info.families.get(name)
            if have is None or have == "null" or have == want:
                continue
            shown = self.type_name(info, name)
            if want == _STRING:
                self.add(
                    info.label,
                    name,
                    f"'{name}' is {shown}; it must be text (string).",
                    f"Cast it to string before export (e.g. df['{name}'] = df['{name}'].astype(str)).",
                )
            elif want == _NUMERIC:
                self.add(
                    info.label,
                    name,
                    f"'{name}' is {shown}; it must be numeric.",
                    f"Store '{name}' as a number (double), e.g. pd.to_numeric(df['{name}']).",
                )
            elif want == _TEMPORAL and have == _STRING:
                self.check_text_timestamps(info, name, relation)
            else:
                self.add(
                    info.label,
                    name,
                    f"'{name}' is {shown}; it must be a timestamp or a date.",
                    f"Convert it before export, e.g. pd.to_datetime(df['{name}'])"
                    + (" (unit='s' for epoch seconds)." if have == _NUMERIC else "."),
                )

    @staticmethod
    def type_name(info: _TableInfo, name: str) -> str:
        for f in info.files:
            if name in f.schema.names:
                return _type_label(f.schema.field(name).type)
        return info.families.get(name, "unknown")

    def check_text_timestamps(
        self, info: _TableInfo, name: str, relation: duckdb.DuckDBPyRelation | None
    ) -> None:
        if relation is None:
            return
        try:
            projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
            bad, non_null, examples = projected.query(
                "_col", load_query("validate_text_timestamps")
            ).fetchall()[0]
        except duckdb.Error as err:
            self.add(info.label, name, f"could not be read: {_first_line(err)}.", _REEXPORT)
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
                f"'{name}' is text and {_plural(bad, 'value')} of {non_null:,} cannot be read as a timestamp, "
                f"e.g. {_examples(examples or [])}.",
                f"Fix or remove those values, and write '{name}' as a timestamp ('YYYY-MM-DD HH:MM:SS' as text also works).",
            )

    def check_data(self, spec: TableSpec, info: _TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
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

    def check_user_ids(self, info: _TableInfo) -> None:
        try:
            nulls, dup_ids, dup_rows, examples = self.fetch("validate_user_ids", {"files": info.paths})
        except duckdb.Error as err:
            self.add(info.label, "user_id", f"could not be read: {_first_line(err)}.", _REEXPORT)
            info.queryable = False  # already reported: cross-table checks skip it
            return
        if nulls:
            self.add(
                info.label,
                "user_id",
                f"{_plural(nulls, 'row')} {_verb(nulls, 'has', 'have')} no user_id (null).",
                "Give every member a user_id, or drop those rows.",
            )
        if dup_ids:
            self.add(
                info.label,
                "user_id",
                f"{_plural(dup_ids, 'user_id')} {_verb(dup_ids, 'appears', 'appear')} more than once ({dup_rows:,} rows), e.g. {_examples(examples or [])}; "
                "users must have one row per member.",
                "Keep one row per user_id (e.g. the latest), then re-export.",
            )

    def check_catalog_values(self, info: _TableInfo, relation: duckdb.DuckDBPyRelation) -> None:
        for name, allowed in TAG_CATALOG_VALUES.items():
            if info.families.get(name) != _STRING:
                continue
            try:
                projected = relation.select(duckdb.ColumnExpression(name).alias("v"))
                values = [
                    r[0] for r in projected.query("_col", load_query("validate_distinct_values")).fetchall()
                ]
            except duckdb.Error as err:
                self.add(info.label, name, f"could not be read: {_first_line(err)}.", _REEXPORT)
                info.queryable = False
                return
            unknown = [v for v in values if v not in allowed]
            if unknown:
                self.add(
                    info.label,
                    name,
                    f"unknown {name} value{'s' if len(unknown) > 1 else ''} {_examples(unknown[:3])}"
                    + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
                    + f"; expected one of {', '.join(allowed)}.",
                    f"Use one of {', '.join(allowed)}.",
                    "warning",
                )

    # -- across tables and config --------------------------------------------

    def check_across(self, config: DatasetConfig, tables: dict[str, _TableInfo]) -> None:
        raw = self.raw_config()
        users, events = tables.get("users"), tables.get("events")
        if self.deep and users and events and users.queryable and events.queryable:
            if users.families.get("user_id") == _STRING and events.families.get("user_id") == _STRING:
                self.check_unknown_users(users, events)
        if (
            self.deep
            and events
            and events.queryable
            and events.families.get("event") == _STRING
            and events.rows
        ):
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

    def check_unknown_users(self, users: _TableInfo, events: _TableInfo) -> None:
        null_rows, unknown_rows, unknown_ids, examples = self.fetch(
            "validate_unknown_users", {"events": events.paths, "users": users.paths}
        )
        if unknown_rows:
            self.add(
                events.label,
                "user_id",
                f"{_plural(unknown_rows, 'event')} {_verb(unknown_rows, 'belongs', 'belong')} to {_plural(unknown_ids, 'user_id')} not in users "
                f"(e.g. {_examples(sorted(set(examples or [])))}); they will not count for any audience.",
                "Add those members to users, or drop their events.",
                "warning",
            )
        if null_rows:
            self.add(
                events.label,
                "user_id",
                f"{_plural(null_rows, 'event')} {_verb(null_rows, 'has', 'have')} no user_id (null) and will be ignored.",
                "Fill in user_id, or drop those rows.",
                "warning",
            )

    def check_purchase_event(self, config: DatasetConfig, events: _TableInfo, configured: bool) -> None:
        name = config.purchase_event
        (found,) = self.fetch("validate_event_exists", {"files": events.paths, "event": name})
        if found:
            return
        names = [
            r[0]
            for r in self.con.execute(load_query("validate_event_names"), {"files": events.paths}).fetchall()
        ]
        source = "set in dataset.toml" if configured else "the default"
        self.add(
            "dataset.toml" if configured else events.label,
            "purchase_event",
            f"purchase_event '{name}' ({source}) never occurs in events, so RFM, revenue and AIPL purchases will be empty.",
            f"Set purchase_event in dataset.toml to the name of your purchase event.{did_you_mean(name, names)}",
            "warning",
        )

    def check_privacy_columns(self, config: DatasetConfig, users: _TableInfo, privacy_raw: Any) -> None:
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
                f"{what} {_examples(absent)} named in dataset.toml are not columns of users.",
                f"Correct the names in dataset.toml or add the columns to users.{hints}",
                "warning",
            )


def validate_dataset(path: str | Path, *, deep: bool = True) -> ValidationReport:
    """Check a dataset directory against the data contract; report every problem found.

    deep=False skips the two warnings that need a full pass over events (events of
    unknown users, purchase_event never occurring); errors, and so `usable`, are the same.
    """
    root = Path(path)
    if not root.exists():
        return ValidationReport(
            str(path),
            (
                Problem(
                    str(path),
                    None,
                    "dataset directory not found.",
                    "Check the path; a dataset is a folder holding users.parquet and events.parquet (see DATA_CONTRACT.md).",
                ),
            ),
        )
    if not root.is_dir():
        return ValidationReport(
            str(path),
            (
                Problem(
                    str(path),
                    None,
                    "is a file, not a dataset directory.",
                    "Pass the folder that holds users.parquet and events.parquet.",
                ),
            ),
        )
    checker = _Checker(root, deep)
    try:
        checker.run()
    finally:
        checker.con.close()
    return ValidationReport(str(path), tuple(checker.problems))


def format_report(report: ValidationReport) -> str:
    """One line per problem (errors first), then 'N errors, M warnings — usable/not usable'."""
    lines = []
    for p in (*report.errors, *report.warnings):
        where = p.file + (f" [{p.column}]" if p.column else "")
        lines.append(f"{p.severity.upper()}  {where}: {p.message} Fix: {p.fix}")
    verdict = "usable" if report.usable else "not usable"
    lines.append(
        f"{_plural(len(report.errors), 'error')}, {_plural(len(report.warnings), 'warning')} — {verdict}"
    )
    return "\n".join(lines)


def report_dict(report: ValidationReport) -> dict[str, Any]:
    """The report as JSON-ready data (what `adesk validate --json` prints)."""
    return {
        "dataset": report.dataset,
        "usable": report.usable,
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
    }
