"""The demo's fixed time frame, sizes, story settings and campaign calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.demo.vocab import AD, ARTICLE, COUPON, LIVE, PURCHASE

# ---------------------------------------------------------------- time frame
START = date(2025, 9, 1)  # first event day (a Monday: day index % 7 == 0 is Monday)
END = date(2026, 11, 1)  # exclusive
AS_OF = date(2026, 10, 31)
DAYS = (END - START).days  # 426
DAY = 86_400
END_S = DAYS * DAY
EPOCH_S = int(datetime(START.year, START.month, START.day, tzinfo=UTC).timestamp())
OLD_SPAN_DAYS = (START - date(2021, 1, 1)).days  # members who joined before the window

MAX_USERS = 99_999_999  # user ids are "u" + 8 digits
DEFAULT_USERS = 200_000
DEFAULT_SEED = 7
DEFAULT_CHUNK_USERS = 500_000
ROW_GROUP_ROWS = 1_000_000

# ---------------------------------------------------------------- stories
CHURN_CITY = "Wuhan"  # story 7: Wuhan commuters stop buying on this date
CHURN_TAG = "scene/commuter"
CHURN_DATE = date(2026, 6, 15)  # no purchase on or after this day
RECENT_SIGNUP = date(2026, 8, 1)  # story 4: "new" cohorts signed up on/after this day
CAKE_TAG = "occasion/cake_month"


def day_index(d: date) -> int:
    return (d - START).days


# Marketing campaigns: (name, first day, last day, traffic bump). Events on those
# days (impressions, articles, live streams, coupons, purchases) may carry the name.
CAMPAIGNS = (
    ("mid_autumn_2025", date(2025, 9, 22), date(2025, 10, 6), 1.6),
    ("double11_2025", date(2025, 10, 31), date(2025, 11, 11), 1.9),
    ("double12_2025", date(2025, 12, 8), date(2025, 12, 12), 1.3),
    ("christmas_2025", date(2025, 12, 18), date(2025, 12, 25), 1.5),
    ("valentine_2026", date(2026, 2, 7), date(2026, 2, 14), 1.5),
    ("spring_festival_2026", date(2026, 2, 15), date(2026, 2, 24), 1.4),
    ("womens_day_2026", date(2026, 3, 1), date(2026, 3, 8), 1.3),
    ("mid_year_618_2026", date(2026, 6, 1), date(2026, 6, 18), 1.8),
    ("qixi_2026", date(2026, 8, 12), date(2026, 8, 19), 1.4),
    ("mid_autumn_2026", date(2026, 9, 15), date(2026, 9, 25), 1.6),
    ("national_day_2026", date(2026, 10, 1), date(2026, 10, 7), 1.3),
    ("double11_2026_presale", date(2026, 10, 20), date(2026, 10, 31), 1.5),
)
CAMPAIGN_EVENTS = (AD, ARTICLE, LIVE, COUPON, PURCHASE)
