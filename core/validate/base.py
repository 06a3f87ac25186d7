"""The checker's state and the helpers every group of checks uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from core.messages import Message, msg
from core.problems import Problem
from core.queries import load_query
from core.validate.files import REEXPORT


class CheckerBase:
    """What the checks share: the dataset root, the problems found so far and one DuckDB connection."""

    def __init__(self, root: Path, deep: bool):
        self.root = root
        self.deep = deep
        self.problems: list[Problem] = []
        self.con = duckdb.connect()
        self.con.execute("set enable_progress_bar = false")  # never draw on the user's terminal

    # -- helpers -------------------------------------------------------------

    def add(
        self, file: str, column: str | None, message: Message | str, fix: Message | str, severity: str = "error"
    ) -> None:
        if fix == REEXPORT:  # the shared fix (a constant used by every group of checks) has its code
            fix = msg("validate.reexport.fix")
        self.problems.append(Problem.of(file, column, message, fix, severity))

    def rel(self, p: Path) -> str:
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return str(p)

    def fetch(self, query: str, params: dict[str, Any]) -> tuple:
        return self.con.execute(load_query(query), params).fetchall()[0]
