"""Writing the demo dataset: `generate`, the chunk loop, dataset.toml, replacing the target safely."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from core.demo.chunk import Chunk
from core.demo.experiments import EXPERIMENTS
from core.demo.schemas import ASSIGNMENTS_SCHEMA, PARQUET, TAGS_SCHEMA, USERS_SCHEMA
from core.demo.tags import tag_catalog_table
from core.demo.timeframe import (
    AS_OF,
    DEFAULT_CHUNK_USERS,
    DEFAULT_SEED,
    DEFAULT_USERS,
    MAX_USERS,
    ROW_GROUP_ROWS,
)
from core.demo.world import World


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
    return DemoSummary(users=users, events=events, out_dir=out, seconds=time.perf_counter() - started)


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
        raise DemoError(f"{out} is not empty. Use --force (overwrite=True) to replace it, or choose another --out.")
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


def _write_dataset(tmp: Path, users: int, seed: int, chunk_users: int, say: Callable[[str], None]) -> int:
    world = World(seed, users)
    n_chunks = -(-users // chunk_users)
    total_events = 0
    (tmp / "events").mkdir()
    with (
        pq.ParquetWriter(tmp / "users.parquet", USERS_SCHEMA, **PARQUET) as users_w,
        pq.ParquetWriter(tmp / "tags.parquet", TAGS_SCHEMA, **PARQUET) as tags_w,
        pq.ParquetWriter(tmp / "assignments.parquet", ASSIGNMENTS_SCHEMA, **PARQUET) as assign_w,
    ):
        for k in range(n_chunks):
            first = k * chunk_users
            n = min(chunk_users, users - first)
            chunk = Chunk(world, seed, k, first, n)
            users_w.write_table(chunk.users_table(), row_group_size=ROW_GROUP_ROWS)
            tags_w.write_table(chunk.tags_table(), row_group_size=ROW_GROUP_ROWS)
            assign_w.write_table(chunk.assignments_table(), row_group_size=ROW_GROUP_ROWS)
            total_events += chunk.write_events(tmp / "events", k)
            say(f"chunk {k + 1}/{n_chunks}: {first + n:,} users, {total_events:,} events")
            del chunk
    pq.write_table(tag_catalog_table(), tmp / "tag_catalog.parquet", **PARQUET)
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
        split = ", ".join(f"{v} = {p}" for v, p in zip(exp.variants, exp.expected_split, strict=True))
        lines += [
            "",
            f"[experiments.{exp.name}]",
            f'control = "{exp.variants[0]}"',
            f"metric_window_days = {exp.window_days}",
            f"expected_split = {{ {split} }}",
        ]
    return "\n".join(lines) + "\n"
