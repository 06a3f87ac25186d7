"""End to end, from the outside: sign-in with a real OpenID provider (oidc-provider-mock, started here),
roles and a data scope, against a real `adesk serve`-style server (dashboard/asgi.py) in Chromium.

Expected numbers are computed here with pandas from the dataset's own users.parquet.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import expect

from core.access import grant
from core.segments.model import parse_segment
from core.segments.urlcodec import encode_segment
from core.store import AppStore
from tests.browser.server import (
    ASGI,
    REPO,
    free_port,
    metric_value,
    screenshot,
    streamlit_server,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SLOW = 120_000
SCOPE = {"conditions": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Shanghai", "Hangzhou"]}]}
ALL = {"conditions": []}
PEOPLE = {
    "ann@brand.com": {"email": "ann@brand.com", "groups": ["crm-east"]},  # scoped operator, through her group
    "vic@brand.com": {"email": "vic@brand.com"},  # viewer
}


def _secrets(tmp: Path, port: int, idp_port: int) -> Path:
    cwd = tmp / "server"
    (cwd / ".streamlit").mkdir(parents=True)
    shutil.copy(REPO / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml")
    (cwd / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a-long-random-test-secret-0123456789"\n'
        'client_id = "audience-desk"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "http://localhost:{idp_port}/.well-known/openid-configuration"\n'
        "[access]\n"
        'unknown = "refuse"\n'
    )
    return cwd


def _sign_in(browser, url: str, who: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{url}/builder")
    page.get_by_role("button", name="Sign in").click()
    page.locator(f"button[name='sub'][value='{who}']").click()  # the provider's page: a predefined user
    page.wait_for_url(f"{url}/**", timeout=30_000)  # back on the app's home page, signed in
    wait_idle(page, SLOW)
    page.goto(f"{url}/builder?s={encode_segment(parse_segment(ALL))}")
    wait_idle(page, SLOW)
    return context, page


def test_sign_in_roles_and_scope_from_the_outside(demo_dir, chromium, tmp_path):
    users = pd.read_parquet(demo_dir / "users.parquet", columns=["user_id", "city", "phone"])
    in_scope = users[users["city"].isin(["Shanghai", "Hangzhou"])]
    db = tmp_path / "app.db"
    store = AppStore(db)
    grant(store, "root@brand.com", "admin", None, "setup")
    grant(store, "group:crm-east", "operator", SCOPE, "root@brand.com")
    grant(store, "vic@brand.com", "viewer", None, "root@brand.com")
    port = free_port()
    with run_server_in_thread(user_claims=[User(sub=s, claims=c) for s, c in PEOPLE.items()]) as idp:
        cwd = _secrets(tmp_path, port, idp.server_port)
        env = {"ADESK_APP_DB": str(db), "ADESK_EXPORT_DIR": str(tmp_path / "exports"), "ADESK_ROLE": "pii"}
        with streamlit_server(demo_dir, env=env, app=ASGI, timeout=90, cwd=cwd, port=port) as url:
            # a signed-out visitor sees only the sign-in
            anon = chromium.new_page()
            anon.goto(f"{url}/overview")
            wait_idle(anon, SLOW)
            expect(anon.get_by_role("button", name="Sign in")).to_be_visible()
            assert anon.locator("[data-testid='stMetric']").count() == 0
            assert "Segment Builder" not in anon.locator("body").inner_text()
            anon.close()

            # a viewer counts but cannot open an export (ADESK_ROLE=pii on the server changes nothing)
            vic_ctx, vic = _sign_in(chromium, url, "vic@brand.com")
            vic.wait_for_selector("text=Audience size", timeout=SLOW)
            assert int(metric_value(vic, "Audience size").replace(",", "")) == len(users)
            assert vic.get_by_role("button", name="Export audience").count() == 0
            vic.goto(f"{url}/exports")
            wait_idle(vic, SLOW)
            expect(vic.locator("body")).to_contain_text("may see counts and analyses, not member files")
            vic_ctx.close()

            # a scoped operator: counts over her scope, a masked export of her scope only, logged with her e-mail
            ann_ctx, ann = _sign_in(chromium, url, "ann@brand.com")
            ann.wait_for_selector("text=Audience size", timeout=SLOW)
            expect(ann.locator("body")).to_contain_text("ann@brand.com")
            assert int(metric_value(ann, "Audience size").replace(",", "")) == len(in_scope)
            # an analysis counts her scope too: the Overview's members
            ann.goto(f"{url}/overview")
            ann.wait_for_selector("text=Members with events", timeout=SLOW)
            wait_idle(ann, SLOW)
            assert int(metric_value(ann, "Members").replace(",", "")) == len(in_scope)
            ann.goto(f"{url}/builder?s={encode_segment(parse_segment(ALL))}")
            ann.wait_for_selector("text=Audience size", timeout=SLOW)
            wait_idle(ann, SLOW)
            ann.get_by_role("button", name="Export audience").click()
            dialog = ann.get_by_role("dialog")
            dialog.get_by_role("button", name="Write file").click()
            link = dialog.locator("[data-testid='adesk-download']")
            link.wait_for(timeout=SLOW)
            href = link.get_attribute("href")
            with ann.expect_download() as info:
                link.click()
            saved = tmp_path / "ann.csv"
            info.value.save_as(saved)
            frame = pd.read_csv(saved, dtype=str, encoding="utf-8-sig", keep_default_na=False)
            assert set(frame["user_id"]) == set(in_scope["user_id"])
            screenshot(ann, "auth-scoped-export")
            record = store.list_exports()[0]
            assert (record.created_by, record.rows_written, record.pii_mode) == (
                "ann@brand.com",
                len(in_scope),
                "masked",
            )
            # her link copied into another browser context, or fetched by a script: refused
            other = chromium.new_context()
            assert other.request.get(url + href).status == 403
            other.close()
            with pytest.raises(urllib.error.HTTPError) as copied:
                urllib.request.urlopen(url + href)
            assert copied.value.code == 403
            ann_ctx.close()
