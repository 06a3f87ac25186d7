"""The Cohorts page in AppTest: the CLI's numbers, the share URL, cohort links that count their cohort, bad links."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from core.dataset import open_dataset
from core.segments import builder_state as bs
from core.segments import operations
from core.segments.model import parse_segment
from core.segments.urlcodec import decode_segment, encode_segment
from dashboard.builder_session import STATE_KEY
from tests.apptest_harness import TIMEOUT, cli_json, metric, texts

SHANGHAI = {
    "version": 1,
    "match": "all",
    "conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}],
}


def _app() -> None:
    import streamlit as st

    from dashboard import data_access
    from dashboard.views import cohorts

    data_access.lang()
    st.navigation([st.Page(cohorts.main, title="cohorts", url_path="cohorts", default=True)]).run()


def _open(query: dict[str, str], state: dict | None = None) -> AppTest:
    at = AppTest.from_function(_app, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    for key, value in (state or {}).items():
        at.session_state[key] = value
    return at.run()


def _tables(at: AppTest) -> list[str]:
    return [e.proto.body for e in at.get("html")]


def _cells(table: str) -> dict[str, list[int]]:
    """Cohort first day -> the counts of its cells, read from the heatmap's HTML."""
    out = {}
    for row in re.findall(r'<tr data-cohort="([\d-]+)">(.*?)</tr>', table):
        out[row[0]] = [int(n) for n in re.findall(r'data-count="(\d+)"', row[1])]
    return out


@pytest.fixture()
def demo(demo_dir, monkeypatch):
    monkeypatch.setenv("ADESK_DATA", str(demo_dir))
    return demo_dir


def test_page_shows_the_clis_numbers_and_restores_from_its_url(demo, capsys, tmp_path):
    query = {
        "start": "purchase",
        "ret": "purchase",
        "period": "month",
        "from": "2026-05-01",
        "to": "2026-10-31",
        "mode": "on_or_after",
        "base": "s:" + encode_segment(parse_segment(SHANGHAI)),
    }
    at = _open(query)
    assert not at.exception and not at.error
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps(SHANGHAI))
    expected = cli_json(
        capsys,
        [
            "retention",
            str(demo),
            "--start",
            "purchase",
            "--return",
            "purchase",
            "--period",
            "month",
            "--from",
            "2026-05-01",
            "--to",
            "2026-10-31",
            "--mode",
            "on_or_after",
            "--segment",
            str(seg),
        ],
    )
    assert metric(at, "Members in cohorts") == f"{sum(c['size'] for c in expected['cohorts']):,}"
    assert _cells(_tables(at)[0]) == {c["cohort"]: c["retained"] for c in expected["cohorts"]}
    # the address bar holds every setting (what the share link restores)
    assert {k: at.query_params[k] for k in query} == query
    assert "first **purchase** event ever" in texts(at)
    # the same link in Chinese: same numbers, Chinese words
    zh = _open({**query, "lang": "zh"}, {"lang": "zh"})
    assert _cells(_tables(zh)[0]) == _cells(_tables(at)[0]) and "同期群" in texts(zh)


def test_each_cohort_link_opens_exactly_its_members(demo):
    at = _open({"start": "purchase", "period": "week", "from": "2026-09-01", "to": "2026-10-31"})
    ds = open_dataset(demo)
    table = _tables(at)[0]
    links = re.findall(r'<tr data-cohort="([\d-]+)"><th><a href="([^"]+)"', table)
    sizes = dict(re.findall(r'<tr data-cohort="([\d-]+)">.*?data-size="(\d+)"', table))
    assert len(links) >= 8
    for cohort, href in links:
        s = parse_qs(urlparse(html.unescape(href)).query)["s"][0]
        assert operations.size(ds, decode_segment(s)).count == int(sizes[cohort]), cohort


def test_compare_with_the_builders_current_segment(demo, capsys, tmp_path):
    lifecycle = {"version": 1, "match": "all", "conditions": [{"kind": "lifecycle", "op": "in", "values": ["active"]}]}
    state = bs.from_segment(parse_segment(lifecycle), 1)
    at = _open({"period": "month", "from": "2026-06-01", "to": "2026-10-31", "cmp": "current"}, {STATE_KEY: state})
    assert not at.exception
    tables = _tables(at)
    assert len(tables) == 2
    seg = tmp_path / "active.json"
    seg.write_text(json.dumps(lifecycle))
    expected = cli_json(
        capsys,
        [
            "retention",
            str(demo),
            "--start",
            "signup",
            "--period",
            "month",
            "--from",
            "2026-06-01",
            "--to",
            "2026-10-31",
            "--segment",
            str(seg),
        ],
    )
    assert _cells(tables[1]) == {c["cohort"]: c["retained"] for c in expected["cohorts"]}
    # the share link carries the builder's segment as its definition
    assert decode_segment(at.query_params["cmp"][2:]) == parse_segment(lifecycle)


def test_a_bad_link_is_reported_and_reset(demo):
    at = _open({"start": "purchse", "period": "day", "from": "2026-02-30", "base": "saved:nope", "rw": "[{]"})
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    for part in ("start=purchse", "period=day", "from=2026-02-30", "base=saved:nope", "rw=[{]"):
        assert part in warning
    assert metric(at, "Cohorts") == "12"  # the defaults: the 12 months up to as_of


def test_an_impossible_range_says_why(demo):
    at = _open({"from": "2026-10-01", "to": "2026-09-01"})
    assert not at.exception and "after it ends" in " ".join(e.value for e in at.error)


def test_a_link_with_odd_filter_values_shows_no_traceback(demo):
    odd = '[{"field": "channel", "op": "in", "values": [{"a": 1}, [2]]}]'
    at = _open({"start": "purchase", "sw": odd, "rw": '[{"field": "channel", "op": "in", "values": [true]}]'})
    assert not at.exception
    assert "sw=" in " ".join(w.value for w in at.warning)  # not a one-filter list of plain values: reset
