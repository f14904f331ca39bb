"""The signage panel (G-02): a live preview of the printed notice and saving it as a PDF."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.notice import NoticeVersion
from desktopapp.core.reports.signage import SignageOptions, signage_preview_png, write_signage
from desktopapp.ui.dates import local_date_text
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 520


class SignageDialog(QDialog):
    """``printed(path, options)`` records the print in the audit log (runs in a worker)."""

    def __init__(
        self,
        notice: NoticeVersion,
        printed: Callable[[Path, SignageOptions], None],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._notice = notice
        self._printed = printed
        self.setWindowTitle(self.tr("Signage"))
        self.resize(900, 780)
        layout = QHBoxLayout(self)
        side = QVBoxLayout()
        intro = QLabel(
            self.tr(
                "Print this notice and put it up where people see it before they enter the "
                "cameras' view, for example at the entrance. It shows notice version %1 of %2; "
                "change the notice in Settings and print again."
            )
            .replace("%1", str(notice.version))
            .replace("%2", local_date_text(notice.created_at)),
            self,
        )
        intro.setWordWrap(True)
        side.addWidget(intro)
        form = QFormLayout()
        self.language = QComboBox(self)
        self.language.addItem("日本語", "ja")
        self.language.addItem("English", "en")
        self.language.setCurrentIndex(self.language.findData(notice.profile.language))
        self.size = QComboBox(self)
        self.size.addItem("A4", "A4")
        self.size.addItem("A3", "A3")
        form.addRow(self.tr("Language"), self.language)
        form.addRow(self.tr("Paper"), self.size)
        side.addLayout(form)
        self.save_button = QPushButton(self.tr("Save as PDF…"), self)
        self.save_button.setObjectName("signage-save")
        self.save_button.clicked.connect(self.save)
        side.addWidget(self.save_button)
        self.message = QLabel(self)
        self.message.setObjectName("signage-message")
        self.message.setWordWrap(True)
        side.addWidget(self.message)
        side.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        side.addWidget(buttons)
        layout.addLayout(side, 1)

        self.preview = QLabel(self.tr("Drawing the preview…"), self)
        self.preview.setObjectName("signage-preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #808080;")
        scroll = QScrollArea(self)
        scroll.setWidget(self.preview)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(PREVIEW_WIDTH + 40)
        layout.addWidget(scroll, 2)
        self.language.currentIndexChanged.connect(self.refresh)
        self.size.currentIndexChanged.connect(self.refresh)
        self.refresh()

    def options(self) -> SignageOptions:
        return SignageOptions(language=self.language.currentData(), size=self.size.currentData())

    def refresh(self) -> None:
        notice, options = self._notice, self.options()
        run_in_background(
            lambda: signage_preview_png(notice, options, PREVIEW_WIDTH),
            self._show_preview,
            self._failed,
            self,
        )

    def _show_preview(self, png: bytes) -> None:
        pixmap = QPixmap()
        pixmap.loadFromData(png, "PNG")
        self.preview.setPixmap(pixmap)

    def save(self) -> None:
        language, size = self.language.currentData(), self.size.currentData()
        suggested = f"raiten-notice-v{self._notice.version}-{language}-{size}.pdf"
        chosen, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Save the sign as PDF"), str(Path.home() / suggested), "PDF (*.pdf)"
        )
        if chosen:
            self.save_to(Path(chosen))

    def save_to(self, path: Path) -> None:
        if path.suffix.lower() != ".pdf":
            path = path.with_suffix(".pdf")
        notice, options, printed = self._notice, self.options(), self._printed

        def job() -> Path:
            write_signage(path, notice, options)
            printed(path, options)
            return path

        self.save_button.setEnabled(False)
        run_in_background(job, self._saved, self._failed, self)

    def _saved(self, path: Path) -> None:
        self.save_button.setEnabled(True)
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(self.tr("Saved: %1").replace("%1", str(path)))

    def _failed(self, error: Exception) -> None:
        self.save_button.setEnabled(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(
            self.tr("The sign could not be made: %1").replace("%1", ErrorTexts(self).error(error))
        )
