"""The dashboard: aggregates only, the one screen every role may see (G-10).

Date range and store pickers, live counters, and charts of visits over time, repeat rate with
its error band, visit frequency, age band and gender, dwell, conversion and a floor heat map.
Every figure comes from core.analytics in a worker; counts below k show as "<k" (G-07).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QDate, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.analytics import (
    Analytics,
    Cell,
    Conversion,
    DemographicCell,
    Heatmap,
    LiveCounts,
    Period,
    RepeatRate,
    StoreRef,
    TimeBucket,
    default_bucket,
    suppressed,
)
from desktopapp.core.images import read_image
from desktopapp.core.workspace import Workspace
from desktopapp.ui.charts import BarChart, HeatmapChart, LineChart
from desktopapp.ui.dates import local_days
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

REFRESH_MS = 60_000


@dataclass(frozen=True, slots=True)
class DashboardData:
    stores: list[StoreRef]
    live: LiveCounts
    over_time: list[TimeBucket]
    repeat: RepeatRate
    frequency: list[Cell]
    demographics: list[DemographicCell]
    dwell: list[Cell]
    conversion: Conversion
    heatmap: Heatmap


def _gather(analytics: Analytics, period: Period, now: datetime) -> DashboardData:
    return DashboardData(
        stores=analytics.stores(),
        live=analytics.live_counts(now),
        over_time=analytics.visits_over_time(period, default_bucket(period)),
        repeat=analytics.held_repeat_rate(period),
        frequency=analytics.visit_frequency(period),
        demographics=analytics.demographics(period),
        dwell=analytics.dwell_distribution(period),
        conversion=analytics.conversion(period),
        heatmap=analytics.heatmap(period, None),
    )


class _Number(QFrame):
    def __init__(self, title: str, parent: QWidget):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(self)
        heading = QLabel(title, self)
        heading.setStyleSheet("color: #555;")
        self.value = QLabel("–", self)
        self.value.setStyleSheet("font-size: 24pt; font-weight: bold;")
        self.detail = QLabel(self)
        self.detail.setStyleSheet("color: #555;")
        for widget in (heading, self.value, self.detail):
            box.addWidget(widget)


class DashboardPanel(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None):
        super().__init__(parent)
        self._workspace = workspace
        self.k = workspace.settings.reports.min_group
        outer = QVBoxLayout(self)
        pickers = QHBoxLayout()
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-29), self)
        self.until = QDateEdit(today, self)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self.refresh)
        self.store = QComboBox(self)
        self.store.addItem(self.tr("All stores"), None)
        self.store.currentIndexChanged.connect(self.refresh)
        self.floor_button = QPushButton(self.tr("Floor plan…"), self)
        self.floor_button.clicked.connect(self.choose_floor_plan)
        pickers.addWidget(QLabel(self.tr("From"), self))
        pickers.addWidget(self.since)
        pickers.addWidget(QLabel(self.tr("to"), self))
        pickers.addWidget(self.until)
        pickers.addWidget(self.store)
        pickers.addStretch(1)
        pickers.addWidget(self.floor_button)
        outer.addLayout(pickers)

        content = QWidget(self)
        grid = QGridLayout(content)
        self.in_store = _Number(self.tr("In the store now"), content)
        self.today = _Number(self.tr("Visits today"), content)
        self.visits = _Number(self.tr("Visits in the period"), content)
        self.repeat = _Number(self.tr("Repeat rate"), content)
        self.converted = _Number(self.tr("Visits with a purchase"), content)
        for column, card in enumerate(
            (self.in_store, self.today, self.visits, self.repeat, self.converted)
        ):
            grid.addWidget(card, 0, column)
        self.over_time = LineChart(self.tr("Visits (blue), new (orange), repeat (green)"), content)
        self.frequency = BarChart(self.tr("Visits by visit number"), content)
        self.demographics = BarChart(
            self.tr("Age band and gender (blue: female, orange: male)"), content
        )
        self.dwell = BarChart(self.tr("Time in the store"), content)
        self.heat = HeatmapChart(self.tr("Where visitors went"), content)
        grid.addWidget(self.over_time, 1, 0, 1, 3)
        grid.addWidget(self.frequency, 1, 3, 1, 2)
        grid.addWidget(self.demographics, 2, 0, 1, 3)
        grid.addWidget(self.dwell, 2, 3, 1, 2)
        grid.addWidget(self.heat, 3, 0, 1, 3)
        self.note = QLabel(
            self.tr(
                "Counts below %1 are shown as \u201c<%1\u201d so that no one can be singled "
                "out. Staff and people who opted out are never counted."
            ).replace("%1", str(self.k)),
            content,
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        grid.addWidget(self.note, 3, 3, 1, 2)
        scroll = QScrollArea(self)
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll, 1)
        self.data: DashboardData | None = None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        if workspace.settings.reports.floor_plan:
            self.load_floor_plan(Path(workspace.settings.reports.floor_plan))
        self.refresh()

    def period(self) -> Period:
        return local_days(
            self.since.date().toPython(), self.until.date().toPython(), self.store.currentData()
        )

    def refresh(self) -> None:
        if self._busy:
            return  # the next timer tick or change picks up what this one missed
        self._busy = True
        period, now = self.period(), datetime.now(UTC)
        run_in_background(
            lambda: self._workspace.aggregates(lambda a: _gather(a, period, now)),
            self._show,
            self._failed,
            self,
        )

    def _show(self, data: DashboardData) -> None:
        self._busy = False
        self.data = data
        k = self.k
        known = {self.store.itemData(i) for i in range(self.store.count())}
        for ref in data.stores:
            if ref.store_id not in known:
                self.store.addItem(ref.name, ref.store_id)
        self.in_store.value.setText(suppressed(data.live.in_store_now, k))
        self.today.value.setText(suppressed(data.live.today_visits, k))
        self.visits.value.setText(suppressed(data.repeat.visits, k))
        if data.repeat.visits >= k:
            self.repeat.value.setText(f"{data.repeat.rate:.0%}")
            self.repeat.detail.setText(
                self.tr("likely between %1 and %2")
                .replace("%1", f"{data.repeat.low:.0%}")
                .replace("%2", f"{data.repeat.high:.0%}")
            )
        else:
            self.repeat.value.setText("–")
            self.repeat.detail.setText(self.tr("too few visits"))
        conversion = data.conversion
        self.converted.value.setText(
            f"{conversion.rate:.0%}" if conversion.visits >= k and conversion.converted else "–"
        )
        self.converted.detail.setText(suppressed(conversion.converted, k))
        labels = [self._bucket_label(b.start) for b in data.over_time]

        def shown(count: int) -> int:
            return 0 if 0 < count < k else count  # never drawn at its true height (G-07)

        self.over_time.show_series(
            labels,
            [
                [shown(b.visits) for b in data.over_time],
                [shown(b.new_visits) for b in data.over_time],
                [shown(b.repeat_visits) for b in data.over_time],
            ],
        )
        self._bars(self.frequency, data.frequency)
        self._bars(self.dwell, data.dwell)
        bands = sorted({c.age_band for c in data.demographics})
        female = [self._cell(data.demographics, band, "female") for band in bands]
        male = [self._cell(data.demographics, band, "male") for band in bands]
        hidden = [0 < f < k or 0 < m < k for f, m in zip(female, male, strict=True)]
        self.demographics.show_bars(bands, female, hidden, male)
        cells = np.array(data.heatmap.cells, dtype=int) if data.heatmap.cells else np.zeros((1, 1))
        for x, y in data.heatmap.suppressed:
            cells[y, x] = 0
        self.heat.show_cells(cells)

    def _bars(self, chart: BarChart, cells: list[Cell]) -> None:
        hidden = [0 < c.count < self.k for c in cells]
        chart.show_bars([c.label for c in cells], [c.count for c in cells], hidden)
        names = [c.label for c, h in zip(cells, hidden, strict=True) if h]
        chart.note.setText(
            self.tr("<%1: %2").replace("%1", str(self.k)).replace("%2", ", ".join(names))
            if names
            else ""
        )

    @staticmethod
    def _cell(cells: list[DemographicCell], band: str, gender: str) -> int:
        return sum(c.visits for c in cells if c.age_band == band and c.gender == gender)

    @staticmethod
    def _bucket_label(start: datetime) -> str:
        local = start.astimezone()
        return local.strftime("%H:%M") if local.hour else local.strftime("%m-%d")

    def _failed(self, error: Exception) -> None:
        self._busy = False
        self.note.setText(self.tr("The figures could not be read: %1").replace("%1", str(error)))

    def choose_floor_plan(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Floor plan"), "", self.tr("Pictures (*.png *.jpg *.jpeg *.bmp)")
        )
        if chosen:
            self.load_floor_plan(Path(chosen))

    def load_floor_plan(self, path: Path) -> None:
        try:
            image = read_image(path)
        except Exception as exc:
            self.note.setText(self.tr("The floor plan cannot be read: %1").replace("%1", str(exc)))
            return
        rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
        self.heat.set_floor_plan(rgba)
