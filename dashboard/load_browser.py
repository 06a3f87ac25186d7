"""`adesk bench load`'s browser side: what a page shows, a person's sign-in, and the timed rounds of edits."""

from __future__ import annotations

import argparse
import sys
import time

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
SIZE_SHOWN = "[data-testid='stMetricLabel']:has-text('Audience size')"
# Records, in the page's own clock, the moments Streamlit's run state changes and the moment of the
# latest change on screen. It watches the whole document, not one element: should the app be mounted
# again (a reconnect), its new element is seen too. A fast rerun may go from running to not running
# within one React update, so the run state alone can miss it; the count shown and a quiet screen cannot.
OBSERVER = """() => {
  window.__adeskRuns = [];
  window.__adeskLast = performance.now();
  new MutationObserver((changes) => {
    const now = performance.now();
    window.__adeskLast = now;
    for (const c of changes)
      if (c.type === 'attributes' && c.attributeName === 'data-test-script-state')
        window.__adeskRuns.push([c.target.getAttribute('data-test-script-state'), now]);
  }).observe(document.documentElement, {attributes: true, childList: true, characterData: true, subtree: true});
}"""
# What the page shows now: run state, the audience size, the builder's server time, whether a run began since the edit.
SHOWN = """(since) => {
  const app = document.querySelector("[data-testid='stApp']");
  const metric = [...document.querySelectorAll("[data-testid='stMetric']")]
    .find(m => (m.querySelector("[data-testid='stMetricLabel']")?.innerText || '').trim() === 'Audience size');
  const value = metric?.querySelector("[data-testid='stMetricValue']")?.innerText || '';
  const caption = [...document.querySelectorAll("[data-testid='stCaptionContainer']")]\
.find(c => c.innerText.includes('(server time)'));
  const ms = caption ? caption.innerText.match(/([\\d,.]+) ms/) : null;
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    count: value ? parseInt(value.replace(/[^0-9]/g, ''), 10) : null,
    server_ms: ms ? parseFloat(ms[1].replace(/,/g, '')) : null,
    ran: (window.__adeskRuns || []).some(r => r[0] === 'running' && r[1] >= since),
    last: (window.__adeskLast || 0) - since,
    quiet: performance.now() - (window.__adeskLast || 0),
    status: document.querySelector("[data-testid='stStatusWidget']")?.innerText || '',
  };
}"""
QUIET_MS = 300  # a rerun is over when the run state is "not running" and nothing on screen changed for this long


class LoadStalled(Exception):
    """The run could not go on (a sign-in, a first count or a round did not finish in time); says where."""


def say(text: str) -> None:
    """Progress on stderr, so a long run shows where it is (stdout keeps the figures / the JSON)."""
    sys.stderr.write(f"[load {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def open_person(browser, url: str, person: str, link: str, timeout_s: float, playwright_error: type):
    """Sign `person` in and open the builder on their definition; LoadStalled naming the step that did not finish."""
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(timeout_s * 1000)
    step = "open the sign-in page"
    try:
        page.goto(f"{url}/builder")
        page.get_by_role("button", name="Sign in").click()
        step = "sign in at the provider"
        page.locator(f"button[name='sub'][value='{person}']").click()
        page.wait_for_url(f"{url}/**")
        step = "show the builder's first count"
        page.goto(f"{url}/builder?s={link}")
        page.wait_for_selector(SIZE_SHOWN)
        page.wait_for_selector(IDLE)
    except playwright_error as err:
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise LoadStalled(
            f"{person}: could not {step} within {timeout_s:.0f} s (at {page.url}): {first_line}"
        ) from None
    page.evaluate(OBSERVER)
    return page


def run_rounds(
    pages: dict, city: dict, expected: dict, args: argparse.Namespace
) -> tuple[dict[str, list[float]], list[str]]:
    """Every person edits at (nearly) the same moment; each edit is timed in its page: edit to last change on screen."""
    times: list[float] = []
    builder: list[float] = []
    errors: list[str] = []
    for r in range(2, args.rounds + 2):
        started = {}
        t0 = time.monotonic()
        for person, page in pages.items():
            box = page.locator("[class*='st-key-'][class*='-count'] input").first
            started[person] = page.evaluate("performance.now()")
            box.fill(str(r))
            box.press("Enter")
        deadline = time.monotonic() + args.timeout
        pending = dict(pages)
        last: dict[str, dict] = {}
        while pending and time.monotonic() < deadline:
            for person, page in list(pending.items()):
                shown = last[person] = page.evaluate(SHOWN, started[person])
                wanted = expected[(city[person], r)]
                if (
                    shown["state"] != "notRunning"
                    or shown["quiet"] < QUIET_MS
                    or not (shown["ran"] or shown["count"] == wanted)
                ):
                    continue  # not yet run, or still running or drawing
                times.append(float(shown["last"]))
                if shown["server_ms"] is not None:
                    builder.append(float(shown["server_ms"]))

                if shown["count"] != wanted:
                    errors.append(f"{person} round {r}: shows {shown['count']}, its definition counts {wanted:,}")
                del pending[person]
            time.sleep(
                0.25
            )  # the time is read in the page's clock: polling less often costs no precision, and less browser CPU
        errors += [
            f"{person} round {r}: no rerun within {args.timeout:.0f} s (the page: {last.get(person)})"
            for person in pending
        ]
        done = times[-(len(pages) - len(pending)) :] if len(pages) > len(pending) else []
        say(f"round {r - 1}/{args.rounds}: {len(pages) - len(pending)}/{len(pages)} reruns, "
            f"slowest {max(done, default=0):.0f} ms, {time.monotonic() - t0:.1f} s in all")  # fmt: skip
        if len(pending) == len(pages):
            raise LoadStalled(
                f"round {r - 1}: no session finished a rerun within {args.timeout:.0f} s: " + "; ".join(errors[-3:])
            )
    return {"screen": times, "builder": builder}, errors
