"""The capacity check (`raiten bench`, Help menu): how many cameras this PC can analyse at its
settings, with the other figures of DESIGN's performance targets.

The core (core.benchmark) runs in a worker thread; what needs Qt is measured here while its
pipeline phase runs: the masked frames are shown in live tiles repainted by a 30 fps timer, and
a 10 ms timer records the longest stall of the event loop (``ui.paint_fps``,
``ui.max_stall_ms``). The dialog and `raiten bench` share ``PaintMeter`` and ``BenchRun``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.benchmark import BenchCancelledError, BenchPlan, run_bench
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import MaskedFrame
from desktopapp.ui.camera_tile import CameraTile
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_with_progress

log = logging.getLogger(__name__)

PAINT_FPS = 30.0
STALL_PROBE_MS = 10
TILES = 4  # the most cameras measured at once by default
TARGET_PAINT_FPS = 20.0
TARGET_STALL_MS = 50.0
TARGET_FPS = 10.0


class PaintMeter(QWidget):
    """Live tiles showing the benchmark's masked frames, repainted at 30 fps, and the event
    loop's longest stall. ``frame_ready`` may be emitted from any thread."""

    frame_ready = Signal(object)

    def __init__(self, tiles: int = TILES, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.tiles = [
            CameraTile(n, self.tr("Test camera %1").replace("%1", str(n + 1))) for n in range(tiles)
        ]
        for number, tile in enumerate(self.tiles):
            tile.setMinimumSize(160, 120)
            grid.addWidget(tile, number // 2, number % 2)
        self._latest: dict[int, MaskedFrame] = {}
        self.frame_ready.connect(self._keep, Qt.ConnectionType.QueuedConnection)
        self._painter = QTimer(self)
        self._painter.setInterval(round(1000 / PAINT_FPS))
        self._painter.timeout.connect(self._repaint)
        self._probe = QTimer(self)
        self._probe.setTimerType(Qt.TimerType.PreciseTimer)
        self._probe.setInterval(STALL_PROBE_MS)
        self._probe.timeout.connect(self._tick)
        self._last_tick = 0.0
        self._worst_gap = 0.0
        self._measuring_since: float | None = None
        self._painted_at_start: list[int] = []

    def _keep(self, frame: MaskedFrame) -> None:
        self._latest[frame.camera_id] = frame
        if self._measuring_since is None and self._latest:
            self._start_measuring()

    def _start_measuring(self) -> None:
        self._measuring_since = time.monotonic()
        self._painted_at_start = [t.painted_frames for t in self.tiles]
        self._last_tick = time.perf_counter()
        self._worst_gap = 0.0

    def start(self) -> None:
        self._painter.start()
        self._probe.start()

    def stop(self) -> None:
        self._painter.stop()
        self._probe.stop()

    def _repaint(self) -> None:
        for tile in self.tiles:
            frame = self._latest.get(tile.camera_id)
            if frame is not None:
                tile.show_frame(frame, 0.0)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._measuring_since is not None:
            self._worst_gap = max(self._worst_gap, now - self._last_tick)
        self._last_tick = now

    def figures(self) -> dict[str, Any]:
        """Paint rate of the slowest tile that showed frames, and the worst stall, since the
        first frame arrived."""
        if self._measuring_since is None:
            return {"ui.paint_fps": None, "ui.max_stall_ms": None}
        elapsed = max(1e-3, time.monotonic() - self._measuring_since)
        rates = [
            (tile.painted_frames - before) / elapsed
            for tile, before in zip(self.tiles, self._painted_at_start, strict=True)
            if tile.camera_id in self._latest
        ]
        stall = max(0.0, 1000.0 * self._worst_gap - STALL_PROBE_MS)
        return {
            "ui.paint_fps": round(min(rates), 1) if rates else None,
            "ui.max_stall_ms": round(stall, 1),
            "ui.basis": f"{len(rates)} live tiles repainted by a {PAINT_FPS:g} fps timer with the "
            "newest masked frame while the cameras were analysed; stall: the longest gap of a "
            f"{STALL_PROBE_MS} ms timer beyond its interval",
        }


class BenchRun(QObject):
    """One run of the benchmark in a worker thread, its frames shown by ``meter``. Emits
    ``progressed(fraction, step)`` and, once, ``done(result)`` or ``failed(error)``."""

    progressed = Signal(float, str)
    done = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        vision: VisionConfig,
        mode: Mode,
        plan: BenchPlan,
        meter: PaintMeter,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self._vision, self._mode, self._plan, self._meter = vision, mode, plan, meter
        self._cancel = threading.Event()
        self.running = False

    def start(self) -> None:
        self.running = True
        self._cancel.clear()
        self._meter.start()
        vision, mode, plan = self._vision, self._mode, self._plan
        frame_ready = self._meter.frame_ready.emit
        steps: list[str] = [""]

        def job(progress: Callable[[float], None]) -> dict[str, Any]:
            def report(fraction: float, step: str) -> None:
                steps[0] = step
                progress(fraction)

            return run_bench(
                vision,
                mode,
                plan,
                progress=report,
                on_frame=frame_ready,
                cancelled=self._cancel.is_set,
            )

        run_with_progress(
            job,
            lambda fraction: self.progressed.emit(fraction, steps[0]),
            self._finished,
            self._failed,
            self,
        )

    def cancel(self) -> None:
        self._cancel.set()

    def _finished(self, result: dict[str, Any]) -> None:
        self._meter.stop()
        self.running = False
        self.done.emit({**result, **self._meter.figures()})

    def _failed(self, error: Exception) -> None:
        self._meter.stop()
        self.running = False
        self.failed.emit(error)


def run_bench_with_view(
    vision: VisionConfig,
    mode: Mode,
    plan: BenchPlan,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """`raiten bench`: the benchmark with its live view in a window of its own (offscreen when
    there is no screen), blocking until it has finished."""
    from PySide6.QtCore import QEventLoop  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    app = QApplication.instance() or QApplication(["raiten"])
    meter = PaintMeter()
    meter.setWindowTitle("Raiten bench")
    meter.resize(640, 480)
    meter.show()
    run = BenchRun(vision, mode, plan, meter)
    outcome: dict[str, Any] = {}
    loop = QEventLoop()
    if progress is not None:
        run.progressed.connect(progress)
    run.done.connect(lambda result: (outcome.update(result=result), loop.quit()))
    run.failed.connect(lambda error: (outcome.update(error=error), loop.quit()))
    run.start()
    loop.exec()
    meter.close()
    meter.deleteLater()
    app.processEvents()
    if "error" in outcome:
        raise outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


class BenchDialog(QDialog):
    """Help > Check this PC's capacity: runs the benchmark with a progress bar and says, in
    plain words, how many cameras this PC can analyse at its settings."""

    def __init__(
        self,
        vision: VisionConfig,
        mode: Mode,
        parent: QWidget | None = None,
        plan: BenchPlan | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("bench-dialog")
        self.setWindowTitle(self.tr("Check this PC's capacity"))
        self.setMinimumSize(760, 600)
        plan = plan or BenchPlan()
        self.result: dict[str, Any] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Raiten analyses test cameras showing six people at once, at this PC's settings, "
                "and measures how many cameras it can follow at 10 pictures a second or more. "
                "It takes about two minutes; other programs running now make the result lower. "
                "No picture is saved."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.meter = PaintMeter(max(plan.cameras), parent=self)
        layout.addWidget(self.meter, 1)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("bench-progress")
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.message = QLabel(self)
        self.message.setObjectName("bench-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.message)
        self.table = QTableWidget(0, 3, self)
        self.table.setObjectName("bench-table")
        self.table.setHorizontalHeaderLabels(
            [self.tr("What was measured"), self.tr("Result"), self.tr("Target")]
        )
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setVisible(False)
        layout.addWidget(self.table, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.start_button = QPushButton(self.tr("Start"), self)
        self.start_button.setObjectName("bench-start")
        self.cancel_button = QPushButton(self.tr("Stop"), self)
        self.cancel_button.setObjectName("bench-stop")
        self.cancel_button.setEnabled(False)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.run = BenchRun(vision, mode, plan, self.meter, self)
        self.run.progressed.connect(self._progressed)
        self.run.done.connect(self._done)
        self.run.failed.connect(self._failed)

    def _step_text(self, step: str) -> str:
        return {
            "startup": self.tr("Loading the models…"),
            "vision": self.tr("Timing face and person detection…"),
            "pipeline": self.tr("Analysing test cameras…"),
            "matching": self.tr("Timing the search among returning visitors…"),
            "store": self.tr("Timing the deletion of old records…"),
        }.get(step, self.tr("Measuring…"))

    def start(self) -> None:
        if self.run.running:
            return
        self.result = None
        self.table.setVisible(False)
        self.meter.setVisible(True)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setEnabled(False)
        self.progress.setValue(0)
        self.message.setStyleSheet("font-weight: bold;")
        self.message.setText(self.tr("Measuring…"))
        self.run.start()

    def cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.message.setText(self.tr("Stopping…"))
        self.run.cancel()

    def _progressed(self, fraction: float, step: str) -> None:
        self.progress.setValue(round(100 * fraction))
        if self.run.running and self.cancel_button.isEnabled():
            self.message.setText(self._step_text(step))

    def _idle(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setEnabled(True)

    def _done(self, result: dict[str, Any]) -> None:
        self.result = result
        self._idle()
        self.progress.setValue(100)
        self.message.setText(self.verdict(result))
        self._fill(result)

    def _failed(self, error: Exception) -> None:
        self._idle()
        if isinstance(error, BenchCancelledError):
            self.message.setText(self.tr("Stopped. Nothing was measured to the end."))
            return
        self.message.setStyleSheet("color: #b00020; font-weight: bold;")
        self.message.setText(
            self.tr("The check could not finish: %1").replace("%1", ErrorTexts(self).error(error))
        )

    def verdict(self, result: dict[str, Any]) -> str:
        text = self._measured_verdict(result)
        estimate = int(result.get("pipeline.cameras_by_cpu_estimate") or 0)
        load = result.get("bench.load_average_before")
        cpus = int(result.get("pipeline.cpus") or 1)
        if load is not None and load > cpus / 2 and estimate > result["pipeline.cameras_at_10fps"]:
            text += " " + self.tr(
                "Other programs kept this PC busy during the check; without them, cameras it "
                "could analyse: about %1."
            ).replace("%1", str(estimate))
        return text

    def _measured_verdict(self, result: dict[str, Any]) -> str:
        cameras = int(result["pipeline.cameras_at_10fps"])
        tried = max(int(n) for n in result["pipeline.fps_per_camera"])
        if cameras == 0:
            return self.tr(
                "This PC cannot analyse even one camera at 10 pictures a second at these "
                "settings. Close other programs, or choose a simpler mode."
            )
        if cameras >= tried:
            return self.tr(
                "Cameras this PC can analyse at 10 pictures a second or more at these "
                "settings: %1 (the most that was tried)."
            ).replace("%1", str(cameras))
        return self.tr(
            "Cameras this PC can analyse at 10 pictures a second or more at these settings: %1."
        ).replace("%1", str(cameras))

    def _rows(self, result: dict[str, Any]) -> list[tuple[str, str, str]]:
        rows = [
            (
                self.tr("Pictures analysed per second by each camera, %1 running at once").replace(
                    "%1", cameras
                ),
                f"{fps:.1f}",
                f"≥ {TARGET_FPS:g}",
            )
            for cameras, fps in result["pipeline.fps_per_camera"].items()
        ]

        def number(key: str, unit: str, digits: int = 1) -> str:
            value = result.get(key)
            return "—" if value is None else f"{value:.{digits}f} {unit}".strip()

        rows += [
            (
                self.tr("Live view: pictures shown per second"),
                number("ui.paint_fps", ""),
                f"≥ {TARGET_PAINT_FPS:g}",
            ),
            (
                self.tr("Longest pause of the window"),
                number("ui.max_stall_ms", "ms", 0),
                f"≤ {TARGET_STALL_MS:g} ms",
            ),
            (self.tr("Face detection per picture"), number("vision.detect_ms", "ms"), ""),
            (self.tr("Feature record per face"), number("vision.feature_ms", "ms", 0), ""),
            (
                self.tr("Search among 100,000 records"),
                number("matching.ms_per_probe_100k", "ms", 2),
                "≤ 0.5 ms",
            ),
            (
                self.tr("Search among 1,000,000 records (estimated)"),
                number("matching.ms_per_probe_1m", "ms", 2),
                "≤ 2 ms",
            ),
            (
                self.tr("Deleting 1,000,000 visits (estimated)"),
                number("store.purge_1m_s", "s"),
                "≤ 10 s",
            ),
            (
                self.tr("Retention sweep over 1,000,000 visits (estimated)"),
                number("store.retention_1m_s", "s"),
                "≤ 30 s",
            ),
            (
                self.tr("From start to the first masked picture"),
                number("startup.first_frame_s", "s"),
                "≤ 5 s",
            ),
        ]
        return rows

    def _fill(self, result: dict[str, Any]) -> None:
        rows = self._rows(result)
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.meter.setVisible(False)  # the table needs the room; Start shows the cameras again
        self.table.setVisible(True)

    def reject(self) -> None:
        if self.run.running:  # closing mid-run would leave cameras analysing unseen
            return
        super().reject()
