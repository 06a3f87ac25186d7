"""`adesk bench load`: many signed-in people editing the Segment Builder at once, against a real server.

A real server (dashboard/asgi.py, as `adesk serve` runs it) with sign-in through a local OpenID provider
(oidc-provider-mock); N people, each in their own browser context (headless Chromium), sign in and
open the builder; then in every round each of them changes the event count of the definition at the
same moment, and the time from their edit to the end of their page's rerun is read in their browser
(a MutationObserver on Streamlit's run state). Each person's numbers are checked against the count of
the same definition computed in this process, so a session that shows another's state fails the run.
Needs the test extra (Playwright, oidc-provider-mock) and Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.bench import percentile

TARGET_P95_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-quic", "--no-first-run"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# Each person gets their own city, so their counts differ and a leak between sessions shows.
CITIES = ("Shanghai", "Beijing", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing", "Chongqing", "Tianjin")
# Records the moments Streamlit's run state changes, in the page's own clock.
OBSERVER = """() => {
  window.__adeskRuns = [];
  const app = document.querySelector("[data-testid='stApp']");
  new MutationObserver(() => window.__adeskRuns.push([app.getAttribute('data-test-script-state'), performance.now()]))
    .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
DONE = """(since) => {
  const runs = window.__adeskRuns.filter(r => r[1] >= since);
  const started = runs.findIndex(r => r[0] === 'running');
  if (started < 0) return null;
  const ended = runs.slice(started).find(r => r[0] === 'notRunning');
  return ended ? ended[1] - since : null;
}"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="?", default=os.environ.get("ADESK_DATA", "data/demo"), help="dataset directory")
    p.add_argument("--sessions", type=int, default=20, help="people editing at once (default 20)")
    p.add_argument("--rounds", type=int, default=10, help="edits per person (default 10)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for one round")


def _definition(city: str, count: int) -> dict:
    return {"conditions": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": city},
        {"kind": "event", "event": "purchase", "op": ">=", "count": count, "within_days": 365},
    ]}  # fmt: skip


def _server_dir(tmp: Path, port: int, idp_port: int) -> Path:
    repo = Path(__file__).resolve().parents[1]
    cwd = tmp / "server"
    (cwd / ".streamlit").mkdir(parents=True)
    shutil.copy(repo / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml")
    (cwd / ".streamlit" / "secrets.toml").write_text(
        f'[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\ncookie_secret = "load-bench-secret-0123456789abcdef"\n'
        f'client_id = "audience-desk"\nclient_secret = "x"\nserver_metadata_url = "http://localhost:{idp_port}/.well-known/openid-configuration"\n'
    )
    return cwd


def run(args: argparse.Namespace) -> dict:
    import logging

    from oidc_provider_mock import User, run_server_in_thread
    from playwright.sync_api import sync_playwright

    from core.access import grant
    from core.dataset import open_dataset
    from core.segments import operations
    from core.segments.model import parse_segment
    from core.segments.urlcodec import encode_segment
    from core.store import AppStore

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the provider's request log
    data = Path(args.data).resolve()
    ds = open_dataset(data)  # builds the cache first, outside any timing
    people = [f"load{i:02d}@brand.com" for i in range(1, args.sessions + 1)]
    city = {p: CITIES[i % len(CITIES)] for i, p in enumerate(people)}
    expected = {(c, n): operations.size(ds, parse_segment(_definition(c, n))).count for c in set(city.values()) for n in range(1, args.rounds + 2)}
    users = ds.total_users
    ds.close()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = AppStore(tmp / "app.db")
        grant(store, "group:load", "operator", None, "bench")
        port = _free_port()
        with run_server_in_thread(user_claims=[User(sub=p, claims={"email": p, "groups": ["load"]}) for p in people]) as idp:
            env = {**os.environ, "ADESK_DATA": str(data), "ADESK_APP_DB": str(tmp / "app.db")}
            proc = _start_server(_server_dir(tmp, port, idp.server_port), env, port)
            url = f"http://127.0.0.1:{port}"
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
                    pages = {p: _open(browser, url, p, encode_segment(parse_segment(_definition(city[p], 1)))) for p in people}
                    times, errors = _rounds(pages, city, expected, args)
                    browser.close()
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    return {
        "dataset": str(data),
        "users": users,
        "sessions": args.sessions,
        "rounds": args.rounds,
        "reruns": len(times),
        "rerun_ms": {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "max": max(times, default=float("nan"))},
        "errors": errors,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": bool(times) and not errors and percentile(times, 0.95) <= TARGET_P95_MS,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(cwd: Path, env: dict, port: int):
    import subprocess
    import sys
    import urllib.request

    app = Path(__file__).resolve().parent / "asgi.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


def _open(browser, url: str, person: str, link: str):
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.goto(f"{url}/builder")
    page.get_by_role("button", name="Sign in").click()
    page.locator(f"button[name='sub'][value='{person}']").click()
    page.wait_for_url(f"{url}/**", timeout=60_000)
    page.goto(f"{url}/builder?s={link}")
    page.wait_for_selector("text=Audience size", timeout=300_000)
    page.wait_for_selector(IDLE, timeout=300_000)
    page.evaluate(OBSERVER)
    return page


def _count_on(page) -> int:
    label = page.locator("[data-testid='stMetricLabel']").filter(has=page.get_by_text("Audience size", exact=True))
    value = page.locator("[data-testid='stMetric']").filter(has=label).locator("[data-testid='stMetricValue']").first
    return int(value.inner_text().replace(",", ""))


def _rounds(pages: dict, city: dict, expected: dict, args: argparse.Namespace) -> tuple[list[float], list[str]]:
    times: list[float] = []
    errors: list[str] = []
    for r in range(2, args.rounds + 2):
        started = {}
        for person, page in pages.items():  # everyone edits at (nearly) the same moment
            box = page.locator("[class*='st-key-'][class*='-count'] input").first
            started[person] = page.evaluate("performance.now()")
            box.fill(str(r))
            box.press("Enter")
        deadline = time.monotonic() + args.timeout
        pending = dict(pages)
        while pending and time.monotonic() < deadline:
            for person, page in list(pending.items()):
                took = page.evaluate(DONE, started[person])
                if took is not None:
                    times.append(float(took))
                    shown, wanted = _count_on(page), expected[(city[person], r)]
                    if shown != wanted:
                        errors.append(f"{person} round {r}: shows {shown:,}, its definition counts {wanted:,}")
                    del pending[person]
            time.sleep(0.05)
        errors += [f"{person} round {r}: no rerun within {args.timeout:.0f} s" for person in pending]
    return times, errors


def render(result: dict) -> str:
    t = result["rerun_ms"]
    lines = [
        f"{result['sessions']} signed-in sessions x {result['rounds']} builder edits on {result['dataset']} ({result['users']:,} users)",
        f"rerun as each person saw it: p50 {t['p50']:.0f} ms, p95 {t['p95']:.0f} ms, max {t['max']:.0f} ms (target p95 <= {result['target_p95_ms']:.0f} ms)",
        f"errors: {len(result['errors'])}" + "".join(f"\n  {e}" for e in result["errors"][:10]),
        "meets target: " + ("yes" if result["meets_target"] else "NO"),
    ]
    return "\n".join(lines)
