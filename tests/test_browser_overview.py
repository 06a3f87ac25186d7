"""End to end: the real server in headless Chromium shows the numbers the CLI reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.server import metric_value, screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def cli_overview(data) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "overview", str(data), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    return json.loads(out.stdout)


def test_overview_page_matches_cli(demo_dir, chromium):
    expected = cli_overview(demo_dir)
    with streamlit_server(demo_dir) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_idle(page)
        page.wait_for_selector("[data-testid='stMetric']")
        assert metric_value(page, "Members") == f"{expected['users']:,}"
        assert metric_value(page, "Buyers (last 365 days)") == f"{expected['buyers']:,}"
        assert metric_value(page, "Members with events") == f"{expected['users_with_events']:,}"
        assert metric_value(page, "Events") == f"{expected['events']:,}"
        body = page.inner_text("body")
        assert f"As of {expected['as_of']}" in body
        assert f"{expected['first_event']} to {expected['last_event']}" in body
        # the three charts rendered (plotly draws after the script run ends: wait for it)
        expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(3, timeout=20_000)
        assert "Traceback" not in body
        screenshot(page, "overview-en")

        # switch to Chinese: same numbers, Chinese labels
        page.get_by_role("radio", name="简体中文").click()
        wait_idle(page)
        page.wait_for_selector("text=会员数")
        assert metric_value(page, "会员数") == f"{expected['users']:,}"
        screenshot(page, "overview-zh")
        page.close()


def test_bad_dataset_shows_report_not_traceback(tmp_path, chromium):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "users.parquet").write_bytes(b"this is not parquet")
    (bad / "dataset.toml").write_text('purchse_event = "buy"\n')
    with streamlit_server(bad) as url:
        page = chromium.new_page()
        page.goto(url)
        wait_idle(page)
        page.wait_for_selector("text=cannot be used")
        # the problem table is a later element of the same run than the error: wait for it, not for the run
        report = page.locator("[data-testid='stTable']")
        expect(report).to_contain_text("users.parquet", timeout=20_000)
        expect(report).to_contain_text("purchse_event")
        expect(report).to_contain_text("purchase_event")
        body = page.inner_text("body")
        assert "Traceback" not in body
        screenshot(page, "overview-bad-dataset")
        page.close()
