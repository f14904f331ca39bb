"""One-click purge of all personal data (G-14), behind a typed confirmation, off the UI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.services.deletion import PurgeResult, ScrubIncompleteError
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.workers import run_with_progress

log = logging.getLogger(__name__)

# (keep_statistics, include_exclusions, progress)
PurgeJob = Callable[[bool, bool, Callable[[float], None]], PurgeResult]


class PurgeDialog(QDialog):
    """``purge(keep_statistics, include_exclusions, progress)`` runs in a worker.
    ``starting`` is emitted on the UI thread just before it (cameras and the store writer must
    stop first), ``finished_purge`` when it has ended, successfully or not."""

    starting = Signal()
    finished_purge = Signal()

    def __init__(self, purge: PurgeJob, parent: QWidget | None = None):
        super().__init__(parent)
        self._purge = purge
        self.result_counts: PurgeResult | None = None
        self.setWindowTitle(self.tr("Delete all personal data"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        # The dialog grows with the result's explanation instead of clipping it.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.explanation = QLabel(
            self.tr(
                "This deletes every visitor, feature record, visit and movement path of this "
                "PC for good: they cannot be recovered, not even from the database file. "
                "Cameras stop while it runs. The audit log, cameras, notice and accounts stay. "
                "Opt-outs and enrolled staff stay too, so that people who asked not to be "
                "analysed remain left out, unless you tick the box below."
            ),
            self,
        )
        self.explanation.setWordWrap(True)
        layout.addWidget(self.explanation)
        self.keep_statistics = QCheckBox(
            self.tr("Keep the statistics (hourly counts that identify nobody)"), self
        )
        self.keep_statistics.setChecked(True)
        layout.addWidget(self.keep_statistics)
        self.include_exclusions = QCheckBox(
            self.tr("Also delete opt-outs and staff: they will be analysed again like any visitor"),
            self,
        )
        self.include_exclusions.setObjectName("purge-include-exclusions")
        layout.addWidget(self.include_exclusions)
        self.word = self.tr("DELETE")
        layout.addWidget(
            QLabel(self.tr("To confirm, type %1 below.").replace("%1", self.word), self)
        )
        self.confirmation = QLineEdit(self)
        self.confirmation.setObjectName("purge-confirmation")
        self.confirmation.textChanged.connect(self._confirmation_changed)
        layout.addWidget(self.confirmation)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.message = QLabel(self)
        self.message.setObjectName("purge-message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.purge_button = QPushButton(self.tr("Delete everything"), self)
        self.purge_button.setObjectName("purge-button")
        self.purge_button.setStyleSheet("color: #b00020; font-weight: bold;")
        self.purge_button.setEnabled(False)
        self.buttons.addButton(self.purge_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.purge_button.clicked.connect(self.run_purge)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._running = False

    def _confirmation_changed(self, text: str) -> None:
        self.purge_button.setEnabled(not self._running and text.strip() == self.word)

    def run_purge(self) -> None:
        if self.confirmation.text().strip() != self.word or self._running:
            return
        self._running = True
        self.purge_button.setEnabled(False)
        self.confirmation.setEnabled(False)
        self.keep_statistics.setEnabled(False)
        self.include_exclusions.setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.message.setText(self.tr("Deleting…"))
        self.starting.emit()
        keep, purge = self.keep_statistics.isChecked(), self._purge
        exclusions = self.include_exclusions.isChecked()
        run_with_progress(
            lambda progress: purge(keep, exclusions, progress),
            lambda fraction: self.progress.setValue(round(fraction * 100)),
            self._done,
            self._failed,
            self,
        )

    def _done(self, result: PurgeResult) -> None:
        self.result_counts = result
        self.progress.setValue(100)
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(
            self.tr("Deleted %1 visitors, %2 feature records, %3 visits and %4 path points.")
            .replace("%1", str(result.visitors))
            .replace("%2", str(result.templates))
            .replace("%3", str(result.visits))
            .replace("%4", str(result.path_points))
            + (
                " "
                + self.tr("Opt-outs and staff kept: %1.").replace("%1", str(result.exclusions_kept))
                if result.exclusions_kept
                else ""
            )
        )
        self._finish()

    def _failed(self, error: Exception) -> None:
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(
            ErrorTexts(self).scrub_incomplete()
            if isinstance(error, ScrubIncompleteError)
            else self.tr("Nothing was deleted: %1").replace("%1", ErrorTexts(self).error(error))
        )
        self._finish()

    def _finish(self) -> None:
        self.adjustSize()
        self._running = False
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setEnabled(True)
        self.finished_purge.emit()

    def reject(self) -> None:
        if not self._running:  # closing mid-purge would hide whether it finished
            super().reject()
