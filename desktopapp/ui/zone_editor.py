"""The camera dialog's preview, on which the operator draws fixed privacy zones (always
masked, amber), analysis zones (shelf, checkout, entrance: named, blue) and counting lines
(green, with an arrow towards the side people walk to when they count as "in").

Each click adds a corner; "Finish zone" closes the polygon. Corners are stored normalised to
0..1 so a zone stays put when the camera's resolution changes.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktopapp.core.counting import CountingLine, Zone
from desktopapp.core.privacy import Polygon

MIN_CORNERS = 3


class ZoneEditor(QWidget):
    zones_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("zone-editor")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.image: QImage | None = None
        self.placeholder = ""
        self.zones: list[list[tuple[float, float]]] = []
        self.analysis: list[Zone] = []
        self.lines: list[CountingLine] = []
        self.current: list[tuple[float, float]] = []

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self.update()

    def set_zones(self, zones: tuple[Polygon, ...]) -> None:
        self.zones = [list(zone) for zone in zones]
        self.current = []
        self.update()

    def polygons(self) -> tuple[Polygon, ...]:
        return tuple(tuple(zone) for zone in self.zones)

    def set_analysis_zones(self, zones: tuple[Zone, ...]) -> None:
        self.analysis = list(zones)
        self.update()

    def set_lines(self, lines: tuple[CountingLine, ...]) -> None:
        self.lines = list(lines)
        self.update()

    def add_line(self, line: CountingLine) -> None:
        """``line`` (drawn from ``corners()``) joins the counting lines; drawing starts anew."""
        self.lines = [existing for existing in self.lines if existing.name != line.name] + [line]
        self.current = []
        self.zones_changed.emit()
        self.update()

    def corners(self) -> tuple[tuple[float, float], ...]:
        """The corners of the zone being drawn."""
        return tuple(self.current)

    def finish_zone(self) -> bool:
        """Close the zone being drawn as a privacy zone; False when it has fewer than three
        corners."""
        if len(self.current) < MIN_CORNERS:
            return False
        self.zones.append(self.current)
        self.current = []
        self.zones_changed.emit()
        self.update()
        return True

    def add_analysis_zone(self, zone: Zone) -> None:
        """``zone`` (drawn from ``corners()``) joins the analysis zones; drawing starts anew."""
        self.analysis = [z for z in self.analysis if z.name != zone.name] + [zone]
        self.current = []
        self.zones_changed.emit()
        self.update()

    def clear(self) -> None:
        self.zones = []
        self.analysis = []
        self.lines = []
        self.current = []
        self.zones_changed.emit()
        self.update()

    def picture_rect(self) -> QRectF:
        """Where the picture (or a 4:3 area before the first preview) is drawn."""
        size = self.image.size() if self.image is not None else None
        ratio = size.width() / size.height() if size else 4 / 3
        width = min(self.width(), self.height() * ratio)
        height = width / ratio
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        area = self.picture_rect()
        point = event.position()
        if event.button() is not Qt.MouseButton.LeftButton or not area.contains(point):
            return
        self.current.append(
            ((point.x() - area.x()) / area.width(), (point.y() - area.y()) / area.height())
        )
        self.update()

    def paint_picture(self, painter: QPainter) -> QRectF:
        """The picture (or the placeholder) on a dark ground; returns where it is drawn."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#202124"))
        area = self.picture_rect()
        if self.image is not None:
            painter.drawImage(area, self.image)
        else:
            painter.setPen(QColor("#e8eaed"))
            painter.drawText(
                area.adjusted(12, 0, -12, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.placeholder,
            )
        return area

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        area = self.paint_picture(painter)

        def to_widget(zone: list[tuple[float, float]]) -> QPolygonF:
            return QPolygonF(
                [
                    QPointF(area.x() + x * area.width(), area.y() + y * area.height())
                    for x, y in zone
                ]
            )

        painter.setPen(QPen(QColor("#ffb300"), 2))
        painter.setBrush(QBrush(QColor(255, 179, 0, 90), Qt.BrushStyle.BDiagPattern))
        for zone in self.zones:
            painter.drawPolygon(to_widget(zone))
        painter.setPen(QPen(QColor("#1a73e8"), 2))
        painter.setBrush(QBrush(QColor(26, 115, 232, 60)))
        for analysis in self.analysis:
            outline = to_widget(list(analysis.polygon))
            painter.drawPolygon(outline)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(outline.boundingRect(), Qt.AlignmentFlag.AlignCenter, analysis.name)
            painter.setPen(QPen(QColor("#1a73e8"), 2))
        for line in self.lines:
            (start, end) = to_widget([line.start, line.end])
            painter.setPen(QPen(QColor("#34a853"), 3))
            painter.drawLine(start, end)
            # The arrow points to the side people walk to when they count as "in": the right
            # of the line, walking from its start to its end.
            middle = (start + end) / 2
            dx, dy = end.x() - start.x(), end.y() - start.y()
            length = max((dx * dx + dy * dy) ** 0.5, 1.0)
            tip = middle + QPointF(-dy, dx) * (18.0 / length)
            painter.drawLine(middle, tip)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(tip + QPointF(4, 4), line.name)
        painter.setPen(QPen(QColor("#ffb300"), 2))
        if self.current:
            painter.setPen(QPen(QColor("#ffb300"), 2, Qt.PenStyle.DashLine))
            painter.drawPolyline(to_widget(self.current))
            for point in to_widget(self.current):
                painter.drawEllipse(point, 3, 3)
        painter.end()
