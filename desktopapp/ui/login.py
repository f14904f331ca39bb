"""Signing in (G-10): name and password, checked off the UI thread, with the lock-out explained."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.services.accounts import LoginError, User
from desktopapp.core.session import Session
from desktopapp.ui.account_texts import AccountTexts
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.password_field import password_field
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class LoginDialog(QDialog):
    """``authenticate`` raises LoginError or returns the account; ``session`` holds the result."""

    def __init__(
        self,
        authenticate: Callable[[str, str], User],
        parent: QWidget | None = None,
        *,
        store_name: str = "",
        locked_by: str = "",
        note: str = "",
    ):
        super().__init__(parent)
        self._authenticate = authenticate
        self.session: Session | None = None
        self.setWindowTitle(self.tr("Raiten — sign in"))
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        # The dialog grows with a long message (the lock-out) instead of squashing the fields.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        heading = QLabel(store_name or self.tr("Raiten"), self)
        heading.setStyleSheet("font-size: 16pt; font-weight: bold;")
        layout.addWidget(heading)
        if locked_by:
            locked = QLabel(
                self.tr("The screen was locked. %1 or another account can unlock it.").replace(
                    "%1", locked_by
                ),
                self,
            )
            locked.setWordWrap(True)
            layout.addWidget(locked)
        if note:
            why = QLabel(note, self)
            why.setObjectName("login-note")
            why.setWordWrap(True)
            layout.addWidget(why)
        form = QFormLayout()
        self.name_edit = QLineEdit(locked_by, self)
        self.name_edit.setObjectName("login-name")
        self.password_edit = password_field(self, "login-password")
        form.addRow(self.tr("Name"), self.name_edit)
        form.addRow(self.tr("Password"), self.password_edit)
        layout.addLayout(form)
        self.message = QLabel(self)
        self.message.setObjectName("login-message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(self)
        self.sign_in = self.buttons.addButton(
            self.tr("Sign in"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.try_sign_in)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        (self.password_edit if locked_by else self.name_edit).setFocus(
            Qt.FocusReason.OtherFocusReason
        )

    def try_sign_in(self) -> None:
        name, password = self.name_edit.text().strip(), self.password_edit.text()
        if not name or not password:
            self.message.setText(self.tr("Enter your name and password."))
            return
        self.sign_in.setEnabled(False)
        self.message.setText("")
        authenticate = self._authenticate
        run_in_background(
            lambda: authenticate(name, password), self._signed_in, self._refused, self
        )

    def _signed_in(self, user: User) -> None:
        self.session = Session(user.name, user.role)
        self.password_edit.clear()
        self.accept()

    def _refused(self, error: Exception) -> None:
        self.sign_in.setEnabled(True)
        self.password_edit.clear()
        self.password_edit.setFocus()
        self._say_refusal(error)
        self.adjustSize()

    def _say_refusal(self, error: Exception) -> None:
        if isinstance(error, LoginError):
            wrong = self.tr("The name or the password is wrong.")
            self.message.setText(AccountTexts(self).login_refused(error, wrong))
        else:
            self.message.setText(
                self.tr("Signing in failed: %1").replace(
                    "%1", ErrorTexts(self).error(error) or type(error).__name__
                )
            )
