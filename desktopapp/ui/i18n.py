"""Loading the Japanese translation. English is the source language of every string."""

from __future__ import annotations

import logging

from PySide6.QtCore import QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from desktopapp.core.resources import resources_dir

log = logging.getLogger(__name__)

LANGUAGES = ("ja", "en")


def effective_language(preference: str) -> str:
    """``auto`` follows the OS locale: Japanese on a Japanese system, English elsewhere."""
    if preference in LANGUAGES:
        return preference
    return "ja" if QLocale.system().name().lower().startswith("ja") else "en"


def install_translator(app: QApplication, language: str) -> QTranslator | None:
    """Install the translator for ``language``; the caller keeps it alive."""
    if language == "en":
        return None
    translator = QTranslator(app)
    path = resources_dir() / "translations" / f"raiten_{language}.qm"
    if not translator.load(str(path)):
        log.error("translation %s could not be loaded; showing English", path)
        return None
    app.installTranslator(translator)
    return translator
