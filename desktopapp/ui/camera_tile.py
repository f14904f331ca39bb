"""One camera's live tile: the masked picture (or crowd icons), its name, state, analysis rate
and the counting modes' counts."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import QFrame, QPushButton, QSizePolicy, QWidget

from desktopapp.core.counting import CongestionLevel
from desktopapp.core.logs import log_file
from desktopapp.core.pipeline import MaskedFrame
from desktopapp.core.sources import SourceState, SourceStatus
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.log_folder import open_log_folder

BACKGROUND = QColor("#202124")
TEXT = QColor("#ffffff")
SHADE = QColor(0, 0, 0, 150)


def to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of the (already masked) BGR frame."""
    height, width = image.shape[:2]
    contiguous = np.ascontiguousarray(image)
    return QImage(contiguous.data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


def fitted_size(width: int, height: int, box: QSize) -> tuple[int, int]:
    """The largest size of a ``width`` x ``height`` picture inside ``box``, aspect kept."""
    scale = min(box.width() / width, box.height() / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def display_image(image: np.ndarray, box: QSize) -> tuple[QImage, np.ndarray]:
    """The (already masked) BGR frame fitted into ``box`` as a 32-bit QImage, which the raster
    engine draws as a plain copy; a BGR888 image drawn scaled is converted and scaled again at
    every paint, holding the GIL. The array is the QImage's memory: keep it while the image
    lives."""
    height, width = image.shape[:2]
    size = fitted_size(width, height, box)
    if size != (width, height):
        # Area averaging costs six times as much and only matters below half size.
        halved = 2 * size[0] < width
        image = cv2.resize(
            image, size, interpolation=cv2.INTER_AREA if halved else cv2.INTER_LINEAR
        )
    pixels = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return QImage(pixels.data, size[0], size[1], 4 * size[0], QImage.Format.Format_RGB32), pixels


class LivePicture(QWidget):
    """The tile's picture: drawn 1:1 from an image fitted when the frame arrived, with the
    counting modes' counts over it. It paints itself opaquely so that a new frame repaints only
    this widget (a few Qt calls, no conversion), not the tile's texts."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.image: QImage | None = None
        self.counts = ""
        self.painted = 0

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        image = self.image
        if image is not None:
            painter.drawImage(
                QPoint((self.width() - image.width()) // 2, (self.height() - image.height()) // 2),
                image,
            )
            self.painted += 1
        if self.counts:
            painter.setPen(TEXT)
            box = self.rect().adjusted(8, 8, -8, -8)
            painter.fillRect(
                painter.boundingRect(box, Qt.AlignmentFlag.AlignLeft, self.counts).adjusted(
                    -4, -2, 4, 2
                ),
                SHADE,
            )
            painter.drawText(
                box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.counts
            )
        painter.end()


class CameraTile(QFrame):
    enlarge_requested = Signal(int)

    def __init__(self, camera_id: int, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.camera_id = camera_id
        self.name = name
        self.setObjectName(f"camera-tile-{camera_id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self._picture = LivePicture(self)
        self._picture.setGeometry(self._picture_area())
        self._picture.hide()
        self._pixels: np.ndarray | None = None  # the memory of the picture's image
        self._status: SourceStatus | None = None
        self._fps = 0.0
        self._faces = 0
        self._frame: MaskedFrame | None = None
        self._blocked = ""
        self._label = ""
        self._failing = False
        # A camera in trouble says the details are in the log: the folder is one click away.
        self.log_button = QPushButton(self.tr("Open the log folder"), self)
        self.log_button.setObjectName(f"camera-tile-log-{camera_id}")
        self.log_button.clicked.connect(open_log_folder)
        self.log_button.setVisible(False)

    @property
    def painted_frames(self) -> int:
        return self._picture.painted

    @property
    def has_picture(self) -> bool:
        return self._picture.image is not None

    @property
    def picture_size(self) -> QSize | None:
        """The size the frame is shown at (fitted to the tile once per frame)."""
        image = self._picture.image
        return None if image is None else image.size()

    @property
    def picture_format(self) -> QImage.Format | None:
        image = self._picture.image
        return None if image is None else image.format()

    def set_label(self, label: str) -> None:
        """A badge such as DEMO shown beside the name."""
        self._label = label
        self.update()

    def show_frame(self, frame: MaskedFrame, fps: float) -> None:
        # Each Qt or OpenCV call here lets the analysis threads take the GIL, and getting it
        # back can take a switch interval: a frame makes as few calls as it can.
        previous = self._frame
        texts_changed = (
            self._failing
            or previous is None
            or (previous.faces, previous.persons) != (frame.faces, frame.persons)
            or f"{fps:.1f}" != f"{self._fps:.1f}"
        )
        if self._failing:
            self._failing = False
            self._show_log_button()
        self._faces = frame.faces
        self._frame = frame
        self._fps = fps
        self._fit_picture()
        if self.has_picture:
            self._picture.counts = self.counts_text()
            self._picture.setVisible(True)
            self._picture.update()
        # The tile's own texts are repainted only when they change: most frames repaint
        # nothing but the picture.
        if texts_changed:
            self.update()

    def _picture_area(self) -> QRect:
        return self.rect().adjusted(2, 24, -2, -24)

    def _fit_picture(self) -> None:
        frame = self._frame
        if frame is None or self._failing or self._blocked:
            return
        self._picture.image, self._pixels = display_image(frame.image, self._picture.size())

    def counts_text(self) -> str:
        """People, line crossings and zone levels of the counting modes, one line each."""
        frame = self._frame
        if frame is None:
            return ""
        lines = [
            self.tr("%1: in %2, out %3")
            .replace("%1", name)
            .replace("%2", str(crossed_in))
            .replace("%3", str(crossed_out))
            for name, crossed_in, crossed_out in frame.line_counts
        ]
        lines += [
            self.tr("%1: %2 people (%3)")
            .replace("%1", name)
            .replace("%2", str(count))
            .replace("%3", self.level_text(level))
            for name, count, level in frame.zone_counts
        ]
        return "\n".join(lines)

    def level_text(self, level: CongestionLevel) -> str:
        return {
            CongestionLevel.LOW: self.tr("quiet"),
            CongestionLevel.MEDIUM: self.tr("busy"),
            CongestionLevel.HIGH: self.tr("crowded"),
            CongestionLevel.FULL: self.tr("full"),
        }[level]

    def show_status(self, status: SourceStatus) -> None:
        self._status = status
        self._show_log_button()
        self.update()

    def _show_log_button(self) -> None:
        troubled = self._failing or (self._status is not None and self._status.problem is not None)
        self.log_button.setVisible(troubled and log_file() is not None)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.log_button.adjustSize()
        self.log_button.move(self.width() - self.log_button.width() - 8, 24)
        self._picture.setGeometry(self._picture_area())
        if self._picture.isVisible():
            self._fit_picture()
        self.log_button.raise_()

    @property
    def blocked_reason(self) -> str:
        return self._blocked

    def show_blocked(self, reason: str) -> None:
        """Analysis may not run (e.g. the notice is incomplete): no picture, only the reason."""
        self._blocked = reason
        self._hide_picture()
        self.update()

    def _hide_picture(self) -> None:
        self._picture.image = None
        self._pixels = None
        self._picture.hide()

    @property
    def analysis_failing(self) -> bool:
        return self._failing

    def show_analysis_failing(self) -> None:
        """Frames keep failing analysis: a frozen last picture would pass for a live one, and
        an unanalysed one may never be shown, so the tile goes dark and says why."""
        self._failing = True
        self._hide_picture()
        self._show_log_button()
        self.update()

    def status_text(self) -> str:
        if self._blocked:
            return self.tr("Not analysing")
        if self._failing:
            return self.tr("Analysis failed")
        status = self._status
        if status is None or status.state is SourceState.CONNECTING:
            # The source's state is polled twice a second: a picture may come first.
            return self._rate_text() if self._frame is not None else self.tr("Connecting…")
        problem = (
            ErrorTexts(self).source_problem(status.problem, status.params) if status.problem else ""
        )
        if status.state is SourceState.RECONNECTING:
            reason = problem or self.tr("Reconnecting…")
            since = status.seconds_since_last_frame()
            if since is None:
                return reason
            return (
                self.tr("%1 Last picture %2 s ago.")
                .replace("%1", reason)
                .replace("%2", f"{since:.0f}")
            )
        if status.state is SourceState.FAILED:
            return self.tr("Cannot read this camera: %1").replace("%1", problem or status.message)
        if status.state is SourceState.ENDED:
            return self.tr("Video ended")
        rate = self._rate_text()
        # Live, but the picture froze or changed size.
        return f"{rate} — {problem}" if problem else rate

    def _rate_text(self) -> str:
        if self._frame is not None and self._frame.persons:
            return (
                self.tr("%1 fps · faces: %2 · people: %3")
                .replace("%1", f"{self._fps:.1f}")
                .replace("%2", str(self._faces))
                .replace("%3", str(self._frame.persons))
            )
        return (
            self.tr("%1 fps · faces: %2")
            .replace("%1", f"{self._fps:.1f}")
            .replace("%2", str(self._faces))
        )

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.enlarge_requested.emit(self.camera_id)
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        area = self._picture_area()
        painter.setPen(TEXT)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        title = f"{self.name}  [{self._label}]" if self._label else self.name
        painter.drawText(self.rect().adjusted(8, 2, -8, 0), Qt.AlignmentFlag.AlignTop, title)
        painter.setFont(self.font())
        stale = (
            self._blocked
            or self._failing
            or (
                self._status is not None
                and (self._status.state is not SourceState.LIVE or self._status.problem is not None)
            )
        )
        painter.setPen(QColor("#ffb74d") if stale else QColor("#c8e6c9"))
        painter.drawText(
            self.rect().adjusted(8, 0, -8, -4),
            Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
            self.status_text(),
        )
        if self._failing and not self._blocked:
            painter.setPen(QColor("#ffb74d"))
            painter.drawText(
                area.adjusted(12, 0, -12, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.tr(
                    "The picture cannot be analysed, so it is not shown (people could not be "
                    "masked). Details are in the log."
                ),
            )
        elif not self.has_picture and not self._blocked:
            painter.setPen(QColor("#9aa0a6"))
            painter.drawText(area, Qt.AlignmentFlag.AlignCenter, self.tr("Waiting for picture…"))
        elif self._blocked:
            painter.setPen(QColor("#ffb74d"))
            painter.drawText(
                area.adjusted(12, 0, -12, 0),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._blocked,
            )
        painter.end()
