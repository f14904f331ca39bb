"""Starting the GUI: one QApplication, the translator, the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from desktopapp.core.config import Settings, SettingsError, load_settings
from desktopapp.ui.i18n import effective_language, install_translator
from desktopapp.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def create_main_window(
    app: QApplication, data_dir: Path, *, start_cameras: bool = True
) -> MainWindow:
    problem = ""
    try:
        settings = load_settings(data_dir)
    except SettingsError as exc:
        problem = str(exc)
        settings = Settings()
    language = effective_language(settings.ui.language)
    app.setProperty("raiten_translators", install_translator(app, language))
    return MainWindow(data_dir, settings, problem, start_cameras=start_cameras)


def run_gui(data_dir: Path) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Raiten")
    app.setOrganizationName("Raiten")
    window = create_main_window(app, data_dir)
    window.show()
    return app.exec()
