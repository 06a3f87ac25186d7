"""Problems found in a dataset: what, where, and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass(frozen=True)
class Problem:
    file: str
    column: str | None
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.column}]" if self.column else "")
        return f"{self.severity.upper()}: {where}: {self.message} Fix: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ValidationReport:
    dataset: str
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def usable(self) -> bool:
        return not self.errors


class DatasetError(Exception):
    """A dataset that cannot be used; carries the full report."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(f"{len(report.errors)} problem(s) in {report.dataset}")
