"""`python -m dashboard.load_probe run APP …`: `streamlit run` timing each rerun in the server, for `adesk bench load`.

Every line appended to the file named by $ADESK_LOAD_PROBE is one rerun: the milliseconds from its
request's arrival at the server to the sending of that run's last message ("script finished"), in
the server's own clock — the queue for a script thread, the run, and sending every element to the
browser, but none of the browser's drawing. It wraps two Streamlit methods (internal ones, so a
Streamlit that renamed them runs unprobed and the bench reports no server figures); only the bench
starts the server this way.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def install(path: str) -> bool:
    """Wrap Streamlit's receiving of a rerun request and its sending of a run's end; False if they are not there."""
    from streamlit.runtime.app_session import AppSession
    from streamlit.runtime.runtime import Runtime

    handle = getattr(AppSession, "handle_backmsg", None)
    send = getattr(Runtime, "_send_message", None)
    if handle is None or send is None:
        return False
    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the server's life, a line per rerun
    lock = threading.Lock()
    arrived: dict[str, float] = {}

    def handle_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script":
            arrived[self.id] = time.perf_counter()
        return handle(self, msg)

    def send_message(self, session_info, msg):
        result = send(self, session_info, msg)
        if msg.WhichOneof("type") == "script_finished":
            started = arrived.pop(session_info.session.id, None)
            if started is not None:
                with lock:
                    out.write(f"{(time.perf_counter() - started) * 1000:.1f}\n")
        return result

    AppSession.handle_backmsg = handle_backmsg
    setattr(Runtime, "_send_message", send_message)  # noqa: B010 - a private method of Streamlit's, said plainly
    return True


def read(path: str, skip: int = 0) -> list[float]:
    """The probe's rerun times, after the first `skip` of them."""
    try:
        with open(path) as f:
            return [float(line) for line in f.read().splitlines()[skip:] if line.strip()]
    except OSError:
        return []


if __name__ == "__main__":
    install(os.environ["ADESK_LOAD_PROBE"])
    from streamlit.web.cli import main

    sys.argv = ["streamlit", *sys.argv[1:]]
    main()
