"""Small helpers of the store: who is acting, where the file lives, slugs, references, names."""

from __future__ import annotations

import getpass
import json
import os
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.messages import msg
from core.segments.model import Segment
from core.store.records import StoreError
from core.store.schema import (
    DEFAULT_DB_PATH,
    ENV_DB_PATH,
    ENV_USER,
    MAX_NAME_LENGTH,
    MAX_SLUG_LENGTH,
)


def current_user() -> str:
    """Who is acting: env ADESK_USER, else the login name, else 'unknown'."""
    who = os.environ.get(ENV_USER, "").strip()
    if who:
        return who
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError, ImportError):
        return "unknown"  # containers without a passwd entry


def default_db_path() -> Path:
    """ADESK_APP_DB if set, else data/app.db under the current directory."""
    env = os.environ.get(ENV_DB_PATH, "").strip()
    return Path(env) if env else DEFAULT_DB_PATH


def slugify(name: str) -> str:
    """A URL-safe id from a name: lower-case ASCII letters, digits and hyphens.

    >>> slugify("  VIP Buyers — Shanghai (Q3) ")
    'vip-buyers-shanghai-q3'
    >>> slugify("高价值客户")
    'segment'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = slug[:MAX_SLUG_LENGTH].rstrip("-")
    # Names in Chinese (or only punctuation) have no ASCII letters; the
    # uniqueness suffix (-2, -3…) keeps those ids apart.
    return slug or "segment"


def referenced_ids(definition: Segment | dict[str, Any]) -> set[str]:
    """Ids of saved segments a definition refers to, at any depth of nesting."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("kind") == "segment" and isinstance(node.get("segment"), str):
                found.add(node["segment"])
            for child in node.get("conditions") or ():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(definition.to_dict() if isinstance(definition, Segment) else definition)
    return found


def inside_dataset(path: Path) -> Path | None:
    """The dataset directory that `path` would be inside, if any."""
    for parent in path.parents:
        if (parent / "users.parquet").is_file() or ((parent / "users").is_dir() and (parent / "events").exists()):
            return parent
    return None


def log_entries(rows) -> list[dict[str, Any]]:
    """A log's rows (action, at, who, detail as JSON text) as dicts, the detail parsed."""
    return [
        {
            "action": r["action"],
            "at": r["at"],
            "who": r["who"],
            "detail": json.loads(r["detail"]) if r["detail"] else None,
        }
        for r in rows
    ]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def clean_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StoreError(msg("store.name_empty"))
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise StoreError(msg("store.name_too_long", n=len(name), limit=MAX_NAME_LENGTH))
    return name
