"""Vectorised helpers: categorical draws, day sampling, and Arrow arrays built without Python loops."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from core.demo.timeframe import EPOCH_S


# ---------------------------------------------------------------- helpers
def pick(rng: np.random.Generator, p, n: int) -> np.ndarray:
    """n draws from the categorical distribution p (indices, int64)."""
    cdf = np.cumsum(np.asarray(p, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def sample_days(rng: np.random.Generator, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """One day per row in [lo, hi) following the day weights behind `cdf` (cdf[0] == 0)."""
    a = cdf[lo]
    x = a + rng.random(len(lo)) * (cdf[hi] - a)
    return np.clip(np.searchsorted(cdf, x, side="right") - 1, lo, hi - 1)


def ts_array(seconds: np.ndarray) -> pa.Array:
    """Seconds since START -> naive timestamp[us] (wall-clock time)."""
    return pa.array((seconds.astype(np.int64) + EPOCH_S) * 1_000_000, type=pa.timestamp("us"))


def fixed_width(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII codes, built without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    null_count = 0 if valid is None else int(n - valid.sum())
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=null_count
    )


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative ints, zero padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def labels(names, codes: np.ndarray) -> pa.Array:
    """Strings from small-int codes; negative code = null."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(list(names), pa.string()).take(idx)


def nullable(values: np.ndarray, null: np.ndarray, type_: pa.DataType) -> pa.Array:
    return pa.array(values, type=type_, mask=null)
