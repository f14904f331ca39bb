"""Add or edit a camera, with a "Test connection" that shows a masked preview."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktopapp.core.config import VisionConfig
from desktopapp.core.counting import MAX_NAME, CongestionThresholds, CountingLine, Zone, ZoneKind
from desktopapp.core.floor import FloorCalibration, Space
from desktopapp.core.logs import log_file
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.pipeline import MaskedFrame, PipelineConfig, preview_frame
from desktopapp.core.privacy import MaskStyle
from desktopapp.core.services.cameras import Camera
from desktopapp.core.sources import SourceError, SourceKind, SourceSpec, parse_source
from desktopapp.ui.calibration_dialog import CalibrationDialog
from desktopapp.ui.camera_tile import to_qimage
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.log_folder import open_log_folder
from desktopapp.ui.screen_fit import resize_within_screen
from desktopapp.ui.workers import run_in_background
from desktopapp.ui.zone_editor import MIN_CORNERS, ZoneEditor

log = logging.getLogger(__name__)

LINE = "line"  # the zone-kind choice that draws a counting line instead of a zone


class CameraDialog(QDialog):
    def __init__(
        self,
        vision: VisionConfig,
        camera: Camera | None,
        parent: QWidget | None,
        floor_plan: str | None = None,
        *,
        mode: Mode = Mode.REPEAT,
        entrance_default: bool = False,
        plan_size_m: tuple[float, float] | None = None,
    ):
        """``mode`` is the one the camera will run in (the notice's): the preview masks as the
        live view will. ``entrance_default``: a new camera watches the entrance unless
        unticked (the store's first camera)."""
        super().__init__(parent)
        self._vision = vision
        self._mode = mode
        self._floor_plan = floor_plan
        # A floor plan first loaded in the calibration, for the dashboard to show too, and
        # its size in metres when the operator gave a new one there.
        self.chosen_floor_plan: str | None = None
        self._plan_size_m = plan_size_m
        self.chosen_plan_size_m: tuple[float, float] | None = None
        self._camera_id = camera.camera_id if camera else None
        self.result_camera: Camera | None = None
        self.setWindowTitle(self.tr("Edit camera") if camera else self.tr("Add camera"))
        # room for the picture on which zones and lines are drawn
        resize_within_screen(self, 860, 820)

        self.name_edit = QLineEdit(camera.name if camera else "")
        self.name_edit.setMaxLength(80)
        self.kind_combo = QComboBox()
        kinds = [
            (SourceKind.USB, self.tr("USB camera")),
            (SourceKind.RTSP, self.tr("Network camera (RTSP)")),
            (SourceKind.HTTP, self.tr("Network camera (HTTP MJPEG)")),
            (SourceKind.FILE, self.tr("Video file")),
        ]
        # The demo's synthetic visitor must never be recorded in a store: it is not offered,
        # and stays only on a camera that already uses it (made by the command line).
        if camera is not None and camera.source.kind is SourceKind.DEMO:
            kinds.append((SourceKind.DEMO, self.tr("Demo camera")))
        for kind, label in kinds:
            self.kind_combo.addItem(label, kind.value)
        self.location_edit = QLineEdit()
        self.browse_button = QPushButton(self.tr("Browse…"))
        self.browse_button.clicked.connect(self._browse)
        location_row = QHBoxLayout()
        location_row.addWidget(self.location_edit, 1)
        location_row.addWidget(self.browse_button)
        self.loop_box = QCheckBox(self.tr("Play the video again when it ends"))
        self.loop_box.setChecked(True)
        self.mask_combo = QComboBox()
        for style, label in (
            (MaskStyle.PIXELATE, self.tr("Pixelate")),
            (MaskStyle.BLUR, self.tr("Blur")),
            (MaskStyle.SOLID, self.tr("Solid")),
            (MaskStyle.SILHOUETTE, self.tr("Silhouette")),
        ):
            self.mask_combo.addItem(label, style.value)
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.5, 30.0)
        self.fps_spin.setDecimals(1)
        self.fps_spin.setValue(10.0)
        self.fps_spin.setSuffix(self.tr(" frames/s"))

        form = QFormLayout()
        form.addRow(self.tr("Name"), self.name_edit)
        form.addRow(self.tr("Type"), self.kind_combo)
        form.addRow(self.tr("Address"), location_row)
        form.addRow("", self.loop_box)
        form.addRow(self.tr("Masking"), self.mask_combo)
        form.addRow(self.tr("Analysis rate"), self.fps_spin)
        self.entrance_box = QCheckBox(
            self.tr("This camera watches the store's entrance: visits start here")
        )
        self.entrance_box.setObjectName("camera-entrance")
        self.entrance_box.setChecked(camera.entrance if camera else entrance_default)
        self.entrance_box.toggled.connect(self._explain_joining)
        self.join_note = QLabel()
        self.join_note.setWordWrap(True)
        self.join_note.setStyleSheet("color: #555;")
        entrance_column = QVBoxLayout()
        entrance_column.setContentsMargins(0, 0, 0, 0)
        entrance_column.addWidget(self.entrance_box)
        entrance_column.addWidget(self.join_note)
        form.addRow(self.tr("Entrance"), entrance_column)
        # People in a zone from which it is busy, crowded and full (crowd level mode).
        self.congestion_spins = []
        congestion_row = QHBoxLayout()
        for label, value in (
            (self.tr("busy from"), 3),
            (self.tr("crowded from"), 6),
            (self.tr("full from"), 10),
        ):
            spin = QSpinBox()
            spin.setRange(1, 999)
            spin.setValue(value)
            congestion_row.addWidget(QLabel(label))
            congestion_row.addWidget(spin)
            self.congestion_spins.append(spin)
        congestion_row.addStretch(1)
        form.addRow(self.tr("People in a zone"), congestion_row)
        self._calibration: FloorCalibration | None = None

        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.test_connection)
        self.calibrate_button = QPushButton(self.tr("Floor calibration…"))
        self.calibrate_button.clicked.connect(self.calibrate)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button, 1)
        test_row.addWidget(self.calibrate_button)
        self.preview = ZoneEditor(self)
        self.preview.placeholder = self.tr(
            "No preview yet. Test the connection, then click corners to draw privacy zones."
        )
        self.zone_kind = QComboBox()
        self.zone_kind.addItem(self.tr("Privacy zone (always masked)"), None)
        for kind, label in (
            (ZoneKind.SHELF, self.tr("Shelf")),
            (ZoneKind.CHECKOUT, self.tr("Checkout")),
            (ZoneKind.ENTRANCE, self.tr("Entrance")),
            (ZoneKind.OTHER, self.tr("Other area")),
        ):
            self.zone_kind.addItem(label, kind.value)
        self.zone_kind.addItem(self.tr("Counting line (two clicks)"), LINE)
        self.zone_name = QLineEdit()
        self.zone_name.setPlaceholderText(self.tr("Zone name, e.g. Drinks"))
        self.zone_name.setMaxLength(MAX_NAME)
        self.zone_kind.currentIndexChanged.connect(self._zone_kind_changed)
        self.finish_zone_button = QPushButton(self.tr("Finish zone"))
        self.finish_zone_button.clicked.connect(self._finish_zone)
        self.clear_zones_button = QPushButton(self.tr("Clear zones"))
        self.clear_zones_button.clicked.connect(self.preview.clear)
        zone_row = QHBoxLayout()
        zone_row.addWidget(QLabel(self.tr("Click the corners of a zone on the picture, then:")))
        zone_row.addWidget(self.zone_kind)
        zone_row.addWidget(self.zone_name, 1)
        zone_row.addWidget(self.finish_zone_button)
        zone_row.addWidget(self.clear_zones_button)
        self.zone_list = QLabel()
        self.zone_list.setWordWrap(True)
        self.zone_list.setStyleSheet("color: #555;")
        self.preview.zones_changed.connect(self._list_zones)
        self.message = QLabel()
        self.message.setObjectName("camera-dialog-message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_button = QPushButton(self.tr("Open the log folder"))
        self.log_button.setObjectName("open-log-folder")
        self.log_button.clicked.connect(open_log_folder)
        self.log_button.hide()
        # The source of the last connection test, and of the last one that failed.
        self._tested_source: SourceSpec | None = None
        self._failed_source: SourceSpec | None = None

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.preview, 1)
        layout.addLayout(zone_row)
        layout.addWidget(self.zone_list)
        layout.addWidget(self.message)
        layout.addWidget(self.log_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(buttons)

        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        if camera is not None:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(camera.source.kind.value))
            self.location_edit.setText(camera.source.location)
            self.loop_box.setChecked(camera.source.loop)
            self.mask_combo.setCurrentIndex(self.mask_combo.findData(camera.mask_style.value))
            self.fps_spin.setValue(camera.analysis_fps)
            self.preview.set_zones(camera.polygons)
            self.preview.set_analysis_zones(camera.zones)
            self.preview.set_lines(camera.lines)
            self._calibration = camera.calibration
            for spin, value in zip(
                self.congestion_spins,
                (camera.congestion.medium, camera.congestion.high, camera.congestion.full),
                strict=True,
            ):
                spin.setValue(value)
        self._kind_changed()
        self._zone_kind_changed()
        self._list_zones()
        self._explain_joining()

    def _kind(self) -> SourceKind:
        return SourceKind(self.kind_combo.currentData())

    def _kind_changed(self) -> None:
        kind = self._kind()
        self.browse_button.setVisible(kind is SourceKind.FILE)
        self.loop_box.setVisible(kind is SourceKind.FILE)
        self.location_edit.setEnabled(kind is not SourceKind.DEMO)
        self.location_edit.setPlaceholderText(
            {
                SourceKind.USB: "0",
                SourceKind.RTSP: "rtsp://user:password@192.0.2.10:554/stream1",
                SourceKind.HTTP: "http://192.0.2.10/video.mjpg",
                SourceKind.FILE: self.tr("Path of a video file"),
                SourceKind.DEMO: self.tr("The built-in demo needs no address"),
            }[kind]
        )

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Choose a video file"), "", self.tr("Videos (*.mp4 *.avi *.mkv *.mov)")
        )
        if path:
            self.location_edit.setText(path)

    def _show_error(self, text: str) -> None:
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(text)

    def source_spec(self) -> SourceSpec | None:
        """The source as typed, or None after showing the operator what is wrong."""
        kind = self._kind()
        text = "demo" if kind is SourceKind.DEMO else self.location_edit.text().strip()
        if not text:
            self._show_error(self.tr("Enter the camera's address."))
            return None
        try:
            spec = parse_source(text)
        except ValueError as exc:
            self._show_error(
                self.tr("This address cannot be used: %1").replace(
                    "%1", ErrorTexts(self).error(exc)
                )
            )
            return None
        if spec.kind is not kind:
            self._show_error(self.tr("The address does not match the chosen camera type."))
            return None
        if kind is SourceKind.FILE:
            spec = SourceSpec(kind, spec.location, loop=self.loop_box.isChecked())
        return spec

    def camera(self) -> Camera | None:
        spec = self.source_spec()
        if spec is None:
            return None
        name = self.name_edit.text().strip()
        if not name:
            self._show_error(self.tr('Give the camera a name, e.g. "Entrance".'))
            return None
        medium, high, full = (spin.value() for spin in self.congestion_spins)
        if not medium < high < full:
            self._show_error(
                self.tr("The crowd levels must rise: busy < crowded < full people in a zone.")
            )
            return None
        try:
            return Camera(
                name=name,
                source=spec,
                mask_style=MaskStyle(self.mask_combo.currentData()),
                polygons=self.preview.polygons(),
                analysis_fps=self.fps_spin.value(),
                zones=tuple(self.preview.analysis),
                lines=tuple(self.preview.lines),
                calibration=self._calibration,
                congestion=CongestionThresholds(medium, high, full),
                entrance=self.entrance_box.isChecked(),
                camera_id=self._camera_id,
            )
        except ValueError as exc:
            log.info("camera settings refused: %s", exc)
            self._show_error(self.tr("These settings cannot be saved: %1").replace("%1", str(exc)))
            return None

    def calibrate(self) -> None:
        plan = self._floor_plan
        dialog = CalibrationDialog(
            self.preview.image,
            Path(plan) if plan else None,
            self._calibration,
            self,
            plan_size_m=self._plan_size_m,
        )
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._calibration = dialog.result_calibration
            if dialog.plan_path is not None and str(dialog.plan_path) != self._floor_plan:
                self.chosen_floor_plan = str(dialog.plan_path)
                self._floor_plan = self.chosen_floor_plan
            if dialog.plan_size_m is not None and dialog.plan_size_m != self._plan_size_m:
                self.chosen_plan_size_m = self._plan_size_m = dialog.plan_size_m
            self._list_zones()
            self._explain_joining()

    def _explain_joining(self) -> None:
        """How this camera's people become visits (core.visit_join)."""
        if self.entrance_box.isChecked() and self._calibration is None:
            text = self.tr(
                "A person seen here starts a visit. Without a floor calibration the store's "
                "other cameras cannot add where they go next to it: use Floor calibration… to "
                "place this camera on the floor plan."
            )
        elif self.entrance_box.isChecked():
            text = self.tr(
                "A person seen here starts a visit; the store's other cameras add where they "
                "go next to the same visit."
            )
        elif self._calibration is None:
            text = self.tr(
                "This camera has no floor calibration, so the people it sees cannot be joined "
                "to the visit that began at the entrance: each becomes a visit of its own. Use "
                "Floor calibration… to place it on the floor plan."
            )
        else:
            text = self.tr(
                "People seen here are added to the visit that began at the entrance, by where "
                "and when they walk on the floor plan."
            )
        self.join_note.setText(text)

    def test_connection(self) -> None:
        spec = self.source_spec()
        if spec is None:
            return
        self.test_button.setEnabled(False)
        self.log_button.hide()
        self._tested_source = spec
        self.message.setStyleSheet("")
        self.message.setText(self.tr("Connecting…"))
        config = PipelineConfig(
            mode=self._mode,
            mask_style=MaskStyle(self.mask_combo.currentData()),
            polygons=self.preview.polygons(),
        )
        vision, mode = self._vision, self._mode

        def probe() -> MaskedFrame:
            return preview_frame(spec, engine_for_mode(vision, mode), config)

        run_in_background(probe, self._preview_ready, self._preview_failed, self)

    def _preview_ready(self, frame: MaskedFrame) -> None:
        self.test_button.setEnabled(True)
        self._failed_source = None
        self.preview.set_image(to_qimage(frame.image))
        height, width = frame.image.shape[:2]
        self.message.setStyleSheet("color: #1b5e20;")
        self.message.setText(
            self.tr("Connected: %1×%2, %3 face(s) and %4 person(s) masked.")
            .replace("%1", str(width))
            .replace("%2", str(height))
            .replace("%3", str(frame.faces))
            .replace("%4", str(frame.persons))
        )

    def _zone_kind_changed(self) -> None:
        self.zone_name.setEnabled(self.zone_kind.currentData() is not None)

    def _finish_zone(self) -> None:
        kind = self.zone_kind.currentData()
        if kind == LINE:
            self._finish_line()
            return
        if len(self.preview.corners()) < MIN_CORNERS:
            self._show_error(self.tr("A zone needs at least three corners."))
            return
        if kind is None:
            self.preview.finish_zone()
            return
        name = self.zone_name.text().strip()
        if not name:
            self._show_error(self.tr("Give the zone a name, e.g. \u201cDrinks\u201d."))
            return
        self.preview.add_analysis_zone(
            Zone(name, ZoneKind(kind), self.preview.corners(), Space.IMAGE)
        )
        self.zone_name.clear()
        self.message.setText("")

    def _finish_line(self) -> None:
        corners = self.preview.corners()
        if len(corners) != 2:
            self._show_error(self.tr("A counting line is two clicks: its start and its end."))
            self.preview.current = []
            self.preview.update()
            return
        name = self.zone_name.text().strip()
        if not name:
            self._show_error(self.tr("Give the line a name, e.g. \u201cDoor\u201d."))
            return
        try:
            line = CountingLine(name, corners[0], corners[1], Space.IMAGE)
        except ValueError as exc:
            self._show_error(self.tr("This line cannot be used: %1").replace("%1", str(exc)))
            return
        self.preview.add_line(line)
        self.zone_name.clear()
        self.message.setText("")

    def _list_zones(self) -> None:
        names = [
            f"{zone.name} ({self.zone_kind.itemText(self.zone_kind.findData(zone.kind.value))})"
            for zone in self.preview.analysis
        ]
        text = (
            self.tr("Analysis zones: %1").replace("%1", self.tr(", ").join(names))
            if names
            else self.tr(
                "No analysis zones yet: draw shelves, the checkout or the entrance to measure "
                "time spent there."
            )
        )
        if self.preview.lines:
            lines = self.tr(", ").join(line.name for line in self.preview.lines)
            text += "\n" + self.tr("Counting lines: %1").replace("%1", lines)
        if self._calibration is not None:
            text += "\n" + self.tr("Floor calibration: %1 points").replace(
                "%1", str(len(self._calibration.image_points))
            )
        self.zone_list.setText(text)

    def _preview_failed(self, error: Exception) -> None:
        self.test_button.setEnabled(True)
        self._failed_source = self._tested_source
        if isinstance(error, SourceError):
            # The test has ended: no "retrying in …".
            params = {k: v for k, v in error.params.items() if k != "retry"}
            reason = ErrorTexts(self).source_problem(error.problem, params)
        else:
            reason = ErrorTexts(self).error(error)
        text = self.tr("No picture from this camera: %1").replace("%1", reason)
        log_path = log_file()
        if log_path is not None:
            text += "\n" + self.tr("Details are in the log file %1.").replace("%1", str(log_path))
        self._show_error(text)
        self.log_button.setVisible(log_path is not None)

    def accept(self) -> None:
        camera = self.camera()
        if camera is None:
            return
        if self._failed_source is not None and camera.source == self._failed_source:
            answer = QMessageBox.question(
                self,
                self.tr("Save a camera that did not connect?"),
                self.tr(
                    "This camera gave no picture when it was tested. Save it anyway? Raiten "
                    "keeps trying to connect and shows why on its tile."
                ),
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Save:
                return
        self.result_camera = camera
        super().accept()
