"""A status-bar line that appears while visits cannot be written (the database is locked, the
disk full or read-only) or the daily backup failed, and says so in the operator's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QMainWindow, QWidget

from desktopapp.core.services.recording import StoreWriter
from desktopapp.core.workspace import Workspace
from desktopapp.ui.error_texts import ErrorTexts

POLL_MS = 1000


class StoreHealthLabel(QLabel):
    def __init__(
        self,
        writer: Callable[[], StoreWriter[Any] | None],
        workspace: Workspace,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("store-health")
        self.setWordWrap(True)
        self.setStyleSheet("color: #b00020; font-weight: bold;")
        self._writer = writer
        self._workspace = workspace
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def refresh(self) -> None:
        texts = ErrorTexts(self)
        parts: list[str] = []
        writer = self._writer()
        if writer is not None:
            health = writer.health()
            if health.problem is not None:
                parts.append(
                    self.tr(
                        "Visits are not being recorded: %1 %2 visits are kept in memory and will "
                        "be written when this is fixed."
                    )
                    .replace("%1", texts.store_problem(health.problem))
                    .replace("%2", str(health.pending))
                )
            if health.dropped:
                parts.append(
                    self.tr("%1 visits could not be kept and are lost.").replace(
                        "%1", str(health.dropped)
                    )
                )
        backup = self._workspace.backup_problem
        if backup is not None:
            parts.append(
                self.tr("The daily backup could not be written: %1").replace(
                    "%1", texts.store_problem(backup)
                )
            )
        self.setText(" ".join(parts))
        self.setVisible(bool(parts))


def attach_store_health(window: QMainWindow, workspace: Workspace) -> StoreHealthLabel:
    """The line in ``window``'s status bar, following whichever store writer the window holds
    (its ``writer`` attribute changes when the cameras are reloaded)."""
    label = StoreHealthLabel(lambda: getattr(window, "writer", None), workspace, window)
    window.statusBar().addWidget(label, 1)
    return label
