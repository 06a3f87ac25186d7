"""A real `streamlit run` of the dashboard on a free local port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# the same Chromium, flags and idle mark as `adesk bench load`
from dashboard.load_browser import CHROMIUM, IDLE, LAUNCH_ARGS

__all__ = [
    "APP",
    "ARTIFACTS",
    "ASGI",
    "CHROMIUM",
    "IDLE",
    "LAUNCH_ARGS",
    "REPO",
    "free_port",
    "metric_value",
    "screenshot",
    "streamlit_server",
    "wait_idle",
]

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "dashboard" / "app.py"
ASGI = REPO / "dashboard" / "asgi.py"  # app.py plus the streamed export-download route (what `adesk serve` runs)
ARTIFACTS = REPO / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(
    data: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    app: Path = APP,
    *,
    cwd: Path = REPO,
    port: int | None = None,
) -> Iterator[str]:
    """Start the dashboard on `data` (from `cwd`, reading its .streamlit/); yield its base URL; stop it afterwards."""
    port = port or free_port()
    full_env = {**os.environ, "ADESK_DATA": str(data), **(env or {})}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--server.fileWatcherType",
        "none",
    ]
    log = open(Path(full_env.get("ADESK_SERVER_LOG", os.devnull)), "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (exit {proc.poll()})")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, timeout=timeout)


def metric_value(page, label: str) -> str:
    label_el = page.locator("[data-testid='stMetricLabel']").filter(has=page.get_by_text(label, exact=True))
    metric = page.locator("[data-testid='stMetric']").filter(has=label_el)
    return metric.locator("[data-testid='stMetricValue']").first.inner_text().strip()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
