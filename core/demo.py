"""The synthetic demo dataset behind `adesk demo`: seeded, reproducible, chunked.

Every member, event and tag is made up (phones and e-mails included). The data
hides stories an operator can find with the dashboard; data/README.md lists them
and where to look. Time is fixed (events 2025-09-01 .. 2026-10-31, as_of
2026-10-31), never the wall clock, so the same seed gives the same bytes.

Users are generated in chunks (`chunk_users` at a time) with vectorised numpy
code and each chunk's events go straight to Parquet, so 10 million users
(~100 million events) fit in a few GB of memory. The output depends on
(`users`, `seed`, `chunk_users`); the defaults of the latter never change.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# ---------------------------------------------------------------- time frame
START = date(2025, 9, 1)  # first event day (a Monday: day index % 7 == 0 is Monday)
END = date(2026, 11, 1)  # exclusive
AS_OF = date(2026, 10, 31)
DAYS = (END - START).days  # 426
DAY = 86_400
_END_S = DAYS * DAY
_EPOCH_S = int(datetime(START.year, START.month, START.day, tzinfo=UTC).timestamp())
_OLD_SPAN_DAYS = (START - date(2021, 1, 1)).days  # members who joined before the window

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


def _day(d: date) -> int:
    return (d - START).days


# ---------------------------------------------------------------- vocabularies
EVENTS = (
    "ad_impression",
    "article_view",
    "live_view",
    "product_view",
    "add_to_cart",
    "favorite",
    "follow",
    "coupon_claim",
    "purchase",
    "review",
    "share",
    "member_join",
)
AD, ARTICLE, LIVE, PV, ATC, FAV, FOLLOW, COUPON, PURCHASE, REVIEW, SHARE, JOIN = range(12)

CHANNELS = ("wechat", "mini_program", "app", "sms", "store")
SIGNUP_CHANNELS = (
    "wechat",
    "mini_program",
    "app",
    "sms",
    "offline",
)  # same order: offline -> store
STORE = 4
_SIGNUP_CHANNEL_P = (0.34, 0.30, 0.16, 0.05, 0.15)

# Probability of each channel per event (rows follow EVENTS).
_CHANNEL_P = np.array(
    [
        [0.45, 0.10, 0.35, 0.10, 0.00],  # ad_impression
        [0.70, 0.10, 0.20, 0.00, 0.00],  # article_view
        [0.30, 0.30, 0.40, 0.00, 0.00],  # live_view
        [0.10, 0.50, 0.35, 0.00, 0.05],  # product_view
        [0.00, 0.55, 0.45, 0.00, 0.00],  # add_to_cart
        [0.00, 0.50, 0.50, 0.00, 0.00],  # favorite
        [0.80, 0.00, 0.20, 0.00, 0.00],  # follow
        [0.30, 0.30, 0.20, 0.20, 0.00],  # coupon_claim
        [0.10, 0.35, 0.25, 0.00, 0.30],  # purchase
        [0.00, 0.50, 0.50, 0.00, 0.00],  # review
        [0.80, 0.20, 0.00, 0.00, 0.00],  # share
        [0.30, 0.40, 0.20, 0.00, 0.10],  # member_join
    ]
)

CATEGORIES = ("cake", "bread", "coffee", "snacks", "gift", "dairy", "dessert", "drinks")
CAKE, BREAD, COFFEE, SNACKS, GIFT, DAIRY, DESSERT, DRINKS = range(8)
_CATEGORY_P = (0.04, 0.28, 0.20, 0.14, 0.04, 0.10, 0.12, 0.08)  # what anyone browses/buys
_FAVOURITE_P = (0.06, 0.30, 0.22, 0.12, 0.04, 0.08, 0.12, 0.06)  # a member's own favourite
_PRICE_MEDIAN = np.array([168.0, 22.0, 28.0, 18.0, 228.0, 15.0, 32.0, 16.0])
_PRICE_SIGMA = np.array([0.30, 0.40, 0.30, 0.45, 0.40, 0.35, 0.35, 0.30])

# Hour-of-day shape (local wall clock): breakfast, lunch and evening peaks.
_HOUR_W = np.array(
    [0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 2.2, 1.8, 1.6, 1.9, 2.6, 2.2, 1.6, 1.7, 1.9, 2.1]
    + [2.3, 2.6, 3.0, 2.9, 2.2, 1.3]
)

# (name, province, store-code prefix, weight): 40 cities, skewed to the big ones.
CITIES = (
    ("Shanghai", "Shanghai", "SHA", 10.0),
    ("Beijing", "Beijing", "BJS", 9.0),
    ("Guangzhou", "Guangdong", "CAN", 7.0),
    ("Shenzhen", "Guangdong", "SZX", 7.0),
    ("Hangzhou", "Zhejiang", "HGH", 6.0),
    ("Chengdu", "Sichuan", "CTU", 6.0),
    ("Wuhan", "Hubei", "WUH", 4.5),
    ("Nanjing", "Jiangsu", "NKG", 4.5),
    ("Chongqing", "Chongqing", "CKG", 4.5),
    ("Suzhou", "Jiangsu", "SZV", 4.0),
    ("Xi'an", "Shaanxi", "XIY", 3.5),
    ("Tianjin", "Tianjin", "TSN", 3.5),
    ("Changsha", "Hunan", "CSX", 3.0),
    ("Zhengzhou", "Henan", "CGO", 3.0),
    ("Qingdao", "Shandong", "TAO", 2.5),
    ("Dongguan", "Guangdong", "DGM", 2.5),
    ("Ningbo", "Zhejiang", "NGB", 2.5),
    ("Foshan", "Guangdong", "FOS", 2.2),
    ("Hefei", "Anhui", "HFE", 2.2),
    ("Jinan", "Shandong", "TNA", 2.0),
    ("Xiamen", "Fujian", "XMN", 2.0),
    ("Fuzhou", "Fujian", "FOC", 1.8),
    ("Kunming", "Yunnan", "KMG", 1.8),
    ("Shenyang", "Liaoning", "SHE", 1.8),
    ("Dalian", "Liaoning", "DLC", 1.6),
    ("Wuxi", "Jiangsu", "WUX", 1.6),
    ("Harbin", "Heilongjiang", "HRB", 1.5),
    ("Changchun", "Jilin", "CGQ", 1.4),
    ("Nanning", "Guangxi", "NNG", 1.4),
    ("Shijiazhuang", "Hebei", "SJW", 1.3),
    ("Taiyuan", "Shanxi", "TYN", 1.2),
    ("Nanchang", "Jiangxi", "KHN", 1.2),
    ("Guiyang", "Guizhou", "KWE", 1.1),
    ("Wenzhou", "Zhejiang", "WNZ", 1.1),
    ("Quanzhou", "Fujian", "JJN", 1.0),
    ("Lanzhou", "Gansu", "LHW", 0.8),
    ("Haikou", "Hainan", "HAK", 0.7),
    ("Hohhot", "Inner Mongolia", "HET", 0.6),
    ("Urumqi", "Xinjiang", "URC", 0.6),
    ("Yinchuan", "Ningxia", "INC", 0.4),
)
_STORES_TOTAL = 5_000

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
_CAMPAIGN_EVENTS = (AD, ARTICLE, LIVE, COUPON, PURCHASE)


@dataclass(frozen=True)
class _Experiment:
    name: str
    variants: tuple[str, str]  # (control, treatment)
    expected_split: tuple[float, float]
    observed_split: tuple[float, float]  # differs from expected = sample ratio mismatch
    first_day: date
    last_day: date
    window_days: int
    share: float  # of eligible members
    control_boost: float  # chance a non-buyer buys because of the campaign
    relative_lift: float  # treatment conversion / control conversion - 1
    excludes_churn_group: bool


EXPERIMENTS = (
    # Story 5a: variant B's coupon copy converts ~15% better (relative).
    _Experiment(
        name="coupon_copy_test",
        variants=("A", "B"),
        expected_split=(0.5, 0.5),
        observed_split=(0.5, 0.5),
        first_day=date(2026, 9, 1),
        last_day=date(2026, 9, 5),
        window_days=14,
        share=0.85,
        control_boost=0.20,
        relative_lift=0.15,
        excludes_churn_group=True,
    ),
    # Story 5b: push time makes no difference.
    _Experiment(
        name="push_time_test",
        variants=("morning", "evening"),
        expected_split=(0.5, 0.5),
        observed_split=(0.5, 0.5),
        first_day=date(2026, 7, 6),
        last_day=date(2026, 7, 10),
        window_days=7,
        share=0.5,
        control_boost=0.03,
        relative_lift=0.0,
        excludes_churn_group=True,
    ),
    # Story 5c: a broken split (about 53/47 observed, 50/50 expected), no real effect.
    _Experiment(
        name="banner_color_test",
        variants=("blue", "orange"),
        expected_split=(0.5, 0.5),
        observed_split=(0.53, 0.47),
        first_day=date(2026, 5, 11),
        last_day=date(2026, 5, 24),
        window_days=14,
        share=0.5,
        control_boost=0.0,
        relative_lift=0.0,
        excludes_churn_group=False,
    ),
)


@dataclass(frozen=True)
class _TagDef:
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


def _parse_tags(table: str) -> tuple[_TagDef, ...]:
    tags = []
    for line in table.strip().splitlines():
        tag, owner, source, cycle, status, refresh, description = (
            x.strip() for x in line.split("|")
        )
        tags.append(
            _TagDef(
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

_GIVEN = tuple(
    "wei fang na min jing li qiang lei jun yang yan xin ting hao yu hui jie lin mei chen xiao ying"
    " bo kai rui yi zhen qing".split()
)
_FAMILY = tuple(
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao".split()
)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved: never a real inbox
_PHONE_PREFIXES = tuple(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 176 177 178"
    " 180 181 182 183 184 185 186 187 188 189 191 198 199".split()
)
_OPENID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


# ---------------------------------------------------------------- public API
class DemoError(ValueError):
    """The demo dataset cannot be written as asked (message says why and what to do)."""


@dataclass(frozen=True)
class DemoSummary:
    users: int
    events: int
    out_dir: Path
    seconds: float


def generate(
    out_dir: Path | str,
    users: int = DEFAULT_USERS,
    seed: int = DEFAULT_SEED,
    *,
    chunk_users: int = DEFAULT_CHUNK_USERS,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> DemoSummary:
    """Write the demo dataset to `out_dir`; same (users, seed, chunk_users) -> same bytes."""
    started = time.perf_counter()
    if isinstance(users, bool) or not isinstance(users, int) or not 1 <= users <= MAX_USERS:
        raise DemoError(f"users must be a whole number from 1 to {MAX_USERS:,}, got {users!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DemoError(f"seed must be a whole number >= 0, got {seed!r}.")
    if isinstance(chunk_users, bool) or not isinstance(chunk_users, int) or chunk_users < 1:
        raise DemoError(f"chunk_users must be a whole number >= 1, got {chunk_users!r}.")
    out = Path(out_dir).expanduser().absolute()
    _check_target(out, overwrite)
    say = progress or (lambda _msg: None)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        events = _write_dataset(tmp, users, seed, chunk_users, say)
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return DemoSummary(
        users=users, events=events, out_dir=out, seconds=time.perf_counter() - started
    )


_OUTPUT_NAMES = (
    "users.parquet",
    "events",
    "tags.parquet",
    "tag_catalog.parquet",
    "assignments.parquet",
    "dataset.toml",
)


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} exists and is not a directory. Choose another --out.")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not overwrite:
        raise DemoError(
            f"{out} is not empty. Use --force (overwrite=True) to replace it, or choose another --out."
        )
    # --force only replaces something that looks like a dataset, never an arbitrary folder.
    if not any((out / name).exists() for name in ("users.parquet", "dataset.toml")):
        raise DemoError(
            f"{out} is not empty and does not look like a dataset (no users.parquet or dataset.toml); "
            "refusing to replace it even with --force. Choose an empty or new --out."
        )


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished dataset into place; the old one (if any) goes only after."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- writing
_USERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("signup_at", pa.timestamp("us")),
        ("city", pa.string()),
        ("province", pa.string()),
        ("age", pa.int32()),
        ("gender", pa.string()),
        ("member_level", pa.int32()),
        ("signup_channel", pa.string()),
        ("store_code", pa.string()),
        ("sms_opt_in", pa.bool_()),
        ("wechat_opt_in", pa.bool_()),
        ("email_opt_in", pa.bool_()),
        ("phone", pa.string()),
        ("openid", pa.string()),
        ("email", pa.string()),
    ]
)
_EVENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("event", pa.string()),
        ("ts", pa.timestamp("us")),
        ("amount", pa.float64()),
        ("product_category", pa.string()),
        ("channel", pa.string()),
        ("campaign", pa.string()),
    ]
)
_TAGS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("tag", pa.string()),
        ("value", pa.string()),
        ("updated_at", pa.timestamp("us")),
    ]
)
_ASSIGNMENTS_SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("user_id", pa.string()),
        ("variant", pa.string()),
        ("assigned_at", pa.timestamp("us")),
    ]
)
_PARQUET = {"compression": "zstd"}


def _write_dataset(
    tmp: Path, users: int, seed: int, chunk_users: int, say: Callable[[str], None]
) -> int:
    world = _World(seed)
    n_chunks = -(-users // chunk_users)
    total_events = 0
    (tmp / "events").mkdir()
    with (
        pq.ParquetWriter(tmp / "users.parquet", _USERS_SCHEMA, **_PARQUET) as users_w,
        pq.ParquetWriter(tmp / "tags.parquet", _TAGS_SCHEMA, **_PARQUET) as tags_w,
        pq.ParquetWriter(tmp / "assignments.parquet", _ASSIGNMENTS_SCHEMA, **_PARQUET) as assign_w,
    ):
        for k in range(n_chunks):
            first = k * chunk_users
            n = min(chunk_users, users - first)
            chunk = _Chunk(world, seed, k, first, n)
            users_w.write_table(chunk.users_table(), row_group_size=ROW_GROUP_ROWS)
            tags_w.write_table(chunk.tags_table(), row_group_size=ROW_GROUP_ROWS)
            assign_w.write_table(chunk.assignments_table(), row_group_size=ROW_GROUP_ROWS)
            total_events += chunk.write_events(tmp / "events", k)
            say(f"chunk {k + 1}/{n_chunks}: {first + n:,} users, {total_events:,} events")
            del chunk
    pq.write_table(_tag_catalog_table(), tmp / "tag_catalog.parquet", **_PARQUET)
    (tmp / "dataset.toml").write_text(dataset_toml(), encoding="utf-8")
    return total_events


def dataset_toml() -> str:
    """The demo's dataset.toml: every default section spelled out, plus the three experiments."""
    lines = [
        "# Audience Desk demo dataset (synthetic). See data/README.md for the stories it hides.",
        f'as_of = "{AS_OF.isoformat()}"',
        'purchase_event = "purchase"',
        "",
        "[aipl]",
        'awareness = ["ad_impression", "article_view", "live_view"]',
        'interest = ["product_view", "add_to_cart", "favorite", "follow", "coupon_claim"]',
        'loyalty_events = ["review", "share", "member_join"]',
        "loyalty_min_purchases = 2",
        "lookback_days = 180",
        "",
        "[rfm]",
        "window_days = 365",
        "",
        "[lifecycle]",
        "new_days = 30",
        "active_days = 30",
        "dormant_days = 90",
        "",
        "[privacy]",
        'pii_columns = ["phone", "openid", "email"]',
        'consent = { sms = "sms_opt_in", wechat = "wechat_opt_in", email = "email_opt_in" }',
    ]
    for exp in EXPERIMENTS:
        split = ", ".join(
            f"{v} = {p}" for v, p in zip(exp.variants, exp.expected_split, strict=True)
        )
        lines += [
            "",
            f"[experiments.{exp.name}]",
            f'control = "{exp.variants[0]}"',
            f"metric_window_days = {exp.window_days}",
            f"expected_split = {{ {split} }}",
        ]
    return "\n".join(lines) + "\n"


def _tag_catalog_table() -> pa.Table:
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


# ---------------------------------------------------------------- helpers
def _pick(rng: np.random.Generator, p, n: int) -> np.ndarray:
    """n draws from the categorical distribution p (indices, int64)."""
    cdf = np.cumsum(np.asarray(p, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _sample_days(
    rng: np.random.Generator, cdf: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day per row in [lo, hi) following the day weights behind `cdf` (cdf[0] == 0)."""
    a = cdf[lo]
    x = a + rng.random(len(lo)) * (cdf[hi] - a)
    return np.clip(np.searchsorted(cdf, x, side="right") - 1, lo, hi - 1)


def _ts_array(seconds: np.ndarray) -> pa.Array:
    """Seconds since START -> naive timestamp[us] (wall-clock time)."""
    return pa.array((seconds.astype(np.int64) + _EPOCH_S) * 1_000_000, type=pa.timestamp("us"))


def _fixed_width(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII codes, built without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars, dtype=np.uint8)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    null_count = 0 if valid is None else int(n - valid.sum())
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=null_count
    )


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative ints, zero padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _labels(names, codes: np.ndarray) -> pa.Array:
    """Strings from small-int codes; negative code = null."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.array(list(names), pa.string()).take(idx)


def _nullable(values: np.ndarray, null: np.ndarray, type_: pa.DataType) -> pa.Array:
    return pa.array(values, type=type_, mask=null)


class _World:
    """Things shared by every chunk: day weights, stores, campaign calendar."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 2**31 - 1])
        d = np.arange(DAYS)
        trend = 0.85 + 0.30 * d / DAYS
        weekend = np.where(d % 7 >= 5, 1.0, 0.0)
        bump = np.ones(DAYS)
        self.campaign_of_day = np.full(DAYS, -1, dtype=np.int16)
        for i, (_name, first, last, b) in enumerate(CAMPAIGNS):
            lo, hi = _day(first), _day(last) + 1
            bump[lo:hi] = b
            self.campaign_of_day[lo:hi] = i
        self.campaign_names = tuple(c[0] for c in CAMPAIGNS) + tuple(e.name for e in EXPERIMENTS)
        self.browse_cdf = _cdf(trend * (1 + 0.15 * weekend) * bump)
        self.purchase_cdf = _cdf(trend * (1 + 0.25 * weekend) * bump**1.5)
        self.signup_cdf = _cdf((0.6 + 0.8 * d / DAYS) * np.sqrt(bump))
        self.hour_cdf = np.cumsum(_HOUR_W) / _HOUR_W.sum()

        w = np.array([c[3] for c in CITIES])
        self.city_p = w / w.sum()
        counts = np.maximum(3, np.round(_STORES_TOTAL * w**0.8 / (w**0.8).sum())).astype(np.int64)
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
        self.month_start = {
            y: np.array([0] + [_day(date(y, m, 1)) for m in range(1, 13)]) for y in (2025, 2026)
        }


def _cdf(weights: np.ndarray) -> np.ndarray:
    c = np.concatenate([[0.0], np.cumsum(weights)])
    return c / c[-1]


# ---------------------------------------------------------------- one chunk
class _Chunk:
    """Users first..first+n-1: their attributes, events, tags and experiment assignments."""

    def __init__(self, world: _World, seed: int, index: int, first: int, n: int) -> None:
        self.w = world
        self.n = n
        self.rng = np.random.default_rng([seed, index])
        self.g = np.arange(first, first + n, dtype=np.int64)  # 0-based global index
        self.user_ids = _fixed_width(
            np.hstack([np.full((n, 1), ord("u"), np.uint8), _digits(self.g + 1, 8)])
        )
        self._members()
        self._ev: dict[str, list[np.ndarray]] = {
            k: [] for k in ("u", "ev", "ts", "amount", "cat", "ch", "camp")
        }
        self._browse()
        self._purchases()
        self._cake_birthdays()
        self._member_joins()
        self._finish_events(campaigns_later=True)
        self._experiments()
        self._finish_events(campaigns_later=False)
        self._tags()

    # -------------------------------------------------------- members
    def _members(self) -> None:
        rng, n, w = self.rng, self.n, self.w
        self.city = _pick(rng, w.city_p, n)
        wuhan = self.city == w.churn_city
        self.commuter = rng.random(n) < np.where(wuhan, 0.35, 0.17)
        self.churn_group = wuhan & self.commuter  # story 7

        # Signup: half joined before the window (denser close to it), half inside it.
        before = 1 + np.floor((1 - np.sqrt(rng.random(n))) * _OLD_SPAN_DAYS).astype(np.int64)
        inside = _sample_days(rng, w.signup_cdf, np.zeros(n, np.int64), np.full(n, DAYS, np.int64))
        old = rng.random(n) < 0.52
        signup_day = np.where(old, -before, inside)
        signup_day = np.where(self.churn_group & (signup_day > 60), -before, signup_day)
        self.signup_day = signup_day
        self.signup_s = signup_day * DAY + self._hours(rng.random(n)) + rng.integers(0, 3600, n)
        self.start_day = np.maximum(signup_day, 0)
        self.recent = signup_day >= _day(RECENT_SIGNUP)  # story 4

        # Activity class: never active, lapsed (all events before the last 90 days), active.
        u = rng.random(n)
        cutoff90 = DAYS - 90
        self.never = (u < 0.06) & ~self.churn_group
        lapsed = (u >= 0.06) & (u < 0.19) & (self.start_day < cutoff90 - 40) & ~self.churn_group
        span = np.maximum(cutoff90 - 28 - self.start_day, 1)
        self.end_day = np.where(
            lapsed, self.start_day + 20 + np.floor(rng.random(n) * span).astype(np.int64), DAYS
        )
        self.lapsed = lapsed

        # Depth of engagement: 0 awareness only, 1 interest, 2 occasional buyer, 3 regular buyer.
        depth = np.where(
            self.recent,
            _pick(rng, (0.42, 0.38, 0.17, 0.03), n),
            _pick(rng, (0.50, 0.25, 0.19, 0.06), n),
        )
        depth = np.where(self.churn_group, 3, depth)
        self.depth = depth
        young = rng.random(n) < 0.6
        age = np.where(young, rng.normal(30, 6, n), rng.normal(43, 10, n))
        self.age = np.clip(np.round(age), 16, 75).astype(np.int64)
        self.age_null = rng.random(n) < 0.08
        gender = _pick(rng, (0.58, 0.36, 0.06), n)
        self.gender = np.where(gender == 2, -1, gender)
        level = np.array([0, 0, 1, 2])[depth] + rng.binomial(np.array([1, 2, 2, 3])[depth], 0.4)
        self.member_level = np.where(self.never, rng.binomial(1, 0.15, n), np.minimum(level, 5))
        self.browse_rate = np.array([0.017, 0.03, 0.028, 0.035])[depth] * rng.lognormal(
            -0.245, 0.7, n
        )
        self.browse_rate *= np.where(self.recent, 3.0, 1.0)
        self.purchase_rate = np.array([0.0, 0.0, 0.0032, 0.03])[depth] * rng.lognormal(
            -0.125, 0.5, n
        )
        self.purchase_rate *= np.where(self.recent, 0.35, 1.0)
        self.purchase_rate = np.where(
            self.churn_group, 0.08 * rng.lognormal(0, 0.2, n), self.purchase_rate
        )
        self.browse_rate[self.never] = 0.0
        self.purchase_rate[self.never] = 0.0

        self.favourite = _pick(rng, _FAVOURITE_P, n)
        self.channel_pref = _pick(rng, _SIGNUP_CHANNEL_P, n)
        self.weekend_family = rng.random(n) < 0.15
        self.late_night = rng.random(n) < 0.06
        self.kol = rng.random(n) < 0.003
        self.koc = ~self.kol & (rng.random(n) < 0.03)
        # Story 3: ~3% buy a cake every year in "their" month, around the same day.
        self.cake = (
            (signup_day < 0) & ~self.never & ~lapsed & ~self.churn_group & (rng.random(n) < 0.075)
        )
        self.cake_month = 1 + _pick(rng, np.ones(12), n)
        self.cake_dom = rng.integers(3, 27, n)

    def _hours(self, u: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.w.hour_cdf, u, side="right"), 23) * 3600

    def _times(
        self, users: np.ndarray, days: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> np.ndarray:
        """Seconds since START for events of `users` on `days`, shaped by their scenes."""
        rng, m = self.rng, len(users)
        hour = self._hours(rng.random(m))
        rush = self.commuter[users] & (rng.random(m) < 0.45)
        hour = np.where(rush, np.array([7, 8, 18])[rng.integers(0, 3, m)] * 3600, hour)
        night = self.late_night[users] & (rng.random(m) < 0.4)
        hour = np.where(night, np.array([22, 23])[rng.integers(0, 2, m)] * 3600, hour)
        moved = days - days % 7 + 5 + rng.integers(0, 2, m)  # that week's Saturday or Sunday
        to_weekend = (
            self.weekend_family[users] & (rng.random(m) < 0.4) & (moved >= lo) & (moved < hi)
        )
        days = np.where(to_weekend, moved, days)
        ts = days * DAY + hour + rng.integers(0, 3600, m)
        return self._clip(users, ts)

    def _clip(self, users: np.ndarray, ts: np.ndarray) -> np.ndarray:
        # Nothing before the member signed up, nothing after the window.
        return np.minimum(np.maximum(ts, self.signup_s[users] + 60), _END_S - 1)

    def _channels(self, ev: np.ndarray, users: np.ndarray) -> np.ndarray:
        """A channel per event: often the member's own channel when it fits the event."""
        rng, m = self.rng, len(ev)
        ch = np.empty(m, dtype=np.int64)
        u = rng.random(m)
        for e in np.unique(ev):
            rows = np.flatnonzero(ev == e)
            cdf = np.cumsum(_CHANNEL_P[e])
            ch[rows] = np.minimum(np.searchsorted(cdf / cdf[-1], u[rows], side="right"), 4)
        pref = self.channel_pref[users]
        use_pref = (rng.random(m) < 0.4) & (_CHANNEL_P[ev, pref] > 0)
        return np.where(use_pref, pref, ch)

    def _categories(self, users: np.ndarray, own: float) -> np.ndarray:
        m = len(users)
        return np.where(
            self.rng.random(m) < own, self.favourite[users], _pick(self.rng, _CATEGORY_P, m)
        )

    def _amounts(self, cat: np.ndarray, factor: float = 1.0) -> np.ndarray:
        m = len(cat)
        price = _PRICE_MEDIAN[cat] * np.exp(self.rng.normal(0, 1, m) * _PRICE_SIGMA[cat]) * factor
        qty = 1 + self.rng.poisson(0.3, m)
        return np.round(price * qty, 1)

    def _add(self, u, ev, ts, *, amount=None, cat=None, ch=None, camp=None) -> None:
        m = len(u)
        ev = np.broadcast_to(np.asarray(ev, dtype=np.int8), (m,))
        self._ev["u"].append(u.astype(np.int32))
        self._ev["ev"].append(ev.copy())
        self._ev["ts"].append(ts.astype(np.int64))
        self._ev["amount"].append(
            np.full(m, np.nan) if amount is None else amount.astype(np.float64)
        )
        self._ev["cat"].append(np.full(m, -1, np.int8) if cat is None else cat.astype(np.int8))
        self._ev["ch"].append(
            (self._channels(ev.astype(np.int64), u) if ch is None else ch).astype(np.int8)
        )
        # -2: decide from the campaign calendar later; -1: none
        self._ev["camp"].append(
            np.full(m, -2, np.int16)
            if camp is None
            else np.broadcast_to(np.int16(camp), (m,)).copy()
        )

    # -------------------------------------------------------- events
    def _browse(self) -> None:
        rng, n = self.rng, self.n
        count = rng.poisson(self.browse_rate * (self.end_day - self.start_day))
        users = np.repeat(np.arange(n), count)
        lo, hi = self.start_day[users], self.end_day[users]
        days = _sample_days(rng, self.w.browse_cdf, lo, hi)
        # Story 7: after the churn date the group still looks around a little, but less.
        keep = ~(
            self.churn_group[users] & (days >= _day(CHURN_DATE)) & (rng.random(len(users)) < 0.6)
        )
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
        stop = np.where(self.churn_group, _day(CHURN_DATE), self.end_day)
        count = rng.poisson(self.purchase_rate * np.maximum(stop - self.start_day, 0))
        users = np.repeat(np.arange(n), count)
        lo, hi = self.start_day[users], stop[users]
        days = _sample_days(rng, self.w.purchase_cdf, lo, hi)
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
        self._add(users[rv][rts < _END_S], REVIEW, rts[rts < _END_S], cat=cat[rv][rts < _END_S])
        share_p = np.where(self.kol[users], 0.5, np.where(self.koc[users], 0.3, 0.04))
        sh = rng.random(m) < share_p
        sts = ts[sh] + rng.integers(600, 3 * DAY, sh.sum())
        self._add(users[sh][sts < _END_S], SHARE, sts[sts < _END_S])

    def _cake_birthdays(self) -> None:
        rng = self.rng
        cake_users = np.flatnonzero(self.cake)
        parts_u, parts_d = [], []
        for year in (2025, 2026):
            day = (
                self.w.month_start[year][self.cake_month[cake_users]]
                + self.cake_dom[cake_users]
                - 1
            )
            day = day + rng.integers(
                -2, 3, len(cake_users)
            )  # dom in 3..26, so still the same month
            ok = (day >= 0) & (day < DAYS)
            parts_u.append(cake_users[ok])
            parts_d.append(day[ok])
        users, days = np.concatenate(parts_u), np.concatenate(parts_d)
        ts = self._clip(users, days * DAY + 9 * 3600 + rng.integers(0, 11 * 3600, len(users)))
        cat = np.full(len(users), CAKE)
        self._purchase_rows(users, ts, cat, self._amounts(cat, 1.15))

    def _member_joins(self) -> None:
        joined = np.flatnonzero(
            (self.signup_day >= 0) & ~self.never & (self.rng.random(self.n) < 0.7)
        )
        ts = np.minimum(self.signup_s[joined] + self.rng.integers(0, 600, len(joined)), _END_S - 1)
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
        tagged = (
            np.isin(ev["ev"][todo], _CAMPAIGN_EVENTS)
            & (c >= 0)
            & (self.rng.random(len(todo)) < 0.5)
        )
        camp[todo] = np.where(tagged, c, -1)

    # -------------------------------------------------------- experiments
    def _experiments(self) -> None:
        rng, n = self.rng, self.n
        ev = self.events
        buys = np.flatnonzero(ev["ev"] == PURCHASE)
        buy_u, buy_ts = ev["u"][buys].astype(np.int64), ev["ts"][buys]
        self.assignments: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        for e_index, exp in enumerate(EXPERIMENTS):
            lo, hi = _day(exp.first_day), _day(exp.last_day)
            eligible = (
                ~self.never & (self.start_day < lo) & (self.end_day > hi + exp.window_days + 1)
            )
            if exp.excludes_churn_group:
                eligible &= ~self.churn_group
            users = np.flatnonzero(eligible & (rng.random(n) < exp.share))
            m = len(users)
            variant = (rng.random(m) >= exp.observed_split[0]).astype(np.int8)
            at = (lo + rng.integers(0, hi - lo + 1, m)) * DAY + rng.integers(9 * 3600, 21 * 3600, m)
            self.assignments.append((e_index, users, variant, at))
            if exp.control_boost <= 0 or m == 0:
                continue
            # Who already bought inside the metric window without any campaign?
            slot = np.full(n, -1, np.int64)
            slot[users] = np.arange(m)
            s = slot[buy_u]
            mine = s >= 0
            dt = buy_ts[mine] - at[s[mine]]
            converted = np.zeros(m, bool)
            converted[s[mine][(dt >= 0) & (dt < exp.window_days * DAY)]] = True
            # Top up conversions so control converts p_a and treatment p_a * (1 + lift), in expectation.
            p0 = converted.mean()
            p_a = p0 + (1 - p0) * exp.control_boost
            q_b = min(1.0, max(0.0, (p_a * (1 + exp.relative_lift) - p0) / max(1 - p0, 1e-9)))
            q = np.where(variant == 1, q_b, exp.control_boost)
            extra = users[~converted & (rng.random(m) < q)]
            at_x = at[slot[extra]]
            camp = len(CAMPAIGNS) + e_index
            claim_ts = at_x + rng.integers(60, 3 * 3600, len(extra))
            self._add(extra, COUPON, claim_ts, camp=camp)
            buy_ts_x = claim_ts + rng.integers(600, (exp.window_days - 1) * DAY, len(extra))
            cat = self._categories(extra, 0.6)
            self._purchase_rows(extra, buy_ts_x, cat, self._amounts(cat), camp=camp)

    # -------------------------------------------------------- tags
    def _tags(self) -> None:
        rng, n, ev = self.rng, self.n, self.events
        u, e, ts, amount, ch = ev["u"].astype(np.int64), ev["ev"], ev["ts"], ev["amount"], ev["ch"]
        buy = e == PURCHASE
        day = ts // DAY

        def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
            return np.bincount(
                u[mask], weights=None if weights is None else weights[mask], minlength=n
            )

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
        refresh_s = int(
            (
                TAGS[_TAG_INDEX["model/churn_risk"]].last_refresh - datetime(2025, 9, 1)
            ).total_seconds()
        )
        last_buy = np.full(n, -1, np.int64)
        before = buy & (ts < refresh_s)
        np.maximum.at(last_buy, u[before], ts[before])

        def window(name: str, cats: tuple[int, ...] | None = None) -> np.ndarray:
            lo, hi = [(_day(c[1]), _day(c[2]) + 1) for c in CAMPAIGNS if c[0] == name][0]
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
        add("model/churn_risk", has_bought, _labels(("low", "medium", "high"), risk[has_bought]))
        add("model/next_category", buys_365 > 0, _labels(CATEGORIES, fav[buys_365 > 0]))
        add("behavior/repeat_buyer_90d", buys_90 >= 2)
        add("behavior/cart_abandoner", (carts_30 > 0) & (buys_30 == 0))
        add("behavior/live_viewer", lives_90 >= 2)
        add("behavior/coupon_redeemer", (coupons_180 > 0) & (buys_180 > 0))
        add("behavior/night_owl", self.late_night & (r() < 0.8))
        add("behavior/weibo_follower", (self.signup_day < 0) & (r() < 0.02))
        add("channel/wechat_active", wechat_30 >= 3)
        add("channel/app_active", app_30 >= 3)
        self.tag_rows = tags

    # -------------------------------------------------------- tables
    def users_table(self) -> pa.Table:
        w = self.w
        return pa.Table.from_arrays(
            [
                self.user_ids,
                _ts_array(self.signup_s),
                w.cities.take(pa.array(self.city)),
                w.provinces.take(pa.array(self.city)),
                _nullable(self.age.astype(np.int32), self.age_null, pa.int32()),
                _labels(("female", "male"), self.gender),
                pa.array(self.member_level.astype(np.int32), pa.int32()),
                _labels(SIGNUP_CHANNELS, self.channel_pref),
                self._store_codes(),
                *(
                    self._consent(p_yes, p_null)
                    for p_yes, p_null in ((0.65, 0.04), (0.80, 0.03), (0.40, 0.05))
                ),
                self._phones(),
                self._openids(),
                self._emails(),
            ],
            schema=_USERS_SCHEMA,
        )

    def _store_codes(self) -> pa.Array:
        rng, n = self.rng, self.n
        count = self.w.store_count[self.city]
        within = np.minimum(
            (count * rng.random(n) ** 1.7).astype(np.int64), count - 1
        )  # a few flagship stores
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
        chars = np.hstack([prefixes[rng.integers(0, len(prefixes), n)], _digits(tail, 8)])
        return _fixed_width(chars, rng.random(n) >= 0.02)

    def _openids(self) -> pa.Array:
        rng, n = self.rng, self.n
        chars = np.hstack(
            [np.full((n, 1), ord("o"), np.uint8), _OPENID_ALPHABET[rng.integers(0, 64, (n, 27))]]
        )
        has = (self.channel_pref <= 1) | (
            rng.random(n) < 0.7
        )  # WeChat / mini-program members always have one
        return _fixed_width(chars, has)

    def _emails(self) -> pa.Array:
        rng, n = self.rng, self.n
        given = pa.array(_GIVEN, pa.string()).take(pa.array(rng.integers(0, len(_GIVEN), n)))
        family = pa.array(_FAMILY, pa.string()).take(pa.array(rng.integers(0, len(_FAMILY), n)))
        number = pc.cast(pa.array((self.g * 7_919 + 1_000) % 100_000), pa.string())
        domain = pa.array(_EMAIL_DOMAINS, pa.string()).take(
            pa.array(rng.integers(0, len(_EMAIL_DOMAINS), n))
        )
        email = pc.binary_join_element_wise(
            given, pa.scalar("."), family, number, pa.scalar("@"), domain, ""
        )
        missing = rng.random(n) < 0.28
        return pc.if_else(pa.array(missing), pa.nulls(n, pa.string()), email)

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
                pa.array([t.tag for t in TAGS], pa.string()).take(
                    pa.array(np.concatenate(tag_ids))
                ),
                pa.concat_arrays(values),
                _ts_array(np.concatenate(updated)),
            ],
            schema=_TAGS_SCHEMA,
        )

    def assignments_table(self) -> pa.Table:
        parts = []
        for e_index, users, variant, at in self.assignments:
            exp = EXPERIMENTS[e_index]
            order = np.argsort(users, kind="stable")
            parts.append(
                pa.Table.from_arrays(
                    [
                        pa.array(np.full(len(users), exp.name, dtype=object), pa.string()),
                        self.user_ids.take(pa.array(users[order])),
                        _labels(exp.variants, variant[order]),
                        _ts_array(at[order]),
                    ],
                    schema=_ASSIGNMENTS_SCHEMA,
                )
            )
        return pa.concat_tables(parts)

    def write_events(self, events_dir: Path, chunk_index: int) -> int:
        """Sort this chunk's events by time and write one file per month; returns the row count."""
        ev = self.events
        order = np.argsort(ev["ts"], kind="stable")
        ts = ev["ts"][order]
        if len(ts) and (
            ts[0] < 0 or ts[-1] >= _END_S
        ):  # every generator clips; this guards the contract
            raise RuntimeError("demo event outside 2025-09-01 .. 2026-10-31")
        table = pa.Table.from_arrays(
            [
                self.user_ids.take(pa.array(ev["u"][order])),
                _labels(EVENTS, ev["ev"][order]),
                _ts_array(ts),
                _nullable(ev["amount"][order], np.isnan(ev["amount"][order]), pa.float64()),
                _labels(CATEGORIES, ev["cat"][order]),
                _labels(CHANNELS, ev["ch"][order]),
                _labels(self.w.campaign_names, ev["camp"][order]),
            ],
            schema=_EVENTS_SCHEMA,
        )
        months = [
            (y, m)
            for y in (2025, 2026)
            for m in range(1, 13)
            if date(y, m, 1) >= START and date(y, m, 1) < END
        ]
        edges = [_day(date(y, m, 1)) * DAY for y, m in months] + [_END_S]
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
                **_PARQUET,
            )
        return int(cut[-1] - cut[0])
