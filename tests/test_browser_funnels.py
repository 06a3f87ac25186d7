"""End to end in headless Chromium: build a 3-step funnel by clicking on the Funnels page, open the
drop-off after step 2 in the builder (same count as the page and as `adesk count`), and export it."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.store import AppStore
from tests.apptest_harness import cli_count
from tests.browser.server import ASGI, metric_value, screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SLOW = 120_000  # first page views build the dataset cache


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _key(page, suffix: str):
    """The widget whose key ends with `suffix` (the page's keys carry a generation number)."""
    return page.locator(f"[class*='st-key-fn-'][class*='-{suffix}']").last


def _choose_step_event(page, step: int, event: str) -> None:
    _key(page, f"ev-{step - 1}").locator("input").first.click()
    page.get_by_role("option", name=event, exact=True).first.click()
    wait_idle(page, SLOW)


def test_build_a_funnel_open_the_drop_off_and_export_it(demo_dir, chromium, tmp_path, capsys):
    env = {
        "ADESK_EXPORT_DIR": str(tmp_path / "exports"),
        "ADESK_ROLE": "none",
        "ADESK_APP_DB": str(tmp_path / "app.db"),
    }
    with streamlit_server(demo_dir, env=env, app=ASGI, timeout=90) as url:
        page = chromium.new_page(viewport={"width": 1500, "height": 1200}, accept_downloads=True)
        page.set_default_timeout(SLOW)
        page.goto(f"{url}/funnels")
        page.wait_for_selector("text=Entered")
        wait_idle(page, SLOW)
        # three steps by clicking: drop the default's last step, add one, pick its event; window 3 days
        _key(page, "rm-2").locator("button").first.click()
        wait_idle(page, SLOW)
        page.get_by_role("button", name="Add step").click()
        wait_idle(page, SLOW)
        _choose_step_event(page, 1, "product_view")
        _choose_step_event(page, 2, "add_to_cart")
        _choose_step_event(page, 3, "purchase")
        box = _key(page, "wv").locator("input")
        box.fill("3")
        box.press("Enter")
        wait_idle(page, SLOW)
        button = page.get_by_role("button", name=re.compile(r"^Dropped after step 2 · "))
        button.wait_for()
        on_page = _int(button.inner_text().split("·")[1])
        screenshot(page, "funnels-built")

        f = re.search(r"[?&]f=([A-Za-z0-9_-]+)", page.url).group(1)
        from core.analyses.funnel_spec import decode_funnel

        spec = decode_funnel(f).to_dict()
        assert [s["event"] for s in spec["steps"]] == ["product_view", "add_to_cart", "purchase"]
        assert spec["window"] == {"value": 3, "unit": "day"}
        definition = {"conditions": [{"kind": "funnel", "funnel": spec, "op": "dropped_after", "step": 2}]}
        expected = cli_count(capsys, demo_dir, definition, tmp_path)["count"]
        assert on_page == expected > 0

        button.click()
        page.wait_for_selector("text=Audience size")
        wait_idle(page, SLOW)
        page.wait_for_function(
            "(n) => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText.trim() === n)",
            arg=f"{expected:,}",
        )
        assert _int(metric_value(page, "Audience size")) == expected
        screenshot(page, "funnels-drop-off-in-builder")

        page.get_by_role("button", name="Export audience").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Rows to write").wait_for()
        wait_idle(page, SLOW)
        assert _int(metric_value(page, "Rows to write")) == expected
        dialog.get_by_role("button", name="Write file").click()
        dialog.locator("a[download]").wait_for()
        record = AppStore(tmp_path / "app.db").list_exports()[0]
        written = pd.read_csv(record.file_path, dtype=str, encoding="utf-8-sig")
        assert len(written) == expected == record.segment_size
        assert record.definition["conditions"][0]["kind"] == "funnel"  # the live condition, not a list of ids
