"""Named SQL files in queries/: one question each, DuckDB dialect, `$name` parameters."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_query(name: str) -> str:
    """The text of queries/<name>.sql."""
    return resources.files("queries").joinpath(f"{name}.sql").read_text(encoding="utf-8")


def query_names() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("queries").iterdir() if p.name.endswith(".sql"))
