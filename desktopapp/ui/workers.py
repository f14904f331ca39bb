"""Run a plain function on Qt's thread pool and get its result or error back on the UI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance

log = logging.getLogger(__name__)


class _Relay(QObject):
    finished = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, function: Callable[[], Any], relay: _Relay):
        super().__init__()
        self._function = function
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._function()
        except Exception as exc:
            log.exception("background job failed")
            self._deliver(self._relay.failed, exc)
        else:
            self._deliver(self._relay.finished, result)

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
    relay = _Relay(parent)
    relay.finished.connect(on_result)
    relay.failed.connect(on_error)
    relay.finished.connect(relay.deleteLater)
    relay.failed.connect(relay.deleteLater)
    QThreadPool.globalInstance().start(_Job(function, relay))
