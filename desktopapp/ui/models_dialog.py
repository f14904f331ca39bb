"""Help → Models and licences, written for a shop owner: what each model does, whether a shop
may use it, and what to do about a problem."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.vision.status import ModelCheck
from desktopapp.core.vision.types import Role
from desktopapp.ui.model_status import ModelStatusPanel
from desktopapp.ui.screen_fit import resize_within_screen


class ModelsDialog(QDialog):
    """Every active model: its job, whether business use is allowed, its licence and source."""

    def __init__(self, checks: list[ModelCheck], status: ModelStatusPanel, parent: QWidget):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models and licences"))
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Raiten recognises faces and people with the programs below, called models. "
                "They run on this PC only and send nothing anywhere. A shop may use a model "
                "only if its licence allows business use."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(len(checks), 4, self)
        self.table.setObjectName("models-table")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("What it does"),
                self.tr("Model"),
                self.tr("Use in a shop"),
                self.tr("Licence"),
            ]
        )
        for row, check in enumerate(checks):
            job = self._job(check.role)
            if check.info is None:
                cells = [job, check.model_id, status.problem_text(check), ""]
                tip = check.message
            else:
                use = (
                    self.tr("Allowed")
                    if check.info.commercial_use
                    else self.tr(
                        "Not allowed: non-commercial use only. Buy a licence from its maker "
                        "or choose another model."
                    )
                )
                cells = [job, check.info.model_id, use, check.info.licence]
                tip = self.tr("Source: %1").replace("%1", check.info.source)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                self.table.setItem(row, column, item)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.table.resizeRowsToContents()
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        resize_within_screen(self, 900, 320)

    def _job(self, role: Role) -> str:
        return {
            Role.FACE_DETECTION: self.tr("Finds faces, so that they are masked"),
            Role.FACE_FEATURES: self.tr("Turns a face into feature data to recognise returns"),
            Role.FACE_ATTRIBUTES: self.tr("Estimates age band and gender"),
            Role.PERSON_DETECTION: self.tr("Finds people, to mask and count them"),
        }[role]
