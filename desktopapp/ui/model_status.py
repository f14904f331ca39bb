"""Status-bar panel: the active model of each role, its licence, and any problem with it."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from desktopapp.core.vision.registry import ModelProblem
from desktopapp.core.vision.status import ModelCheck
from desktopapp.core.vision.types import Role
from desktopapp.ui.error_texts import ErrorTexts


class ModelStatusPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._labels: list[QLabel] = []
        self.show_checking()

    def _role_name(self, role: Role) -> str:
        return {
            Role.FACE_DETECTION: self.tr("Detection"),
            Role.FACE_FEATURES: self.tr("Features"),
            Role.FACE_ATTRIBUTES: self.tr("Age/gender"),
            Role.PERSON_DETECTION: self.tr("Persons"),
        }[role]

    def problem_text(self, check: ModelCheck) -> str:
        path = str(check.path) if check.path else check.model_id
        return ErrorTexts(self).model_problem(check.problem or ModelProblem.UNKNOWN, path)

    def _set_labels(self, labels: list[QLabel]) -> None:
        for label in self._labels:
            self._layout.removeWidget(label)
            label.deleteLater()
        self._labels = labels
        for label in labels:
            self._layout.addWidget(label)

    def show_checking(self) -> None:
        self._set_labels([QLabel(self.tr("Checking models…"))])

    def show_checks(self, checks: list[ModelCheck]) -> None:
        labels = []
        for check in checks:
            role = self._role_name(check.role)
            if check.info is not None:
                label = QLabel(f"{role}: {check.info.model_id} ({check.info.licence})")
                if not check.info.commercial_use:
                    label.setText(label.text() + " — " + self.tr("non-commercial use only"))
                    label.setStyleSheet("color: #b35900; font-weight: bold;")
                label.setToolTip(check.info.source)
            else:
                label = QLabel(f"{role}: {self.problem_text(check)}")
                label.setStyleSheet("color: #b00020; font-weight: bold;")
                label.setToolTip(check.message)
            label.setObjectName(f"model-{check.role.value}")
            labels.append(label)
        self._set_labels(labels)
