"""A Spark cursor's interrupt stops its own Spark work only, on real (local) Spark.

Two cursors of the same Spark dataset run a slow query each (a cross join of `range`: a few seconds
on 2 cores) on two threads; interrupting the first ends it with Spark's cancellation while the second
finishes with the right answer, computed here by formula. With the session's `interruptAll` (the old
interrupt) the second query was cancelled too. An export cancelled on Spark stops its own copy the same
way, and another user's query goes on.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from core.engine.spark_progress import SparkJob
from core.export import ExportOptions, plan_export, write_export
from core.problems import EngineError
from core.roles import RoleInfo
from core.segments.model import Segment
from core.store import AppStore

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

N = 30_000  # N² = 900 M pairs: a few seconds of Spark's work on 2 cores


def slow_sql(n: int = N) -> str:
    """DuckDB SQL (what core gives a cursor): the pairs (i, j) of [0, n)² with i + j ≡ 3 (mod 7)."""
    return f"SELECT count(*) AS pairs FROM range({n}) AS a(i) CROSS JOIN range({n}) AS b(j) WHERE (a.i + b.j) % 7 = 3"


def pairs(n: int = N) -> int:
    """The slow query's answer by formula: c(r) numbers of [0, n) are ≡ r (mod 7); pair r with 3 - r."""

    def c(r: int) -> int:
        return n // 7 + (1 if r < n % 7 else 0)

    return sum(c(r) * c((3 - r) % 7) for r in range(7))


def in_thread(fn) -> tuple[threading.Thread, dict[str, Any]]:
    """`fn()` on a started thread; its answer (or error) and the seconds it took land in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        start = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - looked at by the test
            out["error"] = err
        out["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def wait_for_jobs(spark, count: int, timeout: float = 20.0) -> None:
    """Wait until `count` Spark jobs run at once (both queries are on Spark, not still being planned)."""
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + timeout
    while len(tracker.getActiveJobsIds()) < count:
        assert time.monotonic() < deadline, f"fewer than {count} Spark jobs ran within {timeout} s"
        time.sleep(0.05)


def spark_cause(err: BaseException) -> str:
    """The text of the error and its causes (Spark's own error is the cause of core's EngineError)."""
    texts = []
    while err is not None:
        texts.append(str(err))
        err = err.__cause__ or err.__context__
    return "\n".join(texts)


def test_interrupt_stops_only_its_own_cursor(spark_demo):
    _ds, sd = spark_demo
    first, second = sd.cursor(), sd.cursor()
    t1, out1 = in_thread(lambda: first.execute(slow_sql()).fetchone())
    t2, out2 = in_thread(lambda: second.execute(slow_sql()).fetchone())
    wait_for_jobs(sd.spark, 2)
    time.sleep(0.3)
    assert t1.is_alive() and t2.is_alive(), "a query ended before the interrupt: make N larger"
    started = time.monotonic()
    first.interrupt()
    t1.join(20)
    stopped_in = time.monotonic() - started
    second_running = t2.is_alive()
    t2.join(30)
    assert not t1.is_alive() and not t2.is_alive()
    # the other cursor's query went on (the session's interruptAll cancelled it too) and answers right
    assert "error" not in out2, spark_cause(out2["error"])
    assert out2["value"] == (pairs(),)
    assert second_running, "the second query should still have been running when the first was stopped"
    # the first ended promptly with Spark's cancellation of this cursor's tag, as core's EngineError
    assert stopped_in < 5, "the interrupted query did not stop promptly"
    assert "value" not in out1
    assert isinstance(out1["error"], EngineError) and "cancelled" in str(out1["error"])
    # Spark's cancellation of its tag as the cause, or (the interrupt falling between two of its actions,
    # as under load in CI) the next action refused at once, with no Spark error behind it
    cause = spark_cause(out1["error"])
    assert ("SPARK_JOB_CANCELLED" in cause and first.tag in cause) or out1["error"].__cause__ is None
    first.close()
    second.close()


def test_an_interrupted_cursor_fails_at_once_and_others_still_run(spark_demo):
    _ds, sd = spark_demo
    cur = sd.cursor()
    cur.interrupt()  # nothing of it runs: no Spark work is stopped, and it stays interrupted
    started = time.monotonic()
    with pytest.raises(EngineError, match="cancelled"):
        cur.execute(slow_sql()).fetchone()
    assert time.monotonic() - started < 1
    other = sd.cursor()
    assert other.execute(slow_sql(100)).fetchone() == (pairs(100),)
    assert other.execute(slow_sql(100)).df()["pairs"].tolist() == [pairs(100)]


def test_a_cursor_leaves_the_thread_as_it_found_it(spark_demo):
    """The cursor's tag is added to the thread's (a builder count's job group stays) and removed after."""
    _ds, sd = spark_demo
    sc = sd.spark.sparkContext

    def count_in_a_job() -> tuple:
        cur = sd.cursor()
        answer = cur.execute(slow_sql(100)).fetchone()
        return answer, sc.getJobTags(), sc.getLocalProperty("spark.jobGroup.id"), cur.tag

    job = SparkJob(sd.spark, count_in_a_job).start()
    assert job.wait(30)
    answer, tags, group, tag = job.result()
    assert answer == (pairs(100),) and tag not in tags and group == job.tag
    # a SparkJob's cancel (its job group) still stops a cursor's query run inside it
    cancelled = SparkJob(sd.spark, lambda: sd.cursor().execute(slow_sql()).fetchone()).start()
    wait_for_jobs(sd.spark, 1)
    cancelled.cancel()
    assert cancelled.wait(20)
    with pytest.raises(Exception, match="cancelled"):
        cancelled.result()


def test_a_cancelled_export_on_spark_stops_its_copy_only(spark_demo, tmp_path):
    _ds, sd = spark_demo
    store = AppStore(tmp_path / "app.db")
    plan = plan_export(sd, Segment(), ExportOptions(), role=RoleInfo("none", "test"))
    other = sd.cursor()
    t2, out2 = in_thread(lambda: other.execute(slow_sql()).fetchone())
    wait_for_jobs(sd.spark, 1)
    seen: list[str] = []

    def progress(at: str, fraction) -> None:
        seen.append(at)
        raise KeyboardInterrupt  # the user gave up (or the progress display failed)

    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        write_export(sd, plan, store, out=out / "a.csv", progress=progress)
    assert seen == ["writing"]  # stopped while Spark computed the rows: the cursor was interrupted
    assert not out.exists() or list(out.iterdir()) == []
    assert store.get_export(plan.export_id).status == "failed"
    assert t2.is_alive(), "the other query should still have been running when the export was cancelled"
    t2.join(30)
    assert "error" not in out2, spark_cause(out2["error"])
    assert out2["value"] == (pairs(),)
