"""Cohort retention against an independent pandas computation written from ANALYSES.md §4."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.analyses.retention import (
    RetentionError,
    RetentionSpec,
    cohort_definition,
    first_event_day,
    parse_filters,
    retention,
)
from core.dataset import open_dataset
from core.segments import operations
from core.segments.model import parse_segment
from tests.datasets import write_dataset

AS_OF = date(2026, 6, 17)  # a Wednesday in mid-June: the week and the month containing it are incomplete
NAMES = ["view", "cart", "purchase", "share"]


def _generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random members and events (2025-09 .. after as_of), plus hand-made boundary cases."""
    rng = np.random.default_rng(14)
    n = 320
    ids = [f"m{i:03d}" for i in range(n)]
    lo, hi = pd.Timestamp("2025-09-01"), pd.Timestamp("2026-06-20")
    span = int((hi - lo).total_seconds())
    signup = lo + pd.to_timedelta(rng.integers(0, span, n), unit="s")
    users = pd.DataFrame(
        {
            "user_id": ids,
            "signup_at": pd.Series(signup).where(rng.random(n) > 0.05),  # a few unknown signups
            "city": rng.choice(["Shanghai", "Hangzhou", "Wuhan"], n),
        }
    )
    m = 5000
    ts = lo + pd.to_timedelta(rng.integers(0, span, m), unit="s")
    # whole-day edges are common: 00:00:00 and 23:59:59
    ts = ts.normalize() + pd.to_timedelta(rng.choice([0, 1, 43_200, 86_399], m), unit="s")
    events = pd.DataFrame(
        {
            "user_id": rng.choice(ids[: int(n * 0.8)], m),  # a fifth never acts
            "event": rng.choice(NAMES, m, p=[0.5, 0.2, 0.2, 0.1]),
            "ts": ts,
            "channel": pd.Series(rng.choice(["app", "mini", "web"], m)).where(rng.random(m) > 0.1),
        }
    )
    special_users, special_events = [], []

    def member(uid: str, signup: str | None, *evs: tuple[str, str]) -> None:
        special_users.append(
            {"user_id": uid, "signup_at": pd.Timestamp(signup) if signup else pd.NaT, "city": "Shanghai"}
        )
        special_events.extend({"user_id": uid, "event": e, "ts": pd.Timestamp(t), "channel": "app"} for e, t in evs)

    # Sunday 23:59:59 is in the signup week; Monday 00:00:00 is the next one
    member("x_sunday", "2026-03-02 10:00", ("view", "2026-03-08 23:59:59"))
    member("x_monday", "2026-03-02 10:00", ("view", "2026-03-09 00:00:00"))
    # the 31st is in the signup month; the 1st is the next one
    member("x_31st", "2026-01-05 08:00", ("purchase", "2026-01-31 23:59:59"))
    member("x_1st", "2026-01-05 08:00", ("purchase", "2026-02-01 00:00:00"))
    # signup on a Monday 00:00 and on a Sunday 23:59:59 (first and last moment of a week)
    member("x_week_first", "2026-04-06 00:00:00", ("view", "2026-04-13 00:00:00"))
    member("x_week_last", "2026-04-12 23:59:59", ("view", "2026-04-13 00:00:00"))
    # returns only in period 0 (several events in the signup week and month)
    member("x_only_p0", "2026-02-10 09:00", ("view", "2026-02-10 10:00"), ("purchase", "2026-02-12 10:00"))
    # started long before any range: first purchase in 2025-09, active again later
    member(
        "x_early",
        "2025-09-02 09:00",
        ("purchase", "2025-09-03 09:00"),
        ("purchase", "2026-05-05 09:00"),
        ("view", "2026-06-16 09:00"),
    )
    # gap then return: "on or after" counts the gap periods, "on" does not
    member("x_gap", "2026-01-15 09:00", ("view", "2026-04-20 09:00"))
    # events on the as_of day (counted) and after it (not)
    member("x_asof", "2026-06-01 09:00", ("view", "2026-06-17 23:59:59"), ("purchase", "2026-06-18 00:00:00"))
    member("x_after", "2026-06-18 09:00", ("view", "2026-06-18 10:00"))  # signs up after as_of: in no cohort
    users = pd.concat([users, pd.DataFrame(special_users)], ignore_index=True)
    events = pd.concat([events, pd.DataFrame(special_events)], ignore_index=True)
    ghost = pd.DataFrame(
        {"user_id": ["ghost"], "event": ["view"], "ts": [pd.Timestamp("2026-03-03")], "channel": ["app"]}
    )
    return users, pd.concat([events, ghost], ignore_index=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    users, events = _generated()
    root = write_dataset(tmp_path_factory.mktemp("ret") / "ds", users, events, toml=f'as_of = "{AS_OF}"\n')
    return open_dataset(root), users, events


# --- the oracle: plain pandas, from the definition ---------------------------------------------------


def oracle(
    users,
    events,
    *,
    period,
    first,
    last,
    start="signup",
    start_mask=None,
    ret=None,
    ret_mask=None,
    mode="on",
    members=None,
):
    """Rows of (cohort first day, size, retained[], complete[]) and the mean row."""
    freq = "W-SUN" if period == "week" else "M"  # weeks ending on Sunday = ISO weeks from Monday
    end_of_as_of = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    known = events[events.user_id.isin(users.user_id) & (events.ts < end_of_as_of)]
    if start == "signup":
        starts = users.set_index("user_id").signup_at
        starts = starts[starts < end_of_as_of]
    else:
        rows = known[(known.event == start) & (start_mask(known) if start_mask else True)]
        starts = rows.groupby("user_id").ts.min()
    if members is not None:
        starts = starts[starts.index.isin(members)]
    starts = starts.dropna()
    cohort_of = starts.dt.to_period(freq)
    returns = known[(known.event == ret) if ret else np.ones(len(known), bool)]
    if ret_mask is not None:
        returns = returns[ret_mask(returns)]
    return_periods = returns.assign(p=returns.ts.dt.to_period(freq)).groupby("user_id").p.apply(set)
    today = pd.Period(AS_OF, freq)
    table = []
    c = pd.Period(first, freq)
    while c <= min(pd.Period(last, freq), today):
        who = cohort_of[cohort_of == c].index
        retained, complete = [], []
        for k in range((today - c).n + 1):
            target = c + k
            if k == 0:
                n = len(who)
            elif mode == "on":
                n = sum(1 for u in who if target in return_periods.get(u, set()))
            else:
                n = sum(1 for u in who if any(p >= target for p in return_periods.get(u, set())))
            retained.append(n)
            complete.append(target.end_time < end_of_as_of)
        table.append((c.start_time.date(), len(who), retained, complete))
        c += 1
    width = max(len(r[2]) for r in table)
    mean = []
    for k in range(width):
        done = [r for r in table if k < len(r[3]) and r[3][k]]
        size = sum(r[1] for r in done)
        mean.append(sum(r[2][k] for r in done) / size if size else None)
    return table, mean


def _assert_same(result, expected) -> None:
    table, mean = expected
    got = [(c.start, c.size, list(c.retained), list(c.complete)) for c in result.cohorts]
    assert got == table
    assert result.mean == pytest.approx(mean)
    assert result.to_dict()["mean"] == pytest.approx(mean)


CASES = [
    dict(period="month", first=date(2025, 10, 1), last=date(2026, 6, 30)),
    dict(period="month", first=date(2025, 10, 1), last=date(2026, 6, 30), mode="on_or_after"),
    dict(period="week", first=date(2026, 1, 7), last=date(2026, 6, 30)),  # a Wednesday: the whole week counts
    dict(period="week", first=date(2026, 1, 7), last=date(2026, 6, 30), mode="on_or_after"),
    dict(period="month", first=date(2026, 1, 20), last=date(2026, 4, 2), ret="purchase"),
    dict(period="week", first=date(2026, 2, 1), last=date(2026, 5, 31), ret="purchase", mode="on_or_after"),
    dict(period="month", first=date(2025, 12, 1), last=date(2026, 6, 17), start="purchase"),
    dict(
        period="week", first=date(2026, 3, 1), last=date(2026, 6, 17), start="purchase", ret="view", mode="on_or_after"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_every_cell_matches_the_oracle(data, case):
    ds, users, events = data
    spec = RetentionSpec(
        period=case["period"],
        first=case["first"],
        last=case["last"],
        start=case.get("start", "signup"),
        return_event=case.get("ret"),
        mode=case.get("mode", "on"),
    )
    _assert_same(retention(ds, spec), oracle(users, events, **case))


def test_filters_on_start_and_return_and_a_base_segment(data):
    ds, users, events = data
    spec = RetentionSpec(
        period="month",
        first=date(2025, 11, 1),
        last=date(2026, 6, 1),
        start="view",
        start_where=parse_filters('[{"field": "channel", "op": "in", "values": ["app", "mini"]}]', "start_where"),
        return_event=None,
        return_where=parse_filters([{"field": "channel", "op": "ne", "value": "web"}], "return_where"),
        mode="on_or_after",
    )
    base = parse_segment(
        {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Wuhan"]}]}
    )
    in_base = users.user_id[users.city.isin(["Shanghai", "Wuhan"])]
    expected = oracle(
        users,
        events,
        period="month",
        first=date(2025, 11, 1),
        last=date(2026, 6, 1),
        start="view",
        start_mask=lambda e: e.channel.isin(["app", "mini"]),
        ret_mask=lambda e: e.channel.ne("web") | e.channel.isna(),  # `ne` includes missing values (exact complement)
        mode="on_or_after",
        members=set(in_base),
    )
    _assert_same(retention(ds, spec, base), expected)


def test_boundary_members_land_in_the_right_cells(data):
    """The hand-made cases, read directly (the oracle agrees on them too, above)."""
    ds, _users, _events = data
    weekly = retention(ds, RetentionSpec("week", date(2026, 3, 2), date(2026, 4, 12)))
    week_of = {c.start: c for c in weekly.cohorts}
    assert week_of[date(2026, 3, 2)].size >= 2 and week_of[date(2026, 4, 6)].size >= 2
    cur = retention(ds, RetentionSpec("month", date(2026, 6, 1), date(2026, 6, 30)))
    assert [c.start for c in cur.cohorts] == [date(2026, 6, 1)] and cur.cohorts[0].complete == (False,)
    late = retention(ds, RetentionSpec("month", date(2026, 5, 1), date(2026, 12, 31)))
    assert [c.start for c in late.cohorts] == [date(2026, 5, 1), date(2026, 6, 1)]  # no cohort starts after as_of


def test_a_month_ending_on_as_of_is_complete(tmp_path):
    users = pd.DataFrame({"user_id": ["a", "b"], "signup_at": pd.to_datetime(["2026-05-03", "2026-05-20"])})
    events = pd.DataFrame(
        {
            "user_id": ["a", "b"],
            "event": ["view", "view"],
            "ts": pd.to_datetime(["2026-06-30 23:59:59", "2026-05-21 00:00:00"]),
        }
    )
    ds = open_dataset(write_dataset(tmp_path / "d", users, events, toml='as_of = "2026-06-30"\n'))
    r = retention(ds, RetentionSpec("month", date(2026, 5, 1), date(2026, 6, 30)))
    assert [(c.size, c.retained, c.complete) for c in r.cohorts] == [(2, (2, 1), (True, True)), (0, (0,), (True,))]
    assert r.mean == (1.0, 0.5)


def test_bad_questions_are_refused(data):
    ds, _users, _events = data
    with pytest.raises(RetentionError, match="unknown event 'purchse'.*purchase"):
        retention(ds, RetentionSpec("month", date(2026, 1, 1), date(2026, 2, 1), start="purchse"))
    with pytest.raises(RetentionError, match="unknown event property 'chanel'"):
        retention(
            ds,
            RetentionSpec(
                "month",
                date(2026, 1, 1),
                date(2026, 2, 1),
                return_where=parse_filters([{"field": "chanel", "op": "eq", "value": "x"}], "return_where"),
            ),
        )
    with pytest.raises(RetentionError, match="after it ends"):
        retention(ds, RetentionSpec("month", date(2026, 3, 1), date(2026, 2, 1)))
    with pytest.raises(RetentionError, match="after as_of"):
        retention(ds, RetentionSpec("month", date(2026, 7, 1), date(2026, 8, 1)))
    with pytest.raises(RetentionError, match="at most 64: start the range later or count by month"):
        retention(ds, RetentionSpec("week", date(2025, 3, 1), date(2025, 12, 31)))
    with pytest.raises(RetentionError, match="where"):
        parse_filters('{"field": "channel"}', "start_where")


@pytest.mark.parametrize("start", ["signup", "purchase"])
def test_a_cohort_opens_as_a_definition_with_exactly_its_members(data, start):
    ds, _users, _events = data
    base = parse_segment({"conditions": [{"kind": "attribute", "field": "city", "op": "ne", "value": "Hangzhou"}]})
    where = (
        parse_filters([{"field": "channel", "op": "in", "values": ["app", "web"]}], "start_where")
        if start != "signup"
        else ()
    )
    for period in ("week", "month"):
        spec = RetentionSpec(period, date(2026, 1, 1), date(2026, 6, 30), start=start, start_where=where)
        for b in (None, base):
            result = retention(ds, spec, b)
            for cohort in result.cohorts:
                definition = cohort_definition(spec, cohort, ds.as_of, first_event_day(ds), b)
                assert operations.size(ds, parse_segment(definition)).count == cohort.size, (period, cohort.start)
