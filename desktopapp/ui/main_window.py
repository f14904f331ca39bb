"""The main window: camera grid in the middle, model status at the bottom."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktopapp import __version__
from desktopapp.core.access import Permission
from desktopapp.core.benchmark import BenchPlan
from desktopapp.core.demo import DEMO_CAMERA_ID, DEMO_NOTICE, DEMO_SOURCE, seed_sample_visits
from desktopapp.core.model_change import ExclusionModelError
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeGateError
from desktopapp.core.pipeline import MaskedFrame, PipelineConfig, TrackClosed
from desktopapp.core.reports.signage import SignageOptions
from desktopapp.core.services.cameras import Camera
from desktopapp.core.services.deletion import ScrubIncompleteError, SweepResult
from desktopapp.core.services.recording import StoreWriter, VisitJoiner, visit_writer
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceStatus
from desktopapp.core.vision.status import ModelCheck, check_active_models
from desktopapp.core.workspace import Workspace
from desktopapp.ui.account_texts import AccountTexts
from desktopapp.ui.analytics_panel import DashboardPanel
from desktopapp.ui.audit_viewer import AuditViewer
from desktopapp.ui.bench_dialog import BenchDialog
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.camera_grid import LAYOUTS, CameraGrid
from desktopapp.ui.camera_tile import CameraTile
from desktopapp.ui.cameras import CameraController
from desktopapp.ui.chain_dialog import ChainDialog
from desktopapp.ui.chain_status import ChainStatusButton
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.export_dialog import ExportDialog
from desktopapp.ui.i18n import effective_language
from desktopapp.ui.idle import IdleWatcher
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.model_status import ModelStatusPanel
from desktopapp.ui.models_dialog import ModelsDialog
from desktopapp.ui.notice_texts import NoticeTexts
from desktopapp.ui.own_password import OwnPasswordDialog
from desktopapp.ui.pos_dialog import PosImportDialog
from desktopapp.ui.public_requests import PublicRequestsDialog
from desktopapp.ui.purge_dialog import PurgeDialog
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.settings_dialog import SettingsDialog
from desktopapp.ui.signage_dialog import SignageDialog
from desktopapp.ui.staff_dialog import StaffDialog
from desktopapp.ui.user_guide import UserGuide
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

RETENTION_INTERVAL_MS = 60 * 60 * 1000
_ADMIN_PERMISSIONS = frozenset(
    {
        Permission.SETTINGS,
        Permission.PUBLIC_REQUESTS,
        Permission.STAFF,
        Permission.AUDIT,
        Permission.PURGE,
    }
)


class MainWindow(QMainWindow):
    """The operator's window. ``language_changed`` asks the application to rebuild the window in
    the newly chosen language."""

    language_changed = Signal()
    cameras_ready = Signal()  # the configured cameras are loaded and started

    # How much the capacity check measures (None: the full check); tests make it quick.
    bench_plan: BenchPlan | None = None

    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        settings_problem: str = "",
        *,
        start_cameras: bool = True,
    ):
        super().__init__()
        self.workspace = workspace
        self.data_dir = workspace.data_dir
        self.session = session
        self.start_cameras = start_cameras
        self.settings = workspace.settings
        self.model_checks: list[ModelCheck] = []
        self.keep_workspace_open = False
        resize_within_screen(self, 1100, 720)

        self.camera_grid = CameraGrid(self)
        self.dashboard = DashboardPanel(workspace, session.actor, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.camera_grid, self.tr("Live view"))
        self.tabs.addTab(self.dashboard, self.tr("Dashboard"))
        self.lock_page = self._build_lock_page()
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.tabs)
        self.pages.addWidget(self.lock_page)
        self.setCentralWidget(self.pages)
        self.controller = CameraController(self.settings.vision, self)
        self.controller.frame_ready.connect(self._frame_ready)
        self.controller.status_ready.connect(self._status_ready)
        self.controller.fps_ready.connect(self._fps_ready)
        self.controller.failed.connect(self._camera_failed)
        self.controller.analysis_failing.connect(self._analysis_failing)
        # Direct: workers hand closed tracks straight to the writer's queue, so the last tracks
        # of a camera being stopped at shutdown are still recorded.
        self.controller.track_closed.connect(self._track_closed, Qt.ConnectionType.DirectConnection)
        self.writer: StoreWriter[VisitJoiner] | None = None
        self._retention_timer = QTimer(self)
        self._retention_timer.setInterval(RETENTION_INTERVAL_MS)
        self._retention_timer.timeout.connect(self.run_retention)
        self.cameras: list[Camera] = []
        self._fps: dict[int, float] = {}

        self.model_status = ModelStatusPanel(self)
        self.statusBar().addPermanentWidget(self.model_status)
        self.user_label = QLabel(self)
        self.user_label.setObjectName("session-user")
        self.statusBar().addPermanentWidget(self.user_label)
        # Hidden unless this PC is a store of a chain.
        self.chain_status = ChainStatusButton(workspace, self)
        self.chain_status.gallery_changed.connect(self._reload_galleries)
        # Other stores' figures arrive with a sync: "All stores" shows them at once.
        self.chain_status.synced.connect(self.dashboard.refresh)
        self.statusBar().addPermanentWidget(self.chain_status)
        if settings_problem:
            warning = QLabel(self.tr("Settings could not be loaded; using defaults."), self)
            warning.setObjectName("settings-warning")
            warning.setStyleSheet("color: #b00020;")
            warning.setToolTip(settings_problem)
            self.statusBar().addWidget(warning)

        self.idle = IdleWatcher(self.settings.ui.idle_lock_minutes, self)
        self.idle.idle.connect(self.lock_screen)
        app = QApplication.instance()
        if app is not None and not session.demo:
            app.installEventFilter(self.idle)
        self._build_menus()
        self.apply_session()
        self.refresh_models()
        self.reload_cameras()
        if session.demo:
            self._seed_demo()
        self.run_retention()
        self._retention_timer.start()
        if not session.demo:
            self.chain_status.start()

    def _seed_demo(self) -> None:
        """Sample figures for the demo's dashboard, written beside the live view's start."""
        data_dir = self.data_dir
        run_in_background(
            lambda: seed_sample_visits(data_dir, datetime.now(UTC)),
            lambda _written: self.dashboard.refresh(),
            self._workspace_failed,
            self,
        )

    def _build_lock_page(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        # Near the top: the sign-in dialog opens in the middle and must not hide it.
        layout.addSpacing(48)
        label = QLabel(self.tr("The screen is locked. The cameras keep working."), page)
        label.setObjectName("lock-message")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        label.setStyleSheet("font-size: 16pt;")
        layout.addWidget(label)
        self.lock_message = label
        self.unlock_button = QPushButton(self.tr("Unlock…"), page)
        self.unlock_button.setObjectName("unlock")
        self.unlock_button.clicked.connect(self.unlock)
        layout.addWidget(self.unlock_button, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        return page

    def _action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        permission: Permission | None = None,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        if permission is not None:
            self._permissions[action] = permission
        return action

    def _build_menus(self) -> None:
        self._permissions: dict[QAction, Permission] = {}
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self.signage_action = self._action(
            file_menu, self.tr("&Signage…"), self.show_signage, Permission.SIGNAGE
        )
        self.export_action = self._action(
            file_menu, self.tr("&Export…"), self.show_export, Permission.EXPORT, "Ctrl+E"
        )
        self.pos_action = self._action(
            file_menu, self.tr("&Import POS CSV…"), self.show_pos_import, Permission.SETTINGS
        )
        file_menu.addSeparator()
        self.password_action = self._action(
            file_menu, self.tr("Change my &password…"), self.show_own_password
        )
        self.password_action.setEnabled(not self.session.demo)
        self.lock_action = self._action(
            file_menu, self.tr("&Lock screen"), self.lock_screen, shortcut="Ctrl+L"
        )
        self.lock_action.setEnabled(not self.session.demo)
        self.quit_action = self._action(
            file_menu, self.tr("&Quit"), self.close, shortcut=QKeySequence.StandardKey.Quit
        )
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.camera_menu = self.menuBar().addMenu(self.tr("&Cameras"))
        self.add_camera_action = self._action(
            self.camera_menu,
            self.tr("&Add camera…"),
            lambda: self.edit_camera(None),
            Permission.CAMERAS,
        )
        self.edit_menu = self.camera_menu.addMenu(self.tr("&Edit camera"))
        self.remove_menu = self.camera_menu.addMenu(self.tr("&Remove camera"))
        layout_menu = self.camera_menu.addMenu(self.tr("&Layout"))
        group = QActionGroup(self)
        for columns in LAYOUTS:
            action = QAction(f"{columns}×{columns}", self, checkable=True)
            action.setChecked(columns == self.camera_grid.columns)
            action.triggered.connect(lambda _=False, c=columns: self.camera_grid.set_columns(c))
            group.addAction(action)
            layout_menu.addAction(action)

        admin_menu = self.menuBar().addMenu(self.tr("&Administration"))
        self.admin_menu = admin_menu
        self.settings_action = self._action(
            admin_menu, self.tr("&Settings…"), self.show_settings, Permission.SETTINGS, "Ctrl+,"
        )
        self.chain_action = self._action(
            admin_menu, self.tr("&Chain of stores…"), self.show_chain, Permission.SETTINGS
        )
        self.requests_action = self._action(
            admin_menu,
            self.tr("&Requests from the public…"),
            self.show_requests,
            Permission.PUBLIC_REQUESTS,
            "Ctrl+Shift+R",
        )
        self.staff_action = self._action(
            admin_menu, self.tr("S&taff…"), self.show_staff, Permission.STAFF
        )
        self.audit_action = self._action(
            admin_menu, self.tr("&Audit log…"), self.show_audit, Permission.AUDIT, "Ctrl+Shift+A"
        )
        admin_menu.addSeparator()
        self.purge_action = self._action(
            admin_menu,
            self.tr("&Delete all personal data…"),
            self.show_purge,
            Permission.PURGE,
            "Ctrl+Shift+Del",
        )

        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.guide_action = self._action(
            help_menu, self.tr("&User guide"), self.show_guide, shortcut="F1"
        )
        self.models_action = self._action(
            help_menu, self.tr("&Models and licences…"), self.show_models
        )
        self.bench_action = self._action(
            help_menu, self.tr("&Check this PC's capacity…"), self.show_bench
        )
        self._action(help_menu, self.tr("&About Raiten"), self.show_about)

    def apply_session(self) -> None:
        """Show exactly what the signed-in role may use; the rest is hidden and its shortcuts
        are dead (a disabled action ignores its shortcut)."""
        session = self.session
        for action, permission in self._permissions.items():
            allowed = session.may(permission)
            action.setEnabled(allowed)
            action.setVisible(allowed)
        for menu in (self.edit_menu, self.remove_menu):
            menu.menuAction().setVisible(session.may(Permission.CAMERAS))
        self.admin_menu.menuAction().setVisible(
            any(session.may(p) for p in self._permissions.values() if p in _ADMIN_PERMISSIONS)
        )
        live = session.may(Permission.LIVE_VIEW)
        self.tabs.setTabVisible(self.tabs.indexOf(self.camera_grid), live)
        self.camera_menu.menuAction().setVisible(live)
        if not live:
            self.tabs.setCurrentWidget(self.dashboard)
        title = self.tr("Raiten — store camera analytics")
        if session.demo:
            title = self.tr("Raiten — DEMO (sample data, not a real store)")
        self.setWindowTitle(title)
        self.user_label.setText(
            self.tr("DEMO — the dashboard shows sample figures")
            if session.demo
            else f"{session.name} ({AccountTexts(self).role_label(session.role)})"
        )

    def _allowed(self, permission: Permission) -> bool:
        """The second lock behind hidden menus: a slot reached any other way still refuses."""
        if self.session.may(permission) and self.pages.currentWidget() is self.tabs:
            return True
        log.warning("%s refused %s", self.session.actor, permission.value)
        self.statusBar().showMessage(self.tr("Your account may not do this."), 5000)
        return False

    def lock_screen(self) -> None:
        if self.session.demo or self.pages.currentWidget() is self.lock_page:
            return
        self.idle.pause()
        self.pages.setCurrentWidget(self.lock_page)
        self.menuBar().setEnabled(False)
        for action in self._permissions:
            action.setEnabled(False)
        log.info("screen locked")
        QTimer.singleShot(0, self.unlock)

    def unlock(self) -> None:
        dialog = LoginDialog(self.workspace.authenticate, self, locked_by=self.session.name)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.session is None:
            return
        self.session = dialog.session
        self.pages.setCurrentWidget(self.tabs)
        self.menuBar().setEnabled(True)
        self.apply_session()
        self.idle.resume()
        log.info("screen unlocked by %s", self.session.actor)

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
            self.tr("The models could not be checked: %1").replace(
                "%1", ErrorTexts(self).error(error)
            )
        )

    def run_retention(self) -> None:
        """At start-up and every hour: expired feature data goes, statistics stay (G-04)."""
        run_in_background(
            self.workspace.run_retention, self._retention_done, self._retention_failed, self
        )

    def _retention_done(self, result: SweepResult | None) -> None:
        if result is not None and result.visitors:
            log.info("retention removed %d visitors", result.visitors)

    def _retention_failed(self, error: Exception) -> None:
        # Logged by the worker; the next hourly run tries again.
        self.statusBar().showMessage(
            ErrorTexts(self).scrub_incomplete()
            if isinstance(error, ScrubIncompleteError)
            else self.tr(
                "Expired data could not be deleted yet; Raiten will try again: %1"
            ).replace("%1", ErrorTexts(self).error(error))
        )

    def _workspace_failed(self, error: Exception) -> None:
        self.statusBar().showMessage(
            self.tr("The data folder cannot be opened: %1").replace(
                "%1", ErrorTexts(self).error(error)
            )
        )

    def reload_cameras(self) -> None:
        workspace = self.workspace
        run_in_background(
            lambda: (
                workspace.cameras(),
                workspace.notice_problems(),
                workspace.exclusion_problem(),
            ),
            self._cameras_loaded,
            self._workspace_failed,
            self,
        )

    def _cameras_loaded(
        self,
        loaded: tuple[list[Camera], list[tuple[str, str]], ExclusionModelError | None],
    ) -> None:
        cameras, problems, foreign = loaded
        self.controller.stop_all()
        self._close_writer()
        for camera_id in list(self.camera_grid.tiles):
            self.camera_grid.remove_tile(camera_id)
        self.cameras = cameras
        self._rebuild_camera_menus()
        texts = NoticeTexts(self)
        if problems:
            blocked: str | None = texts.gate_message(problems)
        else:
            blocked = texts.exclusion_model_message(foreign) if foreign else None
        self._show_cameras(cameras, blocked)
        self.cameras_ready.emit()

    def _show_cameras(self, cameras: list[Camera], blocked: str | None) -> None:
        if not cameras and not self.session.demo:
            return  # the grid says how to add a camera; the demo never runs in a real store
        if not cameras:
            # The demo session: the demo camera with its DEMO notice, recorded nowhere.
            tile = CameraTile(DEMO_CAMERA_ID, self.tr("Demo camera"))
            tile.set_label(self.tr("DEMO"))
            self.camera_grid.add_tile(tile)
            if self.start_cameras:
                config = PipelineConfig(mode=DEMO_NOTICE.mode)
                self.controller.start(DEMO_CAMERA_ID, DEMO_SOURCE, config, "demo")
            return
        if blocked is None and self.start_cameras:
            workspace = self.workspace
            self.writer = visit_writer(
                self.data_dir,
                self.settings.vision,
                lambda: workspace.settings.reports.floor_plan_size_m,
            )
        for camera in cameras:
            assert camera.camera_id is not None
            tile = CameraTile(camera.camera_id, camera.name)
            if camera.entrance:
                tile.set_label(self.tr("Entrance"))
            self.camera_grid.add_tile(tile)
            if blocked is not None:
                tile.show_blocked(blocked)
                continue
            if camera.enabled and self.start_cameras:
                self._start_camera(camera)

    def _start_camera(self, camera: Camera) -> None:
        assert camera.camera_id is not None
        try:
            notice = self.workspace.notice_in_force()
        except NoticeGateError:
            return
        config = PipelineConfig(
            mode=notice.profile.mode,
            mask_style=camera.mask_style,
            polygons=camera.polygons,
            analysis_fps=camera.analysis_fps,
            zones=camera.zones,
            lines=camera.lines,
            calibration=camera.calibration,
            congestion=camera.congestion,
        )
        self.controller.start(camera.camera_id, camera.source, config, camera.name)

    def _rebuild_camera_menus(self) -> None:
        self.edit_menu.clear()
        self.remove_menu.clear()
        for camera in self.cameras:
            label = self.tr("%1 (entrance)") if camera.entrance else "%1"
            edit = self.edit_menu.addAction(label.replace("%1", camera.name))
            edit.triggered.connect(lambda _=False, c=camera: self.edit_camera(c))
            remove = self.remove_menu.addAction(camera.name)
            remove.triggered.connect(lambda _=False, c=camera: self.remove_camera(c))
        self.edit_menu.setEnabled(bool(self.cameras))
        self.remove_menu.setEnabled(bool(self.cameras))

    def edit_camera(self, camera: Camera | None) -> None:
        if not self._allowed(Permission.CAMERAS):
            return
        notice = self.workspace.current_notice()
        dialog = CameraDialog(
            self.settings.vision,
            camera,
            self,
            self.workspace.settings.reports.floor_plan,  # the dashboard may have chosen one
            mode=notice.profile.mode if notice is not None else PipelineConfig().mode,
            # The store's first camera watches its entrance, unless the operator says not.
            entrance_default=not self.cameras,
            plan_size_m=self.workspace.settings.reports.floor_plan_size_m,
        )
        if dialog.exec() != CameraDialog.DialogCode.Accepted or dialog.result_camera is None:
            return
        plan = dialog.chosen_floor_plan or self.workspace.settings.reports.floor_plan
        if plan and (dialog.chosen_floor_plan or dialog.chosen_plan_size_m):
            self.dashboard.use_floor_plan(plan, dialog.chosen_plan_size_m)
        workspace, actor = self.workspace, self.session.actor
        chosen = dialog.result_camera
        run_in_background(
            lambda: workspace.save_camera(chosen, actor),
            lambda _saved: self.reload_cameras(),
            self._workspace_failed,
            self,
        )

    def remove_camera(self, camera: Camera) -> None:
        if not self._allowed(Permission.CAMERAS):
            return
        answer = QMessageBox.question(
            self,
            self.tr("Remove camera"),
            self.tr('Remove the camera "%1"?').replace("%1", camera.name),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        workspace, actor = self.workspace, self.session.actor
        camera_id = camera.camera_id
        assert camera_id is not None
        run_in_background(
            lambda: workspace.remove_camera(camera_id, actor),
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
            # Tracks still waiting to be joined to a visit are recorded as they are.
            self.writer.submit(lambda joiner: joiner.flush())
            self.writer.close()
            self.writer = None

    def _frame_ready(self, frame: MaskedFrame) -> None:
        tile = self.camera_grid.tiles.get(frame.camera_id)
        if tile is not None and tile.isVisible():
            tile.show_frame(frame, self._fps.get(frame.camera_id, 0.0))

    def _status_ready(self, camera_id: int, status: SourceStatus) -> None:
        tile = self.camera_grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_status(status)

    def _fps_ready(self, camera_id: int, fps: float) -> None:
        self._fps[camera_id] = fps

    def _analysis_failing(self, camera_id: int, _detail: str) -> None:
        tile = self.camera_grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_analysis_failing()

    def _camera_failed(self, camera_id: int, message: str) -> None:
        tile = self.camera_grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_blocked(self.tr("This camera cannot start: %1").replace("%1", message))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if not self.keep_workspace_open and not self._may_stop_analysis():
            event.ignore()
            return
        self.controller.shutdown()
        self._close_writer()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self.idle)
        if not self.keep_workspace_open:
            self.workspace.close()
        super().closeEvent(event)

    def _may_stop_analysis(self) -> bool:
        """Closing the window stops the cameras' analysis: a manager or an administrator may
        do that. Anyone else (a viewer, or whoever is at a locked screen) is asked for such an
        account's sign-in; without it the window stays open and analysis goes on, since a
        window hidden to a tray cannot be reached again on every platform."""
        analysing = [c for c in self.controller.workers if c != DEMO_CAMERA_ID]
        unlocked = self.pages.currentWidget() is self.tabs
        if not analysing or (unlocked and self.session.may(Permission.STOP_ANALYSIS)):
            return True
        dialog = LoginDialog(
            self.workspace.authenticate,
            self,
            note=self.tr(
                "Closing Raiten stops the analysis of every camera. A manager or an "
                "administrator must sign in to stop it; cancel to keep Raiten running."
            ),
        )
        dialog.setObjectName("stop-sign-in")
        session = dialog.session if dialog.exec() == QDialog.DialogCode.Accepted else None
        if session is None or not session.may(Permission.STOP_ANALYSIS):
            if session is not None:
                QMessageBox.information(
                    self,
                    self.tr("Raiten keeps running"),
                    self.tr(
                        "%1 may not stop the analysis: a manager or an administrator must."
                    ).replace("%1", session.name),
                )
            self.statusBar().showMessage(self.tr("Raiten keeps analysing."), 5000)
            return False
        self.workspace.record(
            session.actor, "analysis.stop", {"cameras": len(analysing), "for": self.session.actor}
        )
        return True

    def show_own_password(self) -> None:
        if self.session.demo or self.pages.currentWidget() is not self.tabs:
            return
        if OwnPasswordDialog(self.workspace, self.session, self).exec():
            self.statusBar().showMessage(self.tr("Your password was changed."), 5000)

    def show_staff(self) -> None:
        if not self._allowed(Permission.STAFF):
            return
        dialog = StaffDialog(self.workspace, self.session, self.settings.vision, self.cameras, self)
        dialog.staff_changed.connect(self._reload_galleries)
        dialog.exec()

    def show_guide(self) -> None:
        UserGuide(effective_language(self.settings.ui.language), self).exec()

    def show_models(self) -> None:
        ModelsDialog(self.model_checks, self.model_status, self).exec()

    def show_bench(self) -> None:
        """How many cameras this PC can analyse at its settings (``raiten bench``)."""
        # The cameras run the notice's mode; without a notice yet, repeat analysis (the
        # heaviest) gives the figure that holds whatever is chosen later.
        current = self.workspace.current_notice()
        mode = current.profile.mode if current is not None else Mode.REPEAT
        BenchDialog(self.workspace.settings.vision, mode, self, self.bench_plan).exec()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About Raiten"),
            self.tr(
                "Raiten %1\n\nCamera analytics for stores, following METI/MIC's Guidebook for "
                "Utilization of Camera Images. Pictures are analysed in memory and never stored."
            ).replace("%1", __version__),
        )

    def show_settings(self) -> None:
        if not self._allowed(Permission.SETTINGS):
            return
        dialog = SettingsDialog(self.workspace, self.session, self)
        dialog.notice_saved.connect(lambda _notice: self.reload_cameras())
        dialog.settings_saved.connect(self._settings_saved)
        dialog.exec()

    def _settings_saved(self, language_changed: bool) -> None:
        self.settings = self.workspace.settings
        self.idle.set_minutes(self.settings.ui.idle_lock_minutes)
        if language_changed:
            # After the dialog has closed: the window is rebuilt in the new language.
            QTimer.singleShot(0, self.language_changed.emit)

    def show_signage(self) -> None:
        if not self._allowed(Permission.SIGNAGE):
            return
        workspace, actor = self.workspace, self.session.actor
        try:
            notice = workspace.notice_in_force()
        except NoticeGateError as exc:
            QMessageBox.information(
                self, self.tr("Signage"), NoticeTexts(self).gate_message(exc.items)
            )
            return

        def printed(path: Path, options: SignageOptions) -> None:
            workspace.record(
                actor,
                "signage.print",
                {
                    "version": notice.version,
                    "language": options.language,
                    "size": options.size,
                    "file": path.name,
                },
            )

        SignageDialog(notice, printed, self).exec()

    def show_requests(self) -> None:
        if not self._allowed(Permission.PUBLIC_REQUESTS):
            return
        dialog = PublicRequestsDialog(
            self.workspace,
            self.session,
            self.settings.vision,
            self.cameras,
            self,
            frames=self.controller.frame_ready,
        )
        dialog.records_changed.connect(self._reload_galleries)
        dialog.exec()

    def _reload_galleries(self) -> None:
        """An erasure or opt-out takes effect in the running recorder at once."""
        if self.writer is not None:
            self.writer.submit(lambda recorder: recorder.reload_galleries())

    def show_audit(self) -> None:
        if not self._allowed(Permission.AUDIT):
            return
        AuditViewer(self.workspace.audit_entries, self.workspace.verify_audit, self).exec()

    def show_chain(self) -> None:
        if not self._allowed(Permission.SETTINGS):
            return
        dialog = ChainDialog(self.workspace, self.session.actor, self)
        # Joining starts the syncs (and shows the state); leaving hides it.
        dialog.changed.connect(self.chain_status.sync_now)
        dialog.exec()

    def show_purge(self) -> None:
        if not self._allowed(Permission.PURGE):
            return
        workspace, actor = self.workspace, self.session.actor
        dialog = PurgeDialog(
            lambda keep, exclusions, progress: workspace.purge(
                keep, progress, actor, include_exclusions=exclusions
            ),
            self,
        )
        dialog.starting.connect(self._stop_recording)
        dialog.finished_purge.connect(self.reload_cameras)
        dialog.exec()

    def _stop_recording(self) -> None:
        """The writer's connection must close before a purge can scrub the file."""
        self.controller.stop_all()
        self._close_writer()

    def _stores(self) -> list[tuple[int, str]]:
        refs = self.dashboard.data.stores if self.dashboard.data else []
        return [(ref.store_id, ref.name) for ref in refs]

    def show_export(self) -> None:
        if not self._allowed(Permission.EXPORT):
            return
        ExportDialog(self.workspace, self.session, self._stores(), self).exec()

    def show_pos_import(self) -> None:
        if not self._allowed(Permission.SETTINGS):
            return
        stores = [name for _id, name in self._stores()]
        if not stores:
            current = self.workspace.current_notice()
            stores = [current.profile.store] if current else []
        dialog = PosImportDialog(self.workspace, self.session, stores, self)
        dialog.imported.connect(lambda _result: self.dashboard.refresh())
        dialog.exec()
