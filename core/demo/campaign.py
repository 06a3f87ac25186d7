"""Story 10: a past win-back campaign export with a 10% holdout, and the purchases its coupon caused.

On 2026-10-08 10:00 an operator exported the lapsed buyers (bought between 2025-10-08 and
2026-07-09, nothing since) to the coupon system, holding 10% back by the export's SHA-256 rule
(core.export.rules.in_holdout); the coupon went into the other members' accounts, which needs no
message and so no consent channel. The generator knows the export id in advance (it depends only on
`users` and `seed`), so it gives a share of the members who got the coupon one extra in-store
purchase in the 14 days after the export. `adesk demo` then records that export through the normal
export path (core/demo/campaign_record.py), dated 2026-10-08, so its holdout names the same members.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import numpy as np

from core.demo.timeframe import DAY, END_S, day_index
from core.demo.vocab import PURCHASE, STORE
from core.export.rules import in_holdout

CAMPAIGN_NAME = "winback_coupon_2026_10"  # the events' `campaign` value of the coupon's purchases
CAMPAIGN_DAY = date(2026, 10, 8)
CAMPAIGN_HOUR = 10
# The export's time: a UTC instant; the demo keeps the default time zone (UTC), so it is also 10:00 local.
CAMPAIGN_AT = datetime(CAMPAIGN_DAY.year, CAMPAIGN_DAY.month, CAMPAIGN_DAY.day, CAMPAIGN_HOUR, tzinfo=UTC)
CAMPAIGN_HOLDOUT = 0.1
CAMPAIGN_WINDOW_DAYS = 14  # the engine's window for export holdouts (core.analyses.experiments)
BOUGHT_FROM, BOUGHT_TO = date(2025, 10, 8), date(2026, 7, 9)  # bought in these 9 months …
QUIET_FROM, QUIET_TO = date(2026, 7, 10), date(2026, 10, 7)  # … and not in the 90 days before the export
UPLIFT = 0.02  # chance that a member who got the coupon redeems it with one extra purchase

# The export's segment: the same members the generator computes in `_campaign`.
AUDIENCE = {
    "version": 1,
    "match": "all",
    "conditions": [
        {
            "kind": "event",
            "event": "purchase",
            "op": ">=",
            "count": 1,
            "between": [BOUGHT_FROM.isoformat(), BOUGHT_TO.isoformat()],
        },
        {
            "kind": "event",
            "event": "purchase",
            "op": "=",
            "count": 0,
            "between": [QUIET_FROM.isoformat(), QUIET_TO.isoformat()],
        },
    ],
}


def campaign_export_id(users: int, seed: int) -> str:
    """The demo campaign's export id: fixed by (users, seed), in the shape of core.export.new_export_id."""
    tail = hashlib.sha256(f"adesk-demo-campaign|{users}|{seed}".encode()).hexdigest()[:8]
    return f"exp-{CAMPAIGN_AT:%Y%m%d-%H%M%S}-{tail}"


class CampaignMixin:
    """Part of Chunk: who the campaign reached, and the purchases its coupon added."""

    def _campaign(self) -> None:
        """Extra in-store purchases of some coupon holders; draws from its own generator (other stories keep theirs)."""
        ev, n = self.events, self.n
        buy = ev["ev"] == PURCHASE
        day = ev["ts"] // DAY
        u = ev["u"].astype(np.int64)

        def bought(lo: date, hi: date) -> np.ndarray:
            mask = buy & (day >= day_index(lo)) & (day <= day_index(hi))
            return np.bincount(u[mask], minlength=n) > 0

        audience = np.flatnonzero(bought(BOUGHT_FROM, BOUGHT_TO) & ~bought(QUIET_FROM, QUIET_TO))
        ids = self.user_ids.take(audience).to_pylist() if len(audience) else []
        export_id = self.w.campaign_export_id
        target = np.array([not in_holdout(export_id, uid, CAMPAIGN_HOLDOUT) for uid in ids], bool)
        # Story 7's Wuhan commuters stopped buying altogether: the coupon does not bring them back.
        reached = audience[target & ~self.churn_group[audience]] if len(audience) else audience
        rng = np.random.default_rng([self.seed, self.index, 0xC0])
        extra = reached[rng.random(len(reached)) < UPLIFT]
        t0 = day_index(CAMPAIGN_DAY) * DAY + CAMPAIGN_HOUR * 3600
        ts = np.minimum(t0 + rng.integers(2 * 3600, (CAMPAIGN_WINDOW_DAYS - 1) * DAY, len(extra)), END_S - 1)
        main_rng, self.rng = self.rng, rng  # the category and price helpers draw from self.rng
        try:
            cat = self._categories(extra, 0.6)
            amount = self._amounts(cat)
        finally:
            self.rng = main_rng
        camp = self.w.campaign_names.index(CAMPAIGN_NAME)
        self._add(extra, PURCHASE, ts, amount=amount, cat=cat, ch=np.full(len(extra), STORE), camp=camp)
