"""`adesk bench load`: many signed-in people editing the Segment Builder at once, against a real server.

A real server (dashboard/asgi.py, as `adesk serve` runs it) with sign-in through a local OpenID provider
(oidc-provider-mock); N people, each in their own browser context (headless Chromium), sign in and
open the builder; then in every round each of them changes the event count of the definition at the
same moment. Three times per edit: as the person saw it (edit to the last change on their screen, read
in their page), the server's answer (request in to the run's last message out, in the server's clock:
dashboard/load_probe.py), and the builder's own run ("Updated in N ms (server time)"); with the CPU
the server and the browsers spent, since both share this machine. Each person's count is checked
against the same definition counted in this process, so a session that shows another's state fails.
Progress goes to stderr; a sign-in, first count or round that does not finish in time ends the run
with exit 1 naming the step and the end of the server's log. Needs the test extra (Playwright,
oidc-provider-mock), psutil and Debian's chromium. The browser side (what a page shows, sign-in, the
rounds) is dashboard/load_browser.py; the figures and their text dashboard/load_report.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dashboard.load_browser import CHROMIUM, LAUNCH_ARGS, LoadStalled, open_person, run_rounds, say
from dashboard.load_report import render, summary

__all__ = ["add_arguments", "render", "run"]  # the bench module's interface (dashboard/commands/bench.py)

# Each person gets their own city, so their counts differ and a leak between sessions shows.
CITIES = (
    "Shanghai",
    "Beijing",
    "Guangzhou",
    "Shenzhen",
    "Hangzhou",
    "Chengdu",
    "Wuhan",
    "Nanjing",
    "Chongqing",
    "Tianjin",
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="?", default=os.environ.get("ADESK_DATA", "data/demo"), help="dataset directory")
    p.add_argument("--sessions", type=int, default=20, help="people editing at once (default 20)")
    p.add_argument("--rounds", type=int, default=10, help="edits per person (default 10)")
    p.add_argument("--timeout", type=float, default=120, help="seconds to wait for one round (default 120)")
    p.add_argument(
        "--open-timeout",
        type=float,
        default=180,
        help="seconds for one person to sign in and see a count (default 180)",
    )
    p.add_argument(
        "--server-log",
        default=None,
        help="where the server's output goes (default: a temporary file, named in the progress)",
    )


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
        f'[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "load-bench-secret-0123456789abcdef"\n'
        'client_id = "audience-desk"\nclient_secret = "x"\n'
        f'server_metadata_url = "http://localhost:{idp_port}/.well-known/openid-configuration"\n'
    )
    return cwd


def run(args: argparse.Namespace) -> dict:
    try:
        return _run(args)
    except LoadStalled as err:
        raise SystemExit(f"adesk bench load: {err}") from None  # exit 1 with the reason on stderr


def _run(args: argparse.Namespace) -> dict:
    import logging

    from oidc_provider_mock import User, run_server_in_thread
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from core.access import grant
    from core.dataset import open_dataset
    from core.segments import operations
    from core.segments.model import parse_segment
    from core.segments.urlcodec import encode_segment
    from core.store import AppStore
    from dashboard import load_probe

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the provider's request log
    data = Path(args.data).resolve()
    started = time.monotonic()
    ds = open_dataset(data)  # builds the cache first, outside any timing
    people = [f"load{i:02d}@brand.com" for i in range(1, args.sessions + 1)]
    city = {p: CITIES[i % len(CITIES)] for i, p in enumerate(people)}
    expected = {
        (c, n): operations.size(ds, parse_segment(_definition(c, n))).count
        for c in set(city.values())
        for n in range(1, args.rounds + 2)
    }
    users = ds.total_users
    ds.close()
    say(f"{users:,} users; {len(expected)} expected counts computed in {time.monotonic() - started:.0f} s")
    log_path = (
        Path(args.server_log) if args.server_log else Path(tempfile.mkstemp(prefix="adesk-load-", suffix=".log")[1])
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = AppStore(tmp / "app.db")
        grant(store, "group:load", "operator", None, "bench")
        port = _free_port()
        with run_server_in_thread(
            user_claims=[User(sub=p, claims={"email": p, "groups": ["load"]}) for p in people]
        ) as idp:
            probe = str(tmp / "reruns.txt")  # the server's own time of each rerun (dashboard/load_probe.py)
            env = {
                **os.environ,
                "ADESK_DATA": str(data),
                "ADESK_APP_DB": str(tmp / "app.db"),
                "ADESK_LOAD_PROBE": probe,
            }
            proc = _start_server(_server_dir(tmp, port, idp.server_port), env, port, log_path)
            url = f"http://127.0.0.1:{port}"
            say(f"server up at {url}; its log: {log_path}")
            try:
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
                    pages = {}
                    for n, person in enumerate(people, 1):
                        t0 = time.monotonic()
                        link = encode_segment(parse_segment(_definition(city[person], 1)))
                        pages[person] = open_person(browser, url, person, link, args.open_timeout, PlaywrightError)
                        say(f"{n}/{len(people)} {person} signed in and sees a count ({time.monotonic() - t0:.1f} s)")
                    _browsers_yield(proc.pid)
                    _wait_idle(proc.pid)
                    cpu = _Cpu(proc.pid)
                    before = len(load_probe.read(probe))
                    measured, errors = run_rounds(pages, city, expected, args)
                    measured["server"] = load_probe.read(probe, skip=before)
                    cpu_s = cpu.spent()
                    browser.close()
            except LoadStalled as err:
                raise LoadStalled(f"{err}\nthe server's log ({log_path}) ends:\n{_tail(log_path)}") from None
            finally:
                proc.terminate()
                proc.wait(timeout=20)
    return summary(data, users, args, measured, cpu_s, errors)


class _Cpu:
    """CPU seconds since creation of the server process and of this process's other children (the browsers)."""

    def __init__(self, server_pid: int) -> None:
        import psutil

        self.server = psutil.Process(server_pid)
        self.wall = time.monotonic()
        self.start = self._now()

    def _now(self) -> tuple[float, float]:
        import psutil

        browsers = 0.0
        for child in psutil.Process().children(recursive=True):
            if child.pid != self.server.pid:
                try:
                    t = child.cpu_times()
                    browsers += t.user + t.system + t.children_user + t.children_system
                except psutil.Error:
                    continue  # a renderer that just exited
        t = self.server.cpu_times()
        return t.user + t.system, browsers

    def spent(self) -> dict[str, float]:
        (s1, b1), (s0, b0) = self._now(), self.start
        return {
            "wall": round(time.monotonic() - self.wall, 1),
            "server": round(s1 - s0, 1),
            "browsers": round(b1 - b0, 1),
        }


def _browsers_yield(server_pid: int) -> None:
    """The browsers (and Playwright's driver) at low CPU priority: on a real team each runs on its own
    machine; here they share the server's cores, and the server's answer should not wait for their drawing."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        if child.pid != server_pid:
            try:
                child.nice(10)
            except psutil.Error:
                continue


def _wait_idle(server_pid: int, limit: float = 300.0) -> None:
    """Until the server is idle (its background bitmap builds done), as it is after its first minutes."""
    import psutil

    server = psutil.Process(server_pid)
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(server.cpu_times()[:2])
        time.sleep(2.0)
        if sum(server.cpu_times()[:2]) - before < 0.2:
            say(f"server idle after {time.monotonic() - started:.0f} s of background work")
            return
    say(f"server still busy after {limit:.0f} s; timing anyway")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty)"
    except OSError:
        return "(unreadable)"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(cwd: Path, env: dict, port: int, log_path: Path):
    import subprocess
    import urllib.request

    app = Path(__file__).resolve().parent / "asgi.py"
    cmd = [sys.executable, "-m", "dashboard.load_probe", "run", str(app), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise LoadStalled(f"the server did not start; its log ({log_path}) ends:\n{_tail(log_path)}")
