"""Starting the GUI: translator, data folder, first-run wizard or sign-in, then the main window."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktopapp.core.access import Role
from desktopapp.core.config import Settings, SettingsError, load_settings
from desktopapp.core.demo import DEMO_NOTICE, demo_data_dir
from desktopapp.core.pipeline import MaskedFrame
from desktopapp.core.resources import resources_dir
from desktopapp.core.selftest import (
    LoadedModel,
    SelfTestError,
    check_signage,
    load_default_models,
    missing_resources,
    process_age,
    remove_scratch,
)
from desktopapp.core.services.errors import StoreError, StoreProblem
from desktopapp.core.services.recovery import Recovery, RecoveryAccounts
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.collector import MainThreadCollector
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.first_run import FirstRunWizard
from desktopapp.ui.i18n import effective_language, install_translator
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.main_window import MainWindow
from desktopapp.ui.recovery import RecoveryDialog
from desktopapp.ui.store_health import attach_store_health

log = logging.getLogger(__name__)


def _load_settings(data_dir: Path) -> tuple[Settings, SettingsError | None]:
    try:
        return load_settings(data_dir), None
    except SettingsError as exc:
        return Settings(), exc


def _settings_problem(error: SettingsError | None) -> str:
    """Why the settings file was not used, in the language just installed; "" when it was."""
    return ErrorTexts().settings_problem(error) if error is not None else ""


def _window(workspace: Workspace, session: Session, problem: str, start: bool) -> MainWindow:
    window = MainWindow(workspace, session, problem, start_cameras=start)
    attach_store_health(window, workspace)
    return window


def remove_translations(app: QApplication) -> None:
    """Back to the source language (English): the translators ``apply_language`` installed go."""
    for translator in app.property("raiten_translators") or []:
        app.removeTranslator(translator)
    app.setProperty("raiten_translators", [])


def apply_language(app: QApplication, settings: Settings) -> None:
    """Swap the installed translators for the language ``settings`` asks for."""
    remove_translations(app)
    language = effective_language(settings.ui.language)
    app.setProperty("raiten_translators", install_translator(app, language))


def create_main_window(
    app: QApplication, data_dir: Path, *, session: Session, start_cameras: bool = True
) -> MainWindow:
    """The main window for an already signed-in ``session`` (tests and the rebuild after a
    language change come in here)."""
    settings, problem = _load_settings(data_dir)
    apply_language(app, settings)
    workspace = Workspace(data_dir, settings)
    return _window(workspace, session, _settings_problem(problem), start_cameras)


def open_demo_workspace(data_dir: Path) -> Workspace:
    """The demo's own folder, with its DEMO notice in force (the window adds sample figures)."""
    demo_dir = demo_data_dir(data_dir)
    settings, _problem = _load_settings(demo_dir)
    # The demo speaks the language the operator chose for the real store, if any.
    real, _problem = _load_settings(data_dir)
    settings = settings.model_copy(update={"ui": real.ui})
    workspace = Workspace(demo_dir, settings)
    current = workspace.current_notice()
    if current is None or current.profile != DEMO_NOTICE:
        workspace.save_notice(DEMO_NOTICE, "demo:setup")
    return workspace


class Gui:
    """Owns the workspace and session across main-window rebuilds (language change)."""

    def __init__(self, app: QApplication, data_dir: Path):
        self.app = app
        self.data_dir = data_dir
        self.window: MainWindow | None = None

    def start(self) -> bool:
        settings, settings_error = _load_settings(self.data_dir)
        apply_language(self.app, settings)
        problem = _settings_problem(settings_error)
        try:
            workspace = Workspace(self.data_dir, settings)
        except StoreError as exc:
            log.error("the database cannot be opened: %s", exc)
            if exc.problem is not StoreProblem.CORRUPT:
                self._cannot_open(exc)
                return False
            recovered = self._recover(exc, settings)
            if recovered is None:
                return False
            workspace = recovered
        except Exception as exc:
            log.exception("the data folder cannot be opened")
            self._cannot_open(exc)
            return False
        session = self._sign_in(workspace)
        if session is None:
            workspace.close()
            return False
        if session.demo:
            workspace.close()
            workspace = open_demo_workspace(self.data_dir)
        self._show(workspace, session, problem)
        return True

    def _cannot_open(self, error: Exception) -> None:
        QMessageBox.critical(
            None,
            "Raiten",
            QCoreApplication.translate("Gui", "The data folder %1 cannot be opened: %2")
            .replace("%1", str(self.data_dir))
            .replace("%2", ErrorTexts().error(error)),
        )

    def _recover(self, error: StoreError, settings: Settings) -> Workspace | None:
        """The damaged database replaced by a backup the operator picks, or set aside for an
        empty one; None when the operator quits. A backup that turns out damaged too is said
        in the dialog, which offers the others again."""
        recovery = Recovery(self.data_dir)
        while True:
            dialog = RecoveryDialog(error, recovery.backups())
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            actor = self._recovery_admin(recovery.accounts)
            if actor is None:
                continue
            now = datetime.now(UTC)
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                if dialog.backup is not None:
                    aside = recovery.restore(dialog.backup, now)
                    action, details = "database.restore", {"backup": dialog.backup.name}
                else:
                    aside = recovery.start_empty(now)
                    action, details = "database.start_empty", {}
                workspace = Workspace(self.data_dir, settings)
            except StoreError as exc:
                log.error("recovery failed: %s", exc)
                error = exc
                continue
            finally:
                QApplication.restoreOverrideCursor()
            workspace.record(actor, action, {**details, "set_aside": aside.name if aside else None})
            return workspace

    def _recovery_admin(self, accounts: RecoveryAccounts) -> str | None:
        """The actor who authorised a recovery: an administrator of the damaged database (or
        of its newest readable backup); "system" when no account can be read at all. None when
        the sign-in was cancelled or the account is not an administrator."""
        if not accounts.needs_sign_in:
            return "system"
        dialog = LoginDialog(
            accounts.authenticate,
            note=QCoreApplication.translate(
                "Gui",
                "Restoring a backup or starting empty replaces the database: an administrator "
                "must sign in first.",
            ),
        )
        dialog.setObjectName("recovery-sign-in")
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.session is None:
            return None
        if dialog.session.role is not Role.ADMIN:
            log.warning("%s may not recover the database", dialog.session.actor)
            QMessageBox.warning(
                None,
                "Raiten",
                QCoreApplication.translate(
                    "Gui", "Only an administrator may recover the database; %1 is not one."
                ).replace("%1", dialog.session.name),
            )
            return None
        return dialog.session.actor

    def show_demo(self) -> MainWindow:
        """The demo's main window, as "Explore with the demo camera" opens it."""
        self._show(open_demo_workspace(self.data_dir), Session("demo", Role.ADMIN, demo=True))
        assert self.window is not None
        return self.window

    def _sign_in(self, workspace: Workspace) -> Session | None:
        if workspace.needs_first_run():
            wizard = FirstRunWizard(workspace.complete_first_run)
            if wizard.exec() != QDialog.DialogCode.Accepted:
                return None
            if wizard.demo:
                return Session("demo", Role.ADMIN, demo=True)
            return wizard.session
        current = workspace.current_notice()
        store = current.profile.store if current else ""
        dialog = LoginDialog(workspace.authenticate, store_name=store)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.session

    def _show(self, workspace: Workspace, session: Session, problem: str = "") -> None:
        window = _window(workspace, session, problem, True)
        window.language_changed.connect(self._rebuild)
        window.show()
        self.window = window

    def _rebuild(self) -> None:
        old = self.window
        if old is None:
            return
        apply_language(self.app, old.workspace.settings)
        old.keep_workspace_open = True
        geometry, maximised = old.geometry(), old.isMaximized()
        old.close()
        old.deleteLater()
        self._show(old.workspace, old.session)
        # The new window takes the old one's place and size, so it stays where it was seen.
        assert self.window is not None
        if maximised:
            self.window.showMaximized()
        else:
            self.window.setGeometry(geometry)


def _application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Raiten")
    app.setOrganizationName("Raiten")
    app.setDesktopFileName("raiten")  # installer/linux/raiten.desktop: the taskbar's icon
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "raiten.png")))
    MainThreadCollector(app)
    return app


def run_gui(data_dir: Path) -> int:
    app = _application()
    gui = Gui(app, data_dir)
    if not gui.start():
        return 1
    return app.exec()


# --- raiten --self-test ------------------------------------------------------------------------
# Proves an installation (above all a frozen bundle) complete: the demo's main window, as a
# newcomer opens it, must show masked frames with the demo person's face masked.
SELF_TEST_RUN_SECONDS = 3.0  # of demo frames after the first masked face
SELF_TEST_TIMEOUT_SECONDS = 120.0


class _DemoWatch(QObject):
    """Counts the masked frames the main window's demo camera delivers to the UI thread and
    stops the event loop once a face was masked and the demo ran a little longer."""

    def __init__(self, window: MainWindow, started: float):
        super().__init__(window)
        self.started = started
        self.frames = 0
        self.frames_with_faces = 0
        self.first_frame: float | None = None
        self.first_face: float | None = None
        self.error = ""
        window.controller.frame_ready.connect(self._frame)
        window.controller.failed.connect(self._failed)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    @Slot(object)
    def _frame(self, frame: MaskedFrame) -> None:
        now = time.monotonic()
        self.frames += 1
        if self.first_frame is None:
            self.first_frame = now
        if frame.faces:
            self.frames_with_faces += 1
            if self.first_face is None:
                self.first_face = now

    @Slot(int, str)
    def _failed(self, _camera_id: int, message: str) -> None:
        self.error = f"the demo camera could not start: {message}"
        QCoreApplication.quit()

    def _tick(self) -> None:
        now = time.monotonic()
        if self.first_face is not None and now - self.first_face >= SELF_TEST_RUN_SECONDS:
            QCoreApplication.quit()
        elif now - self.started > SELF_TEST_TIMEOUT_SECONDS:
            self.error = (
                f"no masked frame with a face within {SELF_TEST_TIMEOUT_SECONDS:.0f} s "
                f"({self.frames} masked frames arrived)"
            )
            QCoreApplication.quit()


def run_self_test(data_dir: Path, *, as_json: bool = False) -> int:
    """``raiten --self-test`` in the scratch ``data_dir`` (removed afterwards): open the demo's
    main window (offscreen when there is no display), wait for masked frames, then verify and
    load every default model. Prints a summary; 0 when all is well, 1 naming what failed."""
    started = time.monotonic()
    age = process_age()
    offset, clock = (age, "process start") if age is not None else (0.0, "self-test start")
    if sys.platform.startswith("linux") and not (
        os.environ.get("QT_QPA_PLATFORM")
        or os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    summary: dict[str, object] = {
        "ok": False,
        "frozen": bool(getattr(sys, "frozen", False)),
        "platform": f"{platform.system()}-{platform.machine()}",
        "qt_platform": os.environ.get("QT_QPA_PLATFORM") or "default",
    }

    def since_start(moment: float | None) -> float | None:
        return None if moment is None else round(moment - started + offset, 2)

    error = ""
    models: list[LoadedModel] = []
    try:
        app = _application()
        missing = missing_resources()
        if missing:
            raise SelfTestError(f"resource files missing from {resources_dir()}: {missing}")
        # Raiten's own and Qt's Japanese translations (only installed for a Japanese UI).
        translators = install_translator(app, "ja")
        for translator in translators:
            app.removeTranslator(translator)
        if len(translators) != 2:
            raise SelfTestError("the Japanese translations cannot be loaded (see the log)")
        window = Gui(app, data_dir).show_demo()
        watch = _DemoWatch(window, started)
        app.exec()
        window.close()
        summary.update(
            frames=watch.frames,
            frames_with_faces=watch.frames_with_faces,
            first_masked_frame_s=since_start(watch.first_frame),
            first_masked_face_s=since_start(watch.first_face),
            clock=clock,
        )
        error = watch.error
        broken = [check.message for check in window.model_checks if not check.ok]
        if not error and broken:
            error = "; ".join(broken)
        if not error:
            models = load_default_models()
            summary["models"] = [model.as_dict() for model in models]
            summary["signage_pdf_bytes"] = check_signage()
    except SelfTestError as exc:
        error = str(exc)
    except Exception as exc:
        log.exception("self-test failed")
        error = f"{type(exc).__name__}: {exc}"
    summary["seconds"] = round(time.monotonic() - started, 2)
    if not remove_scratch(data_dir) and not error:
        error = f"the temporary data folder {data_dir.parent} could not be removed"
    summary["ok"] = not error
    if error:
        summary["error"] = error
    if as_json:
        print(json.dumps(summary))
    else:
        if models:
            summary["models"] = ", ".join(f"{m.model_id} ({m.role.value})" for m in models)
        print("\n".join(f"{key}: {value}" for key, value in summary.items()))
    if error:
        print(f"raiten: self-test FAILED: {error}", file=sys.stderr)
        return 1
    return 0
