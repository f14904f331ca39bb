"""Help → User guide: a short manual, one page per task, in the screens' language, read from
``resources/guide/<language>/`` inside the installation (no network)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.resources import resources_dir
from desktopapp.ui.screen_fit import resize_within_screen

log = logging.getLogger(__name__)

_TITLE = re.compile(r"<h1>(.*?)</h1>", re.S)


def guide_pages(language: str) -> list[Path]:
    """The guide's pages in ``language`` (ja or en), in reading order."""
    folder = resources_dir() / "guide" / (language if language in ("ja", "en") else "en")
    return sorted(folder.glob("*.html"))


class UserGuide(QDialog):
    def __init__(self, language: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("User guide"))
        resize_within_screen(self, 860, 560)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.topics = QListWidget(self)
        self.topics.setObjectName("guide-topics")
        self.topics.setMaximumWidth(240)
        self.page = QTextBrowser(self)
        self.page.setObjectName("guide-page")
        self.page.setOpenExternalLinks(False)
        row.addWidget(self.topics)
        row.addWidget(self.page, 1)
        layout.addLayout(row, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._pages: list[str] = []
        for path in guide_pages(language):
            text = path.read_text(encoding="utf-8")
            found = _TITLE.search(text)
            self.topics.addItem(found.group(1).strip() if found else path.stem)
            self._pages.append(text)
        self.topics.currentRowChanged.connect(self._show)
        if self._pages:
            self.topics.setCurrentRow(0)
        else:
            log.error("the user guide is missing from %s", resources_dir() / "guide")
            self.page.setPlainText(self.tr("The user guide is missing: reinstall Raiten."))

    def _show(self, row: int) -> None:
        if 0 <= row < len(self._pages):
            self.page.setHtml(self._pages[row])
