"""A validation report as text (the CLI's lines) and as JSON-ready data."""

from __future__ import annotations

from typing import Any

from core.problems import ValidationReport
from core.validate.files import plural


def format_report(report: ValidationReport) -> str:
    """One line per problem (errors first), then 'N errors, M warnings — usable/not usable'."""
    lines = []
    for p in (*report.errors, *report.warnings):
        where = p.file + (f" [{p.column}]" if p.column else "")
        lines.append(f"{p.severity.upper()}  {where}: {p.message} Fix: {p.fix}")
    verdict = "usable" if report.usable else "not usable"
    lines.append(
        f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')} — {verdict}"
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
