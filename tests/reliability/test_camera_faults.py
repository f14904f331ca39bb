"""Camera faults on real streams on 127.0.0.1 (tests/streams.py) and the real capture threads: a
stream that never connects, drops mid-stream, sends garbage, changes resolution or freezes, and a
USB camera that does not exist. Each is reported with a code the UI words in Japanese and
English, and no fault in one camera stops another."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktopapp.core import sources
from desktopapp.core.access import Role
from desktopapp.core.pipeline import CameraWorker, MaskedFrame, PipelineConfig
from desktopapp.core.session import Session
from desktopapp.core.sources import (
    CameraSource,
    SourceKind,
    SourceProblem,
    SourceSpec,
    SourceState,
    SourceStatus,
    parse_source,
)
from desktopapp.core.store.cameras import Camera
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import create_main_window, remove_translations
from desktopapp.ui.camera_tile import CameraTile
from tests.conftest import VIDEO
from tests.reliability.conftest import ATTRIBUTES_PROFILE, set_up_in_japanese
from tests.streams import MjpegServer, wait_for

pytestmark = pytest.mark.timeout(90)

PASSWORD = "s3cret-pw"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _jpegs(width: int, height: int, count: int, seed: int = 0) -> tuple[bytes, ...]:
    """Noisy pictures (each different, like a real sensor's), JPEG-encoded in memory."""
    rng = np.random.default_rng(seed)
    pictures = []
    for _ in range(count):
        image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        ok, encoded = cv2.imencode(".jpg", image)
        assert ok
        pictures.append(encoded.tobytes())
    return tuple(pictures)


@contextlib.contextmanager
def _mjpeg(frames: tuple[bytes, ...]) -> Iterator[MjpegServer]:
    server = MjpegServer(VIDEO, user="user", password=PASSWORD, frame_count=1)
    server.frames = frames
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def _garbage_server() -> Iterator[int]:
    """A TCP port that answers anything with random bytes (a device that is not a camera)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def talk(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            while True:
                connection.sendall(os.urandom(4096))
                time.sleep(0.01)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=talk, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        # shutdown wakes the thread blocked in accept(); close alone leaves it there.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def _closed_port() -> int:
    """A port nothing listens on."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def _live(spec: SourceSpec | str) -> CameraSource:
    spec = parse_source(spec) if isinstance(spec, str) else spec
    return CameraSource(spec, reconnect_initial=0.2, reconnect_max=1.0, open_timeout=2.0)


def _reaches(source: CameraSource, state: SourceState, problem: SourceProblem | None) -> bool:
    status = source.status()
    return status.state is state and status.problem is problem


@pytest.fixture
def quick_freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "FREEZE_S", 0.5)
    monkeypatch.setattr(sources, "FREEZE_RECONNECT_S", 2.0)


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    return escaped


def test_faults_in_some_cameras_leave_the_others_running(
    quick_freeze: None,
    thread_errors: list[threading.ExceptHookArgs],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        _mjpeg(_jpegs(320, 240, 8)) as healthy,
        _mjpeg(tuple(os.urandom(5000) for _ in range(4))) as garbage,
        _mjpeg(_jpegs(320, 240, 1)) as frozen,
        _garbage_server() as not_a_camera,
    ):
        cameras = {
            "demo": (_live(SourceSpec(SourceKind.DEMO, "demo")), SourceState.LIVE, None),
            "healthy": (_live(healthy.url), SourceState.LIVE, None),
            "never connects": (
                _live(f"rtsp://user:{PASSWORD}@127.0.0.1:{_closed_port()}/cam"),
                SourceState.RECONNECTING,
                SourceProblem.REFUSED,  # the port is closed: said as such
            ),
            "garbage over HTTP": (
                _live(garbage.url),
                SourceState.RECONNECTING,
                SourceProblem.NO_PICTURES,
            ),
            "garbage over RTSP": (
                _live(f"rtsp://127.0.0.1:{not_a_camera}/cam"),
                SourceState.RECONNECTING,
                SourceProblem.NOT_VIDEO,  # it answers, but not as a camera
            ),
            "no such USB camera": (_live("7"), SourceState.RECONNECTING, SourceProblem.NO_USB),
            "frozen": (_live(frozen.url), SourceState.LIVE, SourceProblem.FROZEN),
        }
        for source, _state, _problem in cameras.values():
            source.start()
        try:
            for name, (source, state, problem) in cameras.items():
                reached = wait_for(lambda s=source, t=state, p=problem: _reaches(s, t, p), 30)
                assert reached, (
                    name,
                    source.status(),
                )
            # The healthy ones kept delivering while the others failed.
            for name in ("demo", "healthy"):
                working = cameras[name][0]
                before = working.status().frames
                assert wait_for(lambda w=working, b=before: w.status().frames > b + 3, 10), name
        finally:
            for source, _state, _problem in cameras.values():
                source.stop()
    assert not thread_errors
    for source, _state, _problem in cameras.values():
        assert PASSWORD not in source.status().message
        assert PASSWORD not in str(source.status().params)
    assert PASSWORD not in caplog.text


def test_a_stream_that_drops_mid_stream_is_reconnected(
    thread_errors: list[threading.ExceptHookArgs],
) -> None:
    with _mjpeg(_jpegs(320, 240, 8)) as server, _live(server.url) as source:
        assert wait_for(lambda: _reaches(source, SourceState.LIVE, None), 20)
        server.stop()
        assert wait_for(lambda: _reaches(source, SourceState.RECONNECTING, SourceProblem.LOST), 20)
        status = source.status()
        assert float(status.params["retry"]) > 0 and status.seconds_since_last_frame() is not None
        server.start()
        assert wait_for(lambda: _reaches(source, SourceState.LIVE, None), 20)
    assert not thread_errors


def test_a_frozen_picture_is_reported_reconnected_and_cleared(
    quick_freeze: None, thread_errors: list[threading.ExceptHookArgs]
) -> None:
    with _mjpeg(_jpegs(320, 240, 1)) as server, _live(server.url) as source:
        assert wait_for(lambda: _reaches(source, SourceState.LIVE, SourceProblem.FROZEN), 20)
        assert source.status().params["seconds"] == "0"  # FREEZE_S = 0.5, shown whole
        # Still frozen after FREEZE_RECONNECT_S: a new connection is tried.
        assert wait_for(
            lambda: _reaches(source, SourceState.RECONNECTING, SourceProblem.FROZEN), 20
        )
        served = server.streams_served
        server.frames = _jpegs(320, 240, 6, seed=1)  # the camera moves again
        assert wait_for(lambda: server.streams_served > served, 20)
        assert wait_for(lambda: _reaches(source, SourceState.LIVE, None), 20)
    assert not thread_errors


def test_a_resolution_change_keeps_the_camera_analysed(
    engine: VisionEngine,
    thread_errors: list[threading.ExceptHookArgs],
    caplog: pytest.LogCaptureFixture,
) -> None:
    detector_only = VisionEngine(detector=engine.detector)
    shapes: set[tuple[int, ...]] = set()

    def on_frame(frame: MaskedFrame) -> None:
        shapes.add(frame.image.shape)

    with _mjpeg(_jpegs(640, 480, 6)) as server:
        source = _live(server.url)
        worker = CameraWorker(
            1, source, detector_only, PipelineConfig(), on_frame=on_frame, on_closed=lambda e: None
        )
        worker.start()
        try:
            assert wait_for(lambda: (480, 640, 3) in shapes, 30)
            # The camera is reconfigured: it comes back at another size.
            server.stop()
            server.frames = _jpegs(320, 240, 6, seed=2)
            server.start()
            assert wait_for(lambda: _reaches(source, SourceState.LIVE, SourceProblem.RESIZED), 30)
            assert source.status().params == {"before": "640×480", "after": "320×240"}
            assert wait_for(lambda: (240, 320, 3) in shapes, 30)
            analysed = worker.analyser.frames
            assert wait_for(lambda: worker.analyser.frames > analysed + 3, 30)
        finally:
            worker.stop()
    assert "failed" not in caplog.text, "every frame of either size was analysed"
    assert not thread_errors


def test_a_size_change_inside_one_stream_keeps_pictures_coming() -> None:
    """FFmpeg scales a stream's later pictures to its first size: nothing breaks."""
    frames = _jpegs(640, 480, 4) + _jpegs(320, 240, 4, seed=3)
    with _mjpeg(frames) as server, _live(server.url) as source:
        assert wait_for(lambda: source.status().frames > 3 * len(frames), 30)
        frame = source.latest(timeout=5)
        assert frame is not None and frame.image.shape == (480, 640, 3)
        assert source.status().state is SourceState.LIVE


# --- the words the operator reads ---------------------------------------------------------

STATUSES = [
    (SourceState.RECONNECTING, SourceProblem.CANNOT_CONNECT, {"retry": "2.0"}, "接続できません"),
    (SourceState.RECONNECTING, SourceProblem.LOST, {"retry": "0.5"}, "映像が途切れました"),
    (SourceState.RECONNECTING, SourceProblem.NO_PICTURES, {"retry": "1.0"}, "映像として"),
    (SourceState.RECONNECTING, SourceProblem.NO_USB, {"index": "7", "retry": "1"}, "USB"),
    (SourceState.RECONNECTING, SourceProblem.FROZEN, {"seconds": "30", "retry": "1"}, "止まり"),
    (SourceState.LIVE, SourceProblem.FROZEN, {"seconds": "10"}, "変化していません"),
    (SourceState.LIVE, SourceProblem.RESIZED, {"before": "640×480", "after": "320×240"}, "大きさ"),
    (SourceState.FAILED, SourceProblem.FILE_EMPTY, {"file": "/v/a.mp4"}, "空です"),
    (SourceState.FAILED, SourceProblem.FILE_NOT_VIDEO, {"file": "/v/a.mp4"}, "動画ファイルでは"),
    (SourceState.FAILED, SourceProblem.FILE_UNREADABLE, {"file": "/v/a.mp4"}, "開けません"),
    (SourceState.FAILED, SourceProblem.FILE_UNDECODABLE, {"file": "/v/a.mp4"}, "壊れて"),
    (
        SourceState.FAILED,
        SourceProblem.FILE_INCOMPLETE,
        {"file": "/v/a.mp4", "frames": "12", "expected": "795"},
        "795",
    ),
    (SourceState.FAILED, SourceProblem.UNEXPECTED, {}, "ログ"),
]


def _status(state: SourceState, problem: SourceProblem, params: dict[str, str]) -> SourceStatus:
    return SourceStatus(
        state=state,
        frames=10,
        dropped=0,
        last_frame_at=time.monotonic() - 3,
        message="(English sentence for the log)",
        width=640,
        height=480,
        fps=10.0,
        problem=problem,
        params=params,
    )


@pytest.mark.gui
def test_every_camera_fault_is_worded_in_english_and_japanese(
    qtbot: QtBot, qapp: QApplication, japanese: None
) -> None:
    tile = CameraTile(1, "入口")
    qtbot.addWidget(tile)
    for state, problem, params, words in STATUSES:
        tile.show_status(_status(state, problem, params))
        text = tile.status_text()
        assert words in text, (problem, text)
        assert "English sentence" not in text
        for value in params.values():
            assert value in text or problem is SourceProblem.FROZEN, (problem, text)


@pytest.mark.gui
def test_every_camera_fault_has_an_english_text(qtbot: QtBot) -> None:
    tile = CameraTile(1, "Entrance")
    qtbot.addWidget(tile)
    seen = set()
    for state, problem, params, _japanese in STATUSES:
        tile.show_status(_status(state, problem, params))
        text = tile.status_text()
        assert not JAPANESE.search(text), text
        seen.add(problem)
    assert seen >= {
        p for p in SourceProblem if p.value.startswith(("file_", "no_", "cannot", "lost"))
    } - {SourceProblem.NOT_FOUND, SourceProblem.NOTHING_GIVEN, SourceProblem.NO_HOST}


# --- the whole window ---------------------------------------------------------------------


@pytest.mark.gui
def test_the_window_keeps_running_with_broken_cameras_beside_a_working_one(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    settings = set_up_in_japanese(data, ATTRIBUTES_PROFILE)
    truncated = tmp_path / "cut.avi"
    truncated.write_bytes(VIDEO.read_bytes()[:100_000])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    workspace = Workspace(data, settings)
    for name, spec in [
        ("ok", SourceSpec(SourceKind.DEMO, "demo")),
        ("cut", SourceSpec(SourceKind.FILE, str(truncated))),
        ("empty", SourceSpec(SourceKind.FILE, str(empty))),
        ("usb", SourceSpec(SourceKind.USB, "7")),
        ("rtsp", SourceSpec(SourceKind.RTSP, f"rtsp://127.0.0.1:{_closed_port()}/x")),
    ]:
        workspace.save_camera(Camera(name=name, source=spec))
    workspace.close()
    window = create_main_window(qapp, data, session=Session("tanaka", Role.ADMIN))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.camera_grid.tile_count == 5, timeout=30_000)
        tiles = {tile.name: tile for tile in window.camera_grid.tiles.values()}
        expected = {
            "cut": "壊れて",
            "empty": "空です",
            "usb": "USB",
            "rtsp": "接続を拒否",
        }
        for name, words in expected.items():
            qtbot.waitUntil(lambda n=name, w=words: w in tiles[n].status_text(), timeout=60_000)
        qtbot.waitUntil(lambda: tiles["ok"].painted_frames > 5, timeout=60_000)
        painted = tiles["ok"].painted_frames
        qtbot.waitUntil(lambda: tiles["ok"].painted_frames > painted + 5, timeout=30_000)
        assert window.isVisible()
    finally:
        window.close()
        remove_translations(qapp)
