"""The checker that runs every group of checks over a dataset directory, and `validate_dataset`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.config import DatasetConfig, load_config
from core.messages import msg
from core.problems import Problem, ValidationReport
from core.validate.across import CrossTableChecks
from core.validate.columns import ColumnChecks
from core.validate.files import REEXPORT, TableInfo, first_line
from core.validate.layout import LayoutChecks
from core.validate.tables import TABLE_SPECS, table_files
from core.validate.values import ValueChecks


class Checker(LayoutChecks, ColumnChecks, ValueChecks, CrossTableChecks):
    """All the checks of the data contract, run in order by `run`."""

    # -- dataset level -------------------------------------------------------

    def run(self) -> None:
        try:
            config, config_problems = load_config(self.root)
        except Exception as err:  # a value load_config did not foresee: report, don't crash
            config, config_problems = (
                DatasetConfig(),
                [
                    Problem.of(
                        "dataset.toml",
                        None,
                        msg("validate.unreadable", error=first_line(err)),
                        msg("validate.config_value.fix"),
                    )
                ],
            )
        self.problems.extend(config_problems)
        files = table_files(self.root)
        self.check_layout(files)
        tables: dict[str, TableInfo] = {}
        for spec in TABLE_SPECS:
            if spec.name not in files:
                continue
            try:
                info = self.check_table(spec, files[spec.name])
            except Exception as err:  # last resort: a bug or an odd file must not become a traceback
                self.add(
                    self.table_label(spec.name, files[spec.name]),
                    None,
                    msg("validate.uncheckable", kind=type(err).__name__, error=first_line(err)),
                    REEXPORT,
                )
                continue
            if info is not None:
                tables[spec.name] = info
        try:
            self.check_across(config, tables)
        except duckdb.Error as err:  # e.g. a damaged data page that only a full read of events meets
            label = tables["events"].label if "events" in tables else "events"
            self.add(label, None, msg("validate.unreadable", error=first_line(err)), REEXPORT)


def validate_dataset(path: str | Path, *, deep: bool = True) -> ValidationReport:
    """Check a dataset directory against the data contract; report every problem found.

    deep=False skips the two warnings that need a full pass over events (events of
    unknown users, purchase_event never occurring); errors, and so `usable`, are the same.
    """
    root = Path(path)
    if not root.exists():
        return ValidationReport(
            str(path),
            (Problem.of(str(path), None, msg("validate.no_directory"), msg("validate.no_directory.fix")),),
        )
    if not root.is_dir():
        return ValidationReport(
            str(path),
            (Problem.of(str(path), None, msg("validate.not_a_directory"), msg("validate.not_a_directory.fix")),),
        )
    checker = Checker(root, deep)
    try:
        checker.run()
    finally:
        checker.con.close()
    return ValidationReport(str(path), tuple(checker.problems))
