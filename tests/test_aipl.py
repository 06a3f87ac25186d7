"""AIPL / RFM / lifecycle at a past date, the funnel, trend and flow: against plain pandas from DATA_CONTRACT.md."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.analyses import aipl
from core.dataset import open_dataset
from core.segments import describe, parse_segment
from core.segments.model import SegmentError
from core.segments.operations import size
from core.segments.urlcodec import decode_segment, encode_segment
from tests.datasets import write_dataset
from tests.oracles import expected_models, open_random

AS_OF = "2026-06-30"


def models_at(ds, model: str, day: date) -> pd.Series:
    """The engine's model at `day` per user_id, read through a segment count per value (the production path)."""
    from core import models as m

    table = m.at(ds, model, day)
    cur = ds.cursor()
    try:
        df = cur.execute(f'select p.user_id, t.value::varchar as v from "{table}" t join profile p using (_uid)').df()  # noqa: S608 - a test reading its own table
    finally:
        cur.close()
    return df.set_index("user_id")["v"]


# --- a hand-made dataset with every edge ---------------------------------------------------------

D1 = date(2026, 3, 31)  # a day with no events at all


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    t = pd.Timestamp
    d1_end = t("2026-04-01")
    users = pd.DataFrame(
        {
            "user_id": ["edge_in", "edge_out", "no_events", "late_signup", "buyer", "loyal", "fell", "new"],
            "signup_at": [t("2025-01-01")] * 3
            + [t("2026-05-10"), t("2025-01-01"), t("2025-01-01"), t("2025-01-01"), t("2026-03-15")],
            "city": ["A", "B", "A", "B", "A", "B", "A", "B"],
        }
    )
    ev = [
        # first moment of the 180-day window ending on d1 (in), and the last moment before it (out)
        ("edge_in", "product_view", d1_end - pd.Timedelta(days=180)),
        ("edge_out", "product_view", d1_end - pd.Timedelta(days=180) - pd.Timedelta(seconds=1)),
        ("edge_out", "ad_impression", d1_end - pd.Timedelta(days=90)),  # dormant edge at d1
        ("late_signup", "product_view", t("2026-05-20")),
        ("late_signup", "purchase", t("2026-06-01")),
        ("buyer", "product_view", t("2026-03-01")),
        ("buyer", "purchase", t("2026-04-01")),  # the first moment after d1: not yet at d1
        ("loyal", "purchase", t("2026-03-30 10:00")),
        ("loyal", "review", t("2026-03-30 10:00")),  # same moment as the purchase: not after it
        ("loyal", "share", t("2026-04-02")),
        ("fell", "purchase", t("2025-12-01")),
        ("fell", "ad_impression", t("2026-06-29")),
        ("new", "ad_impression", t("2026-03-02")),  # active edge: d1_end - 30 days
        ("new", "article_view", t("2026-06-30 23:59:59")),  # last moment of as_of
    ]  # fmt: skip
    events = pd.DataFrame(ev, columns=["user_id", "event", "ts"])
    events["amount"] = np.where(events["event"] == "purchase", 10.0, np.nan)
    root = write_dataset(tmp_path_factory.mktemp("edge") / "edge", users, events, toml=f'as_of = "{AS_OF}"\n')
    ds = open_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    yield ds, users, events
    ds.close()


@pytest.mark.parametrize(
    "day", [D1, date(2026, 4, 1), date(2026, 5, 31), date(2026, 6, 30), date(2025, 10, 3), date(2024, 1, 1)]
)
def test_models_at_a_date_equal_pandas_on_the_edges(edge, day):
    ds, users, events = edge
    want = expected_models(users, events, day)
    for model in ("aipl", "rfm", "lifecycle"):
        got = models_at(ds, model, day).reindex(want.index)
        assert got.tolist() == want[model].tolist(), (model, day, got.to_dict(), want[model].to_dict())


def test_the_edges_say_what_they_should(edge):
    """Guards the fixture: the edge cases really land where the definitions put them."""
    ds, users, events = edge
    at_d1 = expected_models(users, events, D1)
    assert not (events["ts"].dt.date == D1).any()  # d1 is a day with no events
    assert (
        at_d1.loc["edge_in", "aipl"] == "I" and at_d1.loc["edge_out", "aipl"] == "A"
    )  # its product_view is a second too early
    assert at_d1.loc["late_signup", "aipl"] == "none" and at_d1.loc["late_signup", "lifecycle"] == "never_active"
    assert at_d1.loc["buyer", "aipl"] == "I" and at_d1.loc["loyal", "aipl"] == "P"
    assert at_d1.loc["edge_out", "lifecycle"] == "dormant" and at_d1.loc["new", "lifecycle"] == "new"
    later = expected_models(users, events, date(2026, 4, 2))
    assert later.loc["loyal", "aipl"] == "L" and later.loc["buyer", "aipl"] == "P"


def test_flow_cells_and_summary(edge):
    ds, users, events = edge
    f = aipl.flow(ds, D1, date(2026, 6, 30))
    a = expected_models(users, events, D1)["aipl"]
    b = expected_models(users, events, date(2026, 6, 30))["aipl"]
    want = pd.crosstab(a, b).reindex(index=aipl.ALL_STAGES, columns=aipl.ALL_STAGES, fill_value=0)
    assert f.matrix == {r: {c: int(want.loc[r, c]) for c in aipl.ALL_STAGES} for r in aipl.ALL_STAGES}
    assert sum(f.summary.values()) == f.base_size == len(users)


# --- random data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rand(tmp_path_factory):
    ds, users, events = open_random(tmp_path_factory, "rand", seed=7, n_users=300, n_events=5000)
    yield ds, users, events
    ds.close()


CITY = {"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]}


def test_funnel_of_a_segment_at_a_date(rand):
    ds, users, events = rand
    day = date(2026, 2, 28)
    seg = parse_segment({"conditions": [CITY]})
    f = aipl.funnel(ds, day, seg)
    stages = expected_models(users, events, day)["aipl"]
    in_city = users.set_index("user_id")["city"].isin(["Shanghai", "Hangzhou"])
    counts = stages[in_city.reindex(stages.index)].value_counts()
    assert f.in_stage == {s: int(counts.get(s, 0)) for s in aipl.ALL_STAGES}
    assert f.segment_size == int(in_city.sum())
    reached_p = int(counts.get("P", 0) + counts.get("L", 0))
    assert f.reached["P"] == reached_p
    assert f.conversion["I_to_P"] == pytest.approx(reached_p / (reached_p + counts.get("I", 0)))
    # each bar's definition counts the bar
    for s in aipl.STAGES:
        assert size(ds, aipl.stage_definition([s], day, seg)).count == f.in_stage[s]
        assert size(ds, aipl.stage_definition(aipl.reached_stages(s), day, seg)).count == f.reached[s]


def test_trend_points_are_month_ends_and_equal_pandas(rand):
    ds, users, events = rand
    t = aipl.trend(ds, 4)
    assert [p.day for p in t.points] == [date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]
    for p in t.points:
        counts = expected_models(users, events, p.day)["aipl"].value_counts()
        assert p.in_stage == {s: int(counts.get(s, 0)) for s in aipl.ALL_STAGES}
        assert size(ds, aipl.stage_definition(["I"], p.day)).count == p.in_stage["I"]


def test_all_25_cells_count_what_they_say(rand):
    ds, users, events = rand
    seg = parse_segment({"conditions": [CITY]})
    d1, d2 = date(2025, 12, 31), date(2026, 5, 31)
    f = aipl.flow(ds, d1, d2, seg)
    a, b = expected_models(users, events, d1)["aipl"], expected_models(users, events, d2)["aipl"]
    in_city = users.set_index("user_id")["city"].isin(["Shanghai", "Hangzhou"]).reindex(a.index)
    want = pd.crosstab(a[in_city], b[in_city]).reindex(index=aipl.ALL_STAGES, columns=aipl.ALL_STAGES, fill_value=0)
    assert sum(f.summary.values()) == f.base_size == int(in_city.sum())
    for r in aipl.ALL_STAGES:
        for c in aipl.ALL_STAGES:
            assert f.matrix[r][c] == want.loc[r, c], (r, c)
            definition = parse_segment(aipl.cell_definition(d1, r, d2, c, seg).to_json())  # as the builder gets it
            assert size(ds, definition).count == f.matrix[r][c], (r, c)
            assert size(ds, definition, bitmaps=False).count == f.matrix[r][c], (r, c)
    # the summary from the pandas matrix
    moved = sum(int(want.loc[r, c]) for r in aipl.STAGES for c in aipl.STAGES if aipl.RANK[c] > aipl.RANK[r])
    assert f.summary["moved_up"] == moved
    assert f.summary["lost"] == int(want.loc[list(aipl.STAGES), "none"].sum())
    assert f.summary["entered"] == int(want.loc["none", list(aipl.STAGES)].sum())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    back=st.integers(min_value=0, max_value=520),
    values=st.sets(st.sampled_from(aipl.ALL_STAGES), min_size=1),
    negate=st.booleans(),
)
@example(back=0, values={"I", "P"}, negate=False)
@example(back=0, values={"none"}, negate=True)
def test_property_aipl_at_a_random_day(rand, back, values, negate):
    ds, users, events = rand
    day = date(2026, 6, 30) - timedelta(days=back)
    stages = expected_models(users, events, day)["aipl"]
    want = int(stages.isin(values).sum())
    op = "not_in" if negate else "in"
    cond = {"kind": "aipl", "op": op, "values": sorted(values), "as_of": day.isoformat()}
    got = size(ds, parse_segment({"conditions": [cond]})).count
    assert got == (len(stages) - want if negate else want)
    if back == 0:  # the dataset's as_of given explicitly is the condition without a date
        plain = {k: v for k, v in cond.items() if k != "as_of"}
        assert size(ds, parse_segment({"conditions": [plain]})).count == got


def test_rfm_and_lifecycle_conditions_at_a_date(rand):
    ds, users, events = rand
    day = date(2026, 1, 15)
    want = expected_models(users, events, day)
    for kind, value in (("rfm", "important_value"), ("lifecycle", "dormant"), ("lifecycle", "never_active")):
        seg = parse_segment({"conditions": [{"kind": kind, "op": "in", "values": [value], "as_of": day.isoformat()}]})
        assert size(ds, seg).count == int((want[kind] == value).sum()), (kind, value)


# --- the definition's as_of everywhere -------------------------------------------------------


def test_bad_dates_are_clear_segment_errors(rand):
    ds, *_ = rand
    from core.segments.compile import validate_against

    with pytest.raises(SegmentError, match="not a date"):
        parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-02-30"}]})
    with pytest.raises(SegmentError, match="not a date"):
        parse_segment({"conditions": [{"kind": "rfm", "op": "in", "values": ["none"], "as_of": 20260101}]})
    late = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-07-01"}]})
    with pytest.raises(SegmentError, match="after the dataset's as_of") as err:
        validate_against(late, ds.catalog)
    assert err.value.issues[0].path == "conditions[0].as_of"
    with pytest.raises(aipl.AiplInputError):
        aipl.flow(ds, date(2026, 5, 1), date(2026, 5, 1))
    with pytest.raises(aipl.AiplInputError):
        aipl.funnel(ds, date(2026, 7, 1))


def test_dated_condition_words_url_and_json():
    seg = parse_segment({"conditions": [{"kind": "aipl", "op": "in", "values": ["I"], "as_of": "2026-05-31"}]})
    assert describe(seg) == "AIPL stage on 2026-05-31 is Interest"
    assert describe(seg, lang="zh") == "2026-05-31 的AIPL 阶段为 兴趣"
    assert decode_segment(encode_segment(seg)) == seg
    assert parse_segment(seg.to_json()) == seg and '"as_of":"2026-05-31"' in seg.to_json()


def test_explicit_as_of_equals_no_date_for_every_model(rand):
    ds, *_ = rand
    for kind, values in (("aipl", ["A", "L"]), ("rfm", ["important_value", "none"]), ("lifecycle", ["new", "churned"])):
        for op in ("in", "not_in"):
            plain = parse_segment({"conditions": [{"kind": kind, "op": op, "values": values}]})
            dated = parse_segment(
                {"conditions": [{"kind": kind, "op": op, "values": values, "as_of": ds.as_of.isoformat()}]}
            )
            assert size(ds, dated).count == size(ds, plain).count
