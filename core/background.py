"""Work started in a daemon thread once a dataset is open, so a long-lived server has it before a page asks
(the AIPL stage history, the resolved A/B assignments). A failure is logged: the page that needs the answer
computes it again when asked and says what failed then."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


def start(name: str, fn: Callable[[], object], log: logging.Logger, failure: str) -> threading.Thread:
    """Run `fn` in a daemon thread called `name`; an exception is logged as `failure` with its traceback."""

    def work() -> None:
        try:
            fn()
        except Exception:  # noqa: BLE001 - logged; the page computes it again when asked
            log.exception(failure)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread
