"""The members of a chunk: attributes, behaviour classes and the users table (made-up PII)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.demo.arrays import digits, fixed_width, labels, nullable, pick, sample_days, ts_array
from core.demo.schemas import USERS_SCHEMA
from core.demo.timeframe import DAY, DAYS, OLD_SPAN_DAYS, RECENT_SIGNUP, day_index
from core.demo.vocab import FAVOURITE_P, SIGNUP_CHANNEL_P, SIGNUP_CHANNELS

_GIVEN = tuple(
    "wei fang na min jing li qiang lei jun yang yan xin ting hao yu hui jie lin mei chen xiao ying"
    " bo kai rui yi zhen qing".split()
)
_FAMILY = tuple("wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao".split())
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved: never a real inbox
_PHONE_PREFIXES = tuple(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 176 177 178"
    " 180 181 182 183 184 185 186 187 188 189 191 198 199".split()
)
_OPENID_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8)


class UsersMixin:
    """Part of Chunk: who the members are, and their row in users."""

    # -------------------------------------------------------- members
    def _members(self) -> None:
        rng, n, w = self.rng, self.n, self.w
        self.city = pick(rng, w.city_p, n)
        wuhan = self.city == w.churn_city
        self.commuter = rng.random(n) < np.where(wuhan, 0.35, 0.17)
        self.churn_group = wuhan & self.commuter  # story 7

        # Signup: half joined before the window (denser close to it), half inside it.
        before = 1 + np.floor((1 - np.sqrt(rng.random(n))) * OLD_SPAN_DAYS).astype(np.int64)
        inside = sample_days(rng, w.signup_cdf, np.zeros(n, np.int64), np.full(n, DAYS, np.int64))
        old = rng.random(n) < 0.52
        signup_day = np.where(old, -before, inside)
        signup_day = np.where(self.churn_group & (signup_day > 60), -before, signup_day)
        self.signup_day = signup_day
        self.signup_s = signup_day * DAY + self._hours(rng.random(n)) + rng.integers(0, 3600, n)
        self.start_day = np.maximum(signup_day, 0)
        self.recent = signup_day >= day_index(RECENT_SIGNUP)  # story 4

        # Activity class: never active, lapsed (all events before the last 90 days), active.
        u = rng.random(n)
        cutoff90 = DAYS - 90
        self.never = (u < 0.06) & ~self.churn_group
        lapsed = (u >= 0.06) & (u < 0.19) & (self.start_day < cutoff90 - 40) & ~self.churn_group
        span = np.maximum(cutoff90 - 28 - self.start_day, 1)
        self.end_day = np.where(lapsed, self.start_day + 20 + np.floor(rng.random(n) * span).astype(np.int64), DAYS)
        self.lapsed = lapsed

        # Depth of engagement: 0 awareness only, 1 interest, 2 occasional buyer, 3 regular buyer.
        depth = np.where(
            self.recent,
            pick(rng, (0.42, 0.38, 0.17, 0.03), n),
            pick(rng, (0.50, 0.25, 0.19, 0.06), n),
        )
        depth = np.where(self.churn_group, 3, depth)
        self.depth = depth
        young = rng.random(n) < 0.6
        age = np.where(young, rng.normal(30, 6, n), rng.normal(43, 10, n))
        self.age = np.clip(np.round(age), 16, 75).astype(np.int64)
        self.age_null = rng.random(n) < 0.08
        gender = pick(rng, (0.58, 0.36, 0.06), n)
        self.gender = np.where(gender == 2, -1, gender)
        level = np.array([0, 0, 1, 2])[depth] + rng.binomial(np.array([1, 2, 2, 3])[depth], 0.4)
        self.member_level = np.where(self.never, rng.binomial(1, 0.15, n), np.minimum(level, 5))
        self.browse_rate = np.array([0.017, 0.03, 0.028, 0.035])[depth] * rng.lognormal(-0.245, 0.7, n)
        self.browse_rate *= np.where(self.recent, 3.0, 1.0)
        self.purchase_rate = np.array([0.0, 0.0, 0.0032, 0.03])[depth] * rng.lognormal(-0.125, 0.5, n)
        self.purchase_rate *= np.where(self.recent, 0.35, 1.0)
        self.purchase_rate = np.where(self.churn_group, 0.08 * rng.lognormal(0, 0.2, n), self.purchase_rate)
        self.browse_rate[self.never] = 0.0
        self.purchase_rate[self.never] = 0.0

        self.favourite = pick(rng, FAVOURITE_P, n)
        self.channel_pref = pick(rng, SIGNUP_CHANNEL_P, n)
        self.weekend_family = rng.random(n) < 0.15
        self.late_night = rng.random(n) < 0.06
        self.kol = rng.random(n) < 0.003
        self.koc = ~self.kol & (rng.random(n) < 0.03)
        # Story 3: ~3% buy a cake every year in "their" month, around the same day.
        self.cake = (signup_day < 0) & ~self.never & ~lapsed & ~self.churn_group & (rng.random(n) < 0.075)
        self.cake_month = 1 + pick(rng, np.ones(12), n)
        self.cake_dom = rng.integers(3, 27, n)

    # -------------------------------------------------------- tables
    def users_table(self) -> pa.Table:
        w = self.w
        return pa.Table.from_arrays(
            [
                self.user_ids,
                ts_array(self.signup_s),
                w.cities.take(pa.array(self.city)),
                w.provinces.take(pa.array(self.city)),
                nullable(self.age.astype(np.int32), self.age_null, pa.int32()),
                labels(("female", "male"), self.gender),
                pa.array(self.member_level.astype(np.int32), pa.int32()),
                labels(SIGNUP_CHANNELS, self.channel_pref),
                self._store_codes(),
                *(self._consent(p_yes, p_null) for p_yes, p_null in ((0.65, 0.04), (0.80, 0.03), (0.40, 0.05))),
                self._phones(),
                self._openids(),
                self._emails(),
            ],
            schema=USERS_SCHEMA,
        )

    def _store_codes(self) -> pa.Array:
        rng, n = self.rng, self.n
        count = self.w.store_count[self.city]
        within = np.minimum((count * rng.random(n) ** 1.7).astype(np.int64), count - 1)  # a few flagship stores
        store = self.w.store_offset[self.city] + within
        store = np.where((self.channel_pref == 4) | (rng.random(n) < 0.88), store, -1)
        return self.w.store_codes.take(pa.array(store, mask=store < 0))

    def _consent(self, p_yes: float, p_null: float) -> pa.Array:
        u = self.rng.random(self.n)
        return pa.array(u < p_yes, pa.bool_(), mask=u >= 1 - p_null)

    def _phones(self) -> pa.Array:
        rng, n = self.rng, self.n
        prefixes = np.frombuffer("".join(_PHONE_PREFIXES).encode(), np.uint8).reshape(-1, 3)
        # A bijection of the member index mod 1e8: distinct members get distinct numbers.
        tail = (self.g * 61_803_399 + 47_329_106) % 100_000_000
        chars = np.hstack([prefixes[rng.integers(0, len(prefixes), n)], digits(tail, 8)])
        return fixed_width(chars, rng.random(n) >= 0.02)

    def _openids(self) -> pa.Array:
        rng, n = self.rng, self.n
        chars = np.hstack([np.full((n, 1), ord("o"), np.uint8), _OPENID_ALPHABET[rng.integers(0, 64, (n, 27))]])
        has = (self.channel_pref <= 1) | (rng.random(n) < 0.7)  # WeChat / mini-program members always have one
        return fixed_width(chars, has)

    def _emails(self) -> pa.Array:
        rng, n = self.rng, self.n
        given = pa.array(_GIVEN, pa.string()).take(pa.array(rng.integers(0, len(_GIVEN), n)))
        family = pa.array(_FAMILY, pa.string()).take(pa.array(rng.integers(0, len(_FAMILY), n)))
        number = pc.cast(pa.array((self.g * 7_919 + 1_000) % 100_000), pa.string())
        domain = pa.array(_EMAIL_DOMAINS, pa.string()).take(pa.array(rng.integers(0, len(_EMAIL_DOMAINS), n)))
        email = pc.binary_join_element_wise(given, pa.scalar("."), family, number, pa.scalar("@"), domain, "")
        missing = rng.random(n) < 0.28
        return pc.if_else(pa.array(missing), pa.nulls(n, pa.string()), email)
