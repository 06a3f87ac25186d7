"""Cohort retention: seconds per table (12 × 12 monthly, 26 × 26 weekly, a 1M-member segment) against plain pandas.

Each scenario is `core.analyses.retention.retention` end to end (compile, one DuckDB query, the
table); median of `--repeat` runs after one warm-up. The baseline, in the same run: the same table
in plain pandas over the members' signups and the return events held in memory (loading them is not
timed): periods of every event, one row per member and period (drop_duplicates), merged with the
cohorts, counted per cohort and k. Every baseline table must equal ours, or the run fails.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlglot import exp

from core.bench import median, timed

TARGETS_S = {
    "monthly 12 × 12, all members": 3.0,
    "weekly 26 × 26, all members": 5.0,
    "monthly 12 × 12, 1M-member segment": 1.5,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "data",
        nargs="?",
        default=os.environ.get("ADESK_BENCH_DATA", "data/demo"),
        help="a demo dataset (default data/demo; the 10M figures: /work/bench/demo10m)",
    )
    p.add_argument("--repeat", type=int, default=5, help="timed runs per scenario (default 5)")
    p.add_argument("--pandas-repeat", type=int, default=2, help="timed runs of the pandas baseline (default 2)")
    p.add_argument(
        "--segment-size",
        type=int,
        default=1_000_000,
        help="members of the segment scenario: the first N user ids (default 1,000,000)",
    )


def _scenarios(as_of: date, segment_size: int) -> list[tuple[str, object, dict | None]]:
    from core.analyses.retention import RetentionSpec, period_index, period_start

    month, week = period_index(as_of, "month"), period_index(as_of, "week")
    monthly = RetentionSpec("month", period_start(month - 11, "month"), as_of)
    weekly = RetentionSpec("week", period_start(week - 25, "week"), as_of)
    # demo ids are "u" + 8 digits from u00000001: the first N members are those below u<N+1>
    first_n = {
        "conditions": [{"kind": "attribute", "field": "user_id", "op": "lt", "value": f"u{segment_size + 1:08d}"}]
    }
    return [
        ("monthly 12 × 12, all members", monthly, None),
        ("weekly 26 × 26, all members", weekly, None),
        ("monthly 12 × 12, 1M-member segment", monthly, first_n),
    ]


def _frames(ds, since: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members (uid, user_id, signup_at) and return events (uid, ts) since a day, as pandas frames."""
    cur = ds.cursor()
    try:
        members = (
            cur.sql(exp.select("_uid", "user_id", "signup_at").from_("profile").sql("duckdb"))
            .to_arrow_table()
            .to_pandas(types_mapper=pd.ArrowDtype)
        )
        where = exp.and_(
            exp.GTE(this=exp.column("ts"), expression=exp.Placeholder(this="since")),
            exp.LT(this=exp.column("ts"), expression=exp.Placeholder(this="end")),
        )
        events = cur.execute(
            exp.select("_uid", "ts").from_("event_rows").where(where).sql("duckdb"),
            {"since": since, "end": ds.as_of_end},
        ).df()
    finally:
        cur.close()
    members["signup_at"] = members["signup_at"].astype("datetime64[us]")
    return members, events


def _period(ts: pd.Series, period: str) -> np.ndarray:
    """Months since 1970-01, or weeks since Monday 1969-12-29, of each timestamp."""
    values = ts.to_numpy().astype("datetime64[us]")
    if period == "month":
        return values.astype("datetime64[M]").astype(np.int64)
    return (values.astype("datetime64[D]").astype(np.int64) + 3) // 7


def pandas_table(
    members: pd.DataFrame, events: pd.DataFrame, spec, as_of: date, segment: dict | None
) -> dict[str, list[int]]:
    """The 'on' table of signup cohorts, return = any event, in plain pandas: cohort first day -> counts."""
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    m = members[members.signup_at.notna() & (members.signup_at < end)]
    if segment is not None:
        m = m[m.user_id < segment["conditions"][0]["value"]]
    first = _period(pd.Series([pd.Timestamp(spec.first)]), spec.period)[0]
    last = min(
        _period(pd.Series([pd.Timestamp(spec.last)]), spec.period)[0],
        _period(pd.Series([pd.Timestamp(as_of)]), spec.period)[0],
    )
    cohorts = pd.DataFrame({"_uid": m["_uid"].to_numpy(), "cohort": _period(m.signup_at, spec.period)})
    cohorts = cohorts[(cohorts.cohort >= first) & (cohorts.cohort <= last)]
    returns = pd.DataFrame({"_uid": events["_uid"].to_numpy(), "p": _period(events.ts, spec.period)}).drop_duplicates()
    joined = returns.merge(cohorts, on="_uid")
    joined = joined[joined.p > joined.cohort]
    counts = joined.groupby(["cohort", joined.p - joined.cohort]).size()
    sizes = cohorts.groupby("cohort").size()
    today = _period(pd.Series([pd.Timestamp(as_of)]), spec.period)[0]
    out = {}
    for c in range(first, last + 1):
        out[c] = [int(sizes.get(c, 0))] + [int(counts.get((c, k), 0)) for k in range(1, today - c + 1)]
    return out


def run(args: argparse.Namespace) -> dict:
    from core.analyses.retention import retention
    from core.dataset import open_dataset
    from core.segments.model import parse_segment

    data = Path(args.data)
    t0 = time.perf_counter()
    ds = open_dataset(data)
    open_s = time.perf_counter() - t0
    try:
        scenarios = _scenarios(ds.as_of, args.segment_size)
        since = min(s.first for _, s, _ in scenarios)
        t0 = time.perf_counter()
        members, events = _frames(ds, since)
        load_s = time.perf_counter() - t0
        results = []
        for name, spec, segment in scenarios:
            base = parse_segment(segment) if segment else None
            ours = retention(ds, spec, base)  # warm-up, and the table the baseline must equal
            runs = timed(lambda spec=spec, base=base: retention(ds, spec, base), max(1, args.repeat))
            theirs = pandas_table(members, events, spec, ds.as_of, segment)
            if list(theirs.values()) != [list(c.retained) for c in ours.cohorts]:
                raise SystemExit(f"adesk bench retention: pandas and DuckDB disagree on {name!r}")
            pandas_runs = timed(
                lambda spec=spec, segment=segment: pandas_table(members, events, spec, ds.as_of, segment),
                max(1, args.pandas_repeat),
            )
            p50, pandas_p50 = median(runs), median(pandas_runs)
            results.append(
                {
                    "name": name,
                    "cohorts": len(ours.cohorts),
                    "columns": ours.columns,
                    "members": ours.total,
                    "seconds_p50": round(p50 / 1000, 3),
                    "seconds_each": [round(r / 1000, 3) for r in runs],
                    "pandas_seconds_p50": round(pandas_p50 / 1000, 3),
                    "speedup": round(pandas_p50 / p50, 1) if p50 else None,
                    "target_seconds": TARGETS_S.get(name),
                }
            )
        return {
            "dataset": str(data),
            "users": ds.total_users,
            "events_loaded_for_pandas": len(events),
            "as_of": ds.as_of.isoformat(),
            "threads": os.environ.get("ADESK_THREADS", str(os.cpu_count())),
            "open_seconds": round(open_s, 1),
            "pandas_load_seconds": round(load_s, 1),
            "scenarios": results,
        }
    finally:
        ds.close()


def render(r: dict) -> str:
    lines = [
        f"retention benchmark on {r['dataset']} ({r['users']:,} users, as of {r['as_of']}, {r['threads']} threads)"
    ]
    lines.append(
        f"  {'scenario':<38} {'table':>7} {'members':>11} {'p50 s':>7} {'pandas s':>9} {'speed-up':>9}  target"
    )
    for s in r["scenarios"]:
        target = s["target_seconds"]
        verdict = "" if target is None else f"≤ {target} s: {'met' if s['seconds_p50'] <= target else 'NOT met'}"
        lines.append(
            f"  {s['name']:<38} {s['cohorts']:>3}×{s['columns']:<3} {s['members']:>11,} {s['seconds_p50']:>7.3f} "
            f"{s['pandas_seconds_p50']:>9.3f} {s['speedup']:>8}×  {verdict}"
        )
    return "\n".join(lines)
