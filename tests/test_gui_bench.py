"""The capacity check: Help > Check this PC's capacity… in the real window, its buttons clicked,
and `raiten bench --json` as a separate process. The quick plan runs every step of the real
benchmark (real models, real pipeline, real store and gallery) on a tiny scale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from desktopapp.core.benchmark import BenchPlan
from desktopapp.ui.bench_dialog import BenchDialog
from tests.conftest import ROOT
from tests.test_gui_operator import ModalWatch, Opener, _set_up, modals, open_window

pytestmark = pytest.mark.gui

__all__ = ["modals", "open_window"]  # fixtures used by name

DESIGN_KEYS = (
    "pipeline.cameras_at_10fps",
    "pipeline.fps_per_camera",
    "ui.paint_fps",
    "ui.max_stall_ms",
    "vision.detect_ms",
    "vision.feature_ms",
    "matching.ms_per_probe_100k",
    "matching.ms_per_probe_1m",
    "matching.ann_recall_at_1",
    "store.purge_1m_s",
    "store.retention_1m_s",
    "startup.first_frame_s",
)


def test_the_help_menu_runs_the_capacity_check_and_says_how_many_cameras(
    open_window: Opener, qtbot: QtBot, tmp_path: Path, modals: ModalWatch
) -> None:
    _set_up(tmp_path)
    window = open_window(tmp_path)
    window.bench_plan = BenchPlan.quick()
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.bench_action in help_menu.actions()
    seen: list[BenchDialog] = []
    closed: list[bool] = []

    def drive(modal: QWidget) -> None:
        if not isinstance(modal, BenchDialog):
            return
        if not seen:
            seen.append(modal)
            close = modal.buttons.button(QDialogButtonBox.StandardButton.Close)
            assert modal.start_button.isEnabled() and not modal.cancel_button.isEnabled()
            qtbot.mouseClick(modal.start_button, Qt.MouseButton.LeftButton)
            assert not close.isEnabled()  # closing mid-run is refused
        elif modal.result is not None and not closed:
            closed.append(True)
            close = modal.buttons.button(QDialogButtonBox.StandardButton.Close)
            qtbot.mouseClick(close, Qt.MouseButton.LeftButton)

    modals.handle = drive
    QTimer.singleShot(0, window.bench_action.trigger)
    qtbot.waitUntil(lambda: bool(closed), timeout=180_000)
    qtbot.waitUntil(lambda: not seen[0].isVisible(), timeout=5000)
    dialog = seen[0]
    result = dialog.result
    assert result is not None
    for key in DESIGN_KEYS:
        assert key in result, key
    assert result["pipeline.faces_per_frame"]["1"] > 0  # the six test people were found
    assert result["pipeline.persons_per_frame"]["1"] > 0
    assert result["ui.paint_fps"] is not None and result["ui.paint_fps"] > 0
    assert any(tile.painted_frames > 0 for tile in dialog.meter.tiles)
    cameras = result["pipeline.cameras_at_10fps"]
    assert dialog.message.text() == dialog.verdict(result)
    assert (str(cameras) in dialog.message.text()) or cameras == 0
    assert dialog.table.isVisible() is False  # the dialog has closed
    assert dialog.table.rowCount() == len(result["pipeline.fps_per_camera"]) + 9
    assert dialog.progress.value() == 100


def test_stop_ends_the_check_and_lets_it_run_again(qtbot: QtBot) -> None:
    from desktopapp.core.config import VisionConfig  # noqa: PLC0415
    from desktopapp.core.modes import Mode  # noqa: PLC0415

    dialog = BenchDialog(VisionConfig(), Mode.REPEAT, plan=BenchPlan.quick())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.run.running, timeout=120_000)
    assert dialog.result is None
    assert dialog.message.text() == "Stopped. Nothing was measured to the end."
    assert dialog.start_button.isEnabled()
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Close).isEnabled()


def test_raiten_bench_json_prints_the_design_keys(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "desktopapp", "bench", "--quick", "--json"]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for key in DESIGN_KEYS:
        assert key in result, key
    assert result["pipeline.mode"] == "repeat"  # no notice here: the heaviest mode
    assert "scaled" in result["store.basis"] and "scaled" in result["matching.basis"]
    # Nothing of the run stays in the data folder but the log.
    assert {p.name for p in tmp_path.iterdir()} <= {"logs"}
