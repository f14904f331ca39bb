"""The one thread that writes to the database (DESIGN "Threads").

Camera workers and the UI submit jobs; the writer runs them one at a time against a resource it
created on its own thread (a VisitRecorder holding the connection), so SQLite never sees two
writers from this process and no caller waits on disk I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class StoreWriter(Generic[T]):
    def __init__(self, create: Callable[[], T]):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._resource: Future[T] = self._executor.submit(create)

    def ready(self, timeout: float | None = None) -> T:
        """The resource, once created (raises what its creation raised)."""
        return self._resource.result(timeout)

    def submit(self, job: Callable[[T], R]) -> Future[R]:
        def run() -> R:
            return job(self._resource.result())

        future = self._executor.submit(run)
        future.add_done_callback(_log_failure)
        return future

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued jobs, then stop."""
        self._executor.shutdown(wait=True)


def _log_failure(future: Future[Any]) -> None:
    error = future.exception()
    if error is not None:
        log.error("store write failed: %r", error)
