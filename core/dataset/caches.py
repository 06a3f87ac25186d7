"""Caches per opened dataset, owned by the modules that fill them: `Dataset` holds none of them.

A module asks for its own dict with `dataset_cache(ds, "owner")` (breakdown bin edges, the models'
tables at past days, AIPL answers, the bitmap index). An entry is kept per opened connection — the
in-memory tables some of them name exist only there — and per fingerprint, which for a data scope
(core/access.py) includes the scope, so a scope's answers are never shared with the whole dataset.
When the connection goes, its caches go with it.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.dataset.handle import Dataset

_LOCK = threading.Lock()
# connection -> (dataset class, fingerprint, owner) -> the owner's dict
_CACHES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], dict]] = weakref.WeakKeyDictionary()


def dataset_cache(ds: Dataset, owner: str) -> dict:
    """The dict `owner` keeps for this opened dataset and scope (created empty on first use)."""
    con = ds._con  # the package's own handle: caches live and die with the connection
    if con is None:
        raise RuntimeError(f"the dataset {ds.path} is closed")
    with _LOCK:
        per_connection = _CACHES.setdefault(con, {})
        # the dataset's class too: a Spark dataset (core/engine/) shares the connection and the
        # fingerprint of the DuckDB one it was made from, but not its in-memory tables
        return per_connection.setdefault((type(ds).__name__, ds.fingerprint, owner), {})


def drop_caches(ds: Dataset) -> list[dict]:
    """Forget this dataset's (fingerprint's) caches on its connection; the dicts dropped, for closing."""
    con = ds._con
    if con is None:
        return []
    with _LOCK:
        per_connection = _CACHES.get(con, {})
        keys = [key for key in per_connection if key[:2] == (type(ds).__name__, ds.fingerprint)]
        return [per_connection.pop(key) for key in keys]
