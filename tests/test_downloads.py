"""The download route: a token serves one registered file, to the browser session that made it, until it expires."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard import downloads


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(downloads, "_tokens", {})
    monkeypatch.setattr(downloads, "_route_active", downloads.route_active())  # routes() turns it on: undo after
    app = Starlette(routes=downloads.routes())
    return TestClient(app)


def test_a_token_works_in_its_session_only_and_not_after_expiry(client, tmp_path, monkeypatch):
    f = tmp_path / "a.csv"
    f.write_text("user_id\nu1\n")
    seen = []
    url = downloads.register(
        f, on_download=lambda: seen.append(1), owner="ann@brand.com", binding=("_streamlit_user", "ann-cookie")
    )
    assert client.get(url, cookies={"_streamlit_user": "ann-cookie"}).text == "user_id\nu1\n"
    assert client.get(url, cookies={"_streamlit_user": "bob-cookie"}).status_code == 403  # another person's session
    assert client.get(url).status_code == 403  # a copied link without the cookie
    assert seen == [1]  # only the served download was logged
    now = downloads.time.monotonic()
    monkeypatch.setattr(downloads.time, "monotonic", lambda: now + downloads.TOKEN_TTL_S + 1)
    assert client.get(url, cookies={"_streamlit_user": "ann-cookie"}).status_code == 404  # replayed after expiry


def test_unknown_tokens_and_missing_files(client, tmp_path):
    f = tmp_path / "b.csv"
    f.write_text("x\n")
    url = downloads.register(f)
    f.unlink()
    assert client.get(url).status_code == 410
    assert client.get(downloads.ROUTE_PREFIX + "/not-a-token").status_code == 404
