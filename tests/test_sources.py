"""Camera sources on real files and real streams: no OpenCV mocks.

Stream servers (tests/streams.py) bind 127.0.0.1 only and are always stopped by their fixture.
"""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from desktopapp.core.sources import (
    DEMO_FPS,
    DEMO_RUN_FRAMES,
    CameraSource,
    Frame,
    FrameRing,
    SourceError,
    SourceKind,
    SourceSpec,
    SourceState,
    demo_face_box,
    demo_frame,
    demo_person_visible,
    iter_frames,
    parse_source,
    redact_url,
)
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Role
from tests.conftest import ROOT, VIDEO
from tests.streams import MjpegServer, RtspServer, wait_for

pytestmark = pytest.mark.timeout(60)

PASSWORD = "secret"
VTEST_FRAMES = 795


def _frame(index: int) -> Frame:
    return Frame(np.zeros((2, 2, 3), np.uint8), index, float(index), time.monotonic())


# --- naming sources -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "location"),
    [
        ("0", SourceKind.USB, "0"),
        (" 1 ", SourceKind.USB, "1"),
        (
            "rtsp://user:pw@10.0.0.5:554/stream1",
            SourceKind.RTSP,
            "rtsp://user:pw@10.0.0.5:554/stream1",
        ),
        ("RTSP://cam/x", SourceKind.RTSP, "RTSP://cam/x"),
        ("http://cam.local/video.mjpg", SourceKind.HTTP, "http://cam.local/video.mjpg"),
        ("https://cam.local/video.mjpg", SourceKind.HTTP, "https://cam.local/video.mjpg"),
        ("demo", SourceKind.DEMO, "demo"),
        ("Demo", SourceKind.DEMO, "demo"),
        (str(VIDEO), SourceKind.FILE, str(VIDEO)),
    ],
)
def test_parse_source(text: str, kind: SourceKind, location: str) -> None:
    spec = parse_source(text)
    assert spec == SourceSpec(kind, location)
    assert spec.loop


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "No camera given"),
        ("/no/such/video.mp4", "no camera or file called /no/such/video.mp4"),
        (str(ROOT / "tests"), "is a folder"),
        ("udp://admin:hunter2@10.0.0.5:1234", "cannot read udp:// addresses"),
    ],
)
def test_parse_source_refuses_with_a_plain_sentence(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        parse_source(text)
    assert "hunter2" not in str(caught.value)
    assert "USB camera number" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("rtsp://user:pass@host/x", "rtsp://***@host/x"),
        ("rtsp://admin:p@ss:w/rd@10.0.0.5:554/live", "rtsp://***@10.0.0.5:554/live"),
        ("http://user@cam/video.mjpg", "http://***@cam/video.mjpg"),
        ("rtsp://10.0.0.5:554/live", "rtsp://10.0.0.5:554/live"),
        (
            "http://cam/videostream.cgi?user=admin&pwd=1234&res=640",
            "http://cam/videostream.cgi?user=***&pwd=***&res=640",
        ),
        (
            "Cannot open rtsp://a:b@h/1 or http://c:d@h/2",
            "Cannot open rtsp://***@h/1 or http://***@h/2",
        ),
        ("/videos/shop.mp4", "/videos/shop.mp4"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


# --- the ring buffer ------------------------------------------------------------------------


def test_ring_keeps_the_newest_frame_and_counts_drops() -> None:
    ring = FrameRing(depth=2)
    for index in range(5):
        ring.put(_frame(index))
    # Frames 0-2 were overwritten unread.
    assert ring.dropped == 3
    newest = ring.latest()
    assert newest is not None and newest.index == 4
    # Frame 3 was skipped by that read: it will never be handed out either.
    assert ring.dropped == 4
    assert ring.latest() is None
    assert ring.latest(timeout=0.05) is None


def test_ring_wakes_a_waiting_reader() -> None:
    ring = FrameRing()
    threading.Timer(0.1, ring.put, args=(_frame(7),)).start()
    started = time.monotonic()
    frame = ring.latest(timeout=5)
    assert frame is not None and frame.index == 7
    assert time.monotonic() - started < 2


def test_ring_under_a_fast_writer_and_a_slow_reader() -> None:
    ring = FrameRing()
    total = 20_000

    def write() -> None:
        for index in range(total):
            ring.put(_frame(index))

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[int] = []
    while writer.is_alive() or seen[-1:] != [total - 1]:
        frame = ring.latest(timeout=0.01)
        if frame is not None:
            seen.append(frame.index)
    writer.join()
    assert seen == sorted(set(seen)), "frames must come out newest-first, never twice"
    assert seen[-1] == total - 1
    assert len(seen) + ring.dropped == total


# --- files ----------------------------------------------------------------------------------


def test_iter_frames_reads_every_frame_of_a_file() -> None:
    # What each frame says of itself, not the frames: 795 of them would hold 1 GB.
    shapes, indices, timestamps = set(), [], []
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(VIDEO), loop=True)):
        shapes.add(frame.image.shape)
        indices.append(frame.index)
        timestamps.append(frame.timestamp)
    assert len(indices) == VTEST_FRAMES
    assert shapes == {(576, 768, 3)}
    assert indices == list(range(VTEST_FRAMES))
    # vtest.avi is 10 fps: timestamps are positions in the video.
    assert timestamps[10] == pytest.approx(1.0)
    assert timestamps[-1] == pytest.approx(79.4)


def test_iter_frames_stops_at_max_frames() -> None:
    frames = list(iter_frames(parse_source(str(VIDEO)), max_frames=7))
    assert [f.index for f in frames] == list(range(7))


def test_file_source_without_loop_reads_to_the_end() -> None:
    spec = SourceSpec(SourceKind.FILE, str(VIDEO), loop=False)
    with CameraSource(spec, realtime=False) as source:
        assert wait_for(lambda: source.status().state is SourceState.ENDED, 30)
        status = source.status()
    assert status.frames == VTEST_FRAMES
    assert (status.width, status.height) == (768, 576)
    assert str(VIDEO) in status.message


def test_file_source_loops_and_keeps_counting() -> None:
    with CameraSource(parse_source(str(VIDEO)), realtime=False) as source:
        assert wait_for(lambda: source.status().frames > VTEST_FRAMES + 50, 30)
        frame = source.latest(timeout=5)
        status = source.status()
    assert status.state is SourceState.LIVE
    assert frame is not None and frame.index > VTEST_FRAMES
    # Time runs on across loops (the tracker refuses time going backwards): the position in
    # the video plus the length of the passes before.
    assert frame.timestamp == pytest.approx(frame.index / 10.0)


def test_file_source_in_real_time_plays_at_the_file_rate() -> None:
    with CameraSource(parse_source(str(VIDEO))) as source:
        assert wait_for(lambda: source.status().frames >= 1, 10)
        first = source.status().frames
        time.sleep(2.0)
        played = source.status().frames - first
        status = source.status()
    assert 14 <= played <= 26, f"{played} frames in 2 s at 10 fps"
    assert status.fps == pytest.approx(10, rel=0.3)


def _damaged(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.avi"
    if kind == "truncated":
        path.write_bytes(VIDEO.read_bytes()[:100_000])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 50)
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("truncated", "damaged or incomplete"),
        ("empty", "is empty"),
        ("text", "not a video file"),
        ("missing", "Cannot open the video file"),
    ],
)
def test_a_damaged_file_is_named_in_a_plain_error(
    kind: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _damaged(kind, tmp_path)
    with pytest.raises(SourceError, match=says) as caught:
        list(iter_frames(SourceSpec(SourceKind.FILE, str(path))))
    assert str(path) in str(caught.value)

    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    with CameraSource(SourceSpec(SourceKind.FILE, str(path)), realtime=False) as source:
        assert wait_for(lambda: source.status().state is SourceState.FAILED, 15)
        status = source.status()
    assert not escaped
    assert says in status.message and str(path) in status.message


# --- streams --------------------------------------------------------------------------------


@pytest.fixture
def mjpeg() -> Iterator[MjpegServer]:
    server = MjpegServer(VIDEO, user="user", password=PASSWORD)
    server.start()
    yield server
    server.stop()


def _assert_no_secret(messages: list[str], caplog: pytest.LogCaptureFixture) -> None:
    for message in messages:
        assert PASSWORD not in message
    assert PASSWORD not in caplog.text


def _reconnects(
    source: CameraSource,
    stop_server: Callable[[], None],
    start_server: Callable[[], None],
    address: str,
) -> list[str]:
    """Drives a live source through loss and recovery; every status message seen."""
    messages: list[str] = []

    def state_is(state: SourceState) -> bool:
        status = source.status()
        messages.append(status.message)
        return status.state is state

    assert wait_for(lambda: state_is(SourceState.LIVE), 20), messages[-1:]
    before = source.latest(timeout=5)
    assert before is not None
    stop_server()
    assert wait_for(lambda: state_is(SourceState.RECONNECTING), 15), messages[-1:]
    lost = source.status()
    assert address in lost.message and "retrying in" in lost.message
    time.sleep(1.0)  # a few failed retries while the server is away
    start_server()
    assert wait_for(lambda: state_is(SourceState.LIVE), 20), messages[-1:]
    assert wait_for(lambda: source.status().frames > lost.frames + 5, 10)
    after = source.latest(timeout=5)
    assert after is not None and after.index > before.index
    assert after.image.shape == (576, 768, 3)
    return messages


def test_http_mjpeg_source_recovers_after_the_server_restarts(
    mjpeg: MjpegServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = CameraSource(parse_source(mjpeg.url), reconnect_initial=0.2, reconnect_max=1.0)
    with source:
        address = f"http://***@127.0.0.1:{mjpeg.port}/stream"
        messages = _reconnects(source, mjpeg.stop, mjpeg.start, address)
    assert mjpeg.streams_served >= 2, "the recovery must be a new connection"
    _assert_no_secret(messages, caplog)


def test_iter_frames_reads_a_live_stream_up_to_max_frames(mjpeg: MjpegServer) -> None:
    frames = list(iter_frames(parse_source(mjpeg.url), max_frames=5))
    assert [f.index for f in frames] == list(range(5))
    assert abs(frames[0].timestamp - time.time()) < 60


def test_iter_frames_on_an_unreachable_stream_raises(mjpeg: MjpegServer) -> None:
    url = mjpeg.url
    mjpeg.stop()
    with pytest.raises(SourceError, match="Cannot connect") as caught:
        list(iter_frames(parse_source(url), max_frames=5))
    assert PASSWORD not in str(caught.value)


@pytest.fixture(scope="module")
def rtsp_available() -> None:
    reason = RtspServer.available()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def rtsp(rtsp_available: None) -> Iterator[RtspServer]:
    server = RtspServer(VIDEO, user="user", password=PASSWORD)
    server.start()
    yield server
    server.stop()


def test_rtsp_source_recovers_after_the_server_restarts(
    rtsp: RtspServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = CameraSource(parse_source(rtsp.url), reconnect_initial=0.2, reconnect_max=1.0)
    with source:
        address = f"rtsp://***@127.0.0.1:{rtsp.port}/cam"
        messages = _reconnects(source, rtsp.stop, rtsp.start, address)
    _assert_no_secret(messages, caplog)


def test_a_missing_usb_camera_is_retried_and_stops_promptly() -> None:
    source = CameraSource(parse_source("7"), reconnect_initial=0.2, reconnect_max=0.5)
    with source:
        assert wait_for(lambda: source.status().state is SourceState.RECONNECTING, 15)
        status = source.status()
        assert status.message.startswith("No camera at USB index 7: retrying in")
        assert source.latest() is None
        started = time.monotonic()
        source.stop()
        assert time.monotonic() - started < 1.0


def _silent_listener() -> socket.socket:
    """A TCP port that accepts connections and never says a word."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    return listener


def test_stop_is_prompt_while_a_read_is_blocked() -> None:
    """A server that accepts and then never answers: OpenCV blocks until its timeout."""
    listener = _silent_listener()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/stream"
        source = CameraSource(parse_source(url), open_timeout=10)
        source.start()
        time.sleep(0.5)
        assert source.status().state is SourceState.CONNECTING
        started = time.monotonic()
        source.stop()
        assert time.monotonic() - started < 1.0
    finally:
        listener.close()


# --- the demo camera ------------------------------------------------------------------------


def _appearances(frames: range) -> list[tuple[int, int]]:
    """(first, last) frame of each stretch with the astronaut in the picture."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for index in frames:
        present = demo_face_box(index) is not None
        if present and start is None:
            start = index
        elif not present and start is not None:
            runs.append((start, index - 1))
            start = None
    if start is not None:
        runs.append((start, frames[-1]))
    return runs


def test_demo_has_repeat_visits_with_empty_shop_between() -> None:
    runs = _appearances(range(round(90 * DEMO_FPS)))
    assert len(runs) >= 3
    gaps = [(b[0] - a[1]) / DEMO_FPS for a, b in itertools.pairwise(runs)]
    assert min(gaps) >= 3.0, gaps
    for first, last in runs:
        visible = [i for i in range(first, last + 1) if demo_person_visible(i)]
        assert len(visible) / DEMO_FPS >= 3.0, "each visit shows the whole face for seconds"
    widths = [box[2] for i in range(DEMO_RUN_FRAMES) if (box := demo_face_box(i))]
    assert min(widths) <= 70 and max(widths) >= 150


def test_demo_frames_are_deterministic() -> None:
    index = next(i for i in range(DEMO_RUN_FRAMES) if demo_person_visible(i))
    first = demo_frame(index)
    assert first.shape == (480, 640, 3) and first.dtype == np.uint8
    assert np.array_equal(first, demo_frame(index))
    assert np.array_equal(demo_frame(index), demo_frame(index + DEMO_RUN_FRAMES))
    assert not np.array_equal(first, demo_frame(0))


def test_demo_face_is_detected_when_visible_and_nothing_when_empty() -> None:
    detector = VisionEngine.load(ModelRegistry.load(), [Role.FACE_DETECTION]).detector
    assert detector is not None
    empty = [i for i in range(DEMO_RUN_FRAMES) if demo_face_box(i) is None]
    assert len(empty) >= 15 * DEMO_FPS
    # Every empty frame is the same picture of the shop, so one detection covers them all.
    shop = demo_frame(empty[0])
    assert all(np.array_equal(demo_frame(i), shop) for i in empty)
    assert not detector.detect(shop)

    visible = [i for i in range(DEMO_RUN_FRAMES) if demo_person_visible(i)]
    sample = visible[::3]
    hits = 0
    for index in sample:
        x, y, w, h = demo_face_box(index) or (0.0, 0.0, 0.0, 0.0)
        hits += any(
            abs(f.x + f.w / 2 - (x + w / 2)) < w / 2 and abs(f.y + f.h / 2 - (y + h / 2)) < h / 2
            for f in detector.detect(demo_frame(index))
        )
    assert len(sample) >= 80
    assert hits >= 0.8 * len(sample), f"found the face in {hits} of {len(sample)} frames"


def test_demo_source_paced_and_unpaced() -> None:
    with CameraSource(parse_source("demo")) as source:
        assert wait_for(lambda: source.status().frames >= 1, 10)
        first = source.status().frames
        time.sleep(1.0)
        played = source.status().frames - first
        frame = source.latest(timeout=5)
    assert 10 <= played <= 20, f"{played} frames in 1 s at 15 fps"
    assert frame is not None and abs(frame.timestamp - time.time()) < 10

    spec = SourceSpec(SourceKind.DEMO, "demo", loop=False)
    frames = list(iter_frames(spec, max_frames=20))
    assert [f.timestamp for f in frames] == [i / DEMO_FPS for i in range(20)]
    assert np.array_equal(frames[5].image, demo_frame(5))


def test_demo_source_without_loop_ends_after_one_run() -> None:
    spec = SourceSpec(SourceKind.DEMO, "demo", loop=False)
    with CameraSource(spec, realtime=False) as source:
        assert wait_for(lambda: source.status().state is SourceState.ENDED, 50)
        assert source.status().frames == DEMO_RUN_FRAMES


def test_sources_never_write_pictures() -> None:
    code = (ROOT / "desktopapp" / "core" / "sources.py").read_text(encoding="utf-8")
    for writer in ("imwrite", "VideoWriter", "tempfile", "open("):
        assert writer not in code
