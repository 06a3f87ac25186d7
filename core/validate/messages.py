"""Validation problems' codes and English templates (see core/messages.py); Chinese: dashboard/texts/messages.py.

A problem has two texts, what is wrong and how to fix it: `validate.<name>` and `validate.<name>.fix`.
Coded so far: the layout of the files and the columns (core/validate/layout.py, columns.py); the value,
cross-table and dataset.toml checks still give English only (their Chinese falls back to English).
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
}
register(TEMPLATES)


def more_files(n: int):
    """' (and N more files)' as a message, or '' (core.validate.files.more in words)."""
    from core.messages import msg

    return "" if not n else msg("validate.more_file") if n == 1 else msg("validate.more_files", n=n)
