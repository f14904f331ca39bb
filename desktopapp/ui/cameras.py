"""Runs each camera's capture and analysis threads and relays their results to the UI thread.

Workers call back on their own threads; the relay's signals are queued into the UI thread,
which only paints. Model loading happens off the UI thread too. A worker that outlives the
controller's shutdown (its thread did not stop within the join's timeout) is cut off: emitting
on a controller the UI thread is deleting would crash the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import engine_for_mode
from desktopapp.core.pipeline import CameraWorker, PipelineConfig
from desktopapp.core.sources import CameraSource, SourceSpec
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

STATUS_INTERVAL_MS = 500


class CameraController(QObject):
    frame_ready = Signal(object)  # MaskedFrame
    status_ready = Signal(int, object)  # camera id, SourceStatus
    fps_ready = Signal(int, float)
    track_closed = Signal(object)  # TrackClosed
    failed = Signal(int, str)  # camera id, plain message
    # Analysis keeps failing: the tile takes its last picture away (camera id, detail for logs).
    analysis_failing = Signal(int, str)

    def __init__(self, vision: VisionConfig, parent: QObject | None = None):
        super().__init__(parent)
        self.vision = vision
        self.workers: dict[int, CameraWorker] = {}
        self._shut_down = False
        # Held while a worker emits, and while shutdown cuts the workers off.
        self._emitting = threading.Lock()
        self._cut_off = False
        self._timer = QTimer(self)
        self._timer.setInterval(STATUS_INTERVAL_MS)
        self._timer.timeout.connect(self._poll)
        self._timer.start()

    def start(
        self,
        camera_id: int,
        spec: SourceSpec,
        config: PipelineConfig,
        name: str = "",
    ) -> None:
        """Load the mode's models in the background, then start capture and analysis."""
        self.stop(camera_id)

        def started(engine: VisionEngine) -> None:
            if self._shut_down:
                return  # the window closed while the models were loading
            source = CameraSource(spec, name=name, realtime=True)
            worker = CameraWorker(
                camera_id,
                source,
                engine,
                config,
                on_frame=self._relayed("frame_ready"),
                on_closed=self._relayed("track_closed"),
                on_failing=lambda detail: self._relayed("analysis_failing")(camera_id, detail),
            )
            self.workers[camera_id] = worker
            worker.start()
            log.info("camera %d started", camera_id)

        def failed(error: Exception) -> None:
            # A model missing or damaged: said in the operator's language on the tile.
            self.failed.emit(camera_id, ErrorTexts(self).error(error))

        vision = self.vision
        run_in_background(lambda: engine_for_mode(vision, config.mode), started, failed, self)

    def stop(self, camera_id: int) -> None:
        worker = self.workers.pop(camera_id, None)
        if worker is not None:
            worker.stop()
            log.info("camera %d stopped", camera_id)

    def stop_all(self) -> None:
        for camera_id in list(self.workers):
            self.stop(camera_id)

    def shutdown(self) -> None:
        """Stop every camera, including those whose models are still loading. What the
        workers hand over while they stop (the tracks they close) still goes out."""
        self._shut_down = True
        self._timer.stop()
        self.stop_all()
        with self._emitting:
            self._cut_off = True

    def _relayed(self, name: str) -> Callable[..., None]:
        """A worker's callback emitting this controller's signal ``name``, until shutdown."""

        def emit(*args: Any) -> None:
            with self._emitting:
                if self._cut_off:
                    log.warning("a camera worker outlived its shutdown: %s dropped", name)
                    return
                getattr(self, name).emit(*args)

        return emit

    def _poll(self) -> None:
        for camera_id, worker in self.workers.items():
            self.status_ready.emit(camera_id, worker.source.status())
            self.fps_ready.emit(camera_id, worker.fps)
