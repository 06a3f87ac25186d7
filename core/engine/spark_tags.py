"""Spark work under a tag of its own, so that it can be stopped alone.

A `TaggedWork` runs each Spark action inside `running()` on the calling thread: the tag is added to what the
thread already carries (a builder count's job group stays) and removed after. Local Spark: a job tag, with the
tasks' threads interrupted on cancel (the thread's setting restored after); Spark Connect: an operation tag
(the client's are per thread). `interrupt()`, from any thread, cancels that tag only — the session's other
queries (other people's) go on — and any later action fails at once.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from core.engine.spark_progress import is_connect

_INTERRUPT_ON_CANCEL = "spark.job.interruptOnCancel"  # the local property setInterruptOnCancel sets


class TaggedWork:
    """The Spark actions of one owner (a cursor), under one tag."""

    def __init__(self, session: Callable[[], Any], prefix: str) -> None:
        self._session = session  # the SparkSession, read when an action runs
        self.tag = f"{prefix}-{uuid.uuid4().hex[:16]}"
        self.interrupted = False
        self._active = 0  # the owner's Spark actions running now (on any thread)
        self._state = threading.Condition()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """One Spark action on this thread, under the tag; once interrupted, it fails at once.

        Tags are added to what the thread already carries (a builder count's job group stays), and
        removed after. Local Spark: a job tag, with the tasks' threads interrupted on cancel (the
        thread's setting is restored after); Spark Connect: an operation tag (the client's are per thread).
        """
        with self._state:
            if self.interrupted:
                raise cancelled()
            self._active += 1
        spark = self._session()
        connect = is_connect(spark)
        before: str | None = None
        try:
            if connect:
                spark.addTag(self.tag)
            else:
                sc = spark.sparkContext
                before = sc.getLocalProperty(_INTERRUPT_ON_CANCEL)
                sc.addJobTag(self.tag)
                sc.setInterruptOnCancel(True)
            try:
                yield
            except Exception as err:
                if self.interrupted:  # Spark's cancellation (or what it left half done): said plainly
                    raise cancelled() from err
                raise
        finally:
            try:
                if connect:
                    spark.removeTag(self.tag)
                else:
                    sc = spark.sparkContext
                    sc.removeJobTag(self.tag)
                    sc.setLocalProperty(_INTERRUPT_ON_CANCEL, before)
            finally:
                with self._state:
                    self._active -= 1
                    self._state.notify_all()

    def interrupt(self) -> None:
        """Stop this work's Spark jobs (only its tag: the session's other queries go on).

        Its running action ends with an EngineError, and so does any later one at once. Cancelling
        goes on (every 0.2 s) while one of its actions still runs: one whose Spark job starts just
        after a cancel (a query is several jobs) is cancelled too.
        """
        with self._state:
            self.interrupted = True
            if self._active == 0:
                return
        self._cancel_tag()
        threading.Thread(target=self._keep_cancelling, name=f"{self.tag}-cancel", daemon=True).start()

    def _cancel_tag(self) -> bool:
        """Cancel the tag's Spark work once; False when the session is gone (nothing left to stop)."""
        spark = self._session()
        try:
            if is_connect(spark):
                spark.interruptTag(self.tag)
            else:
                spark.sparkContext.cancelJobsWithTag(self.tag)
        except Exception:  # noqa: BLE001 - a session closing under us
            return False
        return True

    def _keep_cancelling(self) -> None:
        while True:
            with self._state:
                if self._state.wait_for(lambda: self._active == 0, 0.2):
                    return
            if not self._cancel_tag():
                return


def cancelled() -> Exception:
    """The error of an interrupted action (core's EngineError, as spark_errors() gives)."""
    from core.problems import EngineError as QueryError

    return QueryError("Spark could not answer: the query was cancelled")
