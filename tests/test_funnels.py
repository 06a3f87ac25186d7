"""Event funnels (ANALYSES.md §3): DuckDB against the plain-Python oracle of tests/funnel_oracle.py."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.analyses.funnels import funnel, funnel_members
from core.dataset import open_dataset
from core.segments.model import SegmentError
from tests.datasets import write_dataset
from tests.funnel_oracle import oracle
from tests.oracles import FUNNEL_EVENTS, assert_members_match, funnel_rows, funnel_specs, funnel_users, segment_members

AS_OF = date(2026, 6, 30)
T = pd.Timestamp


def _edge_events() -> pd.DataFrame:
    rows = [
        # m01: starts on the entry range's first day; cart exactly at the window's end; purchase one second past it
        ("m01", "product_view", "2026-06-01 00:00:00", "cake"),
        ("m01", "add_to_cart", "2026-06-02 00:00:00", "cake"),
        ("m01", "purchase", "2026-06-02 00:00:01", "cake"),
        # m02: starts one second before the range (then again never): not entered
        ("m02", "product_view", "2026-05-31 23:59:59", "cake"),
        ("m02", "add_to_cart", "2026-06-01 00:00:00", "cake"),
        # m03: starts on the range's last day; later steps after `to`
        ("m03", "product_view", "2026-06-10 23:59:59", "bread"),
        ("m03", "add_to_cart", "2026-06-11 10:00:00", "bread"),
        ("m03", "purchase", "2026-06-11 12:00:00", "bread"),
        # m04: one day outside the range
        ("m04", "product_view", "2026-06-11 00:00:00", "cake"),
        # m05: repeated steps; the latest start reaching the deepest step is the path
        ("m05", "product_view", "2026-06-03 08:00:00", "cake"),
        ("m05", "product_view", "2026-06-03 09:00:00", "bread"),
        ("m05", "add_to_cart", "2026-06-03 10:00:00", None),
        ("m05", "add_to_cart", "2026-06-03 11:00:00", None),
        ("m05", "purchase", "2026-06-05 09:00:01", None),
        # m06: three steps at one moment serve consecutive steps
        ("m06", "purchase", "2026-06-04 12:00:00", None),
        ("m06", "add_to_cart", "2026-06-04 12:00:00", None),
        ("m06", "product_view", "2026-06-04 12:00:00", "coffee"),
        # m07: exclusion between t1 and the deepest step: removed
        ("m07", "product_view", "2026-06-05 00:00:00", "cake"),
        ("m07", "review", "2026-06-05 01:00:00", None),
        ("m07", "add_to_cart", "2026-06-05 02:00:00", None),
        # m08: exclusion before the path, at t1, and after the deepest step: kept
        ("m08", "review", "2026-06-05 23:00:00", None),
        ("m08", "product_view", "2026-06-06 00:00:00", "cake"),
        ("m08", "review", "2026-06-06 00:00:00", None),
        ("m08", "add_to_cart", "2026-06-06 05:00:00", None),
        ("m08", "review", "2026-06-06 06:00:00", None),
        # m09: a view then two views at one moment (view → view → view funnel), and same-moment rows with filters
        ("m09", "product_view", "2026-06-07 10:00:00", "bread"),
        ("m09", "product_view", "2026-06-07 11:00:00", "cake"),
        ("m09", "product_view", "2026-06-07 11:00:00", "bread"),
        ("m09", "add_to_cart", "2026-06-07 09:00:00", None),
        # m10: a single view: a repeated-event step cannot reuse the row
        ("m10", "product_view", "2026-06-08 10:00:00", "cake"),
        # m11: open window at as_of
        ("m11", "product_view", "2026-06-30 20:00:00", "cake"),
        ("m11", "add_to_cart", "2026-06-30 21:00:00", "cake"),
        # m12 has no events; m13 has an event after as_of only
        ("m13", "product_view", "2026-07-01 01:00:00", "cake"),
    ]
    df = pd.DataFrame(rows, columns=["user_id", "event", "ts", "product_category"])
    df["ts"] = pd.to_datetime(df["ts"])
    df["amount"] = 1.0
    return df


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    events = _edge_events()
    users = funnel_users([f"m{i:02d}" for i in range(1, 14)])
    root = write_dataset(tmp_path_factory.mktemp("funnel_edge"), users, events, toml=f'as_of = "{AS_OF}"\n')
    ds = open_dataset(root, tmp_path_factory.mktemp("cache"))
    yield ds, events, users
    ds.close()


VIEW_CART_BUY = {"steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
                 "from": "2026-06-01", "to": "2026-06-10", "window": {"value": 1, "unit": "day"},
                 "exclusions": [{"event": "review"}]}  # fmt: skip
SPECS = [
    VIEW_CART_BUY,
    {**VIEW_CART_BUY, "exclusions": []},
    {"steps": [{"event": "product_view"}, {"event": "product_view"}, {"event": "product_view"}],
     "from": "2026-06-01", "to": "2026-06-30", "window": {"value": 2, "unit": "hour"}},
    {"steps": [{"event": "add_to_cart"}, {"event": "product_view"},
               {"event": "product_view", "where": [{"field": "product_category", "op": "eq", "value": "cake"}]}],
     "from": "2026-06-01", "to": "2026-06-30", "window": {"value": 3, "unit": "hour"}},
    {"steps": [{"event": "product_view"}, {"event": "add_to_cart"}], "window": {"value": 90, "unit": "minute"}},
]  # fmt: skip


def _check(ds, events, users, spec, step1_property=None):
    want = oracle(events, users, spec, ds.as_of, step1_property=step1_property)
    got = funnel_members(ds, spec, start_property=step1_property)
    assert_members_match(got, want["members"], start_value=bool(step1_property))
    result = funnel(ds, spec)
    assert result.entered == want["entered"]
    assert result.excluded == want["excluded"]
    assert result.open == want["open"]
    assert [s.users for s in result.steps] == want["users"]
    for s, median in zip(result.steps, want["medians"], strict=True):
        assert s.median_seconds_from_previous == (pytest.approx(median) if median is not None else None)
    return want, result


@pytest.mark.parametrize("spec", SPECS)
def test_edge_cases_match_the_oracle(edge, spec):
    ds, events, users = edge
    _check(ds, events, users, spec, step1_property="product_category")


def test_edge_cases_by_hand(edge):
    """The definition applied by hand to the members built for each edge."""
    ds, _, _ = edge
    got = funnel_members(ds, VIEW_CART_BUY)
    assert got["m01"]["deepest"] == 2  # cart exactly at t1 + W counts; purchase one second past does not
    assert "m02" not in got and "m04" not in got and "m12" not in got and "m13" not in got
    assert got["m03"]["deepest"] == 3  # later steps after `to`
    assert got["m05"]["deepest"] == 2 and got["m05"]["times"][0] == pd.Timestamp("2026-06-03 09:00").to_pydatetime()
    assert got["m06"]["deepest"] == 3  # equal times serve consecutive steps
    assert got["m07"]["excluded"] and not got["m08"]["excluded"]
    three_views = funnel_members(ds, SPECS[2])
    assert three_views["m09"]["deepest"] == 3 and three_views["m10"]["deepest"] == 1
    cake_last = funnel_members(ds, SPECS[3])
    assert cake_last["m09"]["deepest"] == 3  # the bread row serves step 2 so the cake row can serve step 3
    default_range = funnel(ds, SPECS[4])
    assert default_range.open == 0  # m11 reached the last step
    view_buy = {"steps": [{"event": "product_view"}, {"event": "purchase"}], "window": {"value": 1, "unit": "day"}}
    assert funnel_members(ds, view_buy)["m11"]["open"]  # 20:00 + 1 day is past the end of as_of
    assert not funnel_members(ds, {**view_buy, "window": {"value": 90, "unit": "minute"}})["m11"]["open"]


def test_breakdown_and_trend_match_the_oracle(edge):
    ds, events, users = edge
    spec = {**VIEW_CART_BUY, "exclusions": []}
    want = oracle(events, users, spec, ds.as_of, step1_property="product_category")
    result = funnel(ds, spec, breakdown="step1:product_category", trend="day")
    counted = {u: m for u, m in want["members"].items() if not m["excluded"]}
    by_value: dict[str, list[int]] = {}
    for m in counted.values():
        label = m["start_value"] if m["start_value"] is not None else "(missing)"
        row = by_value.setdefault(label, [0, 0, 0])
        for j in range(m["deepest"]):
            row[j] += 1
    assert {b.value: list(b.users) for b in result.breakdown} == by_value
    city = dict(zip(users["user_id"], users["city"], strict=True))
    by_city: dict[str, int] = {}
    for u in counted:
        label = "(missing)" if pd.isna(city[u]) else city[u]
        by_city[label] = by_city.get(label, 0) + 1
    assert {b.value: b.users[0] for b in funnel(ds, spec, breakdown="city").breakdown} == by_city
    days = pd.date_range("2026-06-01", "2026-06-10").date
    assert [t.period for t in result.trend] == list(days)
    for t in result.trend:
        in_day = [m for m in counted.values() if m["t1"].date() == t.period]
        assert (t.entered, t.converted) == (len(in_day), sum(m["deepest"] == 3 for m in in_day))
        assert t.complete  # 1-day window after 2026-06-10 ended long before as_of
    weekly = funnel(ds, {**SPECS[4]}, trend="week")
    assert weekly.trend[-1].complete is False and weekly.trend[0].period.weekday() == 0


def test_base_segment_limits_the_members(edge):
    ds, events, users = edge
    base = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Beijing"]}]}
    members = set(users.loc[users["city"].isin(["Shanghai", "Beijing"]), "user_id"])
    spec = {**VIEW_CART_BUY, "exclusions": []}
    want = oracle(events, users, spec, ds.as_of, base=members)
    result = funnel(ds, spec, segment=base)
    assert (result.entered, [s.users for s in result.steps]) == (want["entered"], want["users"])
    assert result.entered < funnel(ds, spec).entered


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"steps": [{"event": "purchase"}]}, "2 to 8 steps"),
        ({"steps": [{"event": "purchase"}] * 9}, "2 to 8 steps"),
        ({"steps": [{"event": "purchase"}, {"event": "purchse"}]}, "unknown event 'purchse'"),
        (
            {
                "steps": [
                    {"event": "purchase", "where": [{"field": "colour", "op": "eq", "value": 1}]},
                    {"event": "purchase"},
                ]
            },
            "unknown event property 'colour'",
        ),
        (
            {"steps": [{"event": "purchase"}, {"event": "purchase"}], "window": {"value": 0, "unit": "day"}},
            "whole number > 0",
        ),
        (
            {"steps": [{"event": "purchase"}, {"event": "purchase"}], "from": "2026-06-10", "to": "2026-06-01"},
            "after it ends",
        ),
    ],
)
def test_bad_funnels_are_refused_with_the_reason(edge, spec, words):
    with pytest.raises(SegmentError, match=words):
        funnel(edge[0], spec)


# ---- property test: random funnels and data, SQL = oracle

RANDOM_ROWS = funnel_rows((3, 8), [0, 0, 1, 30, 59, 60, 61, 120, 1439, 1440, 1441, 2880], 4, "2026-06-26")
RANDOM_SPECS = funnel_specs(
    4,
    ["2026-06-26", "2026-06-27"],
    ["2026-06-27", "2026-06-29"],
    [
        {"value": 1, "unit": "minute"},
        {"value": 1, "unit": "hour"},
        {"value": 1, "unit": "day"},
        {"value": 2, "unit": "day"},
    ],
)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=RANDOM_ROWS, specs=st.lists(RANDOM_SPECS, min_size=3, max_size=3))
def test_random_funnels_match_the_oracle(tmp_path_factory, data, specs):
    n_users, rows = data
    # every event name exists (rows of a user who is not a member: in the catalog, in no funnel)
    ghost = [("ghost", e, T("2026-06-26"), "x") for e in FUNNEL_EVENTS]
    events = pd.DataFrame(rows + ghost, columns=["user_id", "event", "ts", "cat"])
    users = funnel_users([f"u{i}" for i in range(n_users)])
    root = write_dataset(tmp_path_factory.mktemp("fr"), users, events, toml=f'as_of = "{AS_OF}"\n')
    ds = open_dataset(root, tmp_path_factory.mktemp("frc"))
    try:
        for spec in specs:
            want, _ = _check(ds, events, users, spec, step1_property="cat")
            # as a segment condition: reached = the oracle's members, not_reached its exact complement
            for step in range(1, len(spec["steps"]) + 1):
                cond = {"kind": "funnel", "funnel": spec, "step": step}
                reached = segment_members(ds, {"conditions": [{**cond, "op": "reached"}]})
                not_reached = segment_members(ds, {"conditions": [{**cond, "op": "not_reached"}]})
                assert reached == {u for u, m in want["members"].items() if not m["excluded"] and m["deepest"] >= step}
                assert reached | not_reached == set(users["user_id"]) and not reached & not_reached
    finally:
        ds.close()
