"""Validation problems' codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py.

A problem has two texts, what is wrong and how to fix it: `validate.<name>` and `validate.<name>.fix`.
Every check is coded: the layout of the files and the columns (core/validate/layout.py, columns.py), the
values (values.py), across tables (across.py), the checker's own (checker.py) and dataset.toml
(`validate.config.*`, core/config.py). A count that English says in the singular has a `.one` code.
"""

from __future__ import annotations

from core.messages import register

TEMPLATES: dict[str, str] = {
    "validate.reexport.fix": (
        "Re-export it as Parquet (e.g. pandas DataFrame.to_parquet, or DuckDB COPY ... TO 'file.parquet'), "
        "or remove it from the dataset."
    ),
    "validate.unreadable_file": "is not a readable Parquet file ({error}).",
    "validate.unreadable": "could not be read: {error}.",
    "validate.unreadable_table": "could not be read as one table: {error}.",
    # the files
    "validate.table_twice": "table '{table}' is given twice: as {table}.parquet and as the folder {table}/.",
    "validate.table_twice.fix": "Keep one of them: either a single {table}.parquet or a {table}/ folder of parts.",
    "validate.empty_folder": "folder holds no .parquet files.",
    "validate.empty_folder.fix": "Put the {table} Parquet files in it (e.g. {folder}/part-0.parquet) or remove it.",
    "validate.missing_table": "required table '{table}' is missing: there is no {table}.parquet file or {table}/ folder.",
    "validate.missing_table.fix": "Export the {table} table ({what}) as {table}.parquet.{hint}",
    "validate.missing_table.users": "one row per member with a text user_id",
    "validate.missing_table.events": "one row per behaviour with user_id, event and ts",
    "validate.missing_table.hint": " Found {found}: did you mean to name it {table}.parquet?",
    "validate.stray_file": "is not a table of the data contract and is ignored.",
    "validate.stray_file.fix": "Rename it if it is meant to be one of {tables}.{hint}",
    "validate.partitions": (
        "its folder layout ({this}) differs from {other} ({other_layout}), so the files cannot be read as one table."
    ),
    "validate.partitions.fix": "Put every file of the table under the same partition folders (e.g. all under month=YYYY-MM/).",
    "validate.partition_keys": "partition folders {keys}",
    "validate.no_partitions": "no partition folders",
    "validate.more_file": " (and 1 more file)",
    "validate.more_files": " (and {n} more files)",
    "validate.types_disagree": "'{column}' is {type} here{more} but {other_type} in {other}{other_more}: the files of one table must agree.",
    "validate.types_disagree.fix": "Re-export the files so '{column}' has one type ({other_type}) in all of them.",
    "validate.column_missing_in_part": "required column '{column}' is missing here{more} but present in {other}.",
    "validate.column_missing_in_part.fix": "Re-export the files so every part of {table} has a '{column}' column.",
    # the columns
    "validate.case_clash": "columns '{other}' and '{column}' differ only by upper/lower case; queries cannot tell them apart.",
    "validate.case_clash.fix": "Rename one of them.",
    "validate.pandas_index": "'{column}' is a pandas index written as a column; it will be read as an ordinary column.",
    "validate.pandas_index.fix": "Export with DataFrame.to_parquet(..., index=False).",
    "validate.reserved_name": "column '{column}' starts with '_', which is reserved for derived columns (RFM, AIPL, lifecycle).",
    "validate.reserved_name.fix": "Rename it, e.g. to '{suggestion}'.",
    "validate.not_snake_case": "column name '{column}' is not lower-case snake_case.",
    "validate.not_snake_case.fix": "Rename it to '{suggestion}'.",
    "validate.missing_column": "required column '{column}' is missing from {table}.",
    "validate.missing_column.fix": "The {table} table needs {columns}.{hint}",
    "validate.missing_column.rename": " Did you mean {found}? Rename it to '{column}'.",
    "validate.missing_column.add_text": " Add a '{column}' column (text).",
    "validate.missing_column.add_timestamp": " Add a '{column}' column (timestamp).",
    "validate.must_be_text": "'{column}' is {type}; it must be text (string).",
    "validate.must_be_text.fix": "Cast it to string before export (e.g. df['{column}'] = df['{column}'].astype(str)).",
    "validate.must_be_numeric": "'{column}' is {type}; it must be numeric.",
    "validate.must_be_numeric.fix": "Store '{column}' as a number (double), e.g. pd.to_numeric(df['{column}']).",
    "validate.must_be_temporal": "'{column}' is {type}; it must be a timestamp or a date.",
    "validate.must_be_temporal.fix": "Convert it before export, e.g. pd.to_datetime(df['{column}']){epoch}",
    "validate.epoch_hint": " (unit='s' for epoch seconds).",
    "validate.period": ".",
    "validate.text_timestamps": "'{column}' is stored as text; it will be parsed as a timestamp.",
    "validate.text_timestamps.fix": (
        "Store '{column}' as a Parquet timestamp to skip the parsing (e.g. pd.to_datetime(df['{column}']))."
    ),
    "validate.bad_text_timestamps": (
        "'{column}' is text and {bad} of {non_null:,} cannot be read as a timestamp, e.g. {examples}."
    ),
    "validate.bad_text_timestamps.fix": (
        "Fix or remove those values, and write '{column}' as a timestamp ('YYYY-MM-DD HH:MM:SS' as text also works)."
    ),
    # counts inside other messages
    "validate.n_values.one": "{n:,} value",
    "validate.n_values": "{n:,} values",
    "validate.n_user_ids.one": "{n:,} user_id",
    "validate.n_user_ids": "{n:,} user_ids",
    "validate.and_more": " and {n} more",
    # the values (core/validate/values.py)
    "validate.no_rows": "has no rows.",
    "validate.no_rows.fix": "Export at least one member.",
    "validate.no_events": "has no rows: behaviour filters and RFM/AIPL/lifecycle will be empty.",
    "validate.no_events.fix": "Export the events table with its rows.",
    "validate.bad_amounts.one": (
        "{n:,} amount is not a finite number below 10^12 in size (e.g. {examples}): revenue is summed exactly "
        "to the millionth, which needs finite amounts below 10^12."
    ),
    "validate.bad_amounts": (
        "{n:,} amounts are not finite numbers below 10^12 in size (e.g. {examples}): revenue is summed exactly "
        "to the millionth, which needs finite amounts below 10^12."
    ),
    "validate.bad_amounts.fix": "Replace them with the real amounts (a missing amount may stay empty: it counts as 0), "
    "or drop those rows.",
    "validate.null_user_ids.one": "{n:,} row has no user_id (null).",
    "validate.null_user_ids": "{n:,} rows have no user_id (null).",
    "validate.null_user_ids.fix": "Give every member a user_id, or drop those rows.",
    "validate.duplicate_user_ids.one": (
        "{n:,} user_id appears more than once ({rows:,} rows), e.g. {examples}; users must have one row per member."
    ),
    "validate.duplicate_user_ids": (
        "{n:,} user_ids appear more than once ({rows:,} rows), e.g. {examples}; users must have one row per member."
    ),
    "validate.duplicate_user_ids.fix": "Keep one row per user_id (e.g. the latest), then re-export.",
    "validate.unknown_catalog_value": "unknown {column} value {examples}{more}; expected one of {allowed}.",
    "validate.unknown_catalog_values": "unknown {column} values {examples}{more}; expected one of {allowed}.",
    "validate.unknown_catalog_value.fix": "Use one of {allowed}.",
    # across tables and against dataset.toml (core/validate/across.py)
    "validate.no_assignments": "experiments are configured ({names}) but there is no assignments table.",
    "validate.no_assignments.fix": (
        "Add assignments.parquet (experiment, user_id, variant, assigned_at) or remove the [experiments] tables."
    ),
    "validate.unknown_users.one": (
        "{n:,} event belongs to {ids} not in users (e.g. {examples}); they will not count for any audience."
    ),
    "validate.unknown_users": (
        "{n:,} events belong to {ids} not in users (e.g. {examples}); they will not count for any audience."
    ),
    "validate.unknown_users.fix": "Add those members to users, or drop their events.",
    "validate.null_event_users.one": "{n:,} event has no user_id (null) and will be ignored.",
    "validate.null_event_users": "{n:,} events have no user_id (null) and will be ignored.",
    "validate.null_event_users.fix": "Fill in user_id, or drop those rows.",
    "validate.purchase_event": (
        "purchase_event '{name}' ({source}) never occurs in events, so RFM, revenue and AIPL purchases will be empty."
    ),
    "validate.purchase_event.configured": "set in dataset.toml",
    "validate.purchase_event.default": "the default",
    "validate.purchase_event.fix": "Set purchase_event in dataset.toml to the name of your purchase event.{hint}",
    "validate.privacy_pii": "PII columns {columns} named in dataset.toml are not columns of users.",
    "validate.privacy_consent": "consent columns {columns} named in dataset.toml are not columns of users.",
    "validate.privacy.fix": "Correct the names in dataset.toml or add the columns to users.{hints}",
    # the checker itself (core/validate/checker.py)
    "validate.uncheckable": "could not be checked: {kind}: {error}.",
    "validate.config_value.fix": "Fix the value (see DATA_CONTRACT.md).",
    "validate.no_directory": "dataset directory not found.",
    "validate.no_directory.fix": (
        "Check the path; a dataset is a folder holding users.parquet and events.parquet (see DATA_CONTRACT.md)."
    ),
    "validate.not_a_directory": "is a file, not a dataset directory.",
    "validate.not_a_directory.fix": "Pass the folder that holds users.parquet and events.parquet.",
    # dataset.toml (core/config.py)
    "validate.config.unknown_key": "unknown key '{key}'.",
    "validate.config.unknown_key.fix": "Remove it or correct the spelling.{hint}",
    "validate.config.wrong_type": "'{key}' is {value}, expected {type}.",
    "validate.config.wrong_type.fix": "Write '{key}' as {type}.",
    "validate.config.type.str": "a string",
    "validate.config.type.int": "a whole number",
    "validate.config.type.list": "a list",
    "validate.config.type.dict": "a table",
    "validate.config.type.date": "a date",
    "validate.config.type.either": "{first} or {second}",
    "validate.config.days": "'{key}' must be a positive number of days.",
    "validate.config.days.fix": "Use a whole number ≥ 1.",
    "validate.config.share": "share {value} is not a number between 0 and 1.",
    "validate.config.share.fix": "Write each variant's expected share as a number, e.g. {{ A = 0.5, B = 0.5 }}.",
    "validate.config.not_table": "expected a table.",
    "validate.config.not_table.fix": "Write it as [experiments.{name}].",
    "validate.config.bad_toml": "cannot be read as TOML: {error}.",
    "validate.config.bad_toml.fix": "Fix the syntax (see DATA_CONTRACT.md for an example).",
    "validate.config.as_of": "'{value}' is not a date.",
    "validate.config.as_of.fix": "Write as_of as YYYY-MM-DD.",
    "validate.config.timezone": "'{value}' is not a time zone.{hint}",
    "validate.config.timezone.fix": "Use an IANA time zone name such as Asia/Shanghai, or UTC.",
}
register(TEMPLATES)


def more_files(n: int):
    """' (and N more files)' as a message, or '' (core.validate.files.more in words)."""
    from core.messages import msg

    return "" if not n else msg("validate.more_file") if n == 1 else msg("validate.more_files", n=n)
