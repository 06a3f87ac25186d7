"""The tables of the data contract and which files make each of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Expected "family" of a known column: string, temporal (timestamp or date) or numeric.
STRING, TEMPORAL, NUMERIC = "string", "temporal", "numeric"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: bool
    columns: dict[str, str]  # required column -> expected family
    optional: dict[str, str] = field(default_factory=dict)  # known optional column -> family


TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("users", True, {"user_id": STRING}, {"signup_at": TEMPORAL}),
    TableSpec(
        "events",
        True,
        {"user_id": STRING, "event": STRING, "ts": TEMPORAL},
        {"amount": NUMERIC},
    ),
    TableSpec("tags", False, {"user_id": STRING, "tag": STRING}, {"updated_at": TEMPORAL}),
    TableSpec("tag_catalog", False, {"tag": STRING}),
    TableSpec(
        "assignments",
        False,
        {"experiment": STRING, "user_id": STRING, "variant": STRING, "assigned_at": TEMPORAL},
    ),
)
TABLE_NAMES: tuple[str, ...] = tuple(s.name for s in TABLE_SPECS)

# Allowed values of tag_catalog's enumerated columns.
TAG_CATALOG_VALUES: dict[str, tuple[str, ...]] = {
    "source": ("fact", "rule", "model"),
    "update_cycle": ("daily", "weekly", "monthly", "once"),
    "status": ("active", "deprecated"),
}


# ---------------------------------------------------------------------------
# Which files make up each table


def hidden(part: str) -> bool:
    # Spark/Hive write _SUCCESS, _temporary/, .crc files next to the data: not data.
    return part.startswith((".", "_"))


def parquet_files_under(directory: Path) -> list[Path]:
    found = [
        p
        for p in directory.rglob("*.parquet")
        if p.is_file() and not any(hidden(part) for part in p.relative_to(directory).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


def table_files(path: str | Path) -> dict[str, list[Path]]:
    """The Parquet files of each table present in the dataset directory, in a stable order.

    A table is `<name>.parquet` (a file, or a directory as Spark writes it) and/or a
    `<name>/` directory searched recursively (hive partitions such as
    `events/dt=2026-05-01/part-0.parquet`); hidden files and `_`-prefixed entries
    (`_SUCCESS`, `_temporary/`) are ignored. Tables with no Parquet file are left out.
    If both `users.parquet` and `users/` exist, both are listed (validation refuses that).
    """
    root = Path(path)
    out: dict[str, list[Path]] = {}
    for name in TABLE_NAMES:
        files: list[Path] = []
        for candidate in (root / f"{name}.parquet", root / name):
            if candidate.is_file():
                files.append(candidate)
            elif candidate.is_dir():
                files.extend(parquet_files_under(candidate))
        if files:
            out[name] = files
    return out
