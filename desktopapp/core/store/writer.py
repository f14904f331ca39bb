"""The one thread that writes to the database (DESIGN "Threads").

Camera workers and the UI submit jobs; the writer runs them one at a time against a resource it
created on its own thread (a VisitRecorder holding the connection), so SQLite never sees two
writers from this process and no caller waits on disk I/O.

A job that fails because of the database file's condition (locked by another program, disk
full, read-only, a disk error: ``StoreError``) rolled back, so it is kept, in order with the
jobs after it, and tried again with a growing pause until the condition clears; ``health()``
says what is wrong meanwhile. At most ``max_pending`` jobs wait in memory; beyond that the
oldest are given up and counted. Any other failure is a bug in the job: it is logged and its
future carries the exception.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from desktopapp.core.store.db import DB_FILE, StoreError, store_error

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# A track event is a few kilobytes (features and a path): this many is tens of megabytes, hours
# of visits in a busy store.
MAX_PENDING = 5000


class JobDroppedError(Exception):
    """The job waited for the database longer than the writer could hold it, or the writer was
    closed while the database was still unusable."""


@dataclass(frozen=True, slots=True)
class WriterHealth:
    problem: StoreError | None  # why jobs are waiting; None when writing works
    pending: int  # jobs waiting to be written
    dropped: int  # jobs given up since the writer started


class StoreWriter(Generic[T]):
    def __init__(
        self,
        create: Callable[[], T],
        *,
        retry_initial: float = 1.0,
        retry_max: float = 30.0,
        max_pending: int = MAX_PENDING,
        path: Path = Path(DB_FILE),
    ):
        self._create = create
        self._retry_initial = retry_initial
        self._retry_max = max(retry_initial, retry_max)
        self._max_pending = max_pending
        self._path = path  # names the file in errors that do not
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._lock = threading.Lock()
        self._queue: deque[tuple[Callable[[T], Any], Future[Any]]] = deque()
        self._resource: Future[T] = Future()
        self._problem: StoreError | None = None
        self._failures = 0
        self._dropped = 0
        self._retry: threading.Timer | None = None
        self._closing = False
        self._executor.submit(self._drain)

    def ready(self, timeout: float | None = None) -> T:
        """The resource, once created (raises what its creation raised, unless that was a
        StoreError: creation is then retried like a job)."""
        return self._resource.result(timeout)

    def health(self) -> WriterHealth:
        with self._lock:
            return WriterHealth(self._problem, len(self._queue), self._dropped)

    def submit(self, job: Callable[[T], R]) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            if len(self._queue) >= self._max_pending:
                _old, lost = self._queue.popleft()
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 100 == 0:
                    log.error("the database is unusable: %d records given up", self._dropped)
                lost.set_exception(JobDroppedError("too many records waiting for the database"))
            self._queue.append((job, future))
            waiting = self._retry is not None
        future.add_done_callback(_log_failure)
        if not waiting:  # during an outage the retry timer drains the queue
            self._executor.submit(self._drain)
        return future

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued jobs (one last try if the database is unusable), then stop."""
        with self._lock:
            self._closing = True
            retry, self._retry = self._retry, None
        if retry is not None:
            retry.cancel()
            self._executor.submit(self._drain)
        self._executor.shutdown(wait=True)
        with self._lock:
            left = list(self._queue)
            self._queue.clear()
            problem = self._problem
        if left:
            log.error("%d records could not be written before closing: %s", len(left), problem)
            for _job, future in left:
                future.set_exception(JobDroppedError(f"closed while waiting: {problem}"))

    # the writer thread

    def _get_resource(self) -> T:
        if not self._resource.done():
            try:
                created = self._create()
            except Exception as exc:
                if self._transient(exc) is not None:
                    raise
                self._resource.set_exception(exc)
                raise
            self._resource.set_result(created)
        return self._resource.result()

    def _transient(self, exc: Exception) -> StoreError | None:
        """The database's condition behind ``exc``, if that is what failed (then the job rolled
        back and may be tried again)."""
        if isinstance(exc, StoreError | sqlite3.Error | OSError):
            return store_error(exc, self._path)
        return None

    def _drain(self) -> None:
        while True:
            with self._lock:
                head = self._queue[0] if self._queue else None
            try:
                resource = self._get_resource()
                if head is None:
                    return
                job, future = head
                result = job(resource)
            except Exception as exc:
                problem = self._transient(exc)
                if problem is not None:
                    self._wait_for(problem)
                    return
                if head is None:
                    return  # creation failed for good: every job will say why
                self._finish(head[1], error=exc)
            else:
                self._recovered()
                self._finish(future, result=result)

    def _finish(self, future: Future[Any], *, result: Any = None, error: Any = None) -> None:
        with self._lock:
            if self._queue and self._queue[0][1] is future:
                self._queue.popleft()
        if future.done():  # given up meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _wait_for(self, problem: StoreError) -> None:
        with self._lock:
            self._failures += 1
            first = self._problem is None
            self._problem = problem
            if self._closing:
                return
            delay = min(self._retry_max, self._retry_initial * 2 ** (self._failures - 1))
            timer = threading.Timer(delay, self._retry_now)
            timer.daemon = True
            self._retry = timer
        log.log(
            logging.ERROR if first else logging.DEBUG,
            "cannot write to the database, keeping %d records and retrying in %.1f s: %s",
            len(self._queue),
            delay,
            problem,
        )
        timer.start()

    def _retry_now(self) -> None:
        with self._lock:
            self._retry = None
            if self._closing:
                return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            self._executor.submit(self._drain)

    def _recovered(self) -> None:
        with self._lock:
            if self._problem is None:
                return
            self._problem = None
            self._failures = 0
            waiting = len(self._queue)
        log.warning("the database can be written again; %d records waiting", waiting)


def _log_failure(future: Future[Any]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    # Records given up are counted and logged together, not one line each.
    if error is not None and not isinstance(error, JobDroppedError):
        log.error("store write failed: %r", error)
