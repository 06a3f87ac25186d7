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

from core.demo.experiments import EXPERIMENTS
from core.demo.tags import TAGS
from core.demo.timeframe import (
    AS_OF,
    CAKE_TAG,
    CAMPAIGNS,
    CHURN_CITY,
    CHURN_DATE,
    CHURN_TAG,
    DAY,
    DAYS,
    DEFAULT_CHUNK_USERS,
    DEFAULT_SEED,
    DEFAULT_USERS,
    END,
    MAX_USERS,
    RECENT_SIGNUP,
    ROW_GROUP_ROWS,
    START,
)
from core.demo.vocab import (
    AD,
    ARTICLE,
    ATC,
    BREAD,
    CAKE,
    CATEGORIES,
    CHANNELS,
    CITIES,
    COFFEE,
    COUPON,
    DAIRY,
    DESSERT,
    DRINKS,
    EVENTS,
    FAV,
    FOLLOW,
    GIFT,
    JOIN,
    LIVE,
    PURCHASE,
    PV,
    REVIEW,
    SHARE,
    SIGNUP_CHANNELS,
    SNACKS,
    STORE,
)
from core.demo.writer import DemoError, DemoSummary, dataset_toml, generate

__all__ = [
    "AD",
    "ARTICLE",
    "AS_OF",
    "ATC",
    "BREAD",
    "CAKE",
    "CAKE_TAG",
    "CAMPAIGNS",
    "CATEGORIES",
    "CHANNELS",
    "CHURN_CITY",
    "CHURN_DATE",
    "CHURN_TAG",
    "CITIES",
    "COFFEE",
    "COUPON",
    "DAIRY",
    "DAY",
    "DAYS",
    "DEFAULT_CHUNK_USERS",
    "DEFAULT_SEED",
    "DEFAULT_USERS",
    "DESSERT",
    "DRINKS",
    "DemoError",
    "DemoSummary",
    "END",
    "EVENTS",
    "EXPERIMENTS",
    "FAV",
    "FOLLOW",
    "GIFT",
    "JOIN",
    "LIVE",
    "MAX_USERS",
    "PURCHASE",
    "PV",
    "RECENT_SIGNUP",
    "REVIEW",
    "ROW_GROUP_ROWS",
    "SHARE",
    "SIGNUP_CHANNELS",
    "SNACKS",
    "START",
    "STORE",
    "TAGS",
    "dataset_toml",
    "generate",
]
