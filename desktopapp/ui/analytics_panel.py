"""The dashboard: aggregates only, the one screen every role may see (G-10).

Date range and store pickers, live counters, and charts of visits over time, repeat rate with
its error band, visit frequency, age band and gender, dwell, spend by segment, time in the
operator's zones and a floor heat map. Every figure comes from core.analytics in a worker;
counts below k show as "<k", and counts that would give one away by subtraction are hidden
too (core.suppression, G-07).

The store picker appears once this PC's chain has other stores: "This store", each other store
by name, and "All stores". Figures each store keeps for itself (sales, zones, heat map, who is
in the store now) are shown for This store only, and the panel says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.analytics import (
    ALL_STORES,
    THIS_STORE,
    VISIT_KINDS,
    Analytics,
    ChainStore,
    Figures,
    Heatmap,
    LiveCounts,
    Period,
    RepeatRate,
    Scope,
    StoreRef,
    other_store,
    suppressed,
)
from desktopapp.core.config import ASSUMED_PLAN_SIZE_M
from desktopapp.core.floor import plan_size_m
from desktopapp.core.images import read_image
from desktopapp.core.suppression import Disclosure, Key
from desktopapp.core.workspace import Workspace
from desktopapp.ui.charts import BarChart, HeatmapChart, LineChart
from desktopapp.ui.dates import local_days
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

REFRESH_MS = 60_000
# The picker's item data: this store, all stores, or STORE_PREFIX + another store's id.
HERE, EVERY, STORE_PREFIX = "here", "all", "store:"


def scope_of(choice: str | None) -> Scope:
    if choice == EVERY:
        return ALL_STORES
    if choice and choice.startswith(STORE_PREFIX):
        return other_store(choice.removeprefix(STORE_PREFIX))
    return THIS_STORE


@dataclass(frozen=True, slots=True)
class DashboardData:
    stores: list[StoreRef]  # the stores this PC's data names (exports, POS import)
    chain_stores: list[ChainStore]  # the chain's other stores; empty for a store on its own
    last_sync: datetime | None
    cameras: dict[int, str]
    live: LiveCounts
    figures: Figures
    disclosure: Disclosure
    heatmap: Heatmap  # over the floor plan
    calibrated_cameras: int


def _gather(
    analytics: Analytics,
    period: Period,
    now: datetime,
    cameras: dict[int, str],
    calibrated_cameras: int,
    *,
    last_sync: datetime | None,
) -> DashboardData:
    figures = analytics.figures(period)
    return DashboardData(
        stores=analytics.stores(),
        chain_stores=analytics.chain_stores(),
        last_sync=last_sync,
        cameras=cameras,
        live=analytics.live_counts(now, scope=period.scope),
        figures=figures,
        disclosure=figures.disclosure(analytics.k),
        heatmap=analytics.floor_heatmap(period),
        calibrated_cameras=calibrated_cameras,
    )


def _table_box(title: str, header: list[str], parent: QWidget) -> tuple[QWidget, QTableWidget]:
    """A titled, read-only table for the dashboard's grid."""
    box = QWidget(parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 4)
    heading = QLabel(title, box)
    heading.setStyleSheet("font-weight: bold;")
    table = QTableWidget(0, len(header), box)
    table.setHorizontalHeaderLabels(header)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    header_view = table.horizontalHeader()
    header_view.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    # Long headings ("Visits that entered") wrap onto two lines instead of being cut off.
    header_view.setDefaultAlignment(
        Qt.AlignmentFlag(Qt.AlignmentFlag.AlignCenter.value | Qt.TextFlag.TextWordWrap.value)
    )
    header_view.setMinimumHeight(2 * header_view.fontMetrics().height() + 10)
    table.setMinimumHeight(160)
    layout.addWidget(heading)
    layout.addWidget(table, 1)
    return box, table


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
        self.detail.setWordWrap(True)  # the repeat card's notes must not widen the grid
        for widget in (heading, self.value, self.detail):
            box.addWidget(widget)


class DashboardPanel(QWidget):
    def __init__(self, workspace: Workspace, actor: str, parent: QWidget | None = None):
        super().__init__(parent)
        self._workspace = workspace
        self._actor = actor
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
        self.store.addItem(self.tr("This store"), HERE)
        self.store.setToolTip(
            self.tr("Whose figures: this store, another store of the chain, or all stores")
        )
        # Shown once the chain has other stores: a store on its own has nothing to choose.
        self.store.setVisible(False)
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
        self.scope_note = QLabel(self)
        self.scope_note.setWordWrap(True)
        self.scope_note.setStyleSheet("color: #555;")
        self.scope_note.setVisible(False)
        outer.addWidget(self.scope_note)

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
        self.over_time = LineChart(
            self.tr("Visits (blue), new (orange), repeat (green), identity unknown (grey, dashed)"),
            content,
        )
        self.frequency = BarChart(self.tr("Visits by visit number"), content)
        self.demographics = BarChart(
            self.tr("Age band and gender (blue: female, orange: male)"), content
        )
        self.dwell = BarChart(self.tr("Time in the store (minutes)"), content)
        self.spend = BarChart(self.tr("Spend by age band (blue: female, orange: male)"), content)
        zones_box, self.zones = _table_box(
            self.tr("Time in zones"),
            [
                self.tr("Camera"),
                self.tr("Zone"),
                self.tr("Visits that entered"),
                self.tr("Mean minutes there"),
            ],
            content,
        )
        lines_box, self.lines = _table_box(
            self.tr("People counted at lines"),
            [self.tr("Camera"), self.tr("Line"), self.tr("In"), self.tr("Out")],
            content,
        )
        self.heat = HeatmapChart(self.tr("Where visitors went"), content)
        grid.addWidget(self.over_time, 1, 0, 1, 3)
        grid.addWidget(self.frequency, 1, 3, 1, 2)
        grid.addWidget(self.demographics, 2, 0, 1, 3)
        grid.addWidget(self.dwell, 2, 3, 1, 2)
        grid.addWidget(self.spend, 3, 0, 1, 3)
        grid.addWidget(zones_box, 3, 3, 1, 2)
        grid.addWidget(self.heat, 4, 0, 1, 3)
        grid.addWidget(lines_box, 4, 3, 1, 2)
        self.note = QLabel(
            self.tr(
                "Counts below %1 are shown as \u201c<%1\u201d so that no one can be singled "
                "out, and counts that would give one away by subtraction are hidden as "
                "\u201c—\u201d. Staff and people who opted out are never counted."
            ).replace("%1", str(self.k)),
            content,
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        grid.addWidget(self.note, 5, 0, 1, 5)
        self.scroll = QScrollArea(self)
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        outer.addWidget(self.scroll, 1)
        self.data: DashboardData | None = None
        self._busy = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        if workspace.settings.reports.floor_plan:
            self.load_floor_plan(Path(workspace.settings.reports.floor_plan))
        self.refresh()

    def period(self) -> Period:
        days = local_days(self.since.date().toPython(), self.until.date().toPython(), None)
        return replace(days, scope=scope_of(self.store.currentData()))

    def refresh(self) -> None:
        if self._busy:
            self._again = True  # the figures changed while being read: read them once more
            return
        self._busy = True
        self._again = False
        period, now, workspace = self.period(), datetime.now(UTC), self._workspace

        def gather() -> DashboardData:
            stored = workspace.cameras()
            cameras = {c.camera_id: c.name for c in stored if c.camera_id}
            calibrated = sum(c.calibration is not None for c in stored)
            chain = workspace.chain_status()
            synced = chain.last_sync if chain else None
            return workspace.aggregates(
                lambda a: _gather(a, period, now, cameras, calibrated, last_sync=synced)
            )

        run_in_background(
            gather,
            self._show,
            self._failed,
            self,
        )

    def _show_repeat(self, repeat: RepeatRate, *, shown: bool, hide_unknown: bool) -> None:
        """The rate over identified visits, its likely range, the share of visits whose
        identity is unknown and the false repeats expected for the gallery held now."""
        lines = []
        if shown and repeat.identified_visits:
            self.repeat.value.setText(f"{repeat.rate:.0%}")
            lines.append(
                self.tr("likely between %1 and %2")
                .replace("%1", f"{repeat.low:.0%}")
                .replace("%2", f"{repeat.high:.0%}")
            )
            lines.append(
                self.tr("expected false repeats: %1 (%2 visitors held)")
                .replace("%1", f"{repeat.expected_false_repeats:.1f}")
                .replace("%2", str(repeat.gallery_size))
            )
        else:
            self.repeat.value.setText("–")
            lines.append(self.tr("too few visits"))
        if repeat.visits and hide_unknown:
            # The share would give a small unknown count away: the count as shown instead.
            lines.append(
                self.tr("rate over identified visits; identity unknown: %1 visits").replace(
                    "%1", self.text(("unknown",))
                )
            )
        elif repeat.visits:
            lines.append(
                self.tr("rate over identified visits; identity unknown: %1 of all visits").replace(
                    "%1", f"{repeat.unknown_share:.0%}"
                )
            )
        self.repeat.detail.setText("\n".join(lines))

    def _show(self, data: DashboardData) -> None:
        self._busy = False
        if self._again:
            QTimer.singleShot(0, self.refresh)
        self.data = data
        k, d, figures = self.k, data.disclosure, data.figures
        self._show_stores(data)
        own = figures.store_only_shown
        only_here = self.tr("This store only")
        # A live count of who is in the shop right now, seen on screen by staff who see the
        # same people: not a published statistic, so shown exactly (docs/decisions.md, G-07).
        in_store = data.live.in_store_now
        self.in_store.value.setText("–" if in_store is None else str(in_store))
        self.in_store.detail.setText("" if in_store is not None else only_here)
        self.today.value.setText(suppressed(data.live.today_visits, k))
        self.visits.value.setText(self.text(("visits",)))
        self._show_repeat(
            figures.repeat,
            # Over identified visits, the rate would tell a hidden unknown count apart too.
            shown=not d.any_hidden(("visits",), ("repeat",), ("unknown",)),
            hide_unknown=d.any_hidden(("visits",), ("unknown",)),
        )
        conversion = figures.conversion
        shown = own and conversion.converted and not d.any_hidden(("visits",), ("converted",))
        self.converted.value.setText(f"{conversion.rate:.0%}" if shown else "–")
        self.converted.detail.setText(self.text(("converted",)) if own else only_here)
        labels = [self._bucket_label(b.start) for b in figures.over_time]
        series = [
            [
                None if d.hidden(("bucket", i, name)) else self.drawn(("bucket", i, name))
                for i in range(len(figures.over_time))
            ]
            for name in ("visits", *VISIT_KINDS)
        ]
        self.over_time.show_series(labels, series)
        gaps = sum(v is None for v in series[0])
        self.over_time.note.setText(
            self.tr("Hidden (<%1 or to protect one): %2 of %3 points, left as gaps in the lines")
            .replace("%1", str(self.k))
            .replace("%2", str(gaps))
            .replace("%3", str(len(labels)))
            if gaps
            else ""
        )
        self._bars(self.frequency, "frequency", [c.label for c in figures.frequency])
        self._bars(self.dwell, "dwell", [c.label for c in figures.dwell])
        bands = sorted({c.age_band for c in figures.demographics})
        female = [("segment", band, "female") for band in bands]
        male = [("segment", band, "male") for band in bands]
        self._pairs(self.demographics, bands, female, male)
        bands = sorted({c.age_band for c in figures.spend})
        amounts = {(c.age_band, c.gender): c.spend for c in figures.spend}
        hidden = [
            d.any_hidden(*(("converted", b, g) for g in ("female", "male") if (b, g) in amounts))
            for b in bands
        ]
        self.spend.show_bars(
            bands,
            [
                0 if h else round(amounts.get((b, "female"), 0))
                for b, h in zip(bands, hidden, strict=True)
            ],
            hidden,
            [
                0 if h else round(amounts.get((b, "male"), 0))
                for b, h in zip(bands, hidden, strict=True)
            ],
        )
        self._hidden_note(self.spend, [b for b, h in zip(bands, hidden, strict=True) if h])
        self._explain_empty(data)
        self.zones.clearSpans()
        self.zones.setRowCount(len(figures.zones))
        for row, zone in enumerate(figures.zones):
            key = ("zone", zone.camera_id, zone.zone)
            minutes = f"{zone.mean_dwell_seconds / 60:.1f}" if zone.visits else "–"
            values = (
                data.cameras.get(zone.camera_id, str(zone.camera_id)),
                zone.zone,
                self.text(key),
                "—" if d.hidden(key) else minutes,
            )
            for column, value in enumerate(values):
                self.zones.setItem(row, column, QTableWidgetItem(value))
        rows = [
            (
                self.tr("%1: camera %2")
                .replace("%1", line.store)
                .replace("%2", str(line.camera_id))
                if line.store
                else data.cameras.get(line.camera_id, str(line.camera_id)),
                line.line,
                self.text(line.key("in")),
                self.text(line.key("out")),
            )
            for line in figures.lines
        ]
        if figures.people:
            rows.append(("", self.tr("People counted"), self.text(("people",)), ""))
        self.lines.clearSpans()
        self.lines.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.lines.setItem(row, column, QTableWidgetItem(value))
        if not own:
            _say_in_table(
                self.zones,
                self.tr(
                    "Time in zones is shown for “This store” only: each store draws zones on "
                    "its own cameras."
                ),
            )
        elif not figures.zones:
            _say_in_table(
                self.zones,
                self.tr(
                    "No zone drawn yet: open a camera (Cameras → Edit camera) and draw the "
                    "shelves, the checkout or the entrance on its picture."
                ),
            )
        if not rows:
            _say_in_table(
                self.lines,
                self.tr(
                    "No counting line drawn yet: open a camera (Cameras → Edit camera) and draw "
                    "a line across the door or an aisle."
                )
                if own
                else self.tr("No people counted at lines in this period."),
            )
        cells = np.array(data.heatmap.cells, dtype=int) if data.heatmap.cells else np.zeros((1, 1))
        for x, y in data.heatmap.suppressed:
            cells[y, x] = 0
        self.heat.show_cells(cells)
        if not own:
            self.heat.note.setText(
                self.tr("Shown for “This store” only: each store has its own floor plan.")
            )
        elif data.calibrated_cameras:
            self.heat.note.setText("")
        else:
            self.heat.note.setText(
                self.tr(
                    "No camera is placed on the floor plan yet: open a camera and use Floor "
                    "calibration… to see where visitors go."
                )
            )

    def _show_stores(self, data: DashboardData) -> None:
        """The picker lists this store, the chain's other stores and all stores, and is
        shown only when there are other stores; the note says where other stores' figures
        come from and what stays with each store."""
        wanted = [(HERE, self.tr("This store"))]
        if data.chain_stores:
            wanted += [(STORE_PREFIX + s.store_id, s.name) for s in data.chain_stores]
            wanted.append((EVERY, self.tr("All stores")))
        listed = [
            (self.store.itemData(i), self.store.itemText(i)) for i in range(self.store.count())
        ]
        if listed != wanted:
            chosen = self.store.currentData()
            self.store.blockSignals(True)
            self.store.clear()
            for choice, name in wanted:
                self.store.addItem(name, choice)
            index = self.store.findData(chosen)
            self.store.setCurrentIndex(max(index, 0))
            self.store.blockSignals(False)
            if index < 0:
                # The store chosen has gone from the chain (or this PC left it): the figures
                # shown were of a scope no longer offered.
                QTimer.singleShot(0, self.refresh)
        self.store.setVisible(bool(data.chain_stores))
        if data.figures.period.scope.this_store:
            self.scope_note.setVisible(False)
            return
        synced = (
            data.last_sync.astimezone().strftime("%Y-%m-%d %H:%M")
            if data.last_sync
            else self.tr("not yet")
        )
        self.scope_note.setText(
            self.tr(
                "Other stores' figures are as of the last sync (%1). A repeat visit is a visit "
                "by someone a store of the chain had seen before. Sales, time in zones, the "
                "floor heat map and who is in the store now stay with each store: choose "
                "“This store” to see them."
            ).replace("%1", synced)
        )
        self.scope_note.setVisible(True)

    def _explain_empty(self, data: DashboardData) -> None:
        """An empty chart says why: nothing recorded, too few to show, or no sales linked."""
        figures, d = data.figures, data.disclosure
        if not figures.repeat.visits and not figures.store_only_shown:
            why = self.tr("No visits recorded in this period as of the last sync.")
        elif not figures.repeat.visits:
            why = self.tr(
                "Nothing recorded in this period yet: visits appear here once a camera runs "
                "with a complete notice."
            )
        elif d.hidden(("visits",)) and d.primary(("visits",)):
            # A total hidden to protect a small bucket is not a small total: the charts' own
            # notes name what they hide.
            why = self.tr(
                "Fewer than %1 visits in this period: the figures are hidden so that no one "
                "can be singled out."
            ).replace("%1", str(self.k))
        else:
            why = ""
        if why:
            for chart in (self.over_time, self.frequency, self.demographics, self.dwell):
                chart.note.setText(why)
        if not figures.store_only_shown:
            self.spend.note.setText(self.tr("Sales are shown for “This store” only."))
            return
        if figures.conversion.converted:
            return
        if figures.purchases:
            self.spend.note.setText(
                self.tr(
                    "Sales were imported, but none is linked to a visit: say which camera "
                    "watches each register (File → Import POS CSV…, Registers)."
                )
            )
        else:
            self.spend.note.setText(
                self.tr("No sales imported for this period (File → Import POS CSV…).")
            )

    def text(self, key: Key) -> str:
        """A count as shown: "<k" when small, "—" when hidden to protect another (G-07)."""
        assert self.data is not None
        return self.data.disclosure.text(key, "—")

    def drawn(self, key: Key) -> int:
        """A count as a chart draws it: never a hidden one at its true height (G-07); zero
        for a cell with no visits at all."""
        assert self.data is not None
        d = self.data.disclosure
        return 0 if key not in d or d.hidden(key) else d.count(key)

    def _bars(self, chart: BarChart, name: str, labels: list[str]) -> None:
        keys = [(name, i) for i in range(len(labels))]
        hidden = [self.data is not None and self.data.disclosure.hidden(key) for key in keys]
        chart.show_bars(labels, [self.drawn(key) for key in keys], hidden)
        self._hidden_note(chart, [label for label, h in zip(labels, hidden, strict=True) if h])

    def _pairs(
        self, chart: BarChart, labels: list[str], first: list[Key], second: list[Key]
    ) -> None:
        assert self.data is not None
        d = self.data.disclosure
        hidden = [d.hidden(a) or d.hidden(b) for a, b in zip(first, second, strict=True)]
        chart.show_bars(
            labels, [self.drawn(key) for key in first], hidden, [self.drawn(key) for key in second]
        )
        self._hidden_note(chart, [label for label, h in zip(labels, hidden, strict=True) if h])

    def _hidden_note(self, chart: BarChart, names: list[str]) -> None:
        chart.note.setText(
            self.tr("Hidden (<%1 or to protect one): %2")
            .replace("%1", str(self.k))
            .replace("%2", ", ".join(names))
            if names
            else ""
        )

    @staticmethod
    def _bucket_label(start: datetime) -> str:
        local = start.astimezone()
        return local.strftime("%H:%M") if local.hour else local.strftime("%m-%d")

    def _failed(self, error: Exception) -> None:
        self._busy = False
        if self._again:
            QTimer.singleShot(0, self.refresh)
        self.note.setText(self.tr("The figures could not be read: %1").replace("%1", str(error)))

    def choose_floor_plan(self) -> None:
        """Another plan, and how wide the floor it shows is: a plan's metres place the
        cameras' tracks on one floor (joining a visit across cameras), so a new picture must
        not keep the last one's size."""
        chosen, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Floor plan"), "", self.tr("Pictures (*.png *.jpg *.jpeg *.bmp)")
        )
        if not chosen:
            return
        pixels = self.load_floor_plan(Path(chosen))
        if pixels is None:
            return
        reports = self._workspace.settings.reports
        width_m, ok = QInputDialog.getDouble(
            self,
            self.tr("Floor plan"),
            self.tr(
                "How wide is the floor this plan shows, from its left edge to its right, in "
                "metres? The depth follows from the picture's proportions."
            ),
            (reports.floor_plan_size_m or ASSUMED_PLAN_SIZE_M)[0],
            1.0,
            1000.0,
            1,
        )
        if not ok:
            # Cancelled: the plan in use stays, with its size.
            previous = Path(reports.floor_plan) if reports.floor_plan else None
            if previous is None or self.load_floor_plan(previous) is None:
                self.heat.set_floor_plan(None)
            return
        self._remember_plan(chosen, plan_size_m(width_m, pixels))

    def use_floor_plan(self, chosen: str, size_m: tuple[float, float] | None = None) -> None:
        """Show ``chosen`` under the heat map and remember it for the next start (the path
        only, the picture stays where it is); the calibration hands over the one it loaded,
        and the plan's size in metres when the operator gave it there."""
        if self.load_floor_plan(Path(chosen)) is not None:
            self._remember_plan(chosen, size_m)

    def _remember_plan(self, chosen: str, size_m: tuple[float, float] | None) -> None:
        settings = self._workspace.settings
        update: dict[str, object] = {"floor_plan": chosen}
        if size_m is not None:
            update["floor_plan_size_m"] = size_m
        reports = settings.reports.model_copy(update=update)
        updated = settings.model_copy(update={"reports": reports})
        run_in_background(
            lambda: self._workspace.save_settings(updated, self._actor),
            lambda _none: None,
            self._failed,
            self,
        )

    def load_floor_plan(self, path: Path) -> tuple[int, int] | None:
        """Show the plan at ``path``; its size in pixels (width, height), None if unreadable."""
        try:
            image = read_image(path)
        except Exception as exc:
            log.warning("floor plan %s cannot be read: %s", path, exc)
            self.note.setText(self.tr("The floor plan cannot be read: %1").replace("%1", str(exc)))
            return None
        rgba = cv2.cvtColor(image, cv2.COLOR_BGR2RGBA)
        self.heat.set_floor_plan(rgba)
        return (image.shape[1], image.shape[0])


def _say_in_table(table: QTableWidget, text: str) -> None:
    """One row across the whole table saying why it is empty."""
    table.setRowCount(1)
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    table.setItem(0, 0, item)
    table.setSpan(0, 0, 1, table.columnCount())
    table.setWordWrap(True)
    table.resizeRowToContents(0)
