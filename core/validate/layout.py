"""Checks of the dataset's layout and of each table's files (readable, same partitions, same types)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from core.config import closest
from core.messages import Message, hint, msg
from core.validate.base import CheckerBase
from core.validate.files import (
    REEXPORT,
    FileInfo,
    TableInfo,
    duckdb_family,
    example_list,
    family,
    first_line,
    hive_keys,
    type_label,
)
from core.validate.messages import more_files
from core.validate.tables import TABLE_NAMES, TABLE_SPECS, TableSpec, hidden, parquet_files_under


class LayoutChecks(CheckerBase):
    """Required tables present, no stray ones; each table's files readable and in agreement."""

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
            and not hidden(p.name)
            and ((p.is_file() and p.suffix == ".parquet") or (p.is_dir() and any(parquet_files_under(p))))
        )
        stray_stems = {s.removesuffix(".parquet"): s for s in stray}
        for spec in TABLE_SPECS:
            single, folder = self.root / f"{spec.name}.parquet", self.root / spec.name
            if single.exists() and folder.exists():
                self.add(
                    f"{spec.name}/",
                    None,
                    msg("validate.table_twice", table=spec.name),
                    msg("validate.table_twice.fix", table=spec.name),
                )
            for candidate in (single, folder):
                if candidate.is_dir() and spec.name not in files:
                    self.add(
                        f"{self.rel(candidate)}/",
                        None,
                        msg("validate.empty_folder"),
                        msg("validate.empty_folder.fix", table=spec.name, folder=self.rel(candidate)),
                        "error" if spec.required else "warning",
                    )
            if spec.required and spec.name not in files and not folder.is_dir() and not single.is_dir():
                like = closest(spec.name, list(stray_stems))
                found = example_list(stray_stems[s] for s in like)
                misnamed = msg("validate.missing_table.hint", found=found, table=spec.name) if like else ""
                what = msg("validate.missing_table.users" if spec.name == "users" else "validate.missing_table.events")
                self.add(
                    f"{spec.name}.parquet",
                    None,
                    msg("validate.missing_table", table=spec.name),
                    msg("validate.missing_table.fix", table=spec.name, what=what, hint=misnamed),
                )
        for name in stray:
            self.add(
                name,
                None,
                msg("validate.stray_file"),
                msg(
                    "validate.stray_file.fix",
                    tables=", ".join(TABLE_NAMES),
                    hint=hint(name.removesuffix(".parquet"), TABLE_NAMES),
                ),
                "warning",
            )

    # -- one table -----------------------------------------------------------

    def read_files(self, spec: TableSpec, paths: list[Path]) -> list[FileInfo]:
        good: list[FileInfo] = []
        table_dir = self.root / spec.name
        for p in paths:
            rel = self.rel(p)
            try:
                meta = pq.read_metadata(p)
                schema = meta.schema.to_arrow_schema()
            except Exception as err:  # random bytes, truncated, empty, unreadable: all the same to the user
                self.add(rel, None, msg("validate.unreadable_file", error=first_line(err)), REEXPORT)
                continue
            parts: tuple[str, ...] = ()
            for base in (table_dir, self.root / f"{spec.name}.parquet"):
                if base.is_dir() and p.is_relative_to(base):
                    parts = p.relative_to(base).parent.parts
            good.append(FileInfo(p, rel, schema, meta.num_rows, hive_keys(parts)))
        return good

    def check_table(self, spec: TableSpec, paths: list[Path]) -> TableInfo | None:
        label = self.table_label(spec.name, paths)
        files = self.read_files(spec, paths)
        if not files:
            return None
        # Files of one table are read together (union by name), so their folders and
        # column types must agree.
        queryable = self.check_partitions(files)
        families, present = self.check_consistency(spec, files)
        info = TableInfo(spec, label, files, families, queryable, rows=sum(f.rows for f in files))
        relation = self.relation(info) if queryable else None
        if relation is not None:
            # Hive partition keys are columns too; their type comes from DuckDB.
            for name, dtype in zip(relation.columns, relation.types, strict=True):
                if name not in present:
                    present.add(name)
                    families[name] = duckdb_family(str(dtype))
        self.check_names(spec, info, present)
        self.check_required(spec, info, present)
        self.check_types(spec, info, relation)
        if relation is not None:
            self.check_data(spec, info, relation)
        return info

    def check_partitions(self, files: list[FileInfo]) -> bool:
        groups: dict[tuple[str, ...], FileInfo] = {}
        for f in files:
            groups.setdefault(tuple(sorted(f.hive)), f)
        if len(groups) <= 1:
            return True
        (keys_a, a), (keys_b, b) = list(groups.items())[:2]

        def desc(keys: tuple[str, ...]) -> Message:
            return (
                msg("validate.partition_keys", keys=", ".join(k + "=…" for k in keys))
                if keys
                else msg("validate.no_partitions")
            )

        self.add(
            b.rel,
            None,
            msg("validate.partitions", this=desc(keys_b), other=a.rel, other_layout=desc(keys_a)),
            msg("validate.partitions.fix"),
        )
        return False

    def check_consistency(self, spec: TableSpec, files: list[FileInfo]) -> tuple[dict[str, str], set[str]]:
        """Column types agree across files; required columns are in every file."""
        by_column: dict[str, dict[str, list[FileInfo]]] = {}
        order: list[str] = []
        for f in files:
            for fld in f.schema:
                if fld.name not in by_column:
                    order.append(fld.name)
                by_column.setdefault(fld.name, {}).setdefault(family(fld.type), []).append(f)
        families: dict[str, str] = {}
        required = set(spec.columns)
        for name in order:
            groups = {fam: fs for fam, fs in by_column[name].items() if fam != "null"}
            if len(groups) > 1:
                # The most common type is taken as the intended one; report each other one.
                ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), files.index(kv[1][0])))
                ref_fam, ref_files = ranked[0]
                ref_type = type_label(ref_files[0].schema.field(name).type)
                for _fam, odd in ranked[1:]:
                    odd_type = type_label(odd[0].schema.field(name).type)
                    self.add(
                        odd[0].rel,
                        name,
                        msg(
                            "validate.types_disagree",
                            column=name,
                            type=odd_type,
                            more=more_files(len(odd) - 1),
                            other_type=ref_type,
                            other=ref_files[0].rel,
                            other_more=more_files(len(ref_files) - 1),
                        ),
                        msg("validate.types_disagree.fix", column=name, other_type=ref_type),
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
                        msg(
                            "validate.column_missing_in_part",
                            column=name,
                            more=more_files(len(lacking) - 1),
                            other=next(f for f in files if id(f) in having).rel,
                        ),
                        msg("validate.column_missing_in_part.fix", table=spec.name, column=name),
                    )
        return families, set(order)

    def relation(self, info: TableInfo) -> duckdb.DuckDBPyRelation | None:
        try:
            return self.con.read_parquet(info.paths, union_by_name=True, hive_partitioning=True)
        except duckdb.Error as err:
            self.add(info.label, None, msg("validate.unreadable_table", error=first_line(err)), REEXPORT)
            info.queryable = False
            return None
