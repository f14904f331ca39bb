"""Python's garbage collector, run on the UI thread only.

Automatic collection runs in whichever thread happens to allocate; if that is a worker thread
and the garbage holds Qt objects (a closed dialog and the lambdas that refer to it), their C++
side is destroyed off the UI thread while the UI thread uses them, and the process crashes.
So automatic collection is off and this timer collects, generation by generation, on the UI
thread — the pattern PyQt applications use for the same crash.

A collection holds the UI thread, so each must be short (the live view's budget is 50 ms). What
start-up made (modules, classes, the translations) lives as long as the process, and walking it
made every full collection take ~50 ms (bench/pipeline.py, four cameras): it is frozen out of
the collector's view once. And a pass every 100 ms instead of 500 ms finds a fifth of the young
objects: four cameras left a 500 ms pass ~20 ms of work.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

INTERVAL_MS = 100


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        gc.disable()
        gc.collect()
        gc.freeze()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> None:
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return
