"""The events of a chunk: browsing, purchases and what goes with them, and writing them by month."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.demo.arrays import labels, nullable, pick, sample_days, ts_array
from core.demo.schemas import EVENTS_SCHEMA, PARQUET
from core.demo.timeframe import (
    CAMPAIGN_EVENTS,
    CHURN_DATE,
    DAY,
    DAYS,
    END,
    END_S,
    ROW_GROUP_ROWS,
    START,
    day_index,
)
from core.demo.vocab import (
    ATC,
    CAKE,
    CATEGORIES,
    CATEGORY_P,
    CHANNEL_P,
    CHANNELS,
    EVENTS,
    FAV,
    JOIN,
    PRICE_MEDIAN,
    PRICE_SIGMA,
    PURCHASE,
    PV,
    REVIEW,
    SHARE,
    STORE,
)


class EventsMixin:
    """Part of Chunk: every event row, then one Parquet file per month."""

    def _hours(self, u: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.w.hour_cdf, u, side="right"), 23) * 3600

    def _times(self, users: np.ndarray, days: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Seconds since START for events of `users` on `days`, shaped by their scenes."""
        rng, m = self.rng, len(users)
        hour = self._hours(rng.random(m))
        rush = self.commuter[users] & (rng.random(m) < 0.45)
        hour = np.where(rush, np.array([7, 8, 18])[rng.integers(0, 3, m)] * 3600, hour)
        night = self.late_night[users] & (rng.random(m) < 0.4)
        hour = np.where(night, np.array([22, 23])[rng.integers(0, 2, m)] * 3600, hour)
        moved = days - days % 7 + 5 + rng.integers(0, 2, m)  # that week's Saturday or Sunday
        to_weekend = self.weekend_family[users] & (rng.random(m) < 0.4) & (moved >= lo) & (moved < hi)
        days = np.where(to_weekend, moved, days)
        ts = days * DAY + hour + rng.integers(0, 3600, m)
        return self._clip(users, ts)

    def _clip(self, users: np.ndarray, ts: np.ndarray) -> np.ndarray:
        # Nothing before the member signed up, nothing after the window.
        return np.minimum(np.maximum(ts, self.signup_s[users] + 60), END_S - 1)

    def _channels(self, ev: np.ndarray, users: np.ndarray) -> np.ndarray:
        """A channel per event: often the member's own channel when it fits the event."""
        rng, m = self.rng, len(ev)
        ch = np.empty(m, dtype=np.int64)
        u = rng.random(m)
        for e in np.unique(ev):
            rows = np.flatnonzero(ev == e)
            cdf = np.cumsum(CHANNEL_P[e])
            ch[rows] = np.minimum(np.searchsorted(cdf / cdf[-1], u[rows], side="right"), 4)
        pref = self.channel_pref[users]
        use_pref = (rng.random(m) < 0.4) & (CHANNEL_P[ev, pref] > 0)
        return np.where(use_pref, pref, ch)

    def _categories(self, users: np.ndarray, own: float) -> np.ndarray:
        m = len(users)
        return np.where(self.rng.random(m) < own, self.favourite[users], pick(self.rng, CATEGORY_P, m))

    def _amounts(self, cat: np.ndarray, factor: float = 1.0) -> np.ndarray:
        m = len(cat)
        price = PRICE_MEDIAN[cat] * np.exp(self.rng.normal(0, 1, m) * PRICE_SIGMA[cat]) * factor
        qty = 1 + self.rng.poisson(0.3, m)
        return np.round(price * qty, 1)

    def _add(self, u, ev, ts, *, amount=None, cat=None, ch=None, camp=None) -> None:
        m = len(u)
        ev = np.broadcast_to(np.asarray(ev, dtype=np.int8), (m,))
        self._ev["u"].append(u.astype(np.int32))
        self._ev["ev"].append(ev.copy())
        self._ev["ts"].append(ts.astype(np.int64))
        self._ev["amount"].append(np.full(m, np.nan) if amount is None else amount.astype(np.float64))
        self._ev["cat"].append(np.full(m, -1, np.int8) if cat is None else cat.astype(np.int8))
        self._ev["ch"].append((self._channels(ev.astype(np.int64), u) if ch is None else ch).astype(np.int8))
        # -2: decide from the campaign calendar later; -1: none
        self._ev["camp"].append(
            np.full(m, -2, np.int16) if camp is None else np.broadcast_to(np.int16(camp), (m,)).copy()
        )

    # -------------------------------------------------------- events
    def _browse(self) -> None:
        rng, n = self.rng, self.n
        count = rng.poisson(self.browse_rate * (self.end_day - self.start_day))
        users = np.repeat(np.arange(n), count)
        lo, hi = self.start_day[users], self.end_day[users]
        days = sample_days(rng, self.w.browse_cdf, lo, hi)
        # Story 7: after the churn date the group still looks around a little, but less.
        keep = ~(self.churn_group[users] & (days >= day_index(CHURN_DATE)) & (rng.random(len(users)) < 0.6))
        users, days, lo, hi = users[keep], days[keep], lo[keep], hi[keep]
        m = len(users)
        # Which mix of A/I events: awareness-only members never show interest; new members view more.
        mix = (self.depth[users] >= 1).astype(np.int64) + 2 * self.recent[users]
        mixes = (
            (0.55, 0.30, 0.15, 0, 0, 0, 0, 0),
            (0.28, 0.20, 0.08, 0.24, 0.07, 0.06, 0.03, 0.04),
            (0.35, 0.50, 0.15, 0, 0, 0, 0, 0),
            (0.10, 0.32, 0.05, 0.38, 0.06, 0.05, 0.02, 0.02),
        )
        ev = np.empty(m, dtype=np.int64)
        u = rng.random(m)
        for k, p in enumerate(mixes):
            rows = np.flatnonzero(mix == k)
            cdf = np.cumsum(p) / np.sum(p)
            ev[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(p) - 1)
        ts = self._times(users, days, lo, hi)
        cat = np.where(np.isin(ev, (PV, ATC, FAV)), self._categories(users, 0.5), -1)
        self._add(users, ev, ts, cat=cat)

    def _purchases(self) -> None:
        rng, n = self.rng, self.n
        stop = np.where(self.churn_group, day_index(CHURN_DATE), self.end_day)
        count = rng.poisson(self.purchase_rate * np.maximum(stop - self.start_day, 0))
        users = np.repeat(np.arange(n), count)
        lo, hi = self.start_day[users], stop[users]
        days = sample_days(rng, self.w.purchase_cdf, lo, hi)
        ts = self._times(users, days, lo, hi)
        cat = self._categories(users, 0.55)
        self._purchase_rows(users, ts, cat, self._amounts(cat))

    def _purchase_rows(self, users, ts, cat, amount, *, camp=None, ch=None) -> None:
        """Purchases plus what goes with them: views and carts before, reviews and shares after."""
        rng, m = self.rng, len(users)
        ch = self._channels(np.full(m, PURCHASE), users) if ch is None else ch
        self._add(users, PURCHASE, ts, amount=amount, cat=cat, ch=ch, camp=camp)
        online = ch != STORE
        floor = np.maximum(self.signup_s[users] + 1, 0)  # never before the window
        pv = online & (rng.random(m) < 0.85)
        self._add(
            users[pv],
            PV,
            np.maximum(ts[pv] - rng.integers(900, 5400, pv.sum()), floor[pv]),
            cat=cat[pv],
            ch=ch[pv],
        )
        atc = online & (rng.random(m) < 0.7)
        self._add(
            users[atc],
            ATC,
            np.maximum(ts[atc] - rng.integers(30, 840, atc.sum()), floor[atc]),
            cat=cat[atc],
            ch=ch[atc],
        )
        rv = rng.random(m) < 0.10
        rts = ts[rv] + rng.integers(DAY, 6 * DAY, rv.sum())
        self._add(users[rv][rts < END_S], REVIEW, rts[rts < END_S], cat=cat[rv][rts < END_S])
        share_p = np.where(self.kol[users], 0.5, np.where(self.koc[users], 0.3, 0.04))
        sh = rng.random(m) < share_p
        sts = ts[sh] + rng.integers(600, 3 * DAY, sh.sum())
        self._add(users[sh][sts < END_S], SHARE, sts[sts < END_S])

    def _cake_birthdays(self) -> None:
        rng = self.rng
        cake_users = np.flatnonzero(self.cake)
        parts_u, parts_d = [], []
        for year in (2025, 2026):
            day = self.w.month_start[year][self.cake_month[cake_users]] + self.cake_dom[cake_users] - 1
            day = day + rng.integers(-2, 3, len(cake_users))  # dom in 3..26, so still the same month
            ok = (day >= 0) & (day < DAYS)
            parts_u.append(cake_users[ok])
            parts_d.append(day[ok])
        users, days = np.concatenate(parts_u), np.concatenate(parts_d)
        ts = self._clip(users, days * DAY + 9 * 3600 + rng.integers(0, 11 * 3600, len(users)))
        cat = np.full(len(users), CAKE)
        self._purchase_rows(users, ts, cat, self._amounts(cat, 1.15))

    def _member_joins(self) -> None:
        joined = np.flatnonzero((self.signup_day >= 0) & ~self.never & (self.rng.random(self.n) < 0.7))
        ts = np.minimum(self.signup_s[joined] + self.rng.integers(0, 600, len(joined)), END_S - 1)
        self._add(joined, JOIN, ts)

    def _finish_events(self, *, campaigns_later: bool) -> None:
        """Concatenate the parts; on the last call, stamp calendar campaigns."""
        ev = {k: np.concatenate(v) for k, v in self._ev.items()}
        self._ev = {k: [v] for k, v in ev.items()}
        self.events = ev
        if campaigns_later:
            return
        camp = ev["camp"]
        todo = np.flatnonzero(camp == -2)
        day = ev["ts"][todo] // DAY
        c = self.w.campaign_of_day[day]
        tagged = np.isin(ev["ev"][todo], CAMPAIGN_EVENTS) & (c >= 0) & (self.rng.random(len(todo)) < 0.5)
        camp[todo] = np.where(tagged, c, -1)

    def write_events(self, events_dir: Path, chunk_index: int) -> int:
        """Sort this chunk's events by time and write one file per month; returns the row count."""
        ev = self.events
        order = np.argsort(ev["ts"], kind="stable")
        ts = ev["ts"][order]
        if len(ts) and (ts[0] < 0 or ts[-1] >= END_S):  # every generator clips; this guards the contract
            raise RuntimeError("demo event outside 2025-09-01 .. 2026-10-31")
        table = pa.Table.from_arrays(
            [
                self.user_ids.take(pa.array(ev["u"][order])),
                labels(EVENTS, ev["ev"][order]),
                ts_array(ts),
                nullable(ev["amount"][order], np.isnan(ev["amount"][order]), pa.float64()),
                labels(CATEGORIES, ev["cat"][order]),
                labels(CHANNELS, ev["ch"][order]),
                labels(self.w.campaign_names, ev["camp"][order]),
            ],
            schema=EVENTS_SCHEMA,
        )
        months = [(y, m) for y in (2025, 2026) for m in range(1, 13) if date(y, m, 1) >= START and date(y, m, 1) < END]
        edges = [day_index(date(y, m, 1)) * DAY for y, m in months] + [END_S]
        cut = np.searchsorted(ts, edges)
        for i, (y, m) in enumerate(months):
            a, b = int(cut[i]), int(cut[i + 1])
            if b <= a:
                continue
            folder = events_dir / f"month={y:04d}-{m:02d}"
            folder.mkdir(exist_ok=True)
            pq.write_table(
                table.slice(a, b - a),
                folder / f"part-{chunk_index:05d}.parquet",
                row_group_size=ROW_GROUP_ROWS,
                **PARQUET,
            )
        return int(cut[-1] - cut[0])
