"""Folders kept next to the derived cache, one per version of a dataset's data (`<name>-<fingerprint><suffix>`):
the resolved assignments (core/analyses/ab_members.py) and export holdouts (core/analyses/ab_holdouts.py).

A new version removes the older ones — only those written for the same dataset path. Cache names carry the
dataset folder's name, not its path, so two datasets both named `demo` share the prefix; their folders are
read through views while the datasets are open, and one must never remove the other's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlglot import exp

if TYPE_CHECKING:
    from core.dataset.handle import Dataset

OWNER = "dataset-path.txt"  # the dataset's resolved path, written into each folder


def claim(ds: Dataset, folder: Path) -> None:
    """Create `folder` (if missing) and record which dataset path it belongs to."""
    folder.mkdir(parents=True, exist_ok=True)
    owner = folder / OWNER
    if not owner.exists():
        owner.write_text(str(ds.path.resolve()), encoding="utf-8")


def remove_other_versions(ds: Dataset, suffix: str, keep: Path) -> list[Path]:
    """Remove the folders of other versions of this dataset (same path); those of other datasets stay. The removed."""
    mine = str(ds.path.resolve())
    removed = []
    for old in ds.cache_path.parent.glob(f"{ds.path.name}-*{suffix}"):
        if old == keep or not old.is_dir():
            continue
        try:
            owner = (old / OWNER).read_text(encoding="utf-8")
        except OSError:
            continue  # not known to be this dataset's: left alone
        if owner == mine:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
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
