"""The AIPL page in AppTest: numbers equal plain pandas, a cell opens the builder at the same count, Chinese labels."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.segments.urlcodec import decode_segment
from tests.apptest_harness import metric, open_page, texts
from tests.datasets import random_dataset
from tests.oracles import expected_models

D1, D2 = date(2026, 5, 31), date(2026, 6, 30)  # the default flow: the last month end before as_of -> as_of


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = random_dataset(tmp_path_factory.mktemp("page") / "shop", n_users=250, n_events=4000, seed=11)
    users, events = pd.read_parquet(root / "users.parquet"), pd.read_parquet(root / "events")
    a, b = expected_models(users, events, D1)["aipl"], expected_models(users, events, D2)["aipl"]
    return root, a, b


@pytest.fixture(autouse=True)
def _data(monkeypatch, shop):
    monkeypatch.setenv("ADESK_DATA", str(shop[0]))


def test_flow_numbers_and_a_cell_opens_the_builder(shop):
    _, a, b = shop
    at = open_page("aipl", query={"view": "flow"})
    assert not at.exception
    moved = sum(int(((a == r) & (b == c)).sum()) for r in "AIPL" for c in "AIPL" if "AIPL".index(c) > "AIPL".index(r))
    assert metric(at, "Moved up") == f"{moved:,}"
    assert metric(at, "Absent") == f"{int(((a == 'none') & (b == 'none')).sum()):,}"
    cell = int(((a == "I") & (b == "P")).sum())
    assert at.button(key="aipl-cell-I-P").label.startswith(f"{cell:,} (")
    at.button(key="aipl-cell-I-P").click().run()
    assert not at.exception
    assert metric(at, "Audience size") == f"{cell:,}"
    seg = decode_segment(at.query_params["s"])
    assert [(c.kind, c.values, c.as_of) for c in seg.conditions] == [
        ("aipl", ("I",), D1.isoformat()),
        ("aipl", ("P",), D2.isoformat()),
    ]


def test_funnel_bars_and_chinese_labels(shop):
    _, _, b = shop
    at = open_page("aipl", query={"view": "funnel"}, lang="zh")
    assert not at.exception
    assert "AIPL：漏斗、趋势与流转" in [t.value for t in at.title]
    reached_p = int(b.isin(["P", "L"]).sum())
    assert at.button(key="aipl-reached-0-P").label == f"{reached_p:,}"
    assert at.button(key="aipl-in-0-none").label == f"{int((b == 'none').sum()):,}"
    assert "计算口径" in [e.label for e in at.expander]
    assert "阶段" in texts(at)


def test_trend_point_opens_the_builder(shop):
    _, _, b = shop
    at = open_page("aipl", query={"view": "trend"})
    assert not at.exception
    at.selectbox(key="aipl_trend_day").select("2026-06-30")
    at.selectbox(key="aipl_trend_stage").select("L")
    at.button(key="aipl-trend-open").click().run()
    assert not at.exception
    assert metric(at, "Audience size") == f"{int((b == 'L').sum()):,}"
