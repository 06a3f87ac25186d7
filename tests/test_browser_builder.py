"""End to end in headless Chromium against a real `streamlit run`: build a segment by clicking,
open its share link in a new page, switch the language; the count always equals `adesk count`."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from core.segments.model import parse_segment
from core.segments.urlcodec import decode_segment
from tests.apptest_harness import cli_count
from tests.browser.server import metric_value, screenshot, streamlit_server, wait_idle
from tests.datasets import THREE_CONDITIONS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EXPECTED = THREE_CONDITIONS


def widget(page, key: str):
    return page.locator(f".st-key-{key}")


def click_button(page, key: str) -> None:
    widget(page, key).locator("button").first.click()
    wait_idle(page)


def choose(page, key: str, option: str, typed: str | None = None) -> None:
    """Open a selectbox or multiselect, optionally type to filter, click the option starting with `option`."""
    widget(page, key).locator("input").first.click()
    if typed:
        page.keyboard.type(typed)
    target = page.get_by_role("option", name=re.compile("^" + re.escape(option))).first
    target.wait_for(state="visible")
    if typed:
        page.wait_for_timeout(250)  # the list settles after filtering; a click mid-animation can land on a neighbour
    target.click()
    wait_idle(page)


def fill_number(page, key: str, value: int) -> None:
    box = widget(page, key).locator("input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def wait_metric(page, label: str, expected: str, timeout: float = 20) -> str:
    """The metric's value once it equals `expected` (or the last value seen after `timeout` s)."""
    deadline = time.monotonic() + timeout
    value = ""
    while time.monotonic() < deadline:
        try:
            value = metric_value(page, label)
        except Exception:  # noqa: BLE001 - the metric is re-rendering
            value = ""
        if value == expected:
            break
        page.wait_for_timeout(200)
    return value


@pytest.fixture(scope="module")
def server(demo_dir, cache_dir, tmp_path_factory):
    """One real server for this module, on its own app database and the session's cache."""
    env = {"ADESK_CACHE_DIR": str(cache_dir), "ADESK_APP_DB": str(tmp_path_factory.mktemp("browser-db") / "app.db")}
    with streamlit_server(demo_dir, env=env) as url:
        yield url


def test_build_share_and_switch_language(server, demo_dir, chromium, capsys, tmp_path) -> None:
    expected = cli_count(capsys, demo_dir, EXPECTED, tmp_path)
    count = f"{expected['count']:,}"
    page = chromium.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{server}/builder")
    page.wait_for_selector("text=Audience size", timeout=30_000)
    wait_idle(page)

    # condition 1: city is one of Shanghai, Hangzhou
    click_button(page, "b-root-addrow")
    choose(page, "b-r1-target", "city", typed="city")
    choose(page, "b-r1-multi", "Shanghai")
    choose(page, "b-r1-multi", "Hangzhou")
    # an OR group: has tag interest/food/baking, or bought at least twice in 90 days
    click_button(page, "b-root-addgroup")
    widget(page, "b-g2-match").get_by_role("radio", name="any condition (OR)").click()
    wait_idle(page)
    choose(page, "b-r3-kind", "Tag")
    choose(page, "b-r3-target", "interest › food › baking", typed="baking")
    click_button(page, "b-g2-addrow")
    choose(page, "b-r4-kind", "Event")
    choose(page, "b-r4-target", "purchase", typed="purchase")
    fill_number(page, "b-r4-count", 2)
    fill_number(page, "b-r4-days", 90)

    assert wait_metric(page, "Audience size", count) == count
    link = page.locator("[data-testid='stCode']").filter(has_text="?s=").first.inner_text().strip()
    link = "".join(link.split())  # the code block wraps long links
    assert decode_segment(link.split("s=")[1].split("&")[0]) == parse_segment(EXPECTED)
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "builder-en")

    # the share link in a new page (a new session) shows the same rows and count
    shared = chromium.new_page(viewport={"width": 1500, "height": 1100})
    shared.goto(link)
    shared.wait_for_selector("text=Audience size", timeout=30_000)
    wait_idle(shared)
    assert wait_metric(shared, "Audience size", count) == count
    assert widget(shared, "b-r1-target").locator("input").input_value() == "city"
    values = widget(shared, "b-r1-multi").inner_text()
    assert "Shanghai" in values and "Hangzhou" in values
    assert shared.get_by_role("radio", name="any condition (OR)", checked=True).count() == 1
    assert shared.get_by_role("radio", name="all conditions (AND)", checked=True).count() == 1  # the top level
    expect(shared.locator("body")).to_contain_text("did purchase at least 2 times in the last 90 days")
    screenshot(shared, "builder-shared-link")

    # switch the language: same count, Chinese labels
    shared.get_by_role("radio", name="简体中文").click()
    shared.wait_for_selector("text=人群规模", timeout=30_000)
    wait_idle(shared)
    assert wait_metric(shared, "人群规模", count) == count
    expect(shared.locator("body")).to_contain_text("计算口径")
    expect(shared.locator("body")).to_contain_text("满足以下")
    assert "Traceback" not in shared.inner_text("body")
    screenshot(shared, "builder-zh")
    shared.close()
    page.close()


def test_bad_share_link_shows_a_message_not_a_traceback(server, chromium) -> None:
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{server}/builder?s=1this-is-not-a-segment")
    page.wait_for_selector("text=cannot be read", timeout=30_000)
    wait_idle(page)
    body = page.inner_text("body")
    assert "Traceback" not in body and "Where" not in body  # no rows
    screenshot(page, "builder-bad-link")
    page.close()
