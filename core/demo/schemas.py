"""The Arrow schemas of the files the demo writes, and how Parquet is written."""

from __future__ import annotations

import pyarrow as pa

# ---------------------------------------------------------------- writing
USERS_SCHEMA = pa.schema(
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
EVENTS_SCHEMA = pa.schema(
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
TAGS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("tag", pa.string()),
        ("value", pa.string()),
        ("updated_at", pa.timestamp("us")),
    ]
)
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("user_id", pa.string()),
        ("variant", pa.string()),
        ("assigned_at", pa.timestamp("us")),
    ]
)
PARQUET = {"compression": "zstd"}
