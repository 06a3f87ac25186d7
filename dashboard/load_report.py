"""`adesk bench load`'s report: the figures of a run (spreads, CPU, errors, the target) and their text."""

from __future__ import annotations

import argparse

from core.bench import percentile

TARGET_P95_MS = 1000.0


def spread(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile and maximum of the times (ms)."""
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95), "max": max(values, default=float("nan"))}


def summary(
    data, users: int, args: argparse.Namespace, measured: dict[str, list[float]], cpu_s: dict, errors: list[str]
) -> dict:
    """The run's result (what `--json` prints): the three times per edit as spreads, CPU, errors, the target."""
    return {
        "dataset": str(data),
        "users": users,
        "sessions": args.sessions,
        "rounds": args.rounds,
        "reruns": len(measured["screen"]),
        # edit to the last change on the page's screen, in the page's clock (with the browser's own work)
        "rerun_ms": spread(measured["screen"]),
        # the rerun request's arrival at the server to its last message sent, in the server's clock
        "server_ms": spread(measured["server"]),
        "server_reruns": len(measured["server"]),
        # the builder's own "Updated in N ms (server time)": its fragment's run inside the server
        "builder_ms": spread(measured["builder"]),
        "cpu_s": cpu_s,
        "errors": errors,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": bool(measured["screen"])
        and not errors
        and percentile(measured["screen"], 0.95) <= TARGET_P95_MS,
        "server_meets_target": bool(measured["server"])
        and not errors
        and percentile(measured["server"], 0.95) <= TARGET_P95_MS,
    }


def render(result: dict) -> str:
    t = result["rerun_ms"]
    lines = [
        f"{result['sessions']} signed-in sessions x {result['rounds']} builder edits on {result['dataset']} "
        f"({result['users']:,} users)",
        f"rerun as each person saw it: p50 {t['p50']:.0f} ms, p95 {t['p95']:.0f} ms, max {t['max']:.0f} ms "
        f"(target p95 <= {result['target_p95_ms']:.0f} ms)",
        "CPU over the timed rounds: {server:.0f} s server, {browsers:.0f} s browsers, in {wall:.0f} s wall time".format(
            **result["cpu_s"]
        ),
        (
            "the server's answer (request in to the run's last message out, server clock): "
            "p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max:.0f} ms"
        ).format(**result["server_ms"]),
        "the builder's own run in the server: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max:.0f} ms".format(
            **result["builder_ms"]
        ),
        f"errors: {len(result['errors'])}" + "".join(f"\n  {e}" for e in result["errors"][:10]),
        "meets target: "
        + ("yes" if result["meets_target"] else "NO")
        + "; the server's answer alone: "
        + ("yes" if result["server_meets_target"] else "NO"),
    ]
    return "\n".join(lines)
