"""Consenting staff (administrators only): enrol an employee from a fresh camera capture that
is never shown or from a picture, list who is enrolled, and withdraw them.

Raiten keeps no name (G-05): it gives each employee a staff number for the shop's signed
consent form. Like the counter's capture, the feature lives in memory until it is stored as the
staff member's encrypted template.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.access import Permission
from desktopapp.core.config import VisionConfig
from desktopapp.core.requests import NoFaceError
from desktopapp.core.services.cameras import Camera
from desktopapp.core.session import Session
from desktopapp.core.staff import Enrolment, StaffMember
from desktopapp.core.vision.types import FaceEmbedder, Vector
from desktopapp.core.workspace import Workspace
from desktopapp.ui.counter_capture import CounterCapture
from desktopapp.ui.dates import local_time_text
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class StaffDialog(QDialog):
    """``staff_changed`` fires after an enrolment or a removal, so the running recorder
    reloads its galleries."""

    staff_changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        vision: VisionConfig,
        cameras: list[Camera],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        if not session.may(Permission.STAFF):
            raise PermissionError(f"{session.actor} may not manage staff")
        self._workspace = workspace
        self._session = session
        self._members: list[StaffMember] = []
        self.setWindowTitle(self.tr("Staff"))
        resize_within_screen(self, 760, 560)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Employees who agree can be enrolled so that Raiten leaves them out of every "
                "statistic. Raiten keeps no name: write the staff number it gives on the "
                "employee's signed consent form, and keep the form. The capture is used for "
                "the enrolment only and is never shown."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 4, self)
        self.table.setObjectName("staff-table")
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Staff number"),
                self.tr("Consented on"),
                self.tr("Recorded"),
                self.tr("Captures"),
            ]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        self.remove = QPushButton(self.tr("Remove the selected staff member…"), self)
        self.remove.setObjectName("staff-remove")
        self.remove.clicked.connect(self.confirm_remove)
        layout.addWidget(self.remove)

        form = QFormLayout()
        self.source = QComboBox(self)
        self.source.setObjectName("staff-source")
        self._capture = CounterCapture(
            self.source,
            cameras,
            vision,
            self.tr("Camera: %1"),
            self.tr("A picture of the employee…"),
        )
        form.addRow(self.tr("Capture from"), self.source)
        self.consented_on = QDateEdit(QDate.currentDate(), self)
        self.consented_on.setObjectName("staff-consented-on")
        self.consented_on.setCalendarPopup(True)
        self.consented_on.setDisplayFormat("yyyy-MM-dd")
        self.consented_on.setMaximumDate(QDate.currentDate())
        form.addRow(self.tr("Consent given on"), self.consented_on)
        layout.addLayout(form)
        self.consent = QCheckBox(
            self.tr("The employee has agreed, in writing, to be recognised as staff"), self
        )
        self.consent.setObjectName("staff-consent")
        layout.addWidget(self.consent)
        row = QHBoxLayout()
        self.enrol = QPushButton(self.tr("Capture and enrol"), self)
        self.enrol.setObjectName("staff-enrol")
        self.enrol.setEnabled(False)
        self.enrol.clicked.connect(self.capture_and_enrol)
        self.consent.toggled.connect(self._consent_toggled)
        row.addStretch(1)
        row.addWidget(self.enrol)
        layout.addLayout(row)
        self.message = QLabel(self)
        self.message.setObjectName("staff-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.reload()

    def _consent_toggled(self, checked: bool) -> None:
        self.enrol.setEnabled(checked)

    def reload(self) -> None:
        run_in_background(self._workspace.staff, self._show, self._failed, self)

    def _show(self, members: list[StaffMember]) -> None:
        self._members = members
        self.table.setRowCount(len(members))
        for row, member in enumerate(members):
            recorded = (
                self.tr("%1 by %2")
                .replace("%1", local_time_text(member.recorded_at))
                .replace("%2", member.recorded_by.removeprefix("user:"))
            )
            cells = [
                self.tr("Staff %1").replace("%1", str(member.number)),
                member.consented_on.isoformat(),
                recorded,
                str(member.templates),
            ]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.remove.setEnabled(bool(members))

    def capture_and_enrol(self) -> None:
        if not self.consent.isChecked():
            self._say(self.tr("Tick the box once the employee has agreed."), error=True)
            return
        chosen = self._capture.chosen(self, self.tr("The employee's picture"))
        if chosen is not None:
            self.enrol_from(*chosen)

    def enrol_from(self, choice: object, image_path: Path | None = None) -> None:
        """Capture from camera ``choice`` (or read ``image_path``), then enrol."""
        workspace, actor = self._workspace, self._session.actor
        qdate = self.consented_on.date()
        consented_on = date(qdate.year(), qdate.month(), qdate.day())

        def enrol(probe: Vector, embedder: FaceEmbedder) -> Enrolment:
            return workspace.enrol_staff(probe, embedder, consented_on, actor)

        job = self._capture.job(choice, image_path, enrol)
        self.enrol.setEnabled(False)
        self._say(self.tr("Looking for a face…"))
        run_in_background(job, self._enrolled, self._failed, self)

    def _enrolled(self, enrolment: Enrolment) -> None:
        number = str(enrolment.member.number)
        if enrolment.merged:
            text = self.tr(
                "This employee is enrolled already as staff %1: the capture was added to it."
            )
        else:
            text = self.tr("Enrolled as staff %1. Write this number on the signed consent form.")
        self._say(text.replace("%1", number), good=True)
        self.consent.setChecked(False)
        self.staff_changed.emit()
        self.reload()

    def confirm_remove(self) -> None:
        row = self.table.currentRow()
        if not 0 <= row < len(self._members):
            self._say(self.tr("Select a staff member first."), error=True)
            return
        member = self._members[row]
        answer = QMessageBox.question(
            self,
            self.tr("Remove staff member"),
            self.tr(
                "Remove staff %1? Their captures are deleted and they will be analysed like "
                "any visitor from now on."
            ).replace("%1", str(member.number)),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_member(member.number)

    def remove_member(self, number: int) -> None:
        workspace, actor = self._workspace, self._session.actor
        run_in_background(
            lambda: workspace.remove_staff(number, actor), self._removed, self._failed, self
        )

    def _removed(self, member: StaffMember) -> None:
        self._say(
            self.tr("Staff %1 removed; their captures are deleted.").replace(
                "%1", str(member.number)
            ),
            good=True,
        )
        self.staff_changed.emit()
        self.reload()

    def _failed(self, error: Exception) -> None:
        self.enrol.setEnabled(self.consent.isChecked())
        if isinstance(error, NoFaceError):
            self._say(
                self.tr(
                    "No face could be seen. Ask the employee to face the camera closely, or use "
                    "a clearer picture."
                ),
                error=True,
            )
        else:
            self._say(
                self.tr("This did not work: %1").replace("%1", ErrorTexts(self).error(error)),
                error=True,
            )

    def _say(self, text: str, *, error: bool = False, good: bool = False) -> None:
        self.message.setStyleSheet(
            "color: #b00020;" if error else "color: #1b5e20;" if good else ""
        )
        self.message.setText(text)
