"""Why a network camera gives no picture, found against real local servers: a closed port, a
port that never answers, an MJPEG and an RTSP camera with a password, a web page."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desktopapp.core.connection_check import Finding, diagnose
from desktopapp.core.sources import SourceError, SourceProblem, iter_frames, parse_source
from tests.conftest import VIDEO
from tests.streams import MjpegServer, RtspServer

PASSWORD = "s3cret-pass"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _WebPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"<html><body>Router settings</body></html>")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def web_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def mjpeg() -> Iterator[MjpegServer]:
    server = MjpegServer(VIDEO, user="cam", password=PASSWORD)
    server.start()
    yield server
    server.stop()


def test_a_closed_port_is_refused() -> None:
    port = _free_port()
    found = diagnose(f"rtsp://127.0.0.1:{port}/stream1", 2.0)
    assert found is not None and found.finding == Finding.REFUSED
    assert found.params == {"host": "127.0.0.1", "port": str(port)}


def test_an_unknown_host_is_not_found() -> None:
    found = diagnose("rtsp://no-such-camera.invalid/stream1", 2.0)
    assert found is not None and found.finding == Finding.HOST_NOT_FOUND


def test_a_port_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        found = diagnose(f"rtsp://127.0.0.1:{port}/stream1", 0.5)
    assert found is not None and found.finding == Finding.TIMED_OUT


def test_an_mjpeg_camera_says_password_path_and_success(mjpeg: MjpegServer) -> None:
    assert diagnose(mjpeg.url, 2.0) is None
    wrong = diagnose(mjpeg.url.replace(PASSWORD, "guess"), 2.0)
    assert wrong is not None and wrong.finding == Finding.WRONG_PASSWORD
    assert wrong.params["with_password"] == "yes" and PASSWORD not in repr(wrong)
    missing = diagnose(mjpeg.url.replace(f"cam:{PASSWORD}@", ""), 2.0)
    assert missing is not None and missing.params["with_password"] == "no"
    path = diagnose(mjpeg.url.replace("/stream", "/video"), 2.0)
    assert path is not None and path.finding == Finding.STREAM_NOT_FOUND
    assert path.params["path"] == "/video"


def test_a_web_page_is_not_video(web_page: str) -> None:
    found = diagnose(web_page, 2.0)
    assert found is not None and found.finding == Finding.NOT_VIDEO
    assert found.params["answer"].startswith("text/html")
    # An RTSP address pointing at a web server gets no RTSP answer.
    found = diagnose(web_page.replace("http://", "rtsp://"), 2.0)
    assert found is not None and found.finding == Finding.NOT_VIDEO


def test_reading_a_camera_with_a_wrong_password_says_so(mjpeg: MjpegServer) -> None:
    with pytest.raises(SourceError) as caught:
        list(iter_frames(parse_source(mjpeg.url.replace(PASSWORD, "guess")), max_frames=1))
    assert caught.value.problem is SourceProblem.WRONG_PASSWORD
    assert "user name or password" in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.fixture
def rtsp() -> Iterator[RtspServer]:
    reason = RtspServer.available()
    if reason:
        pytest.skip(reason)
    server = RtspServer(VIDEO, user="user", password=PASSWORD)
    server.start()
    yield server
    server.stop()


def test_an_rtsp_camera_with_a_password(rtsp: RtspServer) -> None:
    assert diagnose(rtsp.url, 3.0) is None
    wrong = diagnose(rtsp.url.replace(PASSWORD, "guess"), 3.0)
    assert wrong is not None and wrong.finding == Finding.WRONG_PASSWORD
    missing = diagnose(rtsp.url.replace(f"user:{PASSWORD}@", ""), 3.0)
    assert missing is not None and missing.params["with_password"] == "no"
    path = diagnose(rtsp.url.replace("/cam", "/stream9"), 3.0)
    assert path is not None and path.finding == Finding.STREAM_NOT_FOUND
