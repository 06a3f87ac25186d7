"""Problems found in a dataset: what, where, and how to fix it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, ParamSpec, TypeVar

import duckdb

from core.messages import Message

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Problem:
    file: str
    column: str | None
    message: str  # English
    fix: str  # English
    severity: Literal["error", "warning"] = "error"
    # The same two texts as codes and parameters (core/messages.py), when they have them: other languages.
    detail: Message | None = field(default=None, compare=False)
    fix_detail: Message | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls, file: str, column: str | None, message: Message | str, fix: Message | str, severity: str = "error"
    ) -> Problem:
        """A problem from coded messages (or plain English strings)."""
        coded = (m if isinstance(m, Message) else None for m in (message, fix))
        return cls(file, column, str(message), str(fix), severity, *coded)  # type: ignore[arg-type]

    def __str__(self) -> str:
        where = f"{self.file}" + (f" [{self.column}]" if self.column else "")
        return f"{self.severity.upper()}: {where}: {self.message} Fix: {self.fix}"

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("file", "column", "message", "fix", "severity")}


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


class EngineError(RuntimeError):
    """The query engine could not answer (a value it cannot convert, memory, an interrupted query).

    Core raises it in place of the engine's own exceptions so that the pages and the CLI can
    show the reason without knowing which engine ran the query.
    """


def engine_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn`, turning the engine's exceptions into EngineError (the first line of its message)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except duckdb.Error as err:
            raise EngineError(str(err).splitlines()[0] if str(err) else type(err).__name__) from err

    return wrapper
