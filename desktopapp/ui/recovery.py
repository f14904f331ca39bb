"""When the database is damaged at start-up: restore a backup, or start empty, or quit."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.services.errors import StoreError
from desktopapp.core.services.recovery import Backup
from desktopapp.ui.dates import local_time_text
from desktopapp.ui.error_texts import ErrorTexts

log = logging.getLogger(__name__)


class RecoveryDialog(QDialog):
    """Accepted with ``backup`` set (restore it) or None (start with an empty database, the
    damaged file kept aside); rejected means quit."""

    def __init__(self, error: StoreError, backups: list[Backup], parent: QWidget | None = None):
        super().__init__(parent)
        self.backup: Backup | None = None
        self._backups = backups
        self.setWindowTitle(self.tr("Raiten — the database is damaged"))
        layout = QVBoxLayout(self)
        problem = QLabel(ErrorTexts(self).store_problem(error), self)
        problem.setObjectName("recovery-problem")
        problem.setWordWrap(True)
        problem.setStyleSheet("color: #b00020; font-weight: bold;")
        layout.addWidget(problem)
        advice = QLabel(self)
        advice.setWordWrap(True)
        layout.addWidget(advice)
        self.choice = QComboBox(self)
        self.choice.setObjectName("recovery-backups")
        for backup in backups:
            self.choice.addItem(local_time_text(backup.taken_at), backup.name)
        layout.addWidget(self.choice)
        buttons = QDialogButtonBox(self)
        self.restore_button = QPushButton(self)
        self.restore_button.setObjectName("recovery-restore")
        self.empty_button = QPushButton(
            self.tr("Start with an empty database (the damaged file is kept aside)"), self
        )
        self.empty_button.setObjectName("recovery-empty")
        quit_button = QPushButton(self.tr("Quit"), self)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.empty_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(quit_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.restore_button.clicked.connect(self._restore)
        self.empty_button.clicked.connect(self._start_empty)
        quit_button.clicked.connect(self.reject)
        self.choice.currentIndexChanged.connect(self._chosen)
        if backups:
            advice.setText(
                self.tr(
                    "Restore the automatic backup of a day you choose: what was recorded after "
                    "it is lost. Or start with an empty database: the wizard opens again."
                )
            )
            self._chosen()
        else:
            advice.setText(
                self.tr(
                    "There is no backup yet. Start with an empty database (the wizard opens "
                    "again), or quit and ask for help: the damaged file stays as it is."
                )
            )
            self.choice.hide()
            self.restore_button.hide()

    def _chosen(self) -> None:
        self.restore_button.setText(
            self.tr("Restore from the backup of %1").replace("%1", self.choice.currentText())
        )

    def _restore(self) -> None:
        self.backup = self._backups[self.choice.currentIndex()]
        log.info("the operator chose to restore %s", self.backup.name)
        self.accept()

    def _start_empty(self) -> None:
        self.backup = None
        log.info("the operator chose to start with an empty database")
        self.accept()
