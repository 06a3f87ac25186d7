"""What every chunk shares: day weights, stores, the campaign calendar."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

from core.demo.campaign import CAMPAIGN_NAME, campaign_export_id
from core.demo.experiments import EXPERIMENTS
from core.demo.timeframe import CAMPAIGNS, CHURN_CITY, DAYS, day_index
from core.demo.vocab import CITIES, HOUR_W, STORES_TOTAL


class World:
    """Things shared by every chunk: day weights, stores, campaign calendar."""

    def __init__(self, seed: int, users: int) -> None:
        self.campaign_export_id = campaign_export_id(users, seed)  # story 10: its holdout decides who gets the coupon
        rng = np.random.default_rng([seed, 2**31 - 1])
        d = np.arange(DAYS)
        trend = 0.85 + 0.30 * d / DAYS
        weekend = np.where(d % 7 >= 5, 1.0, 0.0)
        bump = np.ones(DAYS)
        self.campaign_of_day = np.full(DAYS, -1, dtype=np.int16)
        for i, (_name, first, last, b) in enumerate(CAMPAIGNS):
            lo, hi = day_index(first), day_index(last) + 1
            bump[lo:hi] = b
            self.campaign_of_day[lo:hi] = i
        self.campaign_names = tuple(c[0] for c in CAMPAIGNS) + tuple(e.name for e in EXPERIMENTS) + (CAMPAIGN_NAME,)
        self.browse_cdf = _cdf(trend * (1 + 0.15 * weekend) * bump)
        self.purchase_cdf = _cdf(trend * (1 + 0.25 * weekend) * bump**1.5)
        self.signup_cdf = _cdf((0.6 + 0.8 * d / DAYS) * np.sqrt(bump))
        self.hour_cdf = np.cumsum(HOUR_W) / HOUR_W.sum()

        w = np.array([c[3] for c in CITIES])
        self.city_p = w / w.sum()
        counts = np.maximum(3, np.round(STORES_TOTAL * w**0.8 / (w**0.8).sum())).astype(np.int64)
        self.store_offset = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.store_count = counts
        codes = []
        for (_name, _prov, prefix, _w), count in zip(CITIES, counts, strict=True):
            numbers = np.sort(rng.choice(9999, size=int(count), replace=False) + 1)
            codes.extend(f"{prefix}-{num:04d}" for num in numbers)
        self.store_codes = pa.array(codes, pa.string())
        self.cities = pa.array([c[0] for c in CITIES], pa.string())
        self.provinces = pa.array([c[1] for c in CITIES], pa.string())
        self.churn_city = [c[0] for c in CITIES].index(CHURN_CITY)
        # first day of each calendar month (1..12) in 2025 and 2026, as day indices
        self.month_start = {y: np.array([0] + [day_index(date(y, m, 1)) for m in range(1, 13)]) for y in (2025, 2026)}


def _cdf(weights: np.ndarray) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(weights)])
    return c / c[-1]
