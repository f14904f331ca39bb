"""The signage panel (G-02): a live preview of the printed notice and saving it as a PDF."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage, QPageSize, QPainter, QPixmap
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
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
from desktopapp.core.reports.signage import (
    SignageError,
    SignageOptions,
    signage_pages,
    signage_preview_png,
    write_signage,
)
from desktopapp.ui.dates import local_date_text
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 520
PRINT_WIDTH = 2480  # pixels across an A4 page at 300 dpi


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
        resize_within_screen(self, 900, 780)
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
        self.language.addItem(self.tr("Japanese and English (Japanese above)"), "ja+en")
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
        self.print_button = QPushButton(self.tr("Print…"), self)
        self.print_button.setObjectName("signage-print")
        self.print_button.clicked.connect(self.print_sign)
        side.addWidget(self.print_button)
        pages = signage_pages(notice)
        if pages > 1:
            second = QLabel(
                self.tr(
                    "The notice has no web address for its full policy, so the sign has a "
                    "second page with the full policy: put it up beside the first or keep it "
                    "at the counter."
                ),
                self,
            )
            second.setWordWrap(True)
            side.addWidget(second)
        self.message = QLabel(self)
        self.message.setObjectName("signage-message")
        self.message.setWordWrap(True)
        side.addWidget(self.message)
        side.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        side.addWidget(buttons)
        layout.addLayout(side, 1)

        pages_box = QWidget(self)
        pages_box.setStyleSheet("background: #808080;")
        pages_layout = QVBoxLayout(pages_box)
        self.page_previews = []
        for _page in range(pages):
            page_label = QLabel(self.tr("Drawing the preview…"), pages_box)
            page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            pages_layout.addWidget(page_label)
            self.page_previews.append(page_label)
        self.preview = self.page_previews[0]
        self.preview.setObjectName("signage-preview")
        scroll = QScrollArea(self)
        scroll.setWidget(pages_box)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(PREVIEW_WIDTH + 40)
        layout.addWidget(scroll, 2)
        self._preview_wanted = 0
        self._preview_complaint = False
        self.language.currentIndexChanged.connect(self.refresh)
        self.size.currentIndexChanged.connect(self.refresh)
        self.refresh()

    def options(self) -> SignageOptions:
        return SignageOptions(language=self.language.currentData(), size=self.size.currentData())

    def refresh(self) -> None:
        notice, options = self._notice, self.options()
        count = len(self.page_previews)
        # Renders finish in any order: only the latest choice's pages are shown.
        self._preview_wanted += 1
        wanted = self._preview_wanted
        run_in_background(
            lambda: [signage_preview_png(notice, options, PREVIEW_WIDTH, i) for i in range(count)],
            lambda pages: self._show_preview(wanted, pages),
            lambda error: self._preview_failed(wanted, error),
            self,
        )

    def _show_preview(self, wanted: int, pages: list[bytes]) -> None:
        if wanted != self._preview_wanted:
            return
        # A preview replaces only its own earlier complaint, never a "Saved" or "Sent" line.
        if self._preview_complaint:
            self.message.setText("")
            self._preview_complaint = False
        for label, png in zip(self.page_previews, pages, strict=True):
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            label.setPixmap(pixmap)

    def print_sign(self) -> None:
        """Through the operating system's print dialog, on the chosen paper size."""
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        size = (
            QPageSize.PageSizeId.A3 if self.size.currentData() == "A3" else QPageSize.PageSizeId.A4
        )
        printer.setPageSize(QPageSize(size))
        printer.setDocName(f"raiten-notice-v{self._notice.version}")
        dialog = QPrintDialog(printer, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.print_to(printer)

    def print_to(self, printer: QPrinter) -> None:
        notice, options, printed = self._notice, self.options(), self._printed
        area = printer.pageRect(QPrinter.Unit.DevicePixel)
        # 300 dpi is more than a sign needs; the printer's own resolution could be 1200.
        width = max(16, min(round(area.width()), PRINT_WIDTH))
        count = len(self.page_previews)
        self.print_button.setEnabled(False)
        try:
            pages = [signage_preview_png(notice, options, width, i) for i in range(count)]
            painter = QPainter()
            if not painter.begin(printer):
                raise OSError("the printer cannot be opened")
            try:
                for index, png in enumerate(pages):
                    if index:
                        printer.newPage()
                    image = QImage.fromData(png, "PNG")
                    scaled = image.size().scaled(
                        area.size().toSize(), Qt.AspectRatioMode.KeepAspectRatio
                    )
                    painter.drawImage(QRect(QPoint(0, 0), scaled), image)
            finally:
                painter.end()
            where = printer.outputFileName() or printer.printerName() or "printer"
            run_in_background(
                lambda: printed(Path(where), options), lambda _none: None, self._failed, self
            )
        except (SignageError, OSError) as exc:
            log.error("printing the sign failed: %s", exc)
            self._failed(exc)
            return
        finally:
            self.print_button.setEnabled(True)
        self._preview_complaint = False
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(self.tr("Sent to the printer: %1").replace("%1", where))

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
        self._preview_complaint = False
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(self.tr("Saved: %1").replace("%1", str(path)))

    def _preview_failed(self, wanted: int, error: Exception) -> None:
        if wanted == self._preview_wanted:
            self._failed(error)
            self._preview_complaint = True

    def _failed(self, error: Exception) -> None:
        self._preview_complaint = False
        self.save_button.setEnabled(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(
            self.tr("The sign could not be made: %1").replace("%1", ErrorTexts(self).error(error))
        )
