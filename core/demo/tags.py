"""The tag hierarchy and its catalog, and which members carry each tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.demo.arrays import labels, ts_array
from core.demo.schemas import TAGS_SCHEMA
from core.demo.timeframe import CAKE_TAG, CAMPAIGNS, CHURN_TAG, DAY, DAYS, day_index
from core.demo.vocab import (
    ATC,
    BREAD,
    CAKE,
    CATEGORIES,
    COFFEE,
    COUPON,
    DAIRY,
    DESSERT,
    GIFT,
    LIVE,
    PURCHASE,
    SNACKS,
)


@dataclass(frozen=True)
class TagDef:
    tag: str
    description: str
    owner: str
    source: str  # fact / rule / model
    update_cycle: str  # daily / weekly / monthly / once
    status: str  # active / deprecated
    last_refresh: datetime
    in_catalog: bool = True


# The tag hierarchy: tag | owner | source | update cycle | status | last refresh | description.
# Three tags are stale (refreshed far less often than their cycle promises: pets, predicted_ltv,
# churn_risk, cart_abandoner), four are deprecated, and the last two are not in the catalog.
_TAG_TABLE = """
demographic/gender/female           | crm-team       | fact  | once    | active     | 2025-08-20 02:00 | Gender female (CRM profile)
demographic/gender/male             | crm-team       | fact  | once    | active     | 2025-08-20 02:00 | Gender male (CRM profile)
demographic/age_band/18_24          | crm-team       | fact  | monthly | active     | 2026-10-01 03:00 | Age 18-24 (CRM profile)
demographic/age_band/25_34          | crm-team       | fact  | monthly | active     | 2026-10-01 03:00 | Age 25-34 (CRM profile)
demographic/age_band/35_44          | crm-team       | fact  | monthly | active     | 2026-10-01 03:00 | Age 35-44 (CRM profile)
demographic/age_band/45_plus        | crm-team       | fact  | monthly | active     | 2026-10-01 03:00 | Age 45+ (CRM profile)
demographic/family/has_kids         | crm-team       | fact  | once    | active     | 2025-08-20 02:00 | Declared children in the household
demographic/occupation/white_collar | crm-team       | fact  | once    | active     | 2025-08-20 02:00 | Office worker (member survey)
demographic/occupation/student      | crm-team       | fact  | once    | active     | 2025-08-20 02:00 | Student (member survey)
interest/food/baking                | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Browses and buys bread and cakes
interest/food/coffee                | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Coffee lover
interest/food/dessert               | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Dessert lover
interest/food/healthy               | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Prefers dairy and light food
interest/food/snacks                | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Snack buyer
interest/food/low_sugar_v1          | data-team      | model | weekly  | deprecated | 2025-11-30 04:00 | Old low-sugar model, replaced by interest/food/healthy
interest/lifestyle/travel           | content-team   | model | monthly | active     | 2026-10-01 03:00 | Reads travel articles
interest/lifestyle/fitness          | content-team   | model | monthly | active     | 2026-10-01 03:00 | Reads fitness articles
interest/lifestyle/pets             | content-team   | model | monthly | active     | 2026-02-03 03:00 | Pet owner (article reads)
identity/kol                        | community-team | fact  | monthly | active     | 2026-10-01 03:00 | Key opinion leader (influencer partner)
identity/koc                        | community-team | rule  | weekly  | active     | 2026-10-26 04:00 | Key opinion consumer (shares and reviews a lot)
identity/community_contributor      | community-team | rule  | monthly | active     | 2026-10-01 03:00 | Answers questions in member groups
identity/employee                   | hr-sync        | fact  | daily   | active     | 2026-10-31 05:30 | Staff member (exclude from campaigns)
scene/commuter                      | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Buys on weekday mornings and evenings near transit
scene/weekend_family                | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Shops at weekends with family
scene/office_afternoon_tea          | data-team      | model | weekly  | active     | 2026-10-26 04:00 | Orders afternoon tea for the office
scene/late_night                    | data-team      | rule  | weekly  | active     | 2026-10-26 04:00 | Active after 22:00
scene/gifting                       | data-team      | model | monthly | active     | 2026-10-01 03:00 | Buys gift boxes for others
scene/double11_2024                 | growth-team    | rule  | once    | deprecated | 2024-11-30 02:00 | Took part in Double 11 2024
value/high_value                    | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | Spent at least 600 in the last 365 days
value/medium_value                  | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | Spent 150 to 600 in the last 365 days
value/low_value                     | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | Spent less than 150 in the last 365 days
value/predicted_ltv                 | algo-team      | model | weekly  | active     | 2026-05-30 04:00 | Predicted 12-month spend in yuan (value is a number)
value/price_sensitive               | algo-team      | model | weekly  | active     | 2026-10-26 04:00 | Mostly buys with coupons or discounts
value/coupon_lover                  | growth-team    | rule  | daily   | active     | 2026-10-31 05:30 | Claimed at least 2 coupons
value/vip_legacy                    | crm-team       | fact  | once    | deprecated | 2025-12-31 02:00 | Old VIP programme (closed end of 2025)
occasion/cake_month                 | algo-team      | model | monthly | active     | 2026-10-01 03:00 | Month in which the member buys a cake every year (value 01-12)
occasion/valentine_buyer            | growth-team    | rule  | once    | active     | 2026-02-16 02:00 | Bought during Valentine's 2026
occasion/mid_autumn_gift            | growth-team    | rule  | once    | active     | 2026-09-27 02:00 | Bought gifts or cakes around Mid-Autumn
occasion/christmas_buyer            | growth-team    | rule  | once    | active     | 2025-12-27 02:00 | Bought during Christmas 2025
model/response_score                | algo-team      | model | daily   | active     | 2026-10-31 05:30 | Propensity to respond to a campaign (value 0-1)
model/churn_risk                    | algo-team      | model | daily   | active     | 2026-07-14 04:00 | Churn risk (value low / medium / high)
model/next_category                 | algo-team      | model | weekly  | active     | 2026-10-26 04:00 | Most likely next category (value is a category)
behavior/repeat_buyer_90d           | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | Bought at least twice in the last 90 days
behavior/cart_abandoner             | growth-team    | rule  | daily   | active     | 2026-09-02 04:00 | Added to cart in the last 30 days without buying
behavior/live_viewer                | content-team   | rule  | daily   | active     | 2026-10-31 05:30 | Watched at least 2 live streams in the last 90 days
behavior/coupon_redeemer            | growth-team    | rule  | daily   | active     | 2026-10-31 05:30 | Claimed a coupon and bought in the last 180 days
behavior/weibo_follower             | content-team   | fact  | once    | deprecated | 2025-10-15 02:00 | Followed the Weibo account (channel closed)
channel/wechat_active               | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | At least 3 WeChat interactions in the last 30 days
channel/app_active                  | data-team      | rule  | daily   | active     | 2026-10-31 05:30 | At least 3 app interactions in the last 30 days
interest/beauty/skincare            | content-team   | model | weekly  | active     | 2026-10-26 04:00 | Skincare content reader
behavior/night_owl                  | data-team      | rule  | weekly  | active     | 2026-10-26 04:00 | Browses late at night
"""
_NOT_IN_CATALOG = ("interest/beauty/skincare", "behavior/night_owl")


def _parse_tags(table: str) -> tuple[TagDef, ...]:
    tags = []
    for line in table.strip().splitlines():
        tag, owner, source, cycle, status, refresh, description = (x.strip() for x in line.split("|"))
        tags.append(
            TagDef(
                tag,
                description,
                owner,
                source,
                cycle,
                status,
                datetime.fromisoformat(refresh),
                in_catalog=tag not in _NOT_IN_CATALOG,
            )
        )
    return tuple(tags)


TAGS = _parse_tags(_TAG_TABLE)
_TAG_INDEX = {t.tag: i for i, t in enumerate(TAGS)}


def tag_catalog_table() -> pa.Table:
    rows = [t for t in TAGS if t.in_catalog]
    return pa.table(
        {
            "tag": [t.tag for t in rows],
            "description": [t.description for t in rows],
            "owner": [t.owner for t in rows],
            "source": [t.source for t in rows],
            "update_cycle": [t.update_cycle for t in rows],
            "status": [t.status for t in rows],
            "last_refresh": pa.array([t.last_refresh for t in rows], pa.timestamp("us")),
        }
    )


class TagsMixin:
    """Part of Chunk: the tags of each member, derived from attributes and events."""

    # -------------------------------------------------------- tags
    def _tags(self) -> None:
        rng, n, ev = self.rng, self.n, self.events
        u, e, ts, amount, ch = ev["u"].astype(np.int64), ev["ev"], ev["ts"], ev["amount"], ev["ch"]
        buy = e == PURCHASE
        day = ts // DAY

        def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            return np.bincount(u[mask], weights=None if weights is None else weights[mask], minlength=n)

        last = DAYS  # window "last N days" = days >= DAYS - N
        buys_365 = count(buy & (day >= last - 365))
        spend_365 = count(buy & (day >= last - 365), np.nan_to_num(amount))
        buys_90 = count(buy & (day >= last - 90))
        buys_30 = count(buy & (day >= last - 30))
        buys_180 = count(buy & (day >= last - 180))
        carts_30 = count((e == ATC) & (day >= last - 30))
        lives_90 = count((e == LIVE) & (day >= last - 90))
        coupons = count(e == COUPON)
        coupons_180 = count((e == COUPON) & (day >= last - 180))
        wechat_30 = count((ch == 0) & (day >= last - 30))
        app_30 = count((ch == 2) & (day >= last - 30))
        # churn risk as of the (stale) last refresh of model/churn_risk
        refresh_s = int((TAGS[_TAG_INDEX["model/churn_risk"]].last_refresh - datetime(2025, 9, 1)).total_seconds())
        last_buy = np.full(n, -1, np.int64)
        before = buy & (ts < refresh_s)
        np.maximum.at(last_buy, u[before], ts[before])

        def window(name: str, cats: tuple[int, ...] | None = None) -> np.ndarray:
            lo, hi = [(day_index(c[1]), day_index(c[2]) + 1) for c in CAMPAIGNS if c[0] == name][0]
            m = buy & (day >= lo) & (day < hi)
            if cats is not None:
                m &= np.isin(ev["cat"], cats)
            return count(m) > 0

        alive = ~self.never
        r = lambda: rng.random(n)  # noqa: E731 - a fresh draw per tag keeps tags independent
        fav, age, gender = self.favourite, self.age, self.gender
        tags: list[tuple[str, np.ndarray, pa.Array | None]] = []

        def add(tag: str, mask: np.ndarray, values: pa.Array | None = None) -> None:
            tags.append((tag, np.flatnonzero(mask), values))

        add("demographic/gender/female", gender == 0)
        add("demographic/gender/male", gender == 1)
        add("demographic/age_band/18_24", (age >= 18) & (age <= 24) & ~self.age_null)
        add("demographic/age_band/25_34", (age >= 25) & (age <= 34) & ~self.age_null)
        add("demographic/age_band/35_44", (age >= 35) & (age <= 44) & ~self.age_null)
        add("demographic/age_band/45_plus", (age >= 45) & ~self.age_null)
        add("demographic/family/has_kids", r() < np.where(self.weekend_family, 0.8, 0.15))
        add("demographic/occupation/white_collar", r() < np.where(self.commuter, 0.7, 0.2))
        add("demographic/occupation/student", (age < 25) & ~self.age_null & (r() < 0.5))
        bakery = np.isin(fav, (CAKE, BREAD))
        add("interest/food/baking", alive & (r() < np.where(bakery, 0.7, 0.04)))
        add("interest/food/coffee", alive & (r() < np.where(fav == COFFEE, 0.75, 0.04)))
        add("interest/food/dessert", alive & (r() < np.where(fav == DESSERT, 0.7, 0.03)))
        add("interest/food/healthy", alive & (r() < np.where(fav == DAIRY, 0.7, 0.03)))
        add("interest/food/snacks", alive & (r() < np.where(fav == SNACKS, 0.7, 0.03)))
        add("interest/lifestyle/travel", alive & (r() < 0.06))
        add("interest/lifestyle/fitness", alive & (r() < np.where(fav == DAIRY, 0.2, 0.05)))
        add("interest/lifestyle/pets", alive & (r() < 0.05))
        add("interest/beauty/skincare", alive & (r() < np.where(self.gender == 0, 0.15, 0.02)))
        add("interest/food/low_sugar_v1", (self.signup_day < 0) & (r() < 0.03))
        add("identity/kol", self.kol)
        add("identity/koc", self.koc)
        add("identity/community_contributor", alive & (r() < np.where(self.koc, 0.4, 0.01)))
        add("identity/employee", r() < 0.004)
        add(CHURN_TAG, self.commuter)
        add("scene/weekend_family", self.weekend_family)
        add("scene/office_afternoon_tea", alive & (r() < np.where(fav == COFFEE, 0.25, 0.05)))
        add("scene/late_night", self.late_night)
        add("scene/gifting", alive & (r() < np.where(fav == GIFT, 0.5, 0.03)))
        add("scene/double11_2024", (self.signup_day < -300) & (r() < 0.08))
        add("value/high_value", spend_365 >= 600)
        add("value/medium_value", (spend_365 >= 150) & (spend_365 < 600))
        add("value/low_value", (spend_365 > 0) & (spend_365 < 150))
        ltv_users = (buys_365 > 0) | self.cake
        ltv = np.round(spend_365 * rng.lognormal(0.15, 0.3, n) + 30 * self.depth).astype(np.int64)
        add("value/predicted_ltv", ltv_users, pc.cast(pa.array(ltv[ltv_users]), pa.string()))
        add("value/price_sensitive", alive & (r() < np.where(coupons >= 2, 0.5, 0.1)))
        add("value/coupon_lover", coupons >= 2)
        add("value/vip_legacy", (self.signup_day < -200) & (r() < 0.05))
        months = pa.array([f"{m:02d}" for m in range(1, 13)], pa.string())
        add(CAKE_TAG, self.cake, months.take(pa.array(self.cake_month[self.cake] - 1)))
        add("occasion/valentine_buyer", window("valentine_2026"))
        add(
            "occasion/mid_autumn_gift",
            window("mid_autumn_2025", (GIFT, CAKE)) | window("mid_autumn_2026", (GIFT, CAKE)),
        )
        add("occasion/christmas_buyer", window("christmas_2025"))
        logit = 0.8 * np.log(self.purchase_rate + 0.002) + 3.5 + rng.normal(0, 0.6, n)
        score = np.round(1 / (1 + np.exp(-logit)), 3)
        add("model/response_score", alive, pc.cast(pa.array(score[alive]), pa.string()))
        has_bought = last_buy >= 0
        since = (refresh_s - last_buy) / DAY
        risk = np.where(since > 120, 2, np.where(since > 45, 1, 0))
        add("model/churn_risk", has_bought, labels(("low", "medium", "high"), risk[has_bought]))
        add("model/next_category", buys_365 > 0, labels(CATEGORIES, fav[buys_365 > 0]))
        add("behavior/repeat_buyer_90d", buys_90 >= 2)
        add("behavior/cart_abandoner", (carts_30 > 0) & (buys_30 == 0))
        add("behavior/live_viewer", lives_90 >= 2)
        add("behavior/coupon_redeemer", (coupons_180 > 0) & (buys_180 > 0))
        add("behavior/night_owl", self.late_night & (r() < 0.8))
        add("behavior/weibo_follower", (self.signup_day < 0) & (r() < 0.02))
        add("channel/wechat_active", wechat_30 >= 3)
        add("channel/app_active", app_30 >= 3)
        self.tag_rows = tags

    def tags_table(self) -> pa.Table:
        users, tag_ids, values, updated = [], [], [], []
        for tag, rows, vals in self.tag_rows:
            t = TAGS[_TAG_INDEX[tag]]
            users.append(rows)
            tag_ids.append(np.full(len(rows), _TAG_INDEX[tag], np.int32))
            values.append(vals if vals is not None else pa.nulls(len(rows), pa.string()))
            if t.source == "fact" and t.update_cycle == "once":
                updated.append(self.signup_s[rows])  # captured at signup
            else:
                refresh = int((t.last_refresh - datetime(2025, 9, 1)).total_seconds())
                updated.append(np.full(len(rows), refresh, np.int64))
        rows = np.concatenate(users)
        return pa.Table.from_arrays(
            [
                self.user_ids.take(pa.array(rows)),
                pa.array([t.tag for t in TAGS], pa.string()).take(pa.array(np.concatenate(tag_ids))),
                pa.concat_arrays(values),
                ts_array(np.concatenate(updated)),
            ],
            schema=TAGS_SCHEMA,
        )
