"""A camera that cannot connect says why, what to try and where the log is (issue 17, point 4),
driven through the camera dialog's real buttons against real local servers."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from desktopapp.core.config import Settings
from desktopapp.core.logs import log_file, setup_logging
from desktopapp.core.sources import CameraSource, SourceKind, SourceProblem, parse_source
from desktopapp.ui.app import apply_language, remove_translations
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.camera_tile import CameraTile
from desktopapp.ui.error_texts import ErrorTexts
from tests.conftest import VIDEO
from tests.streams import MjpegServer

pytestmark = pytest.mark.gui

PASSWORD = "s3cret-pass"


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Path]:
    path = setup_logging(tmp_path)
    assert path is not None
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_raiten", False):
            root.removeHandler(handler)
            handler.close()


@pytest.fixture
def dialog(qtbot: QtBot) -> CameraDialog:
    shown = CameraDialog(Settings().vision, None, None)
    qtbot.addWidget(shown)
    shown.show()
    return shown


def _test_address(qtbot: QtBot, dialog: CameraDialog, kind: SourceKind, address: str) -> str:
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(kind.value))
    dialog.location_edit.clear()
    qtbot.keyClicks(dialog.location_edit, address)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=60_000)
    return dialog.message.text()


def _answer_next_question(button: QMessageBox.StandardButton, seen: list[str]) -> None:
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(50, answer)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_camera_says_why_opens_the_log_folder_and_is_saved_only_when_confirmed(
    qtbot: QtBot, dialog: CameraDialog, logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    text = _test_address(qtbot, dialog, SourceKind.RTSP, f"rtsp://127.0.0.1:{port}/stream1")
    assert f"refuses connections on port {port}" in text
    assert "unexpected" not in text and "Retrying" not in text
    assert str(logged) in text
    assert dialog.log_button.isVisible()
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)
    qtbot.mouseClick(dialog.log_button, Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(logged.parent)]

    dialog.name_edit.setText("Back door")
    save = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save)
    asked: list[str] = []
    _answer_next_question(QMessageBox.StandardButton.Cancel, asked)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert asked and "no picture" in asked[0]
    assert dialog.result_camera is None and dialog.isVisible()
    _answer_next_question(QMessageBox.StandardButton.Save, asked)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert len(asked) == 2
    assert dialog.result_camera is not None
    assert dialog.result_camera.source.location.endswith(f":{port}/stream1")


def test_an_mjpeg_camera_says_wrong_password_and_wrong_path(
    qtbot: QtBot, dialog: CameraDialog, logged: Path
) -> None:
    server = MjpegServer(VIDEO, user="cam", password=PASSWORD)
    server.start()
    try:
        text = _test_address(qtbot, dialog, SourceKind.HTTP, server.url.replace(PASSWORD, "x"))
        assert "refused the user name or password" in text and PASSWORD not in text
        text = _test_address(qtbot, dialog, SourceKind.HTTP, server.url.replace("stream", "v1"))
        assert "has no video at /v1" in text
        text = _test_address(qtbot, dialog, SourceKind.HTTP, server.url)
        assert text.startswith("Connected")
        assert not dialog.log_button.isVisible()
    finally:
        server.stop()
    # A camera that connected is saved without a question.
    dialog.name_edit.setText("Till")
    dialog.accept()
    assert dialog.result_camera is not None


@pytest.fixture
def japanese(qapp: QApplication) -> Iterator[Callable[[], None]]:
    settings = Settings()
    settings.ui.language = "ja"
    yield lambda: apply_language(qapp, settings)
    remove_translations(qapp)


@pytest.mark.parametrize(
    ("problem", "params", "says"),
    [
        (SourceProblem.REFUSED, {"host": "192.0.2.5", "port": "554"}, "接続を拒否"),
        (SourceProblem.TIMED_OUT, {"host": "192.0.2.5", "port": "554"}, "応答がありません"),
        (SourceProblem.HOST_NOT_FOUND, {"host": "cam.local"}, "見つかりません"),
        (SourceProblem.WRONG_PASSWORD, {"with_password": "yes"}, "パスワード"),
        (SourceProblem.WRONG_PASSWORD, {"with_password": "no"}, "パスワード"),
        (SourceProblem.STREAM_NOT_FOUND, {"host": "192.0.2.5", "path": "/x"}, "/x"),
        (SourceProblem.NOT_VIDEO, {"host": "192.0.2.5", "answer": "text/html"}, "映像"),
    ],
)
def test_the_reasons_are_in_japanese(
    japanese: Callable[[], None], problem: SourceProblem, params: dict[str, str], says: str
) -> None:
    japanese()
    text = ErrorTexts().source_problem(problem, {**params, "retry": "4"})
    assert says in text and "4" in text
    assert not any(word in text for word in ("camera", "Check", "password"))


def test_the_log_file_is_known(logged: Path) -> None:
    assert log_file() == logged


def test_a_camera_tile_in_trouble_opens_the_log_folder(
    qtbot: QtBot, logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live tile of a camera that cannot connect offers the log's folder too, not only the
    camera dialog."""
    tile = CameraTile(7, "Back door")
    qtbot.addWidget(tile)
    tile.resize(480, 360)
    tile.show()
    assert not tile.log_button.isVisible()
    spec = parse_source(f"rtsp://127.0.0.1:{_free_port()}/stream1")
    with CameraSource(spec, realtime=True, open_timeout=5.0) as source:
        qtbot.waitUntil(lambda: source.status().problem is not None, timeout=60_000)
        tile.show_status(source.status())
    assert tile.log_button.isVisible()
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", opened.append)
    qtbot.mouseClick(tile.log_button, Qt.MouseButton.LeftButton)
    assert [url.toLocalFile() for url in opened] == [str(logged.parent)]
