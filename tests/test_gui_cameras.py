"""Live camera tiles, the notice gate in the GUI, layouts and the camera dialog (offscreen)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings
from desktopapp.core.counting import ZoneKind
from desktopapp.core.demo import DEMO_CAMERA_ID
from desktopapp.core.floor import Space
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pipeline import MaskedFrame, TrackClosed
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec, demo_face_box, demo_frame
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.visits import RecorderConfig, VisitRecorder
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import create_main_window
from desktopapp.ui.calibration_dialog import CalibrationDialog
from desktopapp.ui.camera_dialog import LINE, CameraDialog
from desktopapp.ui.camera_grid import CameraGrid
from desktopapp.ui.camera_tile import CameraTile
from desktopapp.ui.main_window import MainWindow
from desktopapp.ui.zone_editor import ZoneEditor
from tests.conftest import VIDEO
from tests.test_notice import COMPLETE

pytestmark = pytest.mark.gui

ADMIN = Session("tester", Role.ADMIN)

Opener = Callable[..., MainWindow]


@pytest.fixture
def open_window(qtbot: QtBot, qapp: QApplication) -> Iterator[Opener]:
    def opener(
        data_dir: Path, *, start_cameras: bool = True, session: Session = ADMIN
    ) -> MainWindow:
        window = create_main_window(qapp, data_dir, session=session, start_cameras=start_cameras)
        qtbot.addWidget(window)
        window.show()
        return window

    yield opener


def _add_video_camera(data_dir: Path) -> None:
    workspace = Workspace(data_dir, Settings())
    workspace.save_camera(
        Camera(name="Entrance", source=SourceSpec(SourceKind.FILE, str(VIDEO), loop=True))
    )
    workspace.close()


def test_the_demo_session_runs_the_demo_camera_masked(
    open_window: Opener, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(tmp_path, session=Session("demo", Role.ADMIN, demo=True))
    received: list[MaskedFrame] = []
    window.controller.frame_ready.connect(received.append)
    qtbot.waitUntil(lambda: DEMO_CAMERA_ID in window.camera_grid.tiles, timeout=30_000)
    tile = window.camera_grid.tiles[DEMO_CAMERA_ID]
    qtbot.waitUntil(lambda: any(f.faces for f in received), timeout=90_000)
    qtbot.waitUntil(lambda: tile.has_picture, timeout=10_000)
    assert not window.camera_grid.empty_label.isVisible()
    # The demo's picture is a pure function of the frame index: compare the UI's frame with
    # the source frame inside the face box.
    frame = next(f for f in received if f.faces)
    box = demo_face_box(frame.index)
    assert box is not None
    source = demo_frame(frame.index)
    x, y, w, h = (round(v) for v in box)
    x0, y0 = max(0, x), max(0, y)
    diff = np.abs(frame.image[y0 : y + h, x0 : x + w].astype(int) - source[y0 : y + h, x0 : x + w])
    assert diff.mean() > 10, "the frame handed to the UI must be masked"
    assert "fps" in tile.status_text()
    window.close()
    assert window.controller.workers == {}


def test_a_tile_showing_pictures_does_not_say_connecting(qtbot: QtBot) -> None:
    """The source's state reaches the tile twice a second, the first picture may come
    before it: once a picture is shown the tile gives the rate, not "Connecting…"."""
    tile = CameraTile(7, "Entrance")
    qtbot.addWidget(tile)
    tile.resize(480, 360)
    tile.show()
    assert tile.status_text() == "Connecting…"
    picture = np.full((480, 640, 3), 90, np.uint8)
    tile.show_frame(MaskedFrame(7, picture, 0, 0.0, faces=2, active_tracks=2, persons=3), 9.5)
    assert tile.status_text() == "9.5 fps · faces: 2 · people: 3"


def test_the_notice_gate_blocks_and_then_releases(
    open_window: Opener, qtbot: QtBot, tmp_path: Path
) -> None:
    _add_video_camera(tmp_path)
    window = open_window(tmp_path)
    qtbot.waitUntil(lambda: window.camera_grid.tile_count == 1, timeout=30_000)
    tile = next(iter(window.camera_grid.tiles.values()))
    text = tile.blocked_reason
    assert "notice profile" in text and "contact point is not filled in" in text
    assert tile.status_text() == "Not analysing"
    assert window.controller.workers == {}
    assert not tile.has_picture

    db = open_database(tmp_path)
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))
    db.conn.close()
    window.reload_cameras()
    qtbot.waitUntil(lambda: len(window.controller.workers) == 1, timeout=60_000)
    tile = next(iter(window.camera_grid.tiles.values()))
    qtbot.waitUntil(lambda: tile.has_picture, timeout=60_000)
    window.close()


def test_layouts_and_enlarging(qtbot: QtBot) -> None:
    grid = CameraGrid()
    qtbot.addWidget(grid)
    grid.show()
    for camera_id in range(1, 6):
        grid.add_tile(CameraTile(camera_id, f"Camera {camera_id}"))
    grid.set_columns(2)
    assert len(grid.visible_tiles()) == 4
    grid.set_columns(3)
    assert len(grid.visible_tiles()) == 5
    grid.set_columns(1)
    assert len(grid.visible_tiles()) == 1
    grid.set_columns(3)
    grid.tiles[4].enlarge_requested.emit(4)
    assert grid.visible_tiles() == [grid.tiles[4]]
    grid.toggle_enlarged(4)
    assert len(grid.visible_tiles()) == 5
    grid.remove_tile(2)
    assert grid.tile_count == 4
    with pytest.raises(ValueError, match="layout"):
        grid.set_columns(5)


# The demo's synthetic picture, which these dialog tests use as a camera that is always there;
# the dialog offers the demo source only on a camera that already has it.
DEMO_FED = Camera("Demo fed", SourceSpec(SourceKind.DEMO, "demo"))


def test_the_camera_dialog_does_not_offer_the_demo_for_a_new_camera(qtbot: QtBot) -> None:
    dialog = CameraDialog(Settings().vision, None, None)
    qtbot.addWidget(dialog)
    assert dialog.kind_combo.findData(SourceKind.DEMO.value) == -1


def test_camera_dialog_preview_and_validation(qtbot: QtBot) -> None:
    dialog = CameraDialog(Settings().vision, DEMO_FED, None)
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.DEMO.value))
    dialog.test_connection()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=60_000)
    assert dialog.preview.image is not None and dialog.preview.image.width() == 640
    assert dialog.message.text().startswith("Connected: 640×480")

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.RTSP.value))
    dialog.location_edit.setText("http://192.0.2.1/stream")
    dialog.name_edit.setText("Back door")
    dialog.accept()
    assert dialog.result_camera is None
    assert "does not match" in dialog.message.text()

    dialog.location_edit.setText("rtsp://user:secret@192.0.2.1/stream")
    dialog.name_edit.setText("")
    dialog.accept()
    assert "name" in dialog.message.text()
    dialog.name_edit.setText("Back door")
    dialog.accept()
    assert dialog.result_camera is not None
    assert dialog.result_camera.source.kind is SourceKind.RTSP


def test_an_unreachable_camera_reports_in_plain_words(qtbot: QtBot) -> None:
    dialog = CameraDialog(Settings().vision, None, None)
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.FILE.value))
    dialog.location_edit.setText(str(VIDEO.parent / "no-such-video.avi"))
    dialog.test_connection()
    assert dialog.message.text().startswith("This address cannot be used")
    assert "no-such-video.avi" in dialog.message.text()

    # Nothing listens on port 1: the stream cannot open, the dialog says so and stays usable.
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.RTSP.value))
    dialog.location_edit.setText("rtsp://viewer:secret@127.0.0.1:1/stream")
    dialog.test_connection()
    assert not dialog.test_button.isEnabled()
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=30_000)
    text = dialog.message.text()
    assert text.startswith("No picture from this camera")
    assert "secret" not in text


def test_camera_locations_are_stored_encrypted(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path, Settings())
    secret_url = "rtsp://admin:hunter2@192.0.2.7:554/stream1"
    saved = workspace.save_camera(
        Camera(name="Till", source=SourceSpec(SourceKind.RTSP, secret_url))
    )
    assert workspace.cameras()[0].source.location == secret_url
    assert saved.camera_id is not None
    workspace.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("raiten.db*"))
    assert b"hunter2" not in raw and b"192.0.2.7" not in raw


def click_at(qtbot: QtBot, widget: ZoneEditor, x: float, y: float) -> None:
    """A click at (x, y) of the picture shown in ``widget``, normalised 0..1."""
    rect = widget.picture_rect()
    point = QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height()))
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=point)


@pytest.fixture
def camera_dialog(qtbot: QtBot) -> CameraDialog:
    """A camera's dialog, shown large enough to click into its picture."""
    dialog = CameraDialog(Settings().vision, DEMO_FED, None)
    qtbot.addWidget(dialog)
    dialog.resize(900, 900)
    dialog.show()
    return dialog


def test_privacy_zones_are_drawn_saved_and_masked(
    qtbot: QtBot, camera_dialog: CameraDialog
) -> None:
    dialog = camera_dialog
    editor = dialog.preview

    def click(x: float, y: float) -> None:
        click_at(qtbot, editor, x, y)

    click(0.1, 0.1)
    click(0.4, 0.1)
    dialog.finish_zone_button.click()
    assert editor.zones == [], "two corners are not a zone"
    assert "three corners" in dialog.message.text()
    click(0.4, 0.4)
    dialog.finish_zone_button.click()
    assert len(editor.zones) == 1
    for (x, y), (ex, ey) in zip(editor.zones[0], [(0.1, 0.1), (0.4, 0.1), (0.4, 0.4)], strict=True):
        assert x == pytest.approx(ex, abs=0.01) and y == pytest.approx(ey, abs=0.01)

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.DEMO.value))
    dialog.name_edit.setText("Shelf")
    captured: list[MaskedFrame] = []
    original = dialog._preview_ready
    dialog._preview_ready = lambda frame: (captured.append(frame), original(frame))  # type: ignore[method-assign]
    dialog.test_connection()
    qtbot.waitUntil(lambda: bool(captured), timeout=60_000)
    source = demo_frame(captured[0].index)
    # The zone's inner triangle (well inside its edges) is masked in the preview.
    inner = captured[0].image[70:110, 180:230].astype(int) - source[70:110, 180:230]
    assert np.abs(inner).mean() > 5
    dialog.accept()
    assert dialog.result_camera is not None
    assert len(dialog.result_camera.polygons) == 1
    dialog.clear_zones_button.click()
    assert editor.polygons() == ()


def test_analysis_zones_are_named_kept_apart_from_privacy_zones_and_saved(
    qtbot: QtBot, camera_dialog: CameraDialog
) -> None:
    dialog = camera_dialog
    editor = dialog.preview

    def click(x: float, y: float) -> None:
        click_at(qtbot, editor, x, y)

    assert not dialog.zone_name.isEnabled()  # privacy zones need no name
    dialog.zone_kind.setCurrentIndex(dialog.zone_kind.findData(ZoneKind.CHECKOUT.value))
    assert dialog.zone_name.isEnabled()
    for x, y in ((0.6, 0.2), (0.9, 0.2), (0.9, 0.8), (0.6, 0.8)):
        click(x, y)
    dialog.finish_zone_button.click()
    assert "name" in dialog.message.text() and editor.analysis == []
    dialog.zone_name.setText("レジ")
    dialog.finish_zone_button.click()
    assert [z.name for z in editor.analysis] == ["レジ"] and editor.zones == []
    assert "レジ" in dialog.zone_list.text()
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.DEMO.value))
    dialog.name_edit.setText("Front")
    dialog.accept()
    camera = dialog.result_camera
    assert camera is not None and camera.polygons == ()
    (zone,) = camera.zones
    assert zone.kind is ZoneKind.CHECKOUT and zone.space is Space.IMAGE
    assert zone.contains((0.75, 0.5)) and not zone.contains((0.3, 0.5))


def test_a_configured_camera_records_visits(
    open_window: Opener, qtbot: QtBot, tmp_path: Path
) -> None:
    """A camera the operator configured (here fed by the demo source) records visits in the
    data folder through the store-writer thread; closing the window records the open track."""
    workspace = Workspace(tmp_path, Settings())
    workspace.save_camera(Camera(name="Entrance", source=SourceSpec(SourceKind.DEMO, "demo")))
    workspace.close()
    db = open_database(tmp_path)
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))

    def visits() -> int:
        return int(db.execute("SELECT COUNT(*) FROM visit").fetchone()[0])

    window = open_window(tmp_path)
    qtbot.waitUntil(lambda: len(window.controller.workers) == 1, timeout=60_000)
    qtbot.waitUntil(lambda: visits() >= 1, timeout=90_000)
    window.close()
    row = db.execute("SELECT visitor_id, gender, mode FROM visit ORDER BY id").fetchone()
    assert row[0] is not None and row[1] == "female" and row[2] == "repeat"
    assert db.execute("SELECT COUNT(*) FROM template").fetchone()[0] >= 1
    db.conn.close()


def test_the_window_sweeps_expired_data_at_start_up(
    open_window: Opener, qtbot: QtBot, tmp_path: Path
) -> None:
    db = open_database(tmp_path)
    profile = NoticeProfile.model_validate(tomllib.loads(COMPLETE))
    NoticeStore(db).save(profile)
    long_ago = datetime.now(UTC) - timedelta(days=profile.retention_days + 5)
    recorder = VisitRecorder(
        VisitStore(db, Cipher(load_key(tmp_path))),
        RecorderConfig.for_notice(profile, None, Mode.REPEAT),
        to_datetime=lambda t: long_ago + timedelta(seconds=t),
    )
    vector = np.ones(128, np.float32) / np.sqrt(128)
    event = TrackClosed(1, 1, 0.0, 30.0, 5, vector, ((0.9, vector),), None, ())
    assert recorder.record(event).new_visitor

    def visitors() -> int:
        return int(db.execute("SELECT COUNT(*) FROM visitor").fetchone()[0])

    assert visitors() == 1
    window = open_window(tmp_path, start_cameras=False)
    qtbot.waitUntil(lambda: visitors() == 0, timeout=30_000)
    assert window._retention_timer.isActive()
    qtbot.waitUntil(
        lambda: ("retention.sweep",) in db.execute("SELECT action FROM audit").fetchall(),
        timeout=30_000,
    )
    assert AuditLog(db).verify().ok
    db.conn.close()


def test_counting_lines_crowd_levels_and_floor_calibration_are_kept(
    qtbot: QtBot, camera_dialog: CameraDialog
) -> None:
    dialog = camera_dialog
    editor = dialog.preview

    def click(widget: ZoneEditor, x: float, y: float) -> None:
        click_at(qtbot, widget, x, y)

    dialog.zone_kind.setCurrentIndex(dialog.zone_kind.findData(LINE))
    dialog.zone_name.setText("Door")
    for x, y in ((0.5, 0.1), (0.5, 0.5), (0.6, 0.9)):
        click(editor, x, y)
    dialog.finish_zone_button.click()
    assert "two clicks" in dialog.message.text() and editor.lines == []
    click(editor, 0.5, 0.1)
    click(editor, 0.5, 0.9)
    dialog.finish_zone_button.click()
    (line,) = editor.lines
    assert line.name == "Door" and "Door" in dialog.zone_list.text()

    calibration = CalibrationDialog(QImage(640, 480, QImage.Format.Format_RGB888), None, None)
    qtbot.addWidget(calibration)
    calibration.resize(1100, 600)
    calibration.show()
    calibration.plan.set_image(QImage(400, 300, QImage.Format.Format_RGB888))
    spots = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.5, 0.5))
    for x, y in spots[:3]:
        click(calibration.picture, x, y)
        click(calibration.plan, x, y)
    assert "at least 4" in calibration.message.text()
    for x, y in spots[3:]:
        click(calibration.picture, x, y)
        click(calibration.plan, x, y)
    assert "5 pairs fit" in calibration.message.text()
    calibration.accept()
    assert calibration.result_calibration is not None
    dialog._calibration = calibration.result_calibration  # what calibrate() does on Save

    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.DEMO.value))
    dialog.name_edit.setText("Door camera")
    for spin, value in zip(dialog.congestion_spins, (5, 4, 9), strict=True):
        spin.setValue(value)
    dialog.accept()
    assert "must rise" in dialog.message.text() and dialog.result_camera is None
    dialog.congestion_spins[1].setValue(7)
    dialog.accept()
    camera = dialog.result_camera
    assert camera is not None and camera.lines == (line,)
    assert (camera.congestion.medium, camera.congestion.high, camera.congestion.full) == (5, 7, 9)
    assert camera.calibration is not None and len(camera.calibration.image_points) == 5


@pytest.mark.parametrize("mode", [Mode.CROWD, Mode.REPEAT])
def test_the_preview_masks_in_the_cameras_own_mode(qtbot: QtBot, mode: Mode) -> None:
    """The preview is what the live view will show: crowd mode's icons, or in repeat mode the
    picture with every walking person masked (vtest.avi: faces too small to detect)."""
    dialog = CameraDialog(Settings().vision, None, None, mode=mode)
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.FILE.value))
    dialog.location_edit.setText(str(VIDEO))
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=60_000)
    image = dialog.preview.image
    assert image is not None and image.width() == 768
    pixels = image.convertToFormat(QImage.Format.Format_RGB888)
    shown = np.frombuffer(pixels.constBits(), np.uint8).reshape(576, pixels.bytesPerLine())
    colours = len(np.unique(shown[:, : 768 * 3].reshape(-1, 3), axis=0))
    if mode is Mode.CROWD:
        assert colours < 400  # a drawing, no picture
    else:
        assert colours > 1000
        persons = int(dialog.message.text().split(" and ")[1].split(" ")[0])
        assert persons >= 2, dialog.message.text()


def test_a_tile_whose_analysis_keeps_failing_goes_dark_and_says_why(qtbot: QtBot) -> None:
    tile = CameraTile(1, "Entrance")
    qtbot.addWidget(tile)
    image = np.full((480, 640, 3), 90, np.uint8)
    tile.show_frame(MaskedFrame(1, image, 0, 0.0, 0, 0), 10.0)
    assert tile.has_picture
    tile.show_analysis_failing()
    assert not tile.has_picture and tile.analysis_failing
    assert tile.status_text() == "Analysis failed"
    tile.show_frame(MaskedFrame(1, image, 1, 0.1, 0, 0), 10.0)  # analysis works again
    assert tile.has_picture and not tile.analysis_failing


def test_a_tile_fits_each_frame_once_and_paints_it_without_converting(qtbot: QtBot) -> None:
    """The live picture is converted and fitted to the tile when the frame arrives (32-bit,
    the raster engine's own format), so a paint copies it as it is (converting and scaling
    a BGR frame at every paint held the GIL and stalled the UI); a resized tile fits it again."""
    tile = CameraTile(1, "Entrance")
    qtbot.addWidget(tile)
    tile.resize(660, 420)
    tile.show()
    qtbot.waitExposed(tile)
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (0, 0, 255)  # BGR: red left half, blue right half
    image[:, 320:] = (255, 0, 0)
    tile.show_frame(MaskedFrame(1, image, 0, 0.0, 3, 0), 10.0)
    size = tile.picture_size
    assert size is not None and (size.width(), size.height()) == (496, 372)  # 656 x 372 area
    assert tile.picture_format is QImage.Format.Format_RGB32
    qtbot.waitUntil(lambda: tile.painted_frames >= 1)
    shown = tile.grab().toImage()
    assert shown.pixelColor(330 - 100, 210).name() == "#ff0000"
    assert shown.pixelColor(330 + 100, 210).name() == "#0000ff"
    assert shown.pixelColor(20, 210).name() == "#202124"  # beside the fitted picture
    tile.resize(980, 620)
    qtbot.waitUntil(lambda: tile.picture_size == QSize(763, 572))
    tile.show_analysis_failing()
    assert tile.picture_size is None and tile.picture_format is None
