"""Opening the folder of the log file, for an operator told that the details are in it."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from desktopapp.core.logs import log_file


def open_log_folder() -> None:
    """The log file's folder in the desktop's file manager; nothing while no log is kept."""
    log_path = log_file()
    if log_path is not None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_path.parent)))
