"""Floor calibration of one camera: the same spots of the floor marked on the camera's (masked)
picture and on the floor plan, in the same order (core.floor.FloorCalibration).

Four pairs or more fix the mapping; each pair's error says which click to redo. Nothing of the
floor plan is stored but the points; the picture is the masked preview and stays in memory.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.config import ASSUMED_PLAN_SIZE_M
from desktopapp.core.floor import FloorCalibration, plan_size_m
from desktopapp.core.images import read_image
from desktopapp.ui.camera_tile import to_qimage
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.zone_editor import ZoneEditor

log = logging.getLogger(__name__)

MIN_PAIRS = 4


class PointPicker(ZoneEditor):
    """A picture on which each click adds a numbered point."""

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        super().mousePressEvent(event)
        self.zones_changed.emit()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        area = self.paint_picture(painter)
        for number, (x, y) in enumerate(self.current, start=1):
            point = QPointF(area.x() + x * area.width(), area.y() + y * area.height())
            # Red with a white halo reads on a dark picture and on a white plan alike.
            label = point + QPointF(8, -8)
            painter.setPen(QColor("#ffffff"))
            for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                painter.drawText(label + QPointF(dx, dy), str(number))
            painter.setPen(QPen(QColor("#d93025"), 2))
            painter.drawEllipse(point, 5, 5)
            painter.drawText(label, str(number))
        painter.end()


class CalibrationDialog(QDialog):
    def __init__(
        self,
        picture: QImage | None,
        floor_plan: Path | None,
        calibration: FloorCalibration | None,
        parent: QWidget | None = None,
        *,
        plan_size_m: tuple[float, float] | None = None,
    ):
        """``plan_size_m``: the floor plan's width and depth in metres as last saved (None:
        never given)."""
        super().__init__(parent)
        self.setWindowTitle(self.tr("Floor calibration"))
        resize_within_screen(self, 1100, 620)
        self.result_calibration = calibration
        # Width and depth in metres of the plan shown; None while no plan is shown.
        self.plan_size_m: tuple[float, float] | None = plan_size_m
        intro = QLabel(
            self.tr(
                "Click a spot on the floor in the camera's picture, then the same spot on the "
                "floor plan; repeat for at least four spots spread over the floor (corners of "
                "tiles, shelves or doors), in the same order on both."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.picture = PointPicker(self)
        self.picture.set_image(picture)
        self.picture.placeholder = self.tr("Test the camera's connection first.")
        self.plan = PointPicker(self)
        self.plan.placeholder = self.tr("Load the floor plan picture.")
        for picker in (self.picture, self.plan):
            picker.setMinimumSize(400, 300)
        if calibration is not None:
            self.picture.current = list(calibration.image_points)
            self.plan.current = list(calibration.floor_points)
        sides = QHBoxLayout()
        sides.addWidget(self.picture, 1)
        sides.addWidget(self.plan, 1)
        self.plan_button = QPushButton(self.tr("Floor plan…"), self)
        self.plan_button.clicked.connect(self.choose_plan)
        undo = QPushButton(self.tr("Remove last pair"), self)
        undo.clicked.connect(self.remove_last)
        clear = QPushButton(self.tr("Clear"), self)
        clear.clicked.connect(self.clear)
        # Joining cameras into one visit measures distances on the plan (core.visit_join).
        self.width_box = QDoubleSpinBox(self)
        self.width_box.setRange(1.0, 1000.0)
        self.width_box.setDecimals(1)
        self.width_box.setSuffix(" m")
        self.width_box.setValue((plan_size_m or ASSUMED_PLAN_SIZE_M)[0])
        self.width_box.setToolTip(
            self.tr("Measure the store from wall to wall along the plan's width.")
        )
        self.width_box.valueChanged.connect(self._size_changed)
        width_label = QLabel(self.tr("Width of the plan:"), self)
        width_label.setBuddy(self.width_box)
        self.depth_label = QLabel(self)
        row = QHBoxLayout()
        row.addWidget(self.plan_button)
        row.addWidget(width_label)
        row.addWidget(self.width_box)
        row.addWidget(self.depth_label)
        row.addStretch(1)
        row.addWidget(undo)
        row.addWidget(clear)
        self.message = QLabel(self)
        self.message.setObjectName("calibration-message")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(sides, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        for picker in (self.picture, self.plan):
            picker.zones_changed.connect(self.check)
        # The floor plan shown, remembered so that the dashboard does not ask for it again.
        self.plan_path: Path | None = None
        self._plan_shape: tuple[int, int] | None = None  # (height, width) in pixels
        if floor_plan is not None:
            self.load_plan(floor_plan)
        self._size_changed()
        self.check()

    def choose_plan(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(
            self, self.tr("Floor plan"), "", self.tr("Pictures (*.png *.jpg *.jpeg *.bmp)")
        )
        if chosen:
            self.load_plan(Path(chosen))

    def load_plan(self, path: Path) -> None:
        try:
            image = read_image(path)
        except Exception as exc:
            log.warning("floor plan %s cannot be read: %s", path, exc)
            self._say(self.tr("The floor plan cannot be read: %1").replace("%1", str(exc)), True)
            return
        self.plan.set_image(to_qimage(image))
        self.plan_path = path
        self._plan_shape = (image.shape[0], image.shape[1])
        self._size_changed()

    def _size_changed(self) -> None:
        """The depth follows from the width and the picture's proportions."""
        self.width_box.setEnabled(self._plan_shape is not None)
        if self._plan_shape is None:
            self.depth_label.setText("")
            return
        height, width = self._plan_shape
        self.plan_size_m = plan_size_m(self.width_box.value(), (width, height))
        depth = self.plan_size_m[1]
        self.depth_label.setText(self.tr("depth %1 m").replace("%1", f"{depth:.1f}"))

    def remove_last(self) -> None:
        pairs = min(len(self.picture.current), len(self.plan.current))
        for picker in (self.picture, self.plan):
            del picker.current[max(0, pairs - 1) :]
            picker.update()
        self.check()

    def clear(self) -> None:
        for picker in (self.picture, self.plan):
            picker.current = []
            picker.update()
        self.check()

    def _say(self, text: str, problem: bool) -> None:
        self.message.setStyleSheet("color: #b00020;" if problem else "color: #1b5e20;")
        self.message.setText(text)

    def calibration(self) -> FloorCalibration | None:
        """The fitted calibration, or None after saying what is missing or wrong."""
        image, floor = self.picture.corners(), self.plan.corners()
        pairs = min(len(image), len(floor))
        if pairs < MIN_PAIRS or len(image) != len(floor):
            self._say(
                self.tr("%1 pairs marked: mark at least 4, each on both pictures.").replace(
                    "%1", str(pairs)
                ),
                True,
            )
            return None
        try:
            fitted = FloorCalibration(image, floor)
        except ValueError as exc:
            self._say(self.tr("These points cannot be used: %1").replace("%1", str(exc)), True)
            return None
        checked = fitted.leave_one_out_errors()
        if checked is None and pairs == MIN_PAIRS:
            # Four pairs always fit exactly: a "0.0 %" would reassure about nothing.
            self._say(
                self.tr(
                    "%1 pairs fit, but four always fit exactly, so their accuracy cannot be "
                    "checked: mark a fifth spot to check it."
                ).replace("%1", str(pairs)),
                False,
            )
            self.message.setStyleSheet("color: #8a5a00;")  # usable, but not shown to be right
            return fitted
        if checked is None:
            # Without some point the others do not fix a mapping: only the fit's own errors.
            errors = fitted.point_errors
            text = self.tr("%1 pairs fit; the largest error is at point %2 (%3 % of the plan).")
        else:
            errors = checked
            text = self.tr(
                "%1 pairs fit; checked against the others, the largest error is at point %2 "
                "(%3 % of the plan)."
            )
        worst = max((i for i in range(pairs) if not math.isnan(errors[i])), key=lambda i: errors[i])
        self._say(
            text.replace("%1", str(pairs))
            .replace("%2", str(worst + 1))
            .replace("%3", f"{100 * errors[worst]:.1f}"),
            False,
        )
        return fitted

    def check(self) -> None:
        self.calibration()

    def accept(self) -> None:
        if not self.picture.corners() and not self.plan.corners():
            self.result_calibration = None  # cleared: the camera has no calibration
            super().accept()
            return
        fitted = self.calibration()
        if fitted is None:
            return
        self.result_calibration = fitted
        super().accept()
