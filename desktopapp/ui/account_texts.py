"""Account roles and password rules (core.access, core.store.users) in the operator's language."""

from __future__ import annotations

from PySide6.QtCore import QObject

from desktopapp.core.access import Role
from desktopapp.core.store.users import MIN_PASSWORD_LENGTH


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
