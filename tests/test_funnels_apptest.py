"""The Funnels page in AppTest: numbers from the same core function, audiences into the builder, links checked."""

from __future__ import annotations

import pytest

from core.analyses.funnel_spec import encode_funnel, parse_funnel
from core.analyses.funnels import funnel
from core.dataset import open_dataset
from core.segments.model import parse_segment
from core.segments.operations import size
from tests.apptest_harness import metric, open_page
from tests.datasets import random_dataset
from tests.funnel_oracle import oracle

SPEC = {"steps": [{"event": "product_view"}, {"event": "add_to_cart"}, {"event": "purchase"}],
        "from": "2026-01-01", "to": "2026-06-30", "window": {"value": 30, "unit": "day"}}  # fmt: skip


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return random_dataset(tmp_path_factory.mktemp("funnel_page"), n_users=200, n_events=3000, seed=5)


@pytest.fixture
def page_env(monkeypatch, data_dir):
    monkeypatch.setenv("ADESK_DATA", str(data_dir))


def test_page_numbers_and_drop_off_audience(page_env, data_dir, cache_dir):
    import pandas as pd

    at = open_page("funnels", query={"f": encode_funnel(parse_funnel(SPEC))})
    assert not at.exception and not at.error
    want = oracle(
        pd.read_parquet(data_dir / "events"),
        pd.read_parquet(data_dir / "users.parquet"),
        SPEC,
        pd.Timestamp("2026-06-30").date(),
    )
    assert metric(at, "Entered") == f"{want['entered']:,}"
    labels = [b.label for b in at.button]
    dropped2 = want["users"][1] - want["users"][2]
    assert f"Dropped after step 2 · {dropped2:,}" in labels
    at = next(b for b in at.button if b.label.startswith("Dropped after step 2")).click().run()
    assert not at.exception
    assert metric(at, "Audience size") == f"{dropped2:,}"  # the builder counts the live condition
    state = at.session_state["builder.state"]
    row = state.root.children[0]
    assert (row.kind, row.op, row.count) == ("funnel", "dropped_after", 2)


def test_page_edits_steps_and_shows_breakdown_and_trend(page_env, data_dir, cache_dir):
    at = open_page("funnels", query={"f": encode_funnel(parse_funnel(SPEC)), "by": "city", "trend": "week"})
    assert not at.exception
    ds = open_dataset(data_dir, cache_dir)
    result = funnel(ds, SPEC, breakdown="city", trend="week")
    table = at.dataframe[1].value  # the breakdown (the step table is first)
    assert sorted(table.iloc[:, 0]) == sorted(b.value for b in result.breakdown)
    steps_before = sum(1 for b in at.button if b.label.startswith("Reached step"))
    at = next(b for b in at.button if b.label == "Add step").click().run()
    assert sum(1 for b in at.button if b.label.startswith("Reached step")) == steps_before + 1
    spec = at.session_state["funnels.spec"]
    assert len(spec["steps"]) == 4 and spec["steps"][3]["event"] == "purchase"
    seg = parse_segment({"conditions": [{"kind": "funnel", "funnel": spec, "op": "reached", "step": 4}]})
    assert f"Reached step 4 · {size(ds, seg).count:,}" in [b.label for b in at.button]
    ds.close()


@pytest.mark.parametrize(
    ("link", "words"),
    [
        ("1abc!", "is not a link character"),
        ("2xyz", "does not start with version"),
        (
            encode_funnel(parse_funnel({"steps": [{"event": "product_view"}, {"event": "checkout"}]})),
            "unknown event 'checkout'",
        ),
    ],
)
def test_bad_and_stale_links_say_why(page_env, link, words):
    at = open_page("funnels", query={"f": link})
    assert not at.exception
    assert any(words in e.value for e in at.error)
    assert metric(at, "Entered")  # the default funnel is still shown


def test_save_a_funnel_and_open_it_again(page_env, tmp_path):
    at = open_page("funnels", query={"f": encode_funnel(parse_funnel(SPEC))})
    at.text_input(key="funnels.name_box").input("Checkout")
    at = at.button(key="funnels.save").click().run()
    assert any("version 1" in s.value for s in at.success)
    at = at.button(key="funnels.save").click().run()
    assert any("version 2" in s.value for s in at.success)
    fresh = open_page("funnels")  # a new session: open the saved funnel from the list
    fresh.selectbox(key="funnels.saved_pick").select("checkout").run()
    assert fresh.session_state["funnels.spec"]["window"] == SPEC["window"]
    assert len(fresh.session_state["funnels.spec"]["steps"]) == 3
