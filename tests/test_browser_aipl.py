"""End to end: a lead opens the AIPL flow, clicks the I→P cell, lands in the builder with the same count, exports it.

Also: /overview is a working URL and its AIPL panel links to the AIPL page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser.server import ASGI, metric_value, screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
SLOW = 120_000  # the first page view builds the dataset cache


def cli_flow(data) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "aipl", "flow", str(data), "--json"],
        capture_output=True, text=True, check=True, env=os.environ.copy(),
    )  # fmt: skip
    return json.loads(out.stdout)


def test_flow_cell_opens_the_builder_with_the_same_count_and_exports(demo_dir, chromium, tmp_path):
    expected = cli_flow(demo_dir)
    cell = expected["matrix"]["I"]["P"]
    assert cell > 0  # the demo's flow has Interest members who bought
    env = {
        "ADESK_EXPORT_DIR": str(tmp_path / "exports"),
        "ADESK_ROLE": "none",
        "ADESK_SERVER_LOG": str(tmp_path / "server.log"),
    }
    with streamlit_server(demo_dir, env=env, app=ASGI, timeout=90) as url:
        page = chromium.new_page(viewport={"width": 1500, "height": 1200})
        page.set_default_timeout(SLOW)

        page.goto(f"{url}/overview")
        wait_idle(page, SLOW)
        page.wait_for_selector("[data-testid='stMetric']")
        assert "Page not found" not in page.inner_text("body")
        page.get_by_text("AIPL over time", exact=False).click()
        page.wait_for_url(re.compile(r"/aipl"))
        wait_idle(page, SLOW)

        page.get_by_role("radio", name="Flow").click()
        wait_idle(page, SLOW)
        button = page.locator(".st-key-aipl-cell-I-P button").first
        button.wait_for()
        assert button.inner_text().startswith(f"{cell:,} (")
        body = page.inner_text("body")
        assert metric_value(page, "Moved up") == f"{expected['summary']['moved_up']:,}"
        assert f"Base: {expected['base_size']:,} members" in body
        screenshot(page, "aipl-flow")

        button.click()
        page.wait_for_url(re.compile(r"/builder"))
        page.wait_for_selector("text=Audience size")
        wait_idle(page, SLOW)
        assert int(metric_value(page, "Audience size").replace(",", "")) == cell
        text = page.inner_text("body")
        assert (
            f"AIPL stage on {expected['from']} is Interest" in text
            and f"AIPL stage on {expected['to']} is Purchase" in text
        )
        screenshot(page, "aipl-cell-in-builder")

        page.get_by_role("button", name="Export audience").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Rows to write").wait_for()
        wait_idle(page, SLOW)
        dialog.get_by_role("button", name="Write file").click()
        expect(dialog.locator("a[download]")).to_be_visible(timeout=SLOW)
        written = int(metric_value(page, "Rows to write").replace(",", ""))
        assert 0 < written <= cell  # members without consent for the channel are left out
        page.close()
