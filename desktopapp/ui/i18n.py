"""Loading the Japanese translation. English is the source language of every string."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from desktopapp.core.resources import resources_dir

log = logging.getLogger(__name__)

LANGUAGES = ("ja", "en")


def effective_language(preference: str) -> str:
    """``auto`` follows the OS locale: Japanese on a Japanese system, English elsewhere."""
    if preference in LANGUAGES:
        return preference
    return "ja" if QLocale.system().name().lower().startswith("ja") else "en"


def install_translator(app: QApplication, language: str) -> list[QTranslator]:
    """Install Raiten's and Qt's own translations (standard buttons, file dialogs) for
    ``language``; the caller keeps the returned translators alive and removes them to switch."""
    if language == "en":
        return []
    installed = []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for path in (
        Path(qt_dir) / f"qtbase_{language}.qm",
        resources_dir() / "translations" / f"raiten_{language}.qm",
    ):
        translator = QTranslator(app)
        if translator.load(str(path)):
            app.installTranslator(translator)
            installed.append(translator)
        else:
            log.error("translation %s could not be loaded", path)
    return installed
