"""Small pyqtgraph charts for the dashboard. They draw counts they are given; small counts are
drawn and labelled as "<k" by the caller's suppression rule, never as their true value (G-07).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

log = logging.getLogger(__name__)

BAR = "#2b6cb0"
SECOND = "#f6ad55"
pg.setConfigOptions(antialias=True, background="w", foreground="k")


class _Chart(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.title = QLabel(title, self)
        self.title.setStyleSheet("font-weight: bold;")
        layout.addWidget(self.title)
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(160)
        layout.addWidget(self.plot, 1)
        self.note = QLabel(self)
        self.note.setStyleSheet("color: #555;")
        self.note.setWordWrap(True)  # a long reason wraps instead of widening the dashboard
        layout.addWidget(self.note)


def _counts_axis(plot: pg.PlotWidget, values: Sequence[int]) -> None:
    """Counts start at zero; an empty chart still shows a sensible scale."""
    plot.setYRange(0, max(1, *values) * 1.1 if values else 1, padding=0)


class BarChart(_Chart):
    """Bars with category labels; ``hidden`` bars (suppressed) are drawn as zero and named."""

    def show_bars(
        self,
        labels: Sequence[str],
        values: Sequence[int],
        hidden: Sequence[bool] = (),
        second: Sequence[int] | None = None,
    ) -> None:
        self.plot.clear()
        hidden = list(hidden) or [False] * len(values)
        shown = [0 if h else v for v, h in zip(values, hidden, strict=True)]
        xs = np.arange(len(shown), dtype=float)
        width = 0.4 if second is not None else 0.8
        self.plot.addItem(
            pg.BarGraphItem(
                x=xs - (width / 2 if second else 0), height=shown, width=width, brush=BAR
            )
        )
        if second is not None:
            others = [0 if h else v for v, h in zip(second, hidden, strict=True)]
            self.plot.addItem(
                pg.BarGraphItem(x=xs + width / 2, height=others, width=width, brush=SECOND)
            )
        self.plot.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.values = shown
        _counts_axis(self.plot, [*shown, *(second or [])])


class LineChart(_Chart):
    """Counts over time; a None point (suppressed) is a gap in its line, never a zero that would
    read as "no visitors"."""

    def show_series(self, labels: Sequence[str], series: Sequence[Sequence[int | None]]) -> None:
        self.plot.clear()
        colours = (BAR, SECOND, "#38a169", "#718096")
        # The fourth line (visits of unknown identity) often lies on the first: dashed, it
        # stays visible on top of it.
        styles = (Qt.PenStyle.SolidLine,) * 3 + (Qt.PenStyle.DashLine,)
        xs = np.arange(len(labels), dtype=float)
        for index, values in enumerate(series):
            if all(v is None for v in values):
                continue  # nothing to draw; pyqtgraph would warn about an all-NaN curve
            self.plot.plot(
                xs,
                np.array([np.nan if v is None else v for v in values], dtype=float),
                pen=pg.mkPen(
                    colours[index % len(colours)], width=2, style=styles[index % len(styles)]
                ),
                symbol="o",
                symbolSize=4,
                connect="finite",
            )
        self.series = [list(values) for values in series]
        _counts_axis(self.plot, [v for values in series for v in values if v is not None])
        step = max(1, len(labels) // 8)
        self.plot.getAxis("bottom").setTicks(
            [[(i, labels[i]) for i in range(0, len(labels), step)]]
        )


class HeatmapChart(_Chart):
    """Visits per floor cell over the operator's floor plan; suppressed cells stay blank."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(title, parent)
        self.plot.setMinimumHeight(280)  # a floor plan needs more room than a bar chart
        self.plot.setAspectLocked(True)
        self.plot.invertY(True)
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.image = pg.ImageItem()
        self.floor: pg.ImageItem | None = None
        self.cells = np.zeros((1, 1), dtype=int)
        self.plot.addItem(self.image)

    def set_floor_plan(self, rgba: np.ndarray | None) -> None:
        """The operator's floor plan under the heat map (an RGBA array, kept in memory only)."""
        if self.floor is not None:
            self.plot.removeItem(self.floor)
            self.floor = None
        if rgba is not None:
            self.floor = pg.ImageItem(np.transpose(rgba, (1, 0, 2)))
            self.floor.setZValue(-1)
            self.plot.addItem(self.floor)
        self._fit()

    def show_cells(self, cells: np.ndarray) -> None:
        self.cells = cells
        # White for no visits, so that the floor plan shows through where nobody went.
        colours = pg.ColorMap([0.0, 1.0], ["#ffffff", "#c53030"])
        self.image.setImage(cells.T.astype(float), autoLevels=True)
        self.image.setColorMap(colours)
        self.image.setOpacity(0.65 if self.floor is not None else 1.0)
        self._fit()

    def _fit(self) -> None:
        # The cells stretch over the whole floor plan: floor points are normalised to it.
        if self.floor is not None and self.floor.image is not None:
            width, height = self.floor.image.shape[0], self.floor.image.shape[1]
            self.image.setRect(0, 0, width, height)
        self.plot.autoRange()
