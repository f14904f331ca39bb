"""Every user changes their own password: the current one first, then the new one twice."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.services.accounts import LoginError, password_problems
from desktopapp.core.session import Session
from desktopapp.core.workspace import Workspace
from desktopapp.ui.account_texts import AccountTexts
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.password_field import password_field
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class OwnPasswordDialog(QDialog):
    def __init__(self, workspace: Workspace, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self._workspace = workspace
        self._session = session
        self._texts = AccountTexts(self)
        self.setWindowTitle(self.tr("Change my password"))
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("Account: %1").replace("%1", session.name), self))
        form = QFormLayout()
        self.current = password_field(self, "own-password-current")
        self.first = password_field(self, "own-password-new")
        self.second = password_field(self, "own-password-again")
        form.addRow(self.tr("Current password"), self.current)
        form.addRow(self.tr("New password"), self.first)
        form.addRow(self.tr("New password again"), self.second)
        layout.addLayout(form)
        rules = QLabel(self._texts.rules(), self)
        rules.setWordWrap(True)
        layout.addWidget(rules)
        self.message = QLabel(self)
        self.message.setObjectName("own-password-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.change = QPushButton(self.tr("Change password"), self)
        self.change.setObjectName("own-password-change")
        self.change.setDefault(True)
        buttons.addButton(self.change, QDialogButtonBox.ButtonRole.AcceptRole)
        self.change.clicked.connect(self.submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def submit(self) -> None:
        name, old, new = self._session.name, self.current.text(), self.first.text()
        problems = [self._texts.problem(code) for code in password_problems(name, new)]
        if new != self.second.text():
            problems.append(self.tr("The two new passwords differ."))
        if not old:
            problems.insert(0, self.tr("Enter your current password."))
        if problems:
            self.message.setText("\n".join(problems))
            return
        self.change.setEnabled(False)
        self.message.setText("")
        workspace = self._workspace
        run_in_background(
            lambda: workspace.change_own_password(name, old, new),
            self._changed,
            self._refused,
            self,
        )

    def _changed(self, _none: None) -> None:
        log.info("%s changed their password", self._session.actor)
        self.accept()

    def _refused(self, error: Exception) -> None:
        self.change.setEnabled(True)
        self.current.clear()
        if isinstance(error, LoginError):
            wrong = self.tr("The current password is wrong.")
            self.message.setText(self._texts.login_refused(error, wrong))
        else:
            self.message.setText(ErrorTexts(self).error(error))
