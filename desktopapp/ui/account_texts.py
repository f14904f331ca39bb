"""Account roles and password rules (core.access, core.services.accounts) in the operator's
language."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktopapp.core.access import Role
from desktopapp.core.services.accounts import (
    MAX_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
    LoginError,
    UserError,
)
from desktopapp.ui.dates import local_time_text


class AccountTexts(QObject):
    def role_label(self, role: Role) -> str:
        return {
            Role.ADMIN: self.tr("Administrator"),
            Role.MANAGER: self.tr("Manager"),
            Role.VIEWER: self.tr("Viewer"),
        }[role]

    def role_description(self, role: Role) -> str:
        return {
            Role.ADMIN: self.tr("everything, including settings, cameras, requests and deletion"),
            Role.MANAGER: self.tr("live view, dashboards, exports and signage"),
            Role.VIEWER: self.tr("dashboards only"),
        }[role]

    def rules(self) -> str:
        return self.tr(
            "At least %1 characters with letters and digits; not your name, not a common password."
        ).replace("%1", str(MIN_PASSWORD_LENGTH))

    def problem(self, code: str) -> str:
        return {
            "too_short": self.tr("The password is shorter than %1 characters.").replace(
                "%1", str(MIN_PASSWORD_LENGTH)
            ),
            "too_long": self.tr("The password is longer than 128 characters."),
            "no_letter": self.tr("The password needs at least one letter."),
            "no_digit": self.tr("The password needs at least one digit."),
            "contains_name": self.tr("The password must not contain the name."),
            "common": self.tr("This password is too common; choose another."),
        }.get(code, code)

    def login_refused(self, error: LoginError, wrong: str) -> str:
        """Why a password was refused: the lock-out with its end, else ``wrong`` (the dialog's
        own words for a wrong password)."""
        if error.reason != "locked":
            return wrong
        until = local_time_text(error.locked_until) if error.locked_until else ""
        return self.tr(
            "Too many wrong passwords: this account is locked until %1. "
            "Ask an administrator if you cannot wait."
        ).replace("%1", until)

    def user_error(self, error: UserError) -> str:
        return {
            "name_empty": self.tr("A user name cannot be empty."),
            "name_too_long": self.tr("A user name can be at most %1 characters.").replace(
                "%1", str(MAX_NAME_LENGTH)
            ),
            "name_control": self.tr("A user name cannot contain control characters."),
            "exists": self.tr("An account named \u201c%1\u201d already exists.").replace(
                "%1", error.name
            ),
            "first_admin": self.tr("The first account must be an administrator."),
            "no_account": self.tr("There is no account named \u201c%1\u201d.").replace(
                "%1", error.name
            ),
            "last_admin": self.tr(
                "\u201c%1\u201d is the last administrator: make another account an "
                "administrator first."
            ).replace("%1", error.name),
            "set_up": self.tr(
                "Raiten is already set up: an administrator has to add further accounts."
            ),
        }.get(error.code, str(error))
