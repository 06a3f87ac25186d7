"""The export refusals' codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py."""

from __future__ import annotations

from core.messages import register

TEMPLATES: dict[str, str] = {
    "export.unknown_channel": "Unknown channel {channel!r}; use one of: {channels}, or none.{hint}",
    "export.unknown_format": "Unknown format {format!r}; use csv or parquet.",
    "export.unknown_pii_mode": "Unknown PII mode {mode!r}; use one of: {modes}.",
    "export.bad_holdout": "The holdout share must be a number from 0 to {limit} (0–50%), got {value!r}.",
    "export.unknown_column": (
        "Unknown column {name!r}: not an attribute, a tag, or one of rfm_class, aipl_stage, lifecycle.{hint}"
    ),
    "export.role_no_export": (
        "Your role {role!r} ({source}) may see counts and analyses but not export members. Ask an admin for the operator role."
    ),
    "export.role_no_pii": (
        "PII mode {mode!r} needs the 'pii' role; your role is {role!r} ({source}). Export masked values, or ask an "
        'administrator to set ADESK_ROLE=pii (or role = "pii" in .streamlit/secrets.toml).'
    ),
    "export.inside_dataset": (
        "The export file {target!r} would be inside the dataset directory {dataset!r}; a data reload could delete it "
        "and it would change the dataset. Write it elsewhere (default {default}/ or ADESK_EXPORT_DIR)."
    ),
    "export.cannot_create_folder": "Cannot create the folder {folder!r} for the export: {error}.",
    "export.write_failed": "Writing the export file failed: {error}. Nothing was exported; check the disk space and try again.",
    "export.holdout_failed": "Writing the holdout assignments failed: {error}. Nothing was exported.",
    "export.data_changed": "The data changed since this export was planned; count again before writing.",
    "export.exists": "{target!r} already exists; choose another --out path, or pass --overwrite.",
    "export.failed": "The export failed: {error}. Nothing was exported.",
    "export.not_succeeded": "Export {id} did not succeed (status {status}); there is no file to re-create.",
    "export.other_data": (
        "Export {id} was made from other data (dataset {dataset}, as of {as_of}); the open dataset {open} (as of "
        "{open_as_of}) has changed since, so the identical file cannot be re-created."
    ),
    "export.unknown_export": "There is no export {id!r}. `adesk exports list` shows the exports.",
}
register(TEMPLATES)
