"""Which camera, and which zone of its picture, watches each POS register (G-05).

A purchase is linked to a visit only when exactly one visit was seen there at the time of sale;
a checkout zone keeps people browsing elsewhere in the same picture out of the question.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.counting import ZoneKind
from desktopapp.core.pos import RegisterCamera
from desktopapp.core.services.cameras import Camera
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class RegistersDialog(QDialog):
    def __init__(
        self,
        workspace: Workspace,
        session: Session,
        stores: list[str],
        cameras: list[Camera],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._workspace = workspace
        self._session = session
        self._cameras = {c.camera_id: c for c in cameras if c.camera_id is not None}
        self.mappings: list[RegisterCamera] = []
        self.setWindowTitle(self.tr("Registers and cameras"))
        resize_within_screen(self, 720, 480)
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "A sale is linked to a visit only when exactly one person was seen by the "
                "register's camera at the time of sale. Choose the checkout zone of the "
                "picture so that people elsewhere in it are not counted."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Store"), self.tr("Register"), self.tr("Camera"), self.tr("Zone")]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table, 1)

        form = QFormLayout()
        self.store = QComboBox(self)
        self.store.addItems(stores)
        self.register = QLineEdit(self)
        self.register.setPlaceholderText(self.tr("as written in the POS export, e.g. 1"))
        self.camera = QComboBox(self)
        for camera_id, camera in self._cameras.items():
            self.camera.addItem(camera.name, camera_id)
        self.camera.currentIndexChanged.connect(self._camera_changed)
        self.zone = QComboBox(self)
        form.addRow(self.tr("Store"), self.store)
        form.addRow(self.tr("Register"), self.register)
        form.addRow(self.tr("Camera"), self.camera)
        form.addRow(self.tr("Zone"), self.zone)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.save_button = QPushButton(self.tr("Save"), self)
        self.save_button.setObjectName("register-save")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.clicked.connect(self.remove)
        self.remove_button.setEnabled(False)
        row.addStretch(1)
        row.addWidget(self.save_button)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.message = QLabel(self)
        self.message.setObjectName("registers-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._camera_changed()
        if not self._cameras:
            self.save_button.setEnabled(False)
            self._say(self.tr("Add a camera first (Cameras menu)."), error=True)
        self.reload()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.setText(text)

    def _camera_changed(self) -> None:
        self.zone.clear()
        self.zone.addItem(self.tr("(the whole picture)"), None)
        camera = self._cameras.get(self.camera.currentData())
        zones = camera.zones if camera is not None else ()
        # Checkout zones first: they are what a register is watched by.
        for zone in sorted(zones, key=lambda z: z.kind is not ZoneKind.CHECKOUT):
            self.zone.addItem(zone.name, zone.name)
        if any(z.kind is ZoneKind.CHECKOUT for z in zones):
            self.zone.setCurrentIndex(1)

    def reload(self) -> None:
        run_in_background(self._workspace.register_cameras, self._show, self._failed, self)

    def _show(self, mappings: list[RegisterCamera]) -> None:
        self.mappings = mappings
        self.table.setRowCount(len(mappings))
        for row, mapping in enumerate(mappings):
            camera = self._cameras.get(mapping.camera_id)
            values = (
                mapping.store,
                mapping.register,
                camera.name
                if camera
                else self.tr("camera %1").replace("%1", str(mapping.camera_id)),
                mapping.zone or self.tr("(the whole picture)"),
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.remove_button.setEnabled(False)

    def _selected(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        self.remove_button.setEnabled(len(rows) == 1)
        if len(rows) != 1:
            return
        mapping = self.mappings[rows.pop()]
        self.store.setCurrentText(mapping.store)
        self.register.setText(mapping.register)
        self.camera.setCurrentIndex(self.camera.findData(mapping.camera_id))
        found = self.zone.findData(mapping.zone) if mapping.zone else 0
        self.zone.setCurrentIndex(max(found, 0))

    def save(self) -> None:
        store, register = self.store.currentText(), self.register.text().strip()
        camera_id, zone = self.camera.currentData(), self.zone.currentData()
        if not store or not register or camera_id is None:
            self._say(self.tr("Choose a store, a register and a camera."), error=True)
            return
        actor = self._session.actor
        self.save_button.setEnabled(False)
        run_in_background(
            lambda: self._workspace.set_register_camera(store, register, camera_id, zone, actor),
            self._saved,
            self._failed,
            self,
        )

    def _saved(self, linked: int) -> None:
        self.save_button.setEnabled(True)
        self._say(
            self.tr("Saved. %1 earlier purchases were linked to visits.").replace("%1", str(linked))
        )
        self.reload()

    def remove(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()}
        if len(rows) != 1:
            return
        mapping = self.mappings[rows.pop()]
        actor = self._session.actor
        run_in_background(
            lambda: self._workspace.remove_register_camera(mapping.store, mapping.register, actor),
            lambda _none: self.reload(),
            self._failed,
            self,
        )

    def _failed(self, error: Exception) -> None:
        self.save_button.setEnabled(bool(self._cameras))
        log.warning("register settings failed: %s", error)
        self._say(
            self.tr("This could not be saved: %1").replace("%1", ErrorTexts(self).error(error)),
            error=True,
        )
