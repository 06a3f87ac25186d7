"""Benchmarks run on request (`adesk bench NAME`): medians, with the baseline measured in the same run.

Each benchmark is a module core/bench/<name>.py with
`add_arguments(parser)` and `run(args) -> dict` (the JSON the CLI prints)
and `render(result) -> str` (the readable table).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# core/bench/<name>.py each; benchmarks that drive Streamlit live in the dashboard layer (dashboard/commands/bench.py).
BENCHMARKS = ("build", "segments", "export", "retention", "ab", "aipl", "funnels", "engines")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation, as numpy's default does."""
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(values: list[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock milliseconds of each of `repeat` calls."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


@dataclass
class PeakMemory:
    """Peak resident memory (MB) of this process and its children while the block runs, sampled every 50 ms."""

    peak_mb: float = 0.0
    baseline_mb: float = 0.0

    def __enter__(self) -> PeakMemory:
        import psutil

        self._proc = psutil.Process()
        self.baseline_mb = self._rss()
        self.peak_mb = self.baseline_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _rss(self) -> float:
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # noqa: BLE001 - a child may exit while we sample
                pass
        return total / 1e6

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss())
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())

    @property
    def above_baseline_mb(self) -> float:
        return self.peak_mb - self.baseline_mb
