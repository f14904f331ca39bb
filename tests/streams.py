"""Real stream servers for the source tests, bound to 127.0.0.1 only.

``MjpegServer`` serves HTTP ``multipart/x-mixed-replace`` JPEG frames from a thread, the way
cheap IP cameras do. ``RtspServer`` runs GStreamer's RTSP server in a subprocess under the
system Python (``/usr/bin/python3``: the venv has no ``gi``); this file is also that
subprocess's script: ``/usr/bin/python3 tests/streams.py rtsp PORT VIDEO USER PASSWORD``.
Both can be stopped abruptly, like a camera losing power, and started again on the same port.
Frames are encoded in memory; nothing is written to disk.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_MOUNT = "/cam"


@cache
def _jpeg_frames(video: Path, count: int) -> tuple[bytes, ...]:
    """The first ``count`` frames of ``video`` as JPEG bytes, shared by every server."""
    import cv2  # noqa: PLC0415 - the RTSP subprocess's system Python has no OpenCV

    cap = cv2.VideoCapture(str(video))
    frames: list[bytes] = []
    try:
        while len(frames) < count:
            ok, image = cap.read()
            if not ok:
                break
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
            assert ok
            frames.append(encoded.tobytes())
    finally:
        cap.release()
    assert frames, f"cannot read {video}"
    return tuple(frames)


class _MjpegHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: MjpegServer


class _MjpegHandler(BaseHTTPRequestHandler):
    server: _MjpegHTTPServer

    def do_GET(self) -> None:
        owner = self.server.owner
        if self.path != "/stream":
            self.send_error(404)
            return
        if owner.authorization and self.headers.get("Authorization") != owner.authorization:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        owner.connected(self.connection)
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        frames = owner.frames
        index = 0
        try:
            while not owner.stopping.is_set():
                jpeg = frames[index % len(frames)]
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )
                self.wfile.flush()
                index += 1
                owner.stopping.wait(1.0 / owner.fps)
        except OSError:  # the client went away, or stop() cut the connection
            pass
        finally:
            owner.disconnected(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read their own logs."""


class MjpegServer:
    """An MJPEG camera on http://127.0.0.1:PORT/stream, optionally with Basic authentication."""

    def __init__(
        self,
        video: Path,
        *,
        fps: float = 20.0,
        user: str = "",
        password: str = "",
        frame_count: int = 60,
    ) -> None:
        self.fps = fps
        self.frames = _jpeg_frames(video, frame_count)
        self.user = user
        self.password = password
        self.authorization = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else ""
        )
        self.port = 0
        self.stopping = threading.Event()
        self._server: _MjpegHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.streams_served = 0

    @property
    def url(self) -> str:
        credentials = f"{self.user}:{self.password}@" if self.user else ""
        return f"http://{credentials}{HOST}:{self.port}/stream"

    def start(self) -> None:
        """Listens on the remembered port (a free one the first time)."""
        self.stopping = threading.Event()
        server = _MjpegHTTPServer((HOST, self.port), _MjpegHandler)
        server.owner = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="mjpeg", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Closes the listener and cuts every open stream at once."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._open.clear()
        if self._thread is not None:
            self._thread.join(5)

    def connected(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)
            self.streams_served += 1

    def disconnected(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)


class RtspServer:
    """GStreamer's RTSP server in a subprocess: rtsp://USER:PASSWORD@127.0.0.1:PORT/cam.

    Serves ``video`` once through (vtest.avi lasts 79 s, longer than any test) as H.264 with a
    key frame every second, so a client that reconnects sees pictures quickly.
    """

    def __init__(self, video: Path, *, user: str, password: str, ready_timeout: float = 15.0):
        self.video = video
        self.user = user
        self.password = password
        self.ready_timeout = ready_timeout
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    @staticmethod
    def available() -> str | None:
        """None when the system Python has GStreamer's RTSP server, else why not."""
        try:
            done = subprocess.run(
                [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{SYSTEM_PYTHON} cannot run: {exc}"
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
            return f"GStreamer RTSP server not installed for {SYSTEM_PYTHON}: {last}"
        return None

    @property
    def url(self) -> str:
        return f"rtsp://{self.user}:{self.password}@{HOST}:{self.port}{RTSP_MOUNT}"

    def start(self) -> None:
        """Starts the server (on the remembered port after the first time); waits until ready."""
        command = [SYSTEM_PYTHON, __file__, "rtsp", str(self.port), str(self.video)]
        process = subprocess.Popen(
            [*command, self.user, self.password],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], self.ready_timeout)
        line = process.stdout.readline() if readable else ""
        if not line.startswith("ready "):
            self.stop()
            raise RuntimeError(f"the RTSP server did not start (said {line!r})")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        """Kills the server outright, like a camera losing power."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _serve_rtsp(port: int, video: str, user: str, password: str) -> None:
    import gi  # noqa: PLC0415 - only the system Python has it, not the venv

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer  # noqa: PLC0415

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(HOST)
    server.set_service(str(port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{video}" ! decodebin ! videoconvert '
        "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 "
        "! rtph264pay name=pay0 pt=96 config-interval=1 )"
    )
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    server.set_auth(auth)
    permissions = Gst.Structure.from_string(
        "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
    )[0]
    factory.add_role_from_structure(permissions)
    server.get_mount_points().add_factory(RTSP_MOUNT, factory)
    if server.attach(None) == 0:
        sys.exit(f"cannot listen on {HOST}:{port}")
    print(f"ready {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


def wait_for(condition: Callable[[], object], timeout: float, interval: float = 0.05) -> bool:
    """Polls ``condition()`` until true or ``timeout`` s have passed; its last answer."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return bool(condition())
        time.sleep(interval)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "rtsp":
        sys.exit("usage: streams.py rtsp PORT VIDEO USER PASSWORD")
    _serve_rtsp(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
