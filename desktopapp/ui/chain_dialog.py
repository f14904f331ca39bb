"""Joining a chain of stores with the enrolment file, and leaving it (Administration menu)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.chain.errors import ChainError, ChainProblem
from desktopapp.core.chain.local import ChainStatus
from desktopapp.core.workspace import Workspace
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class ChainDialog(QDialog):
    changed = Signal()
    """This PC joined or left a chain."""

    def __init__(self, workspace: Workspace, actor: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.workspace = workspace
        self.actor = actor
        self.setWindowTitle(self.tr("Chain of stores"))
        self.setMinimumWidth(520)
        intro = QLabel(
            self.tr(
                "The stores of one operator can share one gallery, so that a customer of one "
                "store is recognised at the others. Each store keeps working when the network "
                "is down. To join, use the enrolment file made for your company."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.state = QLabel(self)
        self.state.setObjectName("chain-state")
        self.state.setWordWrap(True)
        self.file = QLineEdit(self)
        self.file.setObjectName("chain-file")
        browse = QPushButton(self.tr("Browse…"), self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file)
        row.addWidget(browse)
        self.store = QLineEdit(self)
        self.store.setObjectName("chain-store")
        self.store.setPlaceholderText(self.tr("e.g. Shibuya"))
        self.join_button = QPushButton(self.tr("Join the chain"), self)
        self.join_button.setObjectName("chain-join")
        self.join_button.clicked.connect(self._join)
        self.join_form = QWidget(self)
        form = QFormLayout(self.join_form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.tr("Enrolment file:"), row)
        form.addRow(self.tr("This store's name:"), self.store)
        form.addRow("", self.join_button)
        self.leave_button = QPushButton(self.tr("Leave the chain"), self)
        self.leave_button.setObjectName("chain-leave")
        self.leave_button.clicked.connect(self._leave)
        self.error = QLabel(self)
        self.error.setObjectName("chain-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.state, self.join_form, self.leave_button, self.error):
            layout.addWidget(widget)
        layout.addWidget(buttons)
        self._busy(True)
        run_in_background(self.workspace.chain_status, self._show, self._failed, self)

    def _busy(self, busy: bool) -> None:
        for widget in (self.join_button, self.leave_button):
            widget.setEnabled(not busy)

    def _show(self, status: ChainStatus | None) -> None:
        self._busy(False)
        joined = status is not None
        self.join_form.setVisible(not joined)
        self.leave_button.setVisible(joined)
        if status is None:
            self.state.setText(self.tr("This PC is a store on its own."))
        else:
            self.state.setText(
                self.tr("This PC is the store %1 of %2 (server %3).")
                .replace("%1", status.store)
                .replace("%2", status.operator)
                .replace("%3", status.server)
            )

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Enrolment file"))
        if path:
            self.file.setText(path)

    def _join(self) -> None:
        path, store = self.file.text().strip(), self.store.text().strip()
        if not path or not store:
            self.error.setText(self.tr("Choose the enrolment file and name this store."))
            return
        self.error.clear()
        self._busy(True)
        run_in_background(
            lambda: self.workspace.chain_join(Path(path), store, self.actor),
            self._done,
            self._failed,
            self,
        )

    def _leave(self) -> None:
        answer = QMessageBox.question(
            self,
            self.tr("Leave the chain"),
            self.tr(
                "This PC stops sharing with the other stores. Everything recorded here stays "
                "here. To join again, the store needs a new name. Leave the chain?"
            ),
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.error.clear()
        self._busy(True)
        run_in_background(
            lambda: self.workspace.chain_leave(self.actor), self._done, self._failed, self
        )

    def _done(self, _result: object) -> None:
        self.changed.emit()
        run_in_background(self.workspace.chain_status, self._show, self._failed, self)

    def _failed(self, error: Exception) -> None:
        self._busy(False)
        self.error.setText(self.problem(error))

    def problem(self, error: BaseException) -> str:
        if not isinstance(error, ChainError):
            return ErrorTexts(self).error(error)
        texts = {
            ChainProblem.UNREACHABLE: self.tr(
                "The chain's server cannot be reached. Check the network and try again."
            ),
            ChainProblem.WRONG_PASSWORD: self.tr(
                "The chain's server refused the password in the enrolment file. Ask for a new "
                "enrolment file."
            ),
            ChainProblem.BAD_ENROLMENT: self.tr(
                "This file cannot be used to join: it is damaged, of another version, or made "
                "for another operator."
            ),
            ChainProblem.ALREADY_JOINED: self.tr(
                "This PC, or a store with this name, has joined the chain already."
            ),
            ChainProblem.NOT_JOINED: self.tr("This PC is not a store of a chain."),
        }
        text = texts.get(error.problem)
        if text is None:
            return self.tr("The chain's server refused: %1").replace("%1", str(error))
        return text
