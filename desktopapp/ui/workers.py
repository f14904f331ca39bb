"""Run a plain function off the UI thread and get its result or error back on the UI thread.

The jobs run on Python threads, not on Qt's thread pool: dlib and the other native libraries
the jobs call corrupted the heap when run on QThreadPool's threads (see docs/decisions.md),
while the camera workers, which have always been Python threads, never did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

from desktopapp.core.workspace import WorkspaceClosedError

log = logging.getLogger(__name__)

# Jobs are short (a query, a model check, a purge); four at once keep the UI responsive
# without competing with the camera workers for the two cores.
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ui-job")


class _Relay(QObject):
    finished = Signal(object)
    failed = Signal(object)
    progressed = Signal(float)


class _Job:
    def __init__(self, function: Callable[[Callable[[float], None]], Any], relay: _Relay):
        self._function = function
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._function(self._progress)
        except WorkspaceClosedError:
            # The window closed while this job waited for the database: nobody wants it.
            log.debug("background job dropped: the workspace was closed")
        except Exception as exc:
            log.exception("background job failed")
            self._deliver(self._relay.failed, exc)
        else:
            self._deliver(self._relay.finished, result)

    def _progress(self, fraction: float) -> None:
        self._deliver(self._relay.progressed, fraction)

    @staticmethod
    def _deliver(signal: SignalInstance, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:
            # The window that asked has closed and its relay is gone: nobody wants the result.
            log.debug("background result dropped: its receiver was deleted")


def run_in_background(
    function: Callable[[], Any],
    on_result: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    parent: QObject,
) -> None:
    """Call ``function`` off the UI thread; the callbacks run on the UI thread.

    The relay is parented to ``parent`` so that a window closed mid-job drops the result
    instead of calling into deleted widgets.
    """
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
    relay.finished.connect(relay.deleteLater)
    relay.failed.connect(relay.deleteLater)
    _EXECUTOR.submit(_Job(function, relay).run)
