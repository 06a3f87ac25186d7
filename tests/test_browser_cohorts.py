"""End to end in Chromium: compare two saved segments on the Cohorts page; both curves drawn, cells equal the CLI's."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from core.store import AppStore
from tests.browser.server import screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SEGMENTS = {
    "Shanghai members": {
        "version": 1,
        "match": "all",
        "conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Shanghai"}],
    },
    "Active members": {
        "version": 1,
        "match": "all",
        "conditions": [{"kind": "lifecycle", "op": "in", "values": ["active"]}],
    },
}
FLAGS = ["--start", "signup", "--return", "purchase", "--period", "month", "--from", "2026-05-01", "--to", "2026-10-31"]


def cli_retention(data, db, segment_file) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard.cli",
            "retention",
            str(data),
            *FLAGS,
            "--segment",
            str(segment_file),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    return json.loads(out.stdout)


def choose(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").locator("input").first.click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def read_table(page, index: int) -> tuple[dict[str, list[int]], list[str]]:
    """Cohort -> counts of its cells, and the mean row's shares, from the page's heatmap."""
    table = page.locator(f"#cohort-table-{index}")
    cells = {}
    for row in table.locator("tr[data-cohort]").all():
        cells[row.get_attribute("data-cohort")] = [
            int(td.get_attribute("data-count")) for td in row.locator("td[data-count]").all()
        ]
    mean = [td.get_attribute("data-share") for td in table.locator("tr.mean td[data-k]").all()]
    return cells, mean


def test_compare_two_segments(demo_dir, chromium, tmp_path):
    db = tmp_path / "app.db"
    store = AppStore(db)
    expected = {}
    for name, definition in SEGMENTS.items():
        saved = store.save_segment(name, definition, "test")
        ref = tmp_path / f"{saved.id}.json"
        ref.write_text(json.dumps({"conditions": [{"kind": "segment", "op": "in", "segment": saved.id}]}))
        expected[name] = cli_retention(demo_dir, db, ref)
    with streamlit_server(demo_dir, env={"ADESK_APP_DB": str(db)}) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{url}/cohorts?ret=purchase&period=month&from=2026-05-01&to=2026-10-31")
        wait_idle(page, 90_000)
        page.wait_for_selector("#cohort-table-0")
        choose(page, "coh-base", "Saved: Shanghai members")
        choose(page, "coh-cmp", "Saved: Active members")
        expect(page.locator("#cohort-table-1")).to_be_visible(timeout=30_000)
        # both curves drawn (plotly draws after the run: wait for the two lines)
        chart = page.locator("[data-testid='stPlotlyChart']")
        expect(chart.locator(".scatterlayer .trace")).to_have_count(2, timeout=20_000)
        expect(chart.locator(".legendtext")).to_have_text(["Saved: Shanghai members", "Saved: Active members"])
        for index, name in enumerate(SEGMENTS):
            cells, mean = read_table(page, index)
            want = expected[name]
            assert cells == {c["cohort"]: c["retained"] for c in want["cohorts"]}, name
            assert [float(m) if m else None for m in mean] == pytest.approx(want["mean"]), name
        # periods that have not started are blank cells, never 0%
        assert page.locator("#cohort-table-0 td.future").count() > 0
        # the address bar restores the comparison
        assert re.search(r"cmp=saved%3Aactive", page.url) or "cmp=saved:active" in page.url
        assert "Traceback" not in page.inner_text("body")
        screenshot(page, "cohorts-compare")
        page.close()
