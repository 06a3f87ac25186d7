"""A plain-Python funnel written from ANALYSES.md §3 alone (no SQL): the tests' reference.

Reaching step k is checked by brute force over every choice of k different rows, so it
does not share the SQL's plan (moments, Hall's condition, greedy links).
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, time, timedelta

import pandas as pd

UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def _filter_ok(row: dict, f: dict) -> bool:
    v = row.get(f["field"])
    missing = v is None or (isinstance(v, float) and v != v)
    op = f["op"]
    if op == "is_null":
        return missing
    if op == "not_null":
        return not missing
    if op in ("ne", "not_in"):
        return not _filter_ok(row, {**f, "op": {"ne": "eq", "not_in": "in"}[op]})
    if missing:
        return False
    if op == "eq":
        return v == f["value"]
    if op == "in":
        return v in f["values"]
    if op == "gt":
        return v > f["value"]
    if op == "gte":
        return v >= f["value"]
    if op == "lt":
        return v < f["value"]
    if op == "lte":
        return v <= f["value"]
    if op == "contains":
        return str(f["value"]).lower() in str(v).lower()
    raise ValueError(op)


def matches(row: dict, item: dict) -> bool:
    return row["event"] == item["event"] and all(_filter_ok(row, f) for f in item.get("where", []))


def _best_depth(rows: list[dict], steps: list[dict], start: int, until: datetime) -> tuple[int, list[datetime]]:
    """From the start row: the deepest step any choice of different rows reaches, and per step the
    earliest time at which some valid choice serves it."""
    k = len(steps)
    earliest: list[datetime | None] = [None] * k
    earliest[0] = rows[start]["ts"]
    best = 1

    def walk(j: int, prev_ts: datetime, used: frozenset[int]) -> None:
        nonlocal best
        if j == k:
            return
        for i, r in enumerate(rows):
            if i in used or r["ts"] < prev_ts or r["ts"] > until or not matches(r, steps[j]):
                continue
            best = max(best, j + 1)
            if earliest[j] is None or r["ts"] < earliest[j]:
                earliest[j] = r["ts"]
            walk(j + 1, r["ts"], used | {i})

    walk(1, rows[start]["ts"], frozenset({start}))
    return best, earliest  # type: ignore[return-value]


def oracle(
    events: pd.DataFrame,
    users: pd.DataFrame,
    spec: dict,
    as_of: date,
    *,
    base: set | None = None,
    step1_property: str | None = None,
) -> dict:
    """Per-member results and the funnel's numbers, from the definition."""
    steps = spec["steps"]
    k = len(steps)
    as_of_end = datetime.combine(as_of + timedelta(days=1), time())
    to = date.fromisoformat(spec["to"]) if "to" in spec else as_of
    frm = date.fromisoformat(spec["from"]) if "from" in spec else to - timedelta(days=29)
    lo, hi = datetime.combine(frm, time()), datetime.combine(to + timedelta(days=1), time())
    w = spec.get("window", {"value": 7, "unit": "day"})
    window = timedelta(seconds=w["value"] * UNITS[w["unit"]])
    known = set(users["user_id"])
    members: dict[str, dict] = {}
    ev = events[events["user_id"].isin(known) & (events["ts"] < as_of_end)]
    for uid, group in ev.groupby("user_id"):
        if base is not None and uid not in base:
            continue
        rows = [{c: (None if pd.isna(v) else v) for c, v in r.items()} for r in group.to_dict("records")]
        for r in rows:
            r["ts"] = pd.Timestamp(r["ts"]).to_pydatetime()
        starts = [i for i, r in enumerate(rows) if lo <= r["ts"] < hi and matches(r, steps[0])]
        if not starts:
            continue
        results = [(i, *_best_depth(rows, steps, i, rows[i]["ts"] + window)) for i in starts]
        deepest = max(d for _, d, _ in results)
        t1 = max(rows[i]["ts"] for i, d, _ in results if d == deepest)
        i, _, times = next(x for x in results if x[1] == deepest and rows[x[0]]["ts"] == t1)
        t_deep = times[deepest - 1]
        excluded = any(t1 < r["ts"] < t_deep and any(matches(r, x) for x in spec.get("exclusions", [])) for r in rows)
        open_ = any(rows[s]["ts"] + window >= as_of_end for s in starts) and deepest < k
        value = None
        if step1_property:
            vals = [
                r[step1_property]
                for r in rows
                if r["ts"] == t1 and matches(r, steps[0]) and r[step1_property] is not None
            ]
            value = min(vals) if vals else None
        members[uid] = {
            "deepest": deepest,
            "excluded": excluded,
            "open": open_,
            "times": times[:deepest],
            "t1": t1,
            "start_value": value,
        }
    counted = {u: m for u, m in members.items() if not m["excluded"]}
    step_users = [sum(1 for m in counted.values() if m["deepest"] >= j) for j in range(1, k + 1)]
    medians: list[float | None] = [None]
    for j in range(1, k):
        gaps = [(m["times"][j] - m["times"][j - 1]).total_seconds() for m in counted.values() if m["deepest"] > j]
        medians.append(statistics.median(gaps) if gaps else None)
    return {
        "members": members,
        "entered": len(members),
        "excluded": sum(m["excluded"] for m in members.values()),
        "open": sum(m["open"] for m in counted.values()),
        "users": step_users,
        "medians": medians,
    }
