"""The framing guide of "Requests from the public": the chosen camera's live, masked picture
with the area where a face is found best marked, so staff can tell the person where to stand.

It paints only the masked frames the live view already shows (MaskedFrame, G-12); the capture
for the search is a separate one that never reaches the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from desktopapp.core.pipeline import MaskedFrame
from desktopapp.ui.camera_tile import to_qimage

GUIDE_SIZE = QSize(360, 270)
# Where a face is measured best: upright, central, large enough (fractions of the picture).
FACE_AREA = QRectF(0.36, 0.12, 0.28, 0.42)
SEEN = QColor("#2e7d32")
NOT_SEEN = QColor("#f5c400")


class _Picture(QWidget):
    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.image: QImage | None = None
        self.face_seen = False
        self.setFixedSize(GUIDE_SIZE)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#202124"))
        if self.image is not None:
            painter.drawImage(self.rect(), self.image)
        area = QRectF(
            FACE_AREA.x() * self.width(),
            FACE_AREA.y() * self.height(),
            FACE_AREA.width() * self.width(),
            FACE_AREA.height() * self.height(),
        )
        painter.setPen(QPen(SEEN if self.face_seen else NOT_SEEN, 3, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(area, 18, 18)
        painter.end()


class FramingGuide(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.picture = _Picture(self)
        self.picture.setObjectName("framing-guide")
        self.status = QLabel(self)
        self.status.setObjectName("framing-status")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.status.setFixedWidth(GUIDE_SIZE.width())
        # Room for two lines, so a longer hint never spills over the picture.
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.status)
        self.status.setText(self.tr("Waiting for the camera's picture (people are shown masked)."))

    @property
    def face_seen(self) -> bool:
        return self.picture.face_seen

    def show_frame(self, frame: MaskedFrame) -> None:
        self.picture.image = to_qimage(frame.image).scaled(
            GUIDE_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio
        )
        self.picture.face_seen = frame.faces > 0
        self.status.setText(
            self.tr("A face is seen: ask the person to stay there and press Capture and search.")
            if frame.faces
            else self.tr(
                "No face seen yet: ask the person to stand close, face the camera and bring "
                "their face into the marked area."
            )
        )
        self.picture.update()
