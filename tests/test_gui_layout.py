"""Layout and wording a newcomer trips over (issue 17, point 7), through the real widgets."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings
from desktopapp.core.floor import FloorCalibration
from desktopapp.core.session import Session
from desktopapp.core.store.users import LoginError, User
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import Gui, apply_language, remove_translations
from desktopapp.ui.calibration_dialog import CalibrationDialog
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.export_dialog import ExportDialog
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.purge_dialog import PurgeDialog
from desktopapp.ui.user_guide import UserGuide
from tests.test_gui_cameras import click_at
from tests.test_gui_operator import ModalWatch, Opener, _set_up, modals, open_window  # noqa: F401

pytestmark = pytest.mark.gui

SPOTS = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9), (0.35, 0.6))


@pytest.fixture
def japanese(qapp: QApplication) -> Iterator[Callable[[], None]]:
    settings = Settings()
    settings.ui.language = "ja"
    yield lambda: apply_language(qapp, settings)
    remove_translations(qapp)


def _global(widget: QWidget) -> QRect:
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())


def test_four_pairs_are_not_called_accurate_and_a_wrong_click_shows(qtbot: QtBot) -> None:
    # Core: four pairs fit any four clicks exactly; with five, each is checked on the others.
    four = FloorCalibration(SPOTS[:4], SPOTS[:4])
    assert four.leave_one_out_errors() is None
    wrong = FloorCalibration(SPOTS, (*SPOTS[:4], (0.8, 0.2)))
    checked = wrong.leave_one_out_errors()
    assert checked is not None and checked[4] > 0.5  # the wrong click stands out
    assert all(math.isnan(e) or e < checked[4] for e in checked[:4])
    right = FloorCalibration(SPOTS, SPOTS).leave_one_out_errors()
    assert right is not None and max(right) < 1e-3

    calibration = CalibrationDialog(QImage(640, 480, QImage.Format.Format_RGB888), None, None)
    qtbot.addWidget(calibration)
    calibration.resize(1100, 600)
    calibration.show()
    calibration.plan.set_image(QImage(400, 300, QImage.Format.Format_RGB888))
    for x, y in SPOTS[:4]:
        click_at(qtbot, calibration.picture, x, y)
        click_at(qtbot, calibration.plan, x, y)
    text = calibration.message.text()
    assert "mark a fifth spot" in text and "0.0 %" not in text
    click_at(qtbot, calibration.picture, *SPOTS[4])
    click_at(qtbot, calibration.plan, 0.8, 0.2)  # a wrong click
    assert "largest error is at point 5" in calibration.message.text()


def test_a_floor_plan_loaded_in_the_calibration_reaches_the_dashboard(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _set_up(tmp_path / "data")
    window = open_window(tmp_path / "data")
    plan = QImage(400, 300, QImage.Format.Format_RGB888)
    plan.fill(QColor("#f0f0e8"))
    plan_path = tmp_path / "plan.png"
    assert plan.save(str(plan_path))
    dialog = CameraDialog(window.settings.vision, None, window)
    qtbot.addWidget(dialog)
    dialog.preview.set_image(QImage(640, 480, QImage.Format.Format_RGB888))

    def calibrate() -> None:
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, CalibrationDialog):
            QTimer.singleShot(50, calibrate)
            return
        modal.resize(1100, 600)
        modal.load_plan(plan_path)  # what "Floor plan…" does after its file chooser
        # The operator measured the store: 12 m along the plan's width.
        modal.width_box.lineEdit().selectAll()
        qtbot.keyClicks(modal.width_box, "12")
        qtbot.keyClick(modal.width_box, Qt.Key.Key_Tab)
        depth.append(modal.depth_label.text())
        for x, y in SPOTS:
            click_at(qtbot, modal.picture, x, y)
            click_at(qtbot, modal.plan, x, y)
        modal.accept()

    depth: list[str] = []
    QTimer.singleShot(50, calibrate)
    dialog.calibrate()
    assert depth == ["depth 9.0 m"], "400 x 300 px drawn, 12 m wide"
    assert dialog.chosen_floor_plan == str(plan_path)
    assert dialog.chosen_plan_size_m == (12.0, 9.0)
    window.dashboard.use_floor_plan(dialog.chosen_floor_plan, dialog.chosen_plan_size_m)
    qtbot.waitUntil(
        lambda: window.workspace.settings.reports.floor_plan == str(plan_path), timeout=10_000
    )
    assert window.workspace.settings.reports.floor_plan_size_m == (12.0, 9.0)
    assert window.dashboard.heat.floor is not None


def _plan(path: Path, width: int, height: int) -> Path:
    plan = QImage(width, height, QImage.Format.Format_RGB888)
    plan.fill(QColor("#f0f0e8"))
    assert plan.save(str(path))
    return path


def test_a_plan_chosen_on_the_dashboard_asks_how_wide_the_floor_is(
    open_window: Opener,  # noqa: F811
    modals: ModalWatch,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    """A new floor plan picked on the dashboard does not keep the last plan's metres: the
    operator is asked its width (the depth follows from the picture); cancelling keeps the
    plan in use and its size."""
    _set_up(tmp_path / "data")
    window = open_window(tmp_path / "data")
    wide = _plan(tmp_path / "wide.png", 400, 300)
    narrow = _plan(tmp_path / "narrow.png", 200, 400)
    answers: list[tuple[Path, str | None]] = [(wide, "15"), (narrow, None)]
    asked: list[float] = []

    def answer(modal: QWidget) -> None:
        if isinstance(modal, QFileDialog) and answers:
            name = modal.findChild(QLineEdit, "fileNameEdit")
            if name is None or name.text():
                return
            qtbot.keyClicks(name, str(answers[0][0]))
            qtbot.keyClick(name, Qt.Key.Key_Return)
        elif isinstance(modal, QInputDialog) and answers:
            _path, width = answers.pop(0)
            box = modal.findChild(QDoubleSpinBox)
            asked.append(box.value())
            buttons = modal.findChild(QDialogButtonBox)
            if width is None:
                button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
            else:
                box.lineEdit().selectAll()
                qtbot.keyClicks(box, width)
                button = buttons.button(QDialogButtonBox.StandardButton.Ok)
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    modals.handle = answer
    dashboard = window.dashboard
    window.tabs.setCurrentWidget(dashboard)
    qtbot.mouseClick(dashboard.floor_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: window.workspace.settings.reports.floor_plan_size_m == (15.0, 11.25),
        timeout=10_000,
    )
    assert window.workspace.settings.reports.floor_plan == str(wide)
    qtbot.mouseClick(dashboard.floor_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not answers, timeout=10_000)
    qtbot.wait(300)
    assert asked == [20.0, 15.0], "the assumed width first, then the plan's own"
    reports = window.workspace.settings.reports
    assert (reports.floor_plan, reports.floor_plan_size_m) == (str(wide), (15.0, 11.25))
    assert dashboard.heat.floor is not None
    assert dashboard.heat.floor.image.shape[:2] == (400, 300), "the plan in use is shown"


def test_the_japanese_export_dialog_names_its_start_date(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    japanese: Callable[[], None],
) -> None:
    _set_up(tmp_path)
    window = open_window(tmp_path)
    japanese()
    dialog = ExportDialog(window.workspace, window.session, [], window)
    qtbot.addWidget(dialog)
    form = dialog.findChild(QFormLayout)
    assert form is not None
    labels = [form.labelForField(field).text() for field in (dialog.since, dialog.until)]
    assert labels == ["開始日", "終了日"]


def test_the_lock_out_message_does_not_squash_the_sign_in_fields(qtbot: QtBot) -> None:
    until = datetime.now(UTC) + timedelta(minutes=15)

    def locked(_name: str, _password: str) -> User:
        raise LoginError("locked", until)

    dialog = LoginDialog(locked, store_name="Shibuya")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.name_edit, "tanaka")
    qtbot.keyClicks(dialog.password_edit, "wrong-password-1")
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "locked until" in dialog.message.text(), timeout=10_000)
    qtbot.wait(50)
    for field in (dialog.name_edit, dialog.password_edit):
        assert field.height() >= field.sizeHint().height()
    message = _global(dialog.message)
    assert not message.intersects(_global(dialog.password_edit))
    assert message.height() >= dialog.message.heightForWidth(dialog.message.width())


def test_the_lock_screen_message_stays_visible_beside_the_sign_in(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _set_up(tmp_path)
    window = open_window(tmp_path)
    window.resize(1100, 720)
    seen: list[QRect] = []

    def look() -> None:
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, LoginDialog):
            QTimer.singleShot(50, look)
            return
        seen.append(modal.frameGeometry())
        modal.reject()

    QTimer.singleShot(50, look)
    window.lock_screen()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    assert window.pages.currentWidget() is window.lock_page
    assert window.lock_message.isVisible()
    assert not seen[0].intersects(_global(window.lock_message))


def test_the_language_switch_keeps_the_window_where_it_was(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    _set_up(tmp_path)
    gui = Gui(qapp, tmp_path)
    workspace = Workspace(tmp_path, Settings())
    gui._show(workspace, Session("tanaka", Role.ADMIN))
    first = gui.window
    assert first is not None
    first.setGeometry(120, 80, 1000, 650)
    before = first.geometry()
    settings = workspace.settings.model_copy(deep=True)
    settings.ui.language = "ja"
    workspace.save_settings(settings, "user:tanaka")
    first._settings_saved(True)
    qtbot.waitUntil(lambda: gui.window is not first, timeout=5000)
    second = gui.window
    assert second is not None
    qtbot.addWidget(second)
    assert second.geometry() == before
    screen = qapp.primaryScreen().availableGeometry()
    assert screen.intersects(second.frameGeometry())
    second.close()
    remove_translations(qapp)


GUIDE = {
    "en": ("Set up your store", "Export figures", "Capture and search"),
    "ja": ("店舗の設定", "数値の書き出し", "撮影して検索"),
}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_user_guide_has_a_page_per_task(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    language: str,
) -> None:
    first, last, button = GUIDE[language]
    _set_up(tmp_path)
    window = open_window(tmp_path)
    shown: list[list[str]] = []

    def read() -> None:
        modal = QApplication.activeModalWidget()
        if not isinstance(modal, UserGuide):
            QTimer.singleShot(50, read)
            return
        topics = [modal.topics.item(i).text() for i in range(modal.topics.count())]
        modal.topics.setCurrentRow(3)
        shown.append([*topics, modal.page.toPlainText()])
        modal.reject()

    window.settings.ui.language = language  # type: ignore[assignment]
    QTimer.singleShot(50, read)
    window.guide_action.trigger()
    assert shown
    topics, page = shown[0][:-1], shown[0][-1]
    assert len(topics) == 6 and topics[0] == first and topics[-1] == last
    assert button in page  # the requests page names the button to press
    assert window.guide_action.shortcut().toString() == "F1"


def test_the_explanation_after_purge_is_not_clipped(qtbot: QtBot, tmp_path: Path) -> None:
    _set_up(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    dialog = PurgeDialog(
        lambda keep, include, progress: workspace.purge(
            keep, progress, "user:t", include_exclusions=include
        )
    )
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.confirmation, dialog.word)
    qtbot.mouseClick(dialog.purge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result_counts is not None, timeout=60_000)
    qtbot.wait(50)
    message = dialog.message
    assert "Deleted 0 visitors" in message.text()
    assert message.height() >= message.heightForWidth(message.width())
    assert dialog.rect().contains(QRect(message.pos(), message.size()))
    workspace.close()


@pytest.mark.parametrize(
    "action",
    [
        "add_camera_action",
        "signage_action",
        "requests_action",
        "settings_action",
        "pos_action",
        "audit_action",
        "staff_action",
        "guide_action",
        "models_action",
    ],
)
def test_every_window_fits_a_small_screen_with_its_buttons_in_reach(
    open_window: Opener,  # noqa: F811
    modals: ModalWatch,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    action: str,
) -> None:
    """The test screen (800 x 800) is lower than several windows' own sizes: each must shrink
    to it, with every button on the screen, as on a 1366 x 768 back-office PC."""
    _set_up(tmp_path)
    window = open_window(tmp_path)
    room = window.screen().availableGeometry()
    assert room.contains(window.frameGeometry())
    outside: list[str] = []

    def check(dialog: QWidget) -> None:
        if not outside:
            outside.append(type(dialog).__name__)
            outside.extend(
                button.text()
                for button in dialog.findChildren(QPushButton)
                if button.isVisible() and not room.contains(_global(button))
            )
            frame = dialog.frameGeometry()
            # Height is what small screens lack (1366 x 768 and a taskbar); all are wide enough.
            if frame.top() < room.top() or frame.bottom() > room.bottom():
                outside.append("frame")
        if isinstance(dialog, QDialog):
            dialog.reject()

    modals.handle = check
    getattr(window, action).trigger()
    qtbot.waitUntil(lambda: bool(outside), timeout=10_000)
    assert outside[1:] == [], outside
    window.close()
