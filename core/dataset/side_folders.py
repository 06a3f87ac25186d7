"""What is kept next to the derived cache, one per version of a dataset's data, all named
`<cache_prefix>-<fingerprint><suffix>`: the cache file itself, the AIPL stage history, and folders for the
resolved assignments (core/analyses/ab_members.py) and export holdouts (core/analyses/ab_holdouts.py).

A new version removes the older ones — only those of the same dataset path. The prefix is the folder's name
and a digest of its path: with the name alone, two datasets both named `demo` sharing a cache directory
removed each other's caches in turn (each open rebuilt the other's), and the folders they read through views.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

if TYPE_CHECKING:
    from core.dataset.handle import Dataset


def cache_prefix(root: Path) -> str:
    """`<folder name>-<8 hex digits of its resolved path>`: how every cache file and folder of the dataset begins."""
    return f"{root.name}-{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]}"


def older_versions(directory: Path, root: Path, suffix: str, keep: Path) -> list[Path]:
    """The other versions' files or folders of the dataset at `root` in `directory` (`keep` is the current one).

    Also those named before the prefix carried the path (`<name>-<20 hex digits><suffix>`): no version of the
    code that reads by the new names looks them up again.
    """
    prefix = cache_prefix(root) + "-"
    legacy = re.compile(re.escape(root.name) + "-[0-9a-f]{20}" + re.escape(suffix))
    found = directory.glob(f"{glob.escape(root.name)}-*{glob.escape(suffix)}")
    return [p for p in found if p != keep and (p.name.startswith(prefix) or legacy.fullmatch(p.name))]


def remove_other_versions(ds: Dataset, suffix: str, keep: Path) -> list[Path]:
    """Remove the folders of other versions of this dataset (same path); those of other datasets stay. The removed."""
    removed = [old for old in older_versions(ds.cache_path.parent, ds.path, suffix, keep) if old.is_dir()]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return removed


def write_parquet(cur: Any, select: exp.Expression, path: Path, params: dict[str, Any] | None = None) -> None:
    """COPY the rows to a temporary file renamed into place when complete (readers never see half a file)."""
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
    copy = exp.Copy(
        this=exp.Subquery(this=select),
        kind=False,
        files=[exp.Literal.string(str(tmp))],  # COPY takes no parameter for its path
        params=[
            exp.CopyParameter(this=exp.var("FORMAT"), expression=exp.var("PARQUET")),
            exp.CopyParameter(this=exp.var("COMPRESSION"), expression=exp.var("ZSTD")),
        ],
    )
    try:
        cur.execute(copy.sql("duckdb"), params or None)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
