"""Serving export files to the browser straight from disk, in chunks, whatever their size.

Why a custom route: of what Streamlit 1.67 offers, only a custom route streams.

- `st.download_button(data=...)` with bytes or a file object converts the data to
  bytes up front and keeps them in the in-memory media file storage for the
  session: a 5,000,000-row CSV (~300 MB) would sit in server memory.
- `st.download_button(data=callable)` (deferred) only postpones that: on click
  `MediaFileManager.execute_deferred` calls the callable, converts its result to
  bytes, and stores them in the same memory storage. Same peak, later.
- Static file serving (`server.enableStaticServing`) streams, but only files under
  the app's `static/` folder, to anyone, without a check: no place for PII.
- `st.App(..., routes=[...])` (Streamlit's Starlette app) lets us add a route whose
  handler returns Starlette's `FileResponse`, which reads the file 64 KiB at a time
  and sends each chunk before reading the next (it also honours Range requests).
  Memory stays flat whatever the file size. That is what we use.

The route is `/adesk-download/<token>`. A page calls `register(path, filename)` for a
file it has just written (or a logged export it may serve) and gets a URL with a
fresh, unguessable token (256 bits) that expires after `TOKEN_TTL_S`; the route
serves only registered tokens, only while the file exists. `dashboard/asgi.py` is the
entry point that mounts the route (`adesk serve` runs it). Under a plain
`streamlit run dashboard/app.py` the route does not exist: `route_active()` is then
False, and pages fall back to a deferred `st.download_button`, which holds the file
in memory (fine for small files; pages warn for large ones).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROUTE_PREFIX = "/adesk-download"
TOKEN_TTL_S = 3600
MAX_TOKENS = 10_000

_lock = threading.Lock()
_tokens: dict[str, _Entry] = {}
_route_active = False


@dataclass(frozen=True)
class _Entry:
    path: Path
    filename: str
    media_type: str
    expires: float
    on_download: Callable[[], None] | None = None
    owner: str | None = None  # who registered it (the signed-in person)
    binding: tuple[str, str] | None = None  # (cookie, value) the request must carry: that browser session only


def route_active() -> bool:
    """True when this process serves the download route (the app was started through dashboard/asgi.py)."""
    return _route_active


def media_type_for(path: Path) -> str:
    return "text/csv; charset=utf-8" if path.suffix.lower() == ".csv" else "application/vnd.apache.parquet"


def register(
    path: str | Path,
    filename: str | None = None,
    on_download: Callable[[], None] | None = None,
    *,
    owner: str | None = None,
    binding: tuple[str, str] | None = None,
) -> str | None:
    """A URL that downloads `path` (streamed), or None when the route is not served here."""
    if not _route_active:
        return None
    path = Path(path)
    token = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        for key in [k for k, e in _tokens.items() if e.expires < now]:
            del _tokens[key]
        if len(_tokens) >= MAX_TOKENS:  # never grow without bound
            del _tokens[min(_tokens, key=lambda k: _tokens[k].expires)]
        _tokens[token] = _Entry(
            path, filename or path.name, media_type_for(path), now + TOKEN_TTL_S, on_download, owner, binding
        )
    return f"{ROUTE_PREFIX}/{token}"


def _lookup(token: str) -> _Entry | None:
    with _lock:
        entry = _tokens.get(token)
    if entry is None or entry.expires < time.monotonic():
        return None
    return entry


def _download(request):
    """Starlette endpoint (sync, so Starlette runs it on a worker thread): stream the file."""
    from starlette.responses import FileResponse, PlainTextResponse

    entry = _lookup(request.path_params["token"])
    if entry is None:
        return PlainTextResponse(
            "This download link is unknown or has expired. Open the export again in Audience Desk.", status_code=404
        )
    if entry.binding is not None and request.cookies.get(entry.binding[0]) != entry.binding[1]:
        # a copied link: it works only in the browser session of the person who made the export
        return PlainTextResponse(
            "This download link belongs to another person's session. Open the export in Audience Desk.", status_code=403
        )
    if not entry.path.is_file():
        return PlainTextResponse(
            "The export file is no longer on the server. Re-create it from the Exports page.", status_code=410
        )
    if entry.on_download is not None:
        try:
            entry.on_download()
        except Exception:  # noqa: BLE001 - logging a download must not block it
            pass
    return FileResponse(
        entry.path, media_type=entry.media_type, filename=entry.filename, content_disposition_type="attachment"
    )


def routes() -> list:
    """The Starlette routes to mount with st.App; marks the route as served in this process."""
    global _route_active
    from starlette.routing import Route

    _route_active = True
    return [Route(ROUTE_PREFIX + "/{token}", _download, methods=["GET", "HEAD"])]
