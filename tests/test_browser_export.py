"""End to end: build a segment, export it by clicking, download it, check it row by row, verify it on the Exports page.

The server runs dashboard/asgi.py (what `adesk serve` runs), so the download goes
through the streamed route. Expected rows are computed here with pandas and
hashlib from the dataset's own users.parquet.
"""

from __future__ import annotations

import hashlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect

from core.segments.model import parse_segment
from core.segments.urlcodec import encode_segment
from core.store import AppStore
from tests.browser.server import ASGI, metric_value, screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CITIES = ["Shanghai", "Hangzhou"]
SEGMENT = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": CITIES}]}
HOLDOUT = 0.1
SLOW = 120_000  # first page views build the dataset cache


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _expected(demo_dir: Path, export_id: str) -> tuple[int, set[str], set[str]]:
    """(members, consenting user ids, held-out user ids) by the documented rules."""
    users = pd.read_parquet(demo_dir / "users.parquet", columns=["user_id", "city", "sms_opt_in"])
    members = users[users["city"].isin(CITIES)]
    consenting = set(members[members["sms_opt_in"].fillna(False).astype(bool)]["user_id"])  # missing = no
    limit = round(HOLDOUT * 2**52)
    held = {u for u in consenting if int(hashlib.sha256(f"{export_id}|{u}".encode()).hexdigest()[:13], 16) < limit}
    return len(members), consenting, held


def test_export_by_clicking_downloads_the_exact_audience(demo_dir, chromium, tmp_path):
    env = {
        "ADESK_EXPORT_DIR": str(tmp_path / "exports"),
        "ADESK_ROLE": "none",
        "ADESK_SERVER_LOG": str(tmp_path / "server.log"),
    }
    with streamlit_server(demo_dir, env=env, app=ASGI, timeout=90) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
        page.set_default_timeout(SLOW)
        page.goto(f"{url}/builder?s={encode_segment(parse_segment(SEGMENT))}")
        page.wait_for_selector("text=Audience size")
        wait_idle(page, SLOW)
        live = _int(metric_value(page, "Audience size"))

        page.get_by_role("button", name="Export audience").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Rows to write").wait_for()
        dialog.locator("[data-testid='stSelectbox']").first.click()
        page.get_by_role("option", name="SMS").click()
        wait_idle(page, SLOW)
        dialog.locator("[data-testid='stMultiSelect'] input").fill("phone")
        page.get_by_role("option", name="phone · attribute").click()
        page.keyboard.press("Escape")  # closes the options list (the dialog stays)
        wait_idle(page, SLOW)
        slider = dialog.get_by_role("slider")
        slider.focus()
        for _ in range(round(HOLDOUT * 100)):
            page.keyboard.press("ArrowRight")
        wait_idle(page, SLOW)
        dialog.get_by_text(re.compile(r"^1?0$")).first.wait_for()  # the slider shows 10
        page.wait_for_function("() => document.querySelector('[role=dialog]').innerText.includes('Held out')")
        wait_idle(page, SLOW)

        export_id = re.search(r"Export id: (exp-[0-9a-f-]+)", dialog.inner_text()).group(1)
        members, consenting, held = _expected(demo_dir, export_id)
        excluded = _int(metric_value(page, "Excluded: no consent"))
        held_out = _int(metric_value(page, "Held out"))
        to_write = _int(metric_value(page, "Rows to write"))
        assert live == members
        assert excluded == members - len(consenting)
        assert held_out == len(held) > 0
        assert to_write == live - excluded - held_out

        dialog.get_by_role("button", name="Write file").click()
        link = dialog.locator("a[download]")
        link.wait_for()
        screenshot(page, "export-dialog-done")
        href = link.get_attribute("href")
        assert href.startswith("/adesk-download/")
        with page.expect_download() as info:
            link.click()
        saved = tmp_path / "downloaded.csv"
        info.value.save_as(saved)

        data = saved.read_bytes()
        frame = pd.read_csv(saved, dtype=str, encoding="utf-8-sig", keep_default_na=False)
        assert data.startswith(b"\xef\xbb\xbfuser_id,phone\n")  # BOM for Excel, by default
        assert len(frame) == live - excluded - held_out
        assert set(frame["user_id"]) == consenting - held
        assert list(frame["user_id"]) == sorted(frame["user_id"])
        assert frame["phone"].str.fullmatch(r"\d{3}\*{4}\d{4}|").all()  # masked: role none

        record = AppStore(os.environ["ADESK_APP_DB"]).get_export(export_id)
        assert record.status == "succeeded" and record.rows_written == len(frame)
        assert record.sha256 == hashlib.sha256(data).hexdigest()
        assert (record.excluded_by_consent, record.holdout_rows, record.channel) == (excluded, held_out, "sms")

        # the route streams the same bytes again in this browser session; the link copied elsewhere
        # (another browser context, a script without the session's cookie) is refused; so is an unknown token
        again = page.context.request.get(url + href)
        assert again.status == 200 and again.body() == data
        other = chromium.new_context()
        try:
            assert other.request.get(url + href).status == 403
        finally:
            other.close()
        with pytest.raises(urllib.error.HTTPError) as copied:
            urllib.request.urlopen(url + href)
        assert copied.value.code == 403
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/adesk-download/not-a-token")
        assert refused.value.code == 404

        # the Exports page lists it, shows the definition, and re-creates the identical file
        page.goto(f"{url}/exports?export={export_id}")
        # the id is also in the log table, whose grid keeps hidden copies of its cells for screen
        # readers: wait for a visible one (the first match may be hidden, and stay so)
        page.locator(f"text={export_id} >> visible=true").first.wait_for()
        wait_idle(page, SLOW)
        expect(page.locator("body")).to_contain_text("city is one of")
        expect(page.locator("body")).to_contain_text(record.sha256)
        page.get_by_role("button", name="Re-create and verify").click()
        page.wait_for_selector("text=identical to the log")
        wait_idle(page, SLOW)
        screenshot(page, "exports-page-verified")
        assert "Traceback" not in page.inner_text("body")
        page.close()


def test_empty_segment_says_so_and_offers_no_write(demo_dir, chromium, tmp_path):
    nobody = {"conditions": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Atlantis"}]}
    env = {"ADESK_EXPORT_DIR": str(tmp_path / "exports"), "ADESK_ROLE": "none"}
    with streamlit_server(demo_dir, env=env, app=ASGI, timeout=90) as url:
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(SLOW)
        page.goto(f"{url}/builder?s={encode_segment(parse_segment(nobody))}")
        page.wait_for_selector("text=Audience size")
        wait_idle(page, SLOW)
        page.get_by_role("button", name="Export audience").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("nothing to export").wait_for()
        wait_idle(page, SLOW)
        assert dialog.get_by_role("button", name="Write file").count() == 0
        screenshot(page, "export-dialog-empty")
        assert not (tmp_path / "exports").exists()
        page.close()
