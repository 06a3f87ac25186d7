"""Small datasets written to real Parquet files for tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd


def write_dataset(
    root: Path,
    users: pd.DataFrame,
    events: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    toml: str | None = None,
    **extra: pd.DataFrame,
) -> Path:
    """Write a dataset directory in the data-contract layout and return its path."""
    root.mkdir(parents=True, exist_ok=True)
    users.to_parquet(root / "users.parquet", index=False)
    events_dir = root / "events"
    events_dir.mkdir(exist_ok=True)
    events.to_parquet(events_dir / "part-0.parquet", index=False)
    if tags is not None:
        tags.to_parquet(root / "tags.parquet", index=False)
    for name, frame in extra.items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    if toml is not None:
        (root / "dataset.toml").write_text(toml, encoding="utf-8")
    return root


# city AND (tag OR event): the builder tests' three-condition segment with one OR group
THREE_CONDITIONS = {
    "version": 1,
    "match": "all",
    "conditions": [
        {"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]},
        {"kind": "group", "match": "any", "conditions": [
            {"kind": "tag", "tag": "interest/food/baking", "op": "has"},
            {"kind": "event", "event": "purchase", "op": ">=", "count": 2, "within_days": 90},
        ]},
    ],
}  # fmt: skip


EVENT_NAMES = [
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
]


def random_dataset(
    root: Path, n_users: int = 400, n_events: int = 6000, seed: int = 1, as_of: str = "2026-06-30"
) -> Path:
    """A random dataset whose windows straddle every boundary (events up to 500 days back)."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    user_ids = [f"u{i:04d}" for i in range(n_users)]
    signup = end - pd.to_timedelta(rng.integers(0, 600 * 86400, n_users), unit="s")
    users = pd.DataFrame(
        {
            "user_id": user_ids,
            "signup_at": pd.Series(signup).where(rng.random(n_users) > 0.1),
            "city": pd.Series(rng.choice(["Shanghai", "Hangzhou", "Beijing", "Wuhan"], n_users)).where(
                rng.random(n_users) > 0.2
            ),
            "age": pd.array(rng.integers(18, 70, n_users), dtype="Int64"),
            "sms_opt_in": pd.array(rng.random(n_users) > 0.4, dtype="boolean"),
        }
    )
    users.loc[rng.random(n_users) < 0.15, "age"] = pd.NA
    # Skewed activity: a third of users never act.
    active = rng.choice(user_ids[: int(n_users * 0.67)], n_events)
    ev_names = rng.choice(
        EVENT_NAMES, n_events, p=[0.2, 0.15, 0.05, 0.15, 0.08, 0.05, 0.03, 0.04, 0.15, 0.04, 0.03, 0.03]
    )
    # whole days and exact window boundaries appear often
    days_back = rng.integers(0, 500, n_events)
    seconds = rng.choice([0, 1, 43200, 86399], n_events)
    ts = end - pd.to_timedelta(days_back, unit="D") - pd.to_timedelta(86400 - seconds, unit="s")
    amount = np.where(ev_names == "purchase", rng.choice([10.0, 20.0, 30.0, 99.5, np.nan], n_events), np.nan)
    events = pd.DataFrame(
        {
            "user_id": active,
            "event": ev_names,
            "ts": ts,
            "amount": amount,
            "product_category": pd.Series(rng.choice(["cake", "bread", "coffee"], n_events)).where(
                rng.random(n_events) > 0.3
            ),
        }
    )
    # a few events after as_of, which no model tag may see
    late = events.sample(20, random_state=seed).assign(ts=end + pd.Timedelta(hours=5))
    events = pd.concat([events, late], ignore_index=True)
    tags = pd.DataFrame(
        {
            "user_id": rng.choice(user_ids, 800),
            "tag": rng.choice(["interest/food/baking", "identity/kol", "value/ltv", "scene/commuter"], 800),
        }
    )
    tags["value"] = np.where(tags["tag"] == "value/ltv", rng.choice(["10", "250.5", "n/a"], 800), None)
    tags = tags.drop_duplicates(["user_id", "tag"])
    return write_dataset(root, users, events, tags, toml=f'as_of = "{as_of}"\n')


def namesake(root: Path, parent: Path) -> Path:
    """A copy of the dataset at `root` in `parent`, under the same folder name, with another fingerprint."""
    other = parent / root.name
    shutil.copytree(root, other)
    new_version(other, 1)
    return other


def new_version(root: Path, n: int = 2) -> None:
    """Another version of the dataset's files (its users file's times changed: another fingerprint)."""
    os.utime(root / "users.parquet", ns=(n, n))
