"""Audience export: a segment's consenting members to CSV or Parquet, PII protected, audited, any size.

The whole file is written by DuckDB: one `COPY (SELECT … FROM profile WHERE
<segment> AND <consent> AND NOT <holdout> ORDER BY user_id) TO <tmp>`. Rows never
pass through Python, so memory does not grow with the export's size. Masking and
hashing of personal data happen inside that SELECT (core.privacy.mask_expression,
`sha256(lower(trim(x)))`), so unmasked values never leave DuckDB.

One export, in order:

1. `plan_export` checks the options and the role, fixes the export id, and counts in
   one pass: members, members excluded for lack of consent, members held out, rows
   to write. The dialog shows these before anything is written.
2. `write_export` logs the export as 'running' in the app store, COPYs into a
   temporary name next to the target (`.NAME.ID.partial`), hashes the file in
   chunks, then in ONE store transaction stores the holdout assignments, renames
   the file into place and marks the export 'succeeded'. Any failure removes the
   partial file and marks the export 'failed'; nothing that looks complete is left.
3. `recreate_export` writes the same export again from the log (same definition,
   same saved-segment snapshot, same export id, hence the same holdout) and
   compares its SHA-256 with the logged one.

Determinism: rows are ordered by user_id and DuckDB writes them in that order, so
the same data, definition and options give the same bytes (a test checks it).

Holdout: a user is held out when the first 52 bits of
`sha256(export_id || '|' || user_id)` read as a number are below
`share × 2^52`. The rule needs nothing but the two strings, so anyone can check an
assignment (`in_holdout`), and it does not depend on DuckDB's internal hash.

Consent: a member may be contacted on a channel only when the channel's consent
column (dataset.toml `[privacy] consent`) is TRUE; false, missing and unreadable
values exclude them. It is the same expression the builder's reach counts use
(core.segments.operations).
"""

from core.export.options import (
    ASSIGNMENT_BATCH,
    CHANNEL_CONTACT,
    CHANNELS,
    DEFAULT_EXPORT_DIR,
    ENV_EXPORT_DIR,
    FORMATS,
    HASH_CHUNK_BYTES,
    HASH_TRIM,
    HOLDOUT_BITS,
    MAX_HOLDOUT,
    MODEL_ALIASES,
    MODEL_EXPORT_COLUMNS,
    EmptyExport,
    ExportError,
    ExportOptions,
    Format,
    OutputColumn,
    PiiMode,
    Progress,
    exportable_columns,
    resolve_columns,
)
from core.export.plan import (
    ExportPlan,
    default_export_dir,
    export_conditions,
    new_export_id,
    plan_export,
    snapshot_references,
)
from core.export.recreate import (
    Recreated,
    plan_from_record,
    recreate_export,
)
from core.export.rules import (
    FORMULA_START,
    PLAIN_SIGNED_NUMBER,
    SIGNED,
    consent_expression,
    escape_formula,
    hash_expression,
    hash_value,
    holdout_bucket,
    holdout_expression,
    holdout_threshold,
    in_holdout,
    needs_formula_escape,
    value_expression,
)
from core.export.write import (
    ExportResult,
    copy_statement,
    export_select,
    file_sha256,
    target_path,
    write_export,
    write_file,
)

__all__ = [
    "ASSIGNMENT_BATCH",
    "CHANNELS",
    "CHANNEL_CONTACT",
    "DEFAULT_EXPORT_DIR",
    "ENV_EXPORT_DIR",
    "EmptyExport",
    "ExportError",
    "ExportOptions",
    "ExportPlan",
    "ExportResult",
    "copy_statement",
    "export_select",
    "FORMATS",
    "FORMULA_START",
    "Format",
    "HASH_CHUNK_BYTES",
    "HASH_TRIM",
    "HOLDOUT_BITS",
    "MAX_HOLDOUT",
    "MODEL_ALIASES",
    "MODEL_EXPORT_COLUMNS",
    "OutputColumn",
    "PLAIN_SIGNED_NUMBER",
    "PiiMode",
    "Progress",
    "Recreated",
    "SIGNED",
    "consent_expression",
    "default_export_dir",
    "escape_formula",
    "export_conditions",
    "exportable_columns",
    "file_sha256",
    "hash_expression",
    "hash_value",
    "holdout_bucket",
    "holdout_expression",
    "holdout_threshold",
    "in_holdout",
    "needs_formula_escape",
    "new_export_id",
    "plan_export",
    "plan_from_record",
    "recreate_export",
    "resolve_columns",
    "snapshot_references",
    "target_path",
    "value_expression",
    "write_export",
    "write_file",
]
