"""The build's shortcuts keep its answers: the pre-pass that judges text properties on the first rows, the
counters handed to the profile in halves, and the catalog written in one transaction."""

from __future__ import annotations

import numpy as np
import pandas as pd

import core.dataset.build_events as build_events
from core.catalog import COUNTER_WINDOWS
from core.dataset import open_dataset
from tests.datasets import write_dataset


def _events(n: int, users: list[str], rng: np.random.Generator) -> pd.DataFrame:
    # `late` has one value in the first rows and a new value on every row after them
    return pd.DataFrame(
        {
            "user_id": rng.choice([*users, "ghost"], n),
            "event": rng.choice(["purchase", "view", "share"], n),
            "ts": pd.Timestamp("2025-06-01") + pd.to_timedelta(np.sort(rng.integers(0, 500 * 86400, n)), unit="s"),
            "amount": np.where(rng.random(n) < 0.5, np.nan, rng.integers(1, 500, n).astype(float)),
            "category": rng.choice(["cake", "coffee", None], n),
            "late": ["same" if i < 200 else f"value {i}" for i in range(n)],
        }
    )


def test_a_property_misjudged_on_the_first_rows_comes_through_as_it_is(tmp_path, monkeypatch):
    """The first 200 rows show `late` with one value; over all rows it has more than a code holds."""
    monkeypatch.setattr(build_events, "PREPASS_ROWS", 200)
    monkeypatch.setattr(build_events, "CODED_MAX", 1000)
    rng = np.random.default_rng(11)
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(400)]})
    events = _events(4000, list(users["user_id"]), rng)
    ds = open_dataset(write_dataset(tmp_path / "d", users, events), cache_dir=tmp_path / "c")
    got = (
        ds.cursor()
        .execute(
            "select p.user_id, e.ts, e.amount, e.category, e.late from cache.event_rows e join profile p using (_uid)"
        )
        .df()
    )
    want = events[(events["ts"] < pd.Timestamp(ds.as_of_end)) & (events["user_id"] != "ghost")]
    cols = ["user_id", "ts", "amount", "category", "late"]

    def rows(df: pd.DataFrame) -> list[tuple]:
        return sorted(tuple(None if pd.isna(v) else v for v in r) for r in df[cols].itertuples(index=False))

    assert rows(got) == rows(want)
    # the events of unknown users are counted in the health report as before
    ghost = int(((events["user_id"] == "ghost") & (events["ts"] < pd.Timestamp(ds.as_of_end))).sum())
    assert any(f"{ghost:,} event" in p.message for p in ds.report.problems)
    ds.close()


def test_counters_of_every_window_match_pandas(tmp_path):
    """Every (event, window) counter, the upper windows read from the second half of the packed sum."""
    rng = np.random.default_rng(12)
    users = pd.DataFrame({"user_id": [f"u{i}" for i in range(300)]})
    events = _events(6000, list(users["user_id"]), rng)
    ds = open_dataset(write_dataset(tmp_path / "d", users, events), cache_dir=tmp_path / "c")
    end = pd.Timestamp(ds.as_of_end)
    profile = ds.cursor().execute("select * from profile").df().set_index("user_id")
    for (event, window), col in ds.catalog.event_counters.items():
        assert window in COUNTER_WINDOWS
        start = end - pd.Timedelta(days=window) if window is not None else pd.Timestamp.min
        sel = events[(events["event"] == event) & (events["ts"] >= start) & (events["ts"] < end)]
        want = sel.groupby("user_id").size().reindex(users["user_id"], fill_value=0)
        got = profile[col].reindex(users["user_id"])
        assert (got.to_numpy() == want.to_numpy()).all(), (event, window)
    # the catalog rows, written in one transaction, are all there
    cur = ds.cursor()
    assert cur.execute("select count(*) from cache._event_columns").fetchone()[0] == 3 * len(COUNTER_WINDOWS)
    assert cur.execute("select count(*) from cache._events").fetchone()[0] == 3
    ds.close()
