"""The dashboard: aggregate visit counts only, the one screen every role may see (G-10)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from desktopapp.core.summary import PeriodCount, suppressed
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

REFRESH_MS = 60_000


class DashboardPanel(QWidget):
    def __init__(self, counts: Callable[[], list[PeriodCount]], parent: QWidget | None = None):
        super().__init__(parent)
        self._counts = counts
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Visits"), self)
        title.setStyleSheet("font-size: 18pt; font-weight: bold;")
        layout.addWidget(title)
        self.grid = QGridLayout()
        layout.addLayout(self.grid)
        self.note = QLabel(
            self.tr(
                "Counts below 5 are shown as \u201c<5\u201d so that no one can be singled out. "
                "Staff and people who opted out are never counted."
            ),
            self,
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.cards: list[QLabel] = []
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    def _period_label(self, days: int) -> str:
        return self.tr("Last 24 hours") if days == 1 else self.tr("Last %n days", "", days)

    def refresh(self) -> None:
        run_in_background(self._counts, self._show, self._failed, self)

    def _show(self, counts: list[PeriodCount]) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()
        self.cards = []
        for column, period in enumerate(counts):
            card = QFrame(self)
            card.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(card)
            heading = QLabel(self._period_label(period.days), card)
            heading.setStyleSheet("color: #555;")
            number = QLabel(suppressed(period.visits), card)
            number.setObjectName(f"dashboard-visits-{period.days}")
            number.setStyleSheet("font-size: 28pt; font-weight: bold;")
            number.setAlignment(Qt.AlignmentFlag.AlignLeft)
            repeat = QLabel(
                self.tr("repeat visits: %1").replace("%1", suppressed(period.repeat_visits)),
                card,
            )
            for widget in (heading, number, repeat):
                box.addWidget(widget)
            self.grid.addWidget(card, 0, column)
            self.cards.append(number)

    def _failed(self, error: Exception) -> None:
        self.note.setText(self.tr("The counts could not be read: %1").replace("%1", str(error)))
