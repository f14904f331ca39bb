"""Exporting aggregates (CSV or PDF report) and the incident report (G-15).

Exports hold aggregates only, with small counts shown as "<k": never a visitor ID, a feature or
a picture. Every export is audited.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.analytics import Period
from desktopapp.core.session import Session
from desktopapp.core.workspace import ExportKind, Workspace
from desktopapp.ui.dates import local_days
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class ExportDialog(QDialog):
    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        stores: list[tuple[int, str]],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._workspace = workspace
        self._session = session
        self.saved: Path | None = None
        self.setWindowTitle(self.tr("Export"))
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Exports hold counts only: no picture, no feature data and no visitor ID. "
                "Counts below %1 are written as \u201c<%1\u201d."
            ).replace("%1", str(workspace.settings.reports.min_group)),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.kind = QComboBox(self)
        self.kind.addItem(self.tr("Report (PDF)"), "pdf")
        self.kind.addItem(self.tr("Figures (CSV for Excel)"), "csv")
        self.kind.addItem(self.tr("Incident report: personal records held (CSV)"), "incident")
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-29), self)
        self.until = QDateEdit(today, self)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.store = QComboBox(self)
        self.store.addItem(self.tr("All stores"), None)
        for store_id, name in stores:
            self.store.addItem(name, store_id)
        self.language = QComboBox(self)
        self.language.addItem("日本語", "ja")
        self.language.addItem("English", "en")
        form.addRow(self.tr("What"), self.kind)
        form.addRow(self.tr("From"), self.since)
        form.addRow(self.tr("To"), self.until)
        form.addRow(self.tr("Store"), self.store)
        form.addRow(self.tr("Language"), self.language)
        layout.addLayout(form)
        self.message = QLabel(self)
        self.message.setObjectName("export-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.save_button = QPushButton(self.tr("Save…"), self)
        self.save_button.setObjectName("export-save")
        self.save_button.clicked.connect(self.save)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def period(self) -> Period:
        return local_days(
            self.since.date().toPython(), self.until.date().toPython(), self.store.currentData()
        )

    def save(self) -> None:
        kind: ExportKind = self.kind.currentData()
        suffix = ".pdf" if kind == "pdf" else ".csv"
        name = f"raiten-{kind}-{self.since.date().toString('yyyyMMdd')}{suffix}"
        chosen, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export"), str(Path.home() / name), f"*{suffix}"
        )
        if chosen:
            self.save_to(Path(chosen))

    def save_to(self, path: Path) -> None:
        if self.since.date() > self.until.date():
            self.message.setStyleSheet("color: #b00020;")
            self.message.setText(self.tr("The first day is after the last day: swap them."))
            return
        kind: ExportKind = self.kind.currentData()
        suffix = ".pdf" if kind == "pdf" else ".csv"
        if path.suffix.lower() != suffix:
            path = path.with_suffix(suffix)
        workspace, actor, period = self._workspace, self._session.actor, self.period()
        language = self.language.currentData()
        self.save_button.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText(self.tr("Exporting…"))
        run_in_background(
            lambda: workspace.export(path, kind, period, language, actor),
            self._saved,
            self._failed,
            self,
        )

    def _saved(self, path: Path) -> None:
        self.saved = path
        self.save_button.setEnabled(True)
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(self.tr("Saved: %1").replace("%1", str(path)))

    def _failed(self, error: Exception) -> None:
        self.save_button.setEnabled(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(
            self.tr("The export could not be saved: %1").replace(
                "%1", ErrorTexts(self).error(error)
            )
        )
