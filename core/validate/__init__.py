"""Check a dataset directory against the data contract (DATA_CONTRACT.md).

`validate_dataset` reports every problem it finds (file, column, what is wrong,
how to fix it) instead of stopping at the first; it never raises on bad data.
Errors make a dataset unusable; warnings do not. Every check that can produce
an error runs whatever `deep` is, so `usable` never depends on it: `deep=False`
only skips the warnings that need a full pass over events (events of unknown
users, a `purchase_event` that never occurs).
"""

from core.validate.checker import validate_dataset
from core.validate.report import format_report, report_dict
from core.validate.tables import (
    TABLE_NAMES,
    TABLE_SPECS,
    TAG_CATALOG_VALUES,
    TableSpec,
    table_files,
)

__all__ = [
    "TABLE_NAMES",
    "TABLE_SPECS",
    "TAG_CATALOG_VALUES",
    "TableSpec",
    "format_report",
    "report_dict",
    "table_files",
    "validate_dataset",
]
