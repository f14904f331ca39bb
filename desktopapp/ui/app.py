"""Starting the GUI: translator, data folder, first-run wizard or sign-in, then the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktopapp.core.access import Role
from desktopapp.core.config import Settings, SettingsError, load_settings
from desktopapp.core.demo import DEMO_NOTICE, demo_data_dir
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.collector import MainThreadCollector
from desktopapp.ui.first_run import FirstRunWizard
from desktopapp.ui.i18n import effective_language, install_translator
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def _load_settings(data_dir: Path) -> tuple[Settings, str]:
    try:
        return load_settings(data_dir), ""
    except SettingsError as exc:
        return Settings(), str(exc)


def apply_language(app: QApplication, settings: Settings) -> None:
    """Swap the installed translators for the language ``settings`` asks for."""
    for translator in app.property("raiten_translators") or []:
        app.removeTranslator(translator)
    language = effective_language(settings.ui.language)
    app.setProperty("raiten_translators", install_translator(app, language))


def create_main_window(
    app: QApplication, data_dir: Path, *, session: Session, start_cameras: bool = True
) -> MainWindow:
    """The main window for an already signed-in ``session`` (tests and the rebuild after a
    language change come in here)."""
    settings, problem = _load_settings(data_dir)
    apply_language(app, settings)
    return MainWindow(Workspace(data_dir, settings), session, problem, start_cameras=start_cameras)


def open_demo_workspace(data_dir: Path) -> Workspace:
    """The demo's own folder, with its DEMO notice in force."""
    demo_dir = demo_data_dir(data_dir)
    settings, _problem = _load_settings(demo_dir)
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
        settings, problem = _load_settings(self.data_dir)
        apply_language(self.app, settings)
        try:
            workspace = Workspace(self.data_dir, settings)
        except Exception as exc:
            log.exception("the data folder cannot be opened")
            QMessageBox.critical(
                None,
                "Raiten",
                QCoreApplication.translate("Gui", "The data folder %1 cannot be opened: %2")
                .replace("%1", str(self.data_dir))
                .replace("%2", str(exc)),
            )
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
        window = MainWindow(workspace, session, problem)
        window.language_changed.connect(self._rebuild)
        window.show()
        self.window = window

    def _rebuild(self) -> None:
        old = self.window
        if old is None:
            return
        apply_language(self.app, old.workspace.settings)
        old.keep_workspace_open = True
        old.close()
        old.deleteLater()
        self._show(old.workspace, old.session)


def run_gui(data_dir: Path) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Raiten")
    app.setOrganizationName("Raiten")
    MainThreadCollector(app)
    gui = Gui(app, data_dir)
    if not gui.start():
        return 1
    return app.exec()
