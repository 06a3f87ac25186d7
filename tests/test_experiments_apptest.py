"""The Experiments page in AppTest: the demo's three stories, the switches, a campaign holdout, the planner."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm
from streamlit.testing.v1 import AppTest

from core.analyses.ab_plan import PlanSpec, plan
from tests.apptest_harness import cli_json

TIMEOUT = 120


def _app() -> None:
    import streamlit as st

    from dashboard import data_access
    from dashboard.views import experiments

    data_access.lang()
    st.navigation([st.Page(experiments.main, title="experiments", url_path="experiments", default=True)]).run()


def _open(experiment: str, lang: str | None = None) -> AppTest:
    at = AppTest.from_function(_app, default_timeout=TIMEOUT)
    at.query_params["experiment"] = experiment
    if lang:
        at.session_state["lang"] = lang
    return at.run()


@pytest.fixture
def demo(demo_dir, monkeypatch):
    monkeypatch.setenv("ADESK_DATA", str(demo_dir))
    return demo_dir


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_winner_shows_the_verdict_and_the_cli_numbers(demo, capsys):
    at = _open("coupon_copy_test")
    assert not at.exception
    cli = cli_json(capsys, ["ab", str(demo), "--experiment", "coupon_copy_test"])
    b = next(v for v in cli["variants"] if v["name"] == "B")["metrics"]["conversion"]
    verdict = _texts(at.success)
    assert len(verdict) == 1 and verdict[0].startswith("B wins: ")
    assert f"{b['lift'] * 100:+.1f}%" in verdict[0] and f"{b['ci_low'] * 100:+.0f}%" in verdict[0]
    table = at.dataframe[1].value
    assert [int(x.replace(",", "")) for x in table.iloc[:, 1]] == [v["users"] for v in cli["variants"]]
    assert not _texts(at.error)  # no SRM banner

    at.segmented_control(key="ab_mode").set_value("bayesian").run()
    assert "chance to beat A" in _texts(at.success)[0]
    at.toggle(key="ab_cuped").set_value(True).run()
    cuped = cli_json(capsys, ["ab", str(demo), "--experiment", "coupon_copy_test", "--cuped"])
    b = next(v for v in cuped["variants"] if v["name"] == "B")["metrics"]["conversion"]
    assert f"{b['lift'] * 100:+.1f}%" in _texts(at.success)[0]


def test_broken_split_shows_the_red_banner(demo, capsys):
    at = _open("banner_color_test")
    errors = _texts(at.error)
    cli = cli_json(capsys, ["ab", str(demo), "--experiment", "banner_color_test"])
    assert cli["srm_flag"] and cli["srm_p_value"] < 0.001
    assert any("Sample ratio mismatch" in e and "do not trust this result" in e for e in errors)
    assert not _texts(at.success)  # no "wins" verdict on a broken test


def test_no_difference_and_chinese(demo):
    at = _open("push_time_test")
    assert _texts(at.info)[-1].startswith("No clear difference")
    zh = _open("push_time_test", lang="zh")
    assert zh.title[0].value == "A/B 实验" and any(t.startswith("无明显差异") for t in _texts(zh.info))


def test_segment_switch_shows_the_caution(demo):
    at = _open("coupon_copy_test")
    box = at.selectbox(key="ab_segment")
    box.set_value(box.options[1]).run()
    assert any("every extra cut is another comparison" in w for w in _texts(at.warning))
    assert not at.exception


def test_campaign_holdout_with_data_after_the_export(tmp_path, monkeypatch):
    from core.dataset import open_dataset
    from core.export import ExportOptions, plan_export, write_export
    from core.roles import RoleInfo
    from core.store import AppStore
    from tests.test_ab_experiments import _future_dataset

    root, users, _events = _future_dataset(tmp_path / "fut")
    ds = open_dataset(root)
    store = AppStore(tmp_path / "app.db")
    export = plan_export(
        ds, {"conditions": []}, ExportOptions(channel="sms", holdout=0.3), role=RoleInfo("none", "test")
    )
    write_export(ds, export, store, out=tmp_path / "o.csv")
    ds.close()
    monkeypatch.setenv("ADESK_DATA", str(root))
    monkeypatch.setenv("ADESK_APP_DB", str(store.path))
    at = _open(export.export_id)
    assert any(export.export_id in t and "holdout" in t for t in _texts(at.info))
    table = at.dataframe[1].value
    counts = store.assignment_counts(export.export_id)
    assert list(table.iloc[:, 0]) == ["holdout (control)", "target"]
    assert [int(x.replace(",", "")) for x in table.iloc[:, 1]] == [counts["holdout"], counts["target"]]
    assert at.dataframe[2].value.shape[0] == 2  # a lift on conversion and revenue


def test_planner_matches_the_closed_form():
    for base, mde, alpha, power in ((0.22, 0.05, 0.05, 0.8), (0.043, 0.10, 0.01, 0.9)):
        p = plan(PlanSpec(base, mde, alpha, power, users_per_day=1000.0))
        h = 2 * math.asin(math.sqrt(base * (1 + mde))) - 2 * math.asin(math.sqrt(base))
        n = 2 * ((norm.ppf(1 - alpha / 2) + norm.ppf(power)) / h) ** 2  # var(2·asin√p̂) = 1/n per arm
        assert abs(p.per_arm - n) <= 1 + 1e-3 * n  # statsmodels also counts the far tail: a hair more
        assert p.days == pytest.approx(p.total / 1000.0)
    assert plan(PlanSpec(0.9, 0.2)).per_arm is None  # 108% is no rate
