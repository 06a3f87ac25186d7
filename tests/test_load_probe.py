"""`adesk bench load`'s server-side probe (dashboard/load_probe.py) and the server setting it measured."""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

from streamlit.runtime.app_session import AppSession
from streamlit.runtime.runtime import Runtime

from dashboard import load_probe

REPO = Path(__file__).resolve().parents[1]


class _Msg:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def WhichOneof(self, _field: str) -> str:  # noqa: N802 - protobuf's name
        return self.kind


def test_the_probe_times_a_rerun_from_its_request_to_its_end_per_session(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(AppSession, "handle_backmsg", lambda self, msg: calls.append(("in", self.id, msg.kind)))
    monkeypatch.setattr(
        Runtime, "_send_message", lambda self, info, msg: calls.append(("out", info.session.id, msg.kind))
    )
    out = tmp_path / "reruns.txt"
    assert load_probe.install(str(out))
    ann, bob = SimpleNamespace(id="ann"), SimpleNamespace(id="bob")
    runtime = SimpleNamespace()
    AppSession.handle_backmsg(ann, _Msg("rerun_script"))
    AppSession.handle_backmsg(bob, _Msg("widget_states"))  # not a rerun request: nothing to time
    Runtime._send_message(runtime, SimpleNamespace(session=ann), _Msg("delta"))
    assert load_probe.read(str(out)) == []  # the run has not ended yet
    Runtime._send_message(runtime, SimpleNamespace(session=bob), _Msg("script_finished"))  # bob asked for no rerun
    Runtime._send_message(runtime, SimpleNamespace(session=ann), _Msg("script_finished"))
    Runtime._send_message(runtime, SimpleNamespace(session=ann), _Msg("script_finished"))  # counted once
    times = load_probe.read(str(out))
    assert len(times) == 1 and times[0] >= 0
    assert load_probe.read(str(out), skip=1) == []
    # the wrapped methods still do their work
    assert [c[0] for c in calls] == ["in", "in", "out", "out", "out", "out"]


def test_the_server_does_not_collect_garbage_after_every_run():
    # Streamlit's default full gc.collect() after each run held the GIL longer than the builder's own
    # run with many people signed in (README, load figures)
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
