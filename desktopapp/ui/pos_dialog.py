"""Importing purchases from a POS CSV (G-05): preview, column mapping, what is dropped and why.

Columns that could identify a customer (member or card numbers, names, phone numbers, e-mail
addresses …) are dropped by the importer before anything is stored; this dialog only says which
ones and why, and never shows their values.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.pos import ColumnMapping, PosImportResult, PosPreview, preview_pos_csv
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.pos_texts import PosTexts
from desktopapp.ui.registers_dialog import RegistersDialog
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

_NONE = ""


class PosImportDialog(QDialog):
    imported = Signal(object)

    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        stores: list[str],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._workspace = workspace
        self._session = session
        self._path: Path | None = None
        self._preview: PosPreview | None = None
        self.result_counts: PosImportResult | None = None
        self.texts = PosTexts(self)
        self.setWindowTitle(self.tr("Import POS CSV"))
        resize_within_screen(self, 860, 620)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Only the time, register, amount and category of each purchase are imported. "
                "Columns that could identify a customer (member or card numbers, names, phone "
                "numbers, e-mail or postal addresses, birthdays) are dropped before anything "
                "is stored."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.file_label = QLabel(self.tr("No file chosen"), self)
        choose = QPushButton(self.tr("Choose file…"), self)
        choose.clicked.connect(self.choose)
        row.addWidget(self.file_label, 1)
        row.addWidget(choose)
        layout.addLayout(row)

        form = QFormLayout()
        keys = ("date", "time", "amount", "register", "category")
        self.columns = {key: QComboBox(self) for key in keys}
        labels = {
            "date": self.tr("Date (when separate from the time)"),
            "time": self.tr("Time"),
            "amount": self.tr("Amount"),
            "register": self.tr("Register"),
            "category": self.tr("Category"),
        }
        for key, combo in self.columns.items():
            form.addRow(labels[key], combo)
        self.store = QComboBox(self)
        self.store.setEditable(True)
        self.store.addItems(stores)
        self._stores = stores
        form.addRow(self.tr("Store"), self.store)
        self.tolerance = QSpinBox(self)
        self.tolerance.setRange(0, 60)
        self.tolerance.setValue(workspace.settings.reports.pos_tolerance_minutes)
        self.tolerance.setSuffix(self.tr(" min"))
        form.addRow(self.tr("Link to a visit seen at the register within"), self.tolerance)
        self.registers_button = QPushButton(self.tr("Registers and cameras…"), self)
        self.registers_button.clicked.connect(self.show_registers)
        form.addRow("", self.registers_button)
        layout.addLayout(form)

        self.dropped = QLabel(self)
        self.dropped.setObjectName("pos-dropped")
        self.dropped.setWordWrap(True)
        self.dropped.setStyleSheet("color: #8a4b00;")
        layout.addWidget(self.dropped)
        self.sample = QTableWidget(0, 0, self)
        self.sample.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sample.verticalHeader().setVisible(False)
        layout.addWidget(self.sample, 1)
        self.message = QLabel(self)
        self.message.setObjectName("pos-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.import_button = QPushButton(self.tr("Import"), self)
        self.import_button.setObjectName("pos-import")
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.run_import)
        self.buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def show_registers(self) -> None:
        RegistersDialog(
            self._workspace, self._session, self._stores, self._workspace.cameras(), self
        ).exec()

    def choose(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, self.tr("POS export"), "", self.tr("CSV files (*.csv *.txt *.tsv)")
        )
        if chosen:
            self.load(Path(chosen))

    def load(self, path: Path) -> None:
        self._path = path
        self.file_label.setText(str(path))
        self.import_button.setEnabled(False)
        self.message.setStyleSheet("")
        self.message.setText(self.tr("Reading…"))
        run_in_background(lambda: preview_pos_csv(path), self._previewed, self._failed, self)

    def _previewed(self, preview: PosPreview) -> None:
        self._preview = preview
        kept = list(preview.kept)
        for key, combo in self.columns.items():
            combo.clear()
            if key in ("date", "register", "category"):
                combo.addItem(self.tr("(none)"), _NONE)
            # Personal columns are never offered: the importer would refuse them anyway.
            for header in kept:
                combo.addItem(header, header)
            guess = getattr(preview.mapping, key, None) if preview.mapping else None
            if guess:
                combo.setCurrentIndex(combo.findData(guess))
        personal = [d for d in preview.dropped if d.reason != "unmapped"]
        if personal:
            self.dropped.setText(
                self.tr("These columns will be dropped and never stored: %1").replace(
                    "%1",
                    self.tr("; ").join(
                        f"{d.header} ({self.texts.reason(d.reason)})" for d in personal
                    ),
                )
            )
        else:
            self.dropped.setText("")
        self.sample.setColumnCount(len(kept))
        self.sample.setHorizontalHeaderLabels(kept)
        self.sample.setRowCount(len(preview.sample_rows))
        for r, values in enumerate(preview.sample_rows):
            for c, value in enumerate(values):
                self.sample.setItem(r, c, QTableWidgetItem(value))
        self.sample.resizeColumnsToContents()
        self.message.setText(
            self.tr("%1 rows, %2, separated by %3.")
            .replace("%1", str(preview.total_rows))
            .replace("%2", preview.encoding)
            .replace("%3", repr(preview.delimiter))
        )
        self.import_button.setEnabled(True)

    def mapping(self) -> ColumnMapping:
        def chosen(key: str) -> str | None:
            value = self.columns[key].currentData()
            return str(value) if value else None

        return ColumnMapping(
            time=chosen("time") or "",
            amount=chosen("amount") or "",
            register=chosen("register"),
            category=chosen("category"),
            date=chosen("date"),
        )

    def run_import(self) -> None:
        path, store = self._path, self.store.currentText().strip()
        if path is None or not store:
            self.message.setText(self.tr("Choose a file and a store first."))
            return
        mapping, workspace, actor = self.mapping(), self._workspace, self._session.actor
        minutes = self.tolerance.value()
        self.import_button.setEnabled(False)
        self.message.setText(self.tr("Importing…"))
        run_in_background(
            lambda: workspace.import_pos(path, store, mapping, minutes, actor),
            self._done,
            self._failed,
            self,
        )

    def _done(self, result: PosImportResult) -> None:
        self.result_counts = result
        lines = [
            self.tr("%1 purchases imported, %2 linked to a visit.")
            .replace("%1", str(result.imported))
            .replace("%2", str(result.linked))
        ]
        for problem in result.problems[:20]:
            lines.append(
                self.tr("Line %1 skipped: %2")
                .replace("%1", str(problem.line))
                .replace("%2", self.texts.row_problem(problem))
            )
        if len(result.problems) > 20:
            lines.append(
                self.tr("… and %1 more skipped lines.").replace(
                    "%1", str(len(result.problems) - 20)
                )
            )
        self.message.setStyleSheet("color: #1b5e20;" if not result.problems else "color: #8a4b00;")
        self.message.setText("\n".join(lines))
        self.imported.emit(result)

    def _failed(self, error: Exception) -> None:
        self.import_button.setEnabled(self._preview is not None)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(
            self.tr("The file cannot be imported: %1").replace("%1", self.texts.error(error))
        )
