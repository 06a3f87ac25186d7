"""A Spark computation the app can watch and stop: run on a worker thread under a job tag of its own.

`SparkJob(spark, fn).start()` runs `fn()` on a thread whose Spark jobs carry the job's tag;
`progress()` is (tasks done, tasks known) over those jobs so far, `cancel()` stops them on the
cluster while the other queries of the shared session go on, `result()` gives `fn`'s answer or
raises its error. A count is several Spark jobs, each known only when it starts, so the tasks known
grow as it runs: the fraction is a sign of life, not a forecast.

Local Spark: the thread's job group, read back through Spark's status tracker, and cancelled by
group. Spark Connect (`ADESK_SPARK_REMOTE=sc://…`): the client's progress handler, which Spark
calls on the thread running the query with its operation's stages, and `interruptTag`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

_JOBS: dict[int, SparkJob] = {}  # worker thread id -> its job (the Connect progress handler's lookup)
_HANDLED: set[int] = set()  # Connect sessions the handler is registered on
_LOCK = threading.Lock()


def is_connect(spark: Any) -> bool:
    """Whether `spark` is a Spark Connect client session (no SparkContext in this process)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def _on_progress(stages, inflight_tasks: int, operation_id: str | None, done: bool, **_: object) -> None:
    """Spark Connect's progress handler: the stages of the operation this thread runs, kept by its job."""
    job = _JOBS.get(threading.get_ident())
    if job is None or stages is None:
        return
    with _LOCK:
        for stage in stages:
            job.stages[(operation_id or "", stage.stage_id)] = (stage.num_completed_tasks, stage.num_tasks)


class SparkJob:
    """`fn()` on a worker thread with its Spark jobs tagged: progress, cancel, result."""

    def __init__(self, spark: Any, fn: Callable[[], Any]) -> None:
        self.spark = spark
        self.fn = fn
        self.tag = f"adesk-{uuid.uuid4().hex[:16]}"
        self.connect = is_connect(spark)
        self.stages: dict[tuple[str, int], tuple[int, int]] = {}  # Connect: (operation, stage) -> (done, total)
        self.cancelled = False
        self._done = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=self.tag, daemon=True)

    def start(self) -> SparkJob:
        if self.connect:
            with _LOCK:
                if id(self.spark) not in _HANDLED:
                    self.spark.registerProgressHandler(_on_progress)
                    _HANDLED.add(id(self.spark))
        self.thread.start()
        return self

    def _run(self) -> None:
        _JOBS[threading.get_ident()] = self
        try:
            if self.connect:
                self.spark.addTag(self.tag)  # this thread's operations only (the client's tags are per thread)
            else:  # a thread's job group is its own (PySpark pins each Python thread to a JVM thread)
                self.spark.sparkContext.setJobGroup(self.tag, "Audience Desk: a count", interruptOnCancel=True)
            self._value = self.fn()
        except BaseException as err:  # noqa: BLE001 - handed to the caller by result()
            self._error = err
        finally:
            if self.connect:
                self.spark.removeTag(self.tag)
            _JOBS.pop(threading.get_ident(), None)
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, seconds: float) -> bool:
        """Whether the job has finished, waiting up to `seconds`."""
        return self._done.wait(seconds)

    def progress(self) -> tuple[int, int]:
        """(tasks done, tasks known) over the job's Spark jobs so far (best effort: (0, 0) when unknown)."""
        if self.connect:
            with _LOCK:
                figures = list(self.stages.values())
            return sum(d for d, _ in figures), sum(t for _, t in figures)
        try:
            tracker = self.spark.sparkContext.statusTracker()
            done = total = 0
            for job_id in tracker.getJobIdsForGroup(self.tag):
                info = tracker.getJobInfo(job_id)
                for stage_id in info.stageIds if info is not None else ():
                    stage = tracker.getStageInfo(stage_id)
                    if stage is None:
                        continue
                    total += stage.numTasks
                    # a finished job's skipped stages (their shuffle output reused) count as done
                    done += stage.numTasks if info.status == "SUCCEEDED" else stage.numCompletedTasks
            return done, total
        except Exception:  # noqa: BLE001 - progress is best effort; the count goes on
            return 0, 0

    def cancel(self) -> None:
        """Stop the job's Spark work (its thread then ends with Spark's cancellation error)."""
        self.cancelled = True
        threading.Thread(target=self._keep_cancelling, name=f"{self.tag}-cancel", daemon=True).start()

    def _keep_cancelling(self) -> None:
        # a count is several Spark jobs: one started just after a cancel is cancelled too, until fn gives up
        while not self._done.is_set():
            try:
                if self.connect:
                    self.spark.interruptTag(self.tag)
                else:
                    self.spark.sparkContext.cancelJobGroup(self.tag)
            except Exception:  # noqa: BLE001 - a session closing under us: nothing left to stop
                return
            self._done.wait(0.2)

    def result(self) -> Any:
        """`fn`'s answer, or its error raised (call once `done`)."""
        if self._error is not None:
            raise self._error
        return self._value
