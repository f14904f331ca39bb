"""The masked line in which a password is typed (signing in, changing one's own)."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit, QWidget


def password_field(parent: QWidget, object_name: str) -> QLineEdit:
    field = QLineEdit(parent)
    field.setObjectName(object_name)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field
