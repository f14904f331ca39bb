"""Run a plain function off the UI thread and get its result or error back on the UI thread.

The jobs run on Python threads, not on Qt's thread pool: dlib and the other native libraries
the jobs call corrupted the heap when run on QThreadPool's threads (see docs/decisions.md),
while the camera workers, which have always been Python threads, never did.

A job thread touches no QObject but the dispatcher, which lives as long as the process. It
used to emit on a relay owned by the window that asked; closing that window deleted the relay
on the UI thread while the job thread was emitting on it, and the process crashed
(tests/test_gui_accounts.py caught it one run in six).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from desktopapp.core.workspace import WorkspaceClosedError

log = logging.getLogger(__name__)

# Jobs are short (a query, a model check, a purge); four at once keep the UI responsive
# without competing with the camera workers for the two cores.
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ui-job")


class _Relay(QObject):
    """The asker's end: parented to it, so a closed window's relay is gone with it."""

    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(float)


class _Kind(Enum):
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"
    DROPPED = "dropped"


@dataclass
class _Message:
    job: int
    kind: _Kind
    value: object
    # The job's function rides along and is released on the UI thread: a closure that holds
    # the last reference to a widget must not delete it on the job thread.
    leftovers: list[object]


class _Dispatcher(QObject):
    """Created on the UI thread and never deleted: every job thread emits here only."""

    delivered = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._relays: dict[int, _Relay] = {}
        self._ids = itertools.count()
        self.delivered.connect(self._deliver)

    def register(self, relay: _Relay) -> int:
        job = next(self._ids)
        self._relays[job] = relay
        return job

    def _deliver(self, message: _Message) -> None:
        message.leftovers.clear()
        final = message.kind is not _Kind.PROGRESS
        relay = self._relays.pop(message.job) if final else self._relays.get(message.job)
        if relay is None or not shiboken6.isValid(relay):
            # The window that asked has closed: nobody wants the result.
            log.debug("background %s dropped: its receiver was deleted", message.kind.value)
            return
        if message.kind is _Kind.PROGRESS:
            relay.progressed.emit(message.value)
        elif message.kind is _Kind.RESULT:
            relay.finished.emit(message.value)
        elif message.kind is _Kind.ERROR:
            relay.failed.emit(message.value)
        if final:
            # Out of the asker's children first: the relay's callbacks may hold the last
            # reference to the window that asked (a dialog opened as ``Dialog(...).exec()``
            # and closed mid-job), and that window, deleted when the relay lets go of them,
            # would otherwise delete the relay a second time from inside its own destructor.
            relay.setParent(None)
            relay.deleteLater()


_DISPATCHER: _Dispatcher | None = None


def _dispatcher() -> _Dispatcher:
    global _DISPATCHER  # noqa: PLW0603 - one per process, made on the UI thread at first use
    if _DISPATCHER is None:
        _DISPATCHER = _Dispatcher()
    return _DISPATCHER


class _Job:
    def __init__(
        self,
        function: Callable[[Callable[[float], None]], Any],
        dispatcher: _Dispatcher,
        job: int,
    ):
        self._function: Callable[[Callable[[float], None]], Any] | None = function
        self._dispatcher = dispatcher
        self._job = job

    def run(self) -> None:
        leftovers: list[Any] = [self._function]
        self._function = None
        try:
            result = leftovers[0](self._progress)
        except WorkspaceClosedError:
            # The window closed while this job waited for the database: nobody wants it.
            log.debug("background job dropped: the workspace was closed")
            self._send(_Kind.DROPPED, None, leftovers)
        except Exception as exc:
            log.exception("background job failed")
            self._send(_Kind.ERROR, exc, leftovers)
        else:
            self._send(_Kind.RESULT, result, leftovers)

    def _progress(self, fraction: float) -> None:
        self._send(_Kind.PROGRESS, fraction, [])

    def _send(self, kind: _Kind, value: object, leftovers: list[object]) -> None:
        self._dispatcher.delivered.emit(_Message(self._job, kind, value, leftovers))


def run_in_background(
    function: Callable[[], Any],
    on_result: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    parent: QObject,
) -> None:
    """Call ``function`` off the UI thread; the callbacks run on the UI thread, and only while
    ``parent`` exists (a window closed mid-job drops the result instead of calling into
    deleted widgets)."""
    run_with_progress(lambda _progress: function(), None, on_result, on_error, parent)


def run_with_progress(
    function: Callable[[Callable[[float], None]], Any],
    on_progress: Callable[[float], None] | None,
    on_result: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    parent: QObject,
) -> None:
    """The same for a long job (purge, export): ``function`` gets a callback taking fractions
    from 0.0 to 1.0, and ``on_progress`` receives them on the UI thread."""
    relay = _Relay(parent)
    if on_progress is not None:
        relay.progressed.connect(on_progress)
    relay.finished.connect(on_result)
    relay.failed.connect(on_error)
    dispatcher = _dispatcher()
    _EXECUTOR.submit(_Job(function, dispatcher, dispatcher.register(relay)).run)
