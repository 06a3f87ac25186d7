"""Opening a dataset: validate, build the derived cache once per fingerprint, register views.

The cache is one DuckDB file per dataset fingerprint, outside the dataset
directory (`ADESK_CACHE_DIR`, default `~/.cache/adesk`). It holds `profile`
(see core/catalog.py for its columns) and small metadata tables. It is
disposable: deleting it changes no answer, only the time to the first one.
Readers attach it read-only; a build happens under an exclusive file lock into a
temporary file that is renamed when complete, so two processes opening the same
dataset at once build it once and never see half a cache.
"""

from core.dataset.build_events import (
    CODED_MAX,
)
from core.dataset.build_tables import (
    MASK_BITS,
)
from core.dataset.connection import (
    CACHE_LAYOUT_VERSION,
    SEARCH_PATH,
    SLOT_BITS,
    TABLES,
    TIMESTAMP_COLUMNS,
    default_cache_dir,
    fingerprint,
    set_search_path_sql,
)
from core.dataset.handle import (
    Dataset,
    bitmap_budget,
    open_dataset,
)

__all__ = [
    "CACHE_LAYOUT_VERSION",
    "CODED_MAX",
    "Dataset",
    "MASK_BITS",
    "SEARCH_PATH",
    "SLOT_BITS",
    "TABLES",
    "TIMESTAMP_COLUMNS",
    "bitmap_budget",
    "default_cache_dir",
    "fingerprint",
    "open_dataset",
    "set_search_path_sql",
]
