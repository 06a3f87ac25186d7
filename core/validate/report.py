"""A validation report as text (the CLI's lines) and as JSON-ready data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.problems import Problem, ValidationReport
from core.validate.files import plural


def format_report(report: ValidationReport, text: Callable[[Problem], tuple[str, str]] | None = None) -> str:
    """One line per problem (errors first), then 'N errors, M warnings — usable/not usable'.

    `text`: a problem's (message, fix) in another language (the CLI's --lang); English by default.
    """
    lines = []
    for p in (*report.errors, *report.warnings):
        where = p.file + (f" [{p.column}]" if p.column else "")
        message, fix = text(p) if text is not None else (p.message, p.fix)
        lines.append(f"{p.severity.upper()}  {where}: {message} Fix: {fix}")
    verdict = "usable" if report.usable else "not usable"
    lines.append(f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')} — {verdict}")
    return "\n".join(lines)


def report_dict(report: ValidationReport) -> dict[str, Any]:
    """The report as JSON-ready data (what `adesk validate --json` prints)."""
    return {
        "dataset": report.dataset,
        "usable": report.usable,
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.warnings],
    }
