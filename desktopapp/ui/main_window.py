"""The main window: camera grid in the middle, model status at the bottom."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp import __version__
from desktopapp.core.config import Settings
from desktopapp.core.demo import DEMO_CAMERA_ID, DEMO_NOTICE, DEMO_SOURCE
from desktopapp.core.notice import NoticeGateError
from desktopapp.core.pipeline import MaskedFrame, PipelineConfig, TrackClosed
from desktopapp.core.sources import SourceStatus
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.retention import SweepResult
from desktopapp.core.store.writer import StoreWriter
from desktopapp.core.vision.status import ModelCheck, check_active_models
from desktopapp.core.visits import VisitRecorder, open_recorder
from desktopapp.core.workspace import Workspace
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.camera_grid import LAYOUTS, CameraGrid
from desktopapp.ui.camera_tile import CameraTile
from desktopapp.ui.cameras import CameraController
from desktopapp.ui.model_status import ModelStatusPanel
from desktopapp.ui.notice_texts import NoticeTexts
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

RETENTION_INTERVAL_MS = 60 * 60 * 1000


class ModelsDialog(QDialog):
    """Every active model with its licence, whether commercial use is allowed, and its source."""

    def __init__(self, checks: list[ModelCheck], status: ModelStatusPanel, parent: QWidget):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models and licences"))
        layout = QVBoxLayout(self)
        table = QTableWidget(len(checks), 4, self)
        table.setHorizontalHeaderLabels(
            [self.tr("Model"), self.tr("Licence"), self.tr("Commercial use"), self.tr("Source")]
        )
        for row, check in enumerate(checks):
            if check.info is None:
                cells = [check.model_id, status.problem_text(check), "", ""]
            else:
                allowed = self.tr("yes") if check.info.commercial_use else self.tr("no")
                cells = [check.info.model_id, check.info.licence, allowed, check.info.source]
            for column, text in enumerate(cells):
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 240)


class MainWindow(QMainWindow):
    def __init__(
        self,
        data_dir: Path,
        settings: Settings,
        settings_problem: str = "",
        *,
        start_cameras: bool = True,
    ):
        super().__init__()
        self.data_dir = data_dir
        self.start_cameras = start_cameras
        self.settings = settings
        self.model_checks: list[ModelCheck] = []
        self.setWindowTitle(self.tr("Raiten — store camera analytics"))
        self.resize(1100, 720)

        self.camera_grid = CameraGrid(self)
        self.setCentralWidget(self.camera_grid)
        self.controller = CameraController(settings.vision, self)
        self.controller.frame_ready.connect(self._frame_ready)
        self.controller.status_ready.connect(self._status_ready)
        self.controller.fps_ready.connect(self._fps_ready)
        self.controller.failed.connect(self._camera_failed)
        # Direct: workers hand closed tracks straight to the writer's queue, so the last tracks
        # of a camera being stopped at shutdown are still recorded.
        self.controller.track_closed.connect(self._track_closed, Qt.ConnectionType.DirectConnection)
        self.writer: StoreWriter[VisitRecorder] | None = None
        self._retention_timer = QTimer(self)
        self._retention_timer.setInterval(RETENTION_INTERVAL_MS)
        self._retention_timer.timeout.connect(self.run_retention)
        self.workspace: Workspace | None = None
        self.cameras: list[Camera] = []
        self._fps: dict[int, float] = {}

        self.model_status = ModelStatusPanel(self)
        self.statusBar().addPermanentWidget(self.model_status)
        if settings_problem:
            warning = QLabel(self.tr("Settings could not be loaded; using defaults."), self)
            warning.setObjectName("settings-warning")
            warning.setStyleSheet("color: #b00020;")
            warning.setToolTip(settings_problem)
            self.statusBar().addWidget(warning)

        self._build_menus()
        self.refresh_models()
        self.open_workspace()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        camera_menu = self.menuBar().addMenu(self.tr("&Cameras"))
        self.add_camera_action = QAction(self.tr("&Add camera…"), self)
        self.add_camera_action.triggered.connect(lambda: self.edit_camera(None))
        camera_menu.addAction(self.add_camera_action)
        self.edit_menu = camera_menu.addMenu(self.tr("&Edit camera"))
        self.remove_menu = camera_menu.addMenu(self.tr("&Remove camera"))
        layout_menu = camera_menu.addMenu(self.tr("&Layout"))
        group = QActionGroup(self)
        for columns in LAYOUTS:
            action = QAction(f"{columns}×{columns}", self, checkable=True)
            action.setChecked(columns == self.camera_grid.columns)
            action.triggered.connect(lambda _=False, c=columns: self.camera_grid.set_columns(c))
            group.addAction(action)
            layout_menu.addAction(action)

        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.models_action = QAction(self.tr("&Models and licences…"), self)
        self.models_action.triggered.connect(self.show_models)
        help_menu.addAction(self.models_action)
        about = QAction(self.tr("&About Raiten"), self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def refresh_models(self) -> None:
        self.model_status.show_checking()
        config = self.settings.vision
        run_in_background(
            lambda: check_active_models(config), self._models_checked, self._models_failed, self
        )

    def _models_checked(self, checks: list[ModelCheck]) -> None:
        self.model_checks = checks
        self.model_status.show_checks(checks)

    def _models_failed(self, error: Exception) -> None:
        self.model_status.show_checks([])
        self.statusBar().showMessage(
            self.tr("The models could not be checked: %1").replace("%1", str(error))
        )

    def open_workspace(self) -> None:
        data_dir, settings = self.data_dir, self.settings
        run_in_background(
            lambda: Workspace(data_dir, settings),
            self._workspace_ready,
            self._workspace_failed,
            self,
        )

    def _workspace_ready(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.reload_cameras()
        self.run_retention()
        self._retention_timer.start()

    def run_retention(self) -> None:
        """At start-up and every hour: expired feature data goes, statistics stay (G-04)."""
        workspace = self.workspace
        if workspace is None:
            return
        run_in_background(
            workspace.run_retention, self._retention_done, self._retention_failed, self
        )

    def _retention_done(self, result: SweepResult | None) -> None:
        if result is not None and result.visitors:
            log.info("retention removed %d visitors", result.visitors)

    def _retention_failed(self, error: Exception) -> None:
        # Logged by the worker; the next hourly run tries again.
        self.statusBar().showMessage(
            self.tr("Expired data could not be deleted yet; Raiten will try again: %1").replace(
                "%1", str(error)
            )
        )

    def _workspace_failed(self, error: Exception) -> None:
        self.statusBar().showMessage(
            self.tr("The data folder cannot be opened: %1").replace("%1", str(error))
        )

    def reload_cameras(self) -> None:
        workspace = self.workspace
        if workspace is None:
            return
        run_in_background(
            lambda: (workspace.cameras(), workspace.notice_problems()),
            self._cameras_loaded,
            self._workspace_failed,
            self,
        )

    def _cameras_loaded(self, loaded: tuple[list[Camera], list[tuple[str, str]]]) -> None:
        cameras, problems = loaded
        self.controller.stop_all()
        self._close_writer()
        for camera_id in list(self.camera_grid.tiles):
            self.camera_grid.remove_tile(camera_id)
        self.cameras = cameras
        self._rebuild_camera_menus()
        if not cameras:
            # Nothing configured yet: the demo camera with its DEMO notice, stored nowhere.
            tile = CameraTile(DEMO_CAMERA_ID, self.tr("Demo camera"))
            tile.set_label(self.tr("DEMO"))
            self.camera_grid.add_tile(tile)
            if self.start_cameras:
                config = PipelineConfig(mode=DEMO_NOTICE.mode)
                self.controller.start(DEMO_CAMERA_ID, DEMO_SOURCE, config, "demo")
            return
        if not problems and self.start_cameras:
            data_dir, vision = self.data_dir, self.settings.vision
            self.writer = StoreWriter(lambda: open_recorder(data_dir, vision))
        for camera in cameras:
            assert camera.camera_id is not None
            tile = CameraTile(camera.camera_id, camera.name)
            self.camera_grid.add_tile(tile)
            if problems:
                tile.show_blocked(NoticeTexts(self).gate_message(problems))
                continue
            if camera.enabled and self.start_cameras:
                self._start_camera(camera)

    def _start_camera(self, camera: Camera) -> None:
        assert camera.camera_id is not None and self.workspace is not None
        try:
            notice = self.workspace.notice_in_force()
        except NoticeGateError:
            return
        config = PipelineConfig(
            mode=notice.profile.mode,
            mask_style=camera.mask_style,
            polygons=camera.polygons,
            analysis_fps=camera.analysis_fps,
        )
        self.controller.start(camera.camera_id, camera.source, config, camera.name)

    def _rebuild_camera_menus(self) -> None:
        self.edit_menu.clear()
        self.remove_menu.clear()
        for camera in self.cameras:
            edit = self.edit_menu.addAction(camera.name)
            edit.triggered.connect(lambda _=False, c=camera: self.edit_camera(c))
            remove = self.remove_menu.addAction(camera.name)
            remove.triggered.connect(lambda _=False, c=camera: self.remove_camera(c))
        self.edit_menu.setEnabled(bool(self.cameras))
        self.remove_menu.setEnabled(bool(self.cameras))

    def edit_camera(self, camera: Camera | None) -> None:
        dialog = CameraDialog(self.settings.vision, camera, self)
        if dialog.exec() != CameraDialog.DialogCode.Accepted or dialog.result_camera is None:
            return
        workspace = self.workspace
        chosen = dialog.result_camera
        if workspace is None:
            return
        run_in_background(
            lambda: workspace.save_camera(chosen),
            lambda _saved: self.reload_cameras(),
            self._workspace_failed,
            self,
        )

    def remove_camera(self, camera: Camera) -> None:
        answer = QMessageBox.question(
            self,
            self.tr("Remove camera"),
            self.tr('Remove the camera "%1"?').replace("%1", camera.name),
        )
        workspace = self.workspace
        if answer != QMessageBox.StandardButton.Yes or workspace is None:
            return
        camera_id = camera.camera_id
        assert camera_id is not None
        run_in_background(
            lambda: workspace.remove_camera(camera_id),
            lambda _none: self.reload_cameras(),
            self._workspace_failed,
            self,
        )

    def _track_closed(self, event: TrackClosed) -> None:
        writer = self.writer
        if writer is not None and event.camera_id != DEMO_CAMERA_ID:
            writer.submit(lambda recorder: recorder.record(event))

    def _close_writer(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _frame_ready(self, frame: MaskedFrame) -> None:
        tile = self.camera_grid.tiles.get(frame.camera_id)
        if tile is not None and tile.isVisible():
            tile.show_frame(frame.image, frame.faces, self._fps.get(frame.camera_id, 0.0))

    def _status_ready(self, camera_id: int, status: SourceStatus) -> None:
        tile = self.camera_grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_status(status)

    def _fps_ready(self, camera_id: int, fps: float) -> None:
        self._fps[camera_id] = fps

    def _camera_failed(self, camera_id: int, message: str) -> None:
        tile = self.camera_grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_blocked(self.tr("This camera cannot start: %1").replace("%1", message))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.controller.shutdown()
        self._close_writer()
        if self.workspace is not None:
            self.workspace.close()
        super().closeEvent(event)

    def show_models(self) -> None:
        ModelsDialog(self.model_checks, self.model_status, self).exec()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About Raiten"),
            self.tr(
                "Raiten %1\n\nCamera analytics for stores, following METI/MIC's Guidebook for "
                "Utilization of Camera Images. Pictures are analysed in memory and never stored."
            ).replace("%1", __version__),
        )
