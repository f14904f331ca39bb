"""Camera sources: USB cameras, RTSP and HTTP MJPEG streams, video files, and the demo camera.

Each live source runs one capture thread that writes into a depth-2 ring buffer, so a slow
analyser drops frames instead of falling behind (DESIGN.md, "A frame's life"). Frames live in
memory only: nothing here writes a pixel to disk. Stream addresses often carry a password, so
every log line and status message shows them through ``redact_url``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import random
import re
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Final, Self, TypeVar, cast
from urllib.parse import urlsplit

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.connection_check import Finding, diagnose
from desktopapp.core.images import ImageReadError, read_image
from desktopapp.core.priority import lower_this_thread
from desktopapp.core.resources import resources_dir

log = logging.getLogger(__name__)

BGRImage = NDArray[np.uint8]
T = TypeVar("T")


class SourceProblem(StrEnum):
    """What is wrong with a source, for the UI to say in the operator's language; the plain
    English sentence goes with it for the log and the command line."""

    # parse_source: what the operator typed
    NOTHING_GIVEN = "nothing_given"
    NO_HOST = "no_host"  # params: address
    BAD_SCHEME = "bad_scheme"  # params: scheme, address
    USB_NUMBER = "usb_number"  # params: index, max
    FOLDER = "folder"  # params: file
    NOT_FOUND = "not_found"  # params: file
    # video files (FAILED)
    FILE_UNREADABLE = "file_unreadable"  # params: file, reason
    FILE_EMPTY = "file_empty"  # params: file
    FILE_NOT_VIDEO = "file_not_video"  # params: file
    FILE_UNDECODABLE = "file_undecodable"  # params: file
    FILE_INCOMPLETE = "file_incomplete"  # params: file, frames, expected
    DEMO_BROKEN = "demo_broken"
    UNEXPECTED = "unexpected"
    # live cameras (RECONNECTING unless said otherwise); params: what, retry (in seconds, "2.5")
    NO_USB = "no_usb"  # params also: index
    CANNOT_CONNECT = "cannot_connect"
    LOST = "lost"
    NO_PICTURES = "no_pictures"  # connects, but what arrives is not a picture
    # why a network camera gives no picture (core.connection_check); params also: host
    HOST_NOT_FOUND = Finding.HOST_NOT_FOUND
    REFUSED = Finding.REFUSED  # params also: port
    TIMED_OUT = Finding.TIMED_OUT  # params also: port
    WRONG_PASSWORD = Finding.WRONG_PASSWORD  # params also: with_password (yes/no)
    STREAM_NOT_FOUND = Finding.STREAM_NOT_FOUND  # params also: path
    NOT_VIDEO = Finding.NOT_VIDEO  # params also: answer
    FROZEN = "frozen"  # LIVE while the same picture repeats, then reconnecting; params: seconds
    RESIZED = "resized"  # LIVE: the picture size changed; params: before, after


class SourceError(Exception):
    """A source cannot be read; ``str()`` is a plain sentence naming it (credentials removed),
    ``problem`` and ``params`` say the same for the UI."""

    def __init__(
        self,
        message: str,
        problem: SourceProblem = SourceProblem.UNEXPECTED,
        params: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.problem = problem
        self.params = params or {}


class SourceAddressError(ValueError):
    """What the operator typed names no source; ``str()`` says why in English, ``problem`` and
    ``params`` for the UI."""

    def __init__(self, message: str, problem: SourceProblem, params: dict[str, str]):
        super().__init__(message)
        self.problem = problem
        self.params = params


class SourceKind(StrEnum):
    USB = "usb"
    RTSP = "rtsp"
    HTTP = "http"
    FILE = "file"
    DEMO = "demo"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: SourceKind
    location: str  # USB index as text, URL, file path, or "demo"
    loop: bool = True  # files and the demo: start again at the end (live view) or stop


MAX_USB_INDEX: Final = 99
_HOW_TO_NAME_A_SOURCE: Final = (
    "give a USB camera number (0, 1, …), an rtsp:// or http:// address, a video file, or demo"
)


def parse_source(text: str) -> SourceSpec:
    """What the operator typed, as a SourceSpec; ValueError with a plain sentence otherwise."""
    text = text.strip()
    if not text:
        raise SourceAddressError(
            f"No camera given: {_HOW_TO_NAME_A_SOURCE}.", SourceProblem.NOTHING_GIVEN, {}
        )
    if text.lower() == "demo":
        return SourceSpec(SourceKind.DEMO, "demo")
    if text.isdecimal():
        index = int(text)
        if index > MAX_USB_INDEX:
            # OpenCV takes a C int; a typo like a phone number must not reach it.
            raise SourceAddressError(
                f"USB camera numbers run from 0 to {MAX_USB_INDEX}, not {text}.",
                SourceProblem.USB_NUMBER,
                {"index": text, "max": str(MAX_USB_INDEX)},
            )
        return SourceSpec(SourceKind.USB, str(index))
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in {"rtsp", "rtsps", "http", "https"}:
        try:
            host = urlsplit(text).hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            host = None
        if not host:
            raise SourceAddressError(
                f"{redact_url(text)} names no camera: {_HOW_TO_NAME_A_SOURCE}.",
                SourceProblem.NO_HOST,
                {"address": redact_url(text)},
            )
        return SourceSpec(SourceKind.RTSP if scheme.startswith("rtsp") else SourceKind.HTTP, text)
    if scheme:
        raise SourceAddressError(
            f"Raiten cannot read {scheme}:// addresses such as {redact_url(text)}: "
            f"{_HOW_TO_NAME_A_SOURCE}.",
            SourceProblem.BAD_SCHEME,
            {"scheme": scheme, "address": redact_url(text)},
        )
    try:
        path = Path(text).expanduser()
        is_file, is_dir = path.is_file(), path.is_dir()
    except (OSError, RuntimeError):  # a name too long for the disk, an unknown ~user
        path, is_file, is_dir = Path(text), False, False
    if is_file:
        return SourceSpec(SourceKind.FILE, str(path))
    if is_dir:
        raise SourceAddressError(
            f"{text} is a folder, not a video file: {_HOW_TO_NAME_A_SOURCE}.",
            SourceProblem.FOLDER,
            {"file": text},
        )
    raise SourceAddressError(
        f"There is no camera or file called {text}: {_HOW_TO_NAME_A_SOURCE}.",
        SourceProblem.NOT_FOUND,
        {"file": text},
    )


# The user-info part of any scheme://user:password@host. Everything up to the last "@" before
# a query or fragment goes, even across "/": a password with an unescaped "/" must not leak,
# and over-redacting a rare "@" in a path is harmless.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s?#]*@")
# Many IP cameras take credentials as query parameters (…/video.cgi?user=admin&pwd=1234).
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:user|username|usr|login|pass|passwd|password|pwd|token|key|auth|secret"
    r"|sig|signature)=)[^&#\s]*"
)


def redact_url(url: str) -> str:
    """``url`` (or any text containing URLs) with credentials replaced by ``***``."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", url))


def _describe(spec: SourceSpec) -> str:
    """How messages name a source, never with credentials."""
    if spec.kind is SourceKind.USB:
        return f"USB camera {spec.location}"
    if spec.kind is SourceKind.DEMO:
        return "the demo camera"
    return redact_url(spec.location)


@dataclass(frozen=True, slots=True)
class Frame:
    image: BGRImage  # BGR
    index: int  # frame counter of this source, from 0
    # files, and the demo when not paced: position in the video (s); otherwise time.time()
    timestamp: float
    received: float  # time.monotonic() when read


class SourceState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    state: SourceState
    frames: int
    dropped: int
    last_frame_at: float | None  # time.monotonic()
    message: str  # plain English, no credentials
    width: int
    height: int
    fps: float  # measured rate of frames received
    # The same as ``message`` for the UI to word; None while all is well.
    problem: SourceProblem | None = None
    params: dict[str, str] = field(default_factory=dict)

    def seconds_since_last_frame(self, now: float | None = None) -> float | None:
        if self.last_frame_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_frame_at


class FrameRing:
    """The newest frames of one source, for one reader; the newest frame always wins.

    A frame counts as dropped when it leaves the ring unread: overwritten by a newer one, or
    skipped because ``latest`` handed out a newer one. Memory stays at ``depth`` frames however
    slow the reader is.
    """

    def __init__(self, depth: int = 2) -> None:
        if depth < 1:
            raise ValueError("a frame ring needs room for at least one frame")
        self._unread: deque[Frame] = deque(maxlen=depth)
        self._ready = threading.Condition()
        self._dropped = 0

    def put(self, frame: Frame) -> None:
        with self._ready:
            if len(self._unread) == self._unread.maxlen:
                self._dropped += 1
            self._unread.append(frame)
            self._ready.notify_all()

    def latest(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame; waits up to ``timeout`` s for one (None: does not wait)."""
        with self._ready:
            if timeout is not None:
                self._ready.wait_for(lambda: bool(self._unread), timeout)
            if not self._unread:
                return None
            frame = self._unread.pop()
            self._dropped += len(self._unread)
            self._unread.clear()
            return frame

    @property
    def dropped(self) -> int:
        with self._ready:
            return self._dropped


# --- opening captures -------------------------------------------------------------------------

# TCP because UDP RTP is lost behind NAT and firewalls; small probe sizes because OpenCV's
# defaults make an RTSP open take ~2 s instead of ~0.1 s (PLATFORM-NOTES.md, "Streams").
_RTSP_OPTIONS: Final = "rtsp_transport;tcp|analyzeduration;200000|probesize;32768"
_env_lock = threading.Lock()
# A file's frame count is sometimes an estimate (duration x fps); a file that ends well before
# it was cut short rather than mis-estimated.
_COMPLETE_FRACTION: Final = 0.9
# Files whose header has no usable rate are shown at a common camera rate.
_FALLBACK_FPS: Final = 25.0
# iter_frames has no reconnect loop to tune, so it uses CameraSource's default.
_LIVE_OPEN_TIMEOUT: Final = 5.0


def _open_file(path: str) -> cv2.VideoCapture:
    """An opened capture of a video file, or SourceError saying plainly what is wrong."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SourceError(
            f"Cannot open the video file {path}: {reason}.",
            SourceProblem.FILE_UNREADABLE,
            {"file": path, "reason": reason},
        ) from exc
    if file.is_dir():
        raise SourceError(
            f"{path} is a folder, not a video file.", SourceProblem.FOLDER, {"file": path}
        )
    if size == 0:
        raise SourceError(
            f"The video file {path} is empty.", SourceProblem.FILE_EMPTY, {"file": path}
        )
    # FFmpeg on every platform, so a file plays the same on Windows and Linux.
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise SourceError(
            f"{path} is not a video file Raiten can read.",
            SourceProblem.FILE_NOT_VIDEO,
            {"file": path},
        )
    return cap


def _file_rate(cap: cv2.VideoCapture) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    return fps if math.isfinite(fps) and 0.0 < fps <= 1000.0 else _FALLBACK_FPS


def _file_frames(path: str, cap: cv2.VideoCapture) -> Iterator[tuple[BGRImage, float]]:
    """One pass over an opened file: (image, position in seconds) per frame.

    Raises SourceError after the last good frame when the file turns out to be undecodable
    or cut short, so a damaged recording is reported instead of silently analysed in part.
    """
    fps = _file_rate(cap)
    expected = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    count = 0
    while True:
        ok, image = cap.read()
        if not ok or image is None:
            break
        yield cast(BGRImage, image), count / fps
        count += 1
    if count == 0:
        raise SourceError(
            f"{path} contains no picture Raiten can decode.",
            SourceProblem.FILE_UNDECODABLE,
            {"file": path},
        )
    if expected > 0 and count < _COMPLETE_FRACTION * expected:
        raise SourceError(
            f"{path} is damaged or incomplete: it ends after {count} of {expected} frames.",
            SourceProblem.FILE_INCOMPLETE,
            {"file": path, "frames": str(count), "expected": str(expected)},
        )


def _open_live(spec: SourceSpec, timeout: float) -> cv2.VideoCapture | None:
    """An opened capture of a camera or stream, or None when it cannot be reached now."""
    if spec.kind is SourceKind.USB:
        cap = cv2.VideoCapture(int(spec.location))
    else:
        if spec.kind is SourceKind.RTSP:
            with _env_lock:
                # FFmpeg reads this at every open; an operator's own setting wins.
                os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", _RTSP_OPTIONS)
        milliseconds = max(1, round(timeout * 1000))
        # Without these a dead host or a stalled stream blocks a read for good.
        cap = cv2.VideoCapture(
            spec.location,
            cv2.CAP_FFMPEG,
            [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                milliseconds,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                milliseconds,
            ],
        )
    if cap.isOpened():
        return cap
    cap.release()
    return None


# --- synchronous reading, for headless analysis ---------------------------------------------


def iter_frames(
    spec: SourceSpec, *, max_frames: int | None = None, timeout: float = _LIVE_OPEN_TIMEOUT
) -> Generator[Frame, None, None]:
    """Every frame, as fast as possible: a whole file (never looped), one demo run, or a live
    source until ``max_frames``.

    Files and the demo are stamped with their position in the video, so an analysis that runs
    faster than real time still sees the real gaps between visits. Raises SourceError when a
    source cannot be opened or a file cannot be decoded. A stream gets ``timeout`` seconds to
    open and to deliver each frame.
    """
    with contextlib.closing(_pictures(spec, timeout)) as pictures:
        for index, (image, timestamp) in enumerate(itertools.islice(pictures, max_frames)):
            yield Frame(image, index, timestamp, time.monotonic())


def _pictures(spec: SourceSpec, timeout: float) -> Generator[tuple[BGRImage, float], None, None]:
    """(image, timestamp) for iter_frames; the capture is released however iteration ends."""
    if spec.kind is SourceKind.DEMO:
        for index in range(DEMO_RUN_FRAMES):
            yield demo_frame(index), index / DEMO_FPS
        return
    if spec.kind is SourceKind.FILE:
        video = _open_file(spec.location)
        try:
            yield from _file_frames(spec.location, video)
        finally:
            video.release()
        return
    stream = _open_live(spec, timeout)
    if stream is None:
        what = _describe(spec)
        if spec.kind is SourceKind.USB:
            raise SourceError(
                f"No camera at USB index {spec.location}.",
                SourceProblem.NO_USB,
                {"what": what, "index": spec.location},
            )
        found = diagnose(spec.location, timeout)
        if found is None:
            raise SourceError(
                f"Cannot connect to {what}.", SourceProblem.CANNOT_CONNECT, {"what": what}
            )
        raise SourceError(
            f"Cannot connect to {what}: {found.reason}",
            SourceProblem(found.finding),
            {"what": what, **found.params},
        )
    try:
        count = 0
        while True:
            ok, image = stream.read()
            if not ok or image is None:
                log.warning("%s stopped sending pictures after %d frames", _describe(spec), count)
                return
            yield cast(BGRImage, image), time.time()
            count += 1
    finally:
        stream.release()


# --- the capture thread -----------------------------------------------------------------------

# How long stop() waits for a thread stuck inside an OpenCV open or read, which cannot be
# interrupted; the thread is a daemon and closes its capture when the call returns.
_STOP_GRACE: Final = 0.5
# Weight of the newest interval in the measured frame rate.
_RATE_SMOOTHING: Final = 0.1
# A live camera whose picture has not changed at all for this long is reported as frozen, and
# reconnected after the longer time (a new connection often unsticks an IP camera's encoder).
FREEZE_S = 10.0
FREEZE_RECONNECT_S = 30.0
_LIVE_KINDS: Final = frozenset({SourceKind.USB, SourceKind.RTSP, SourceKind.HTTP})


class _StopRequestedError(Exception):
    """Raised inside the capture thread when stop() was called; never leaves the thread."""


class CameraSource:
    """One camera, file or the demo, read by its own thread into a FrameRing."""

    def __init__(
        self,
        spec: SourceSpec,
        *,
        name: str = "",
        realtime: bool = True,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        open_timeout: float = 5.0,
    ) -> None:
        if reconnect_initial <= 0 or open_timeout <= 0:
            raise ValueError("reconnect_initial and open_timeout must be positive")
        self.spec = spec
        # A name typed by the operator may be the address itself, password included.
        self.name = redact_url(name) if name else _describe(spec)
        self._what = _describe(spec)
        # Messages that name the source already need the operator's name for it only.
        self._log_prefix = f"{self.name}: " if name else ""
        self._realtime = realtime
        self._reconnect_initial = reconnect_initial
        self._reconnect_max = max(reconnect_initial, reconnect_max)
        self._open_timeout = open_timeout
        self._found_params: dict[str, str] = {}
        self._ring = FrameRing(2)
        self._lock = threading.Lock()
        self._state = SourceState.CONNECTING
        self._message = f"Connecting to {self._what}…"
        self._problem: SourceProblem | None = None
        self._params: dict[str, str] = {}
        # the freeze watch: checksum of the last picture, and since when it has not changed
        self._signature = 0
        self._picture_since: float | None = None
        self._frames = 0
        self._last_frame_at: float | None = None
        self._width = 0
        self._height = 0
        self._interval = 0.0
        # monotonic time at which the thread entered an OpenCV call that may block; None outside
        self._blocked_since: float | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()

    # public API

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop_event = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop_event,), name=f"source {self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the thread: waits up to ``timeout`` s, but at most about half a second for a
        thread stuck in an OpenCV call, which then finishes on its own."""
        thread = self._thread
        if thread is None:
            return
        self._stop_event.set()
        deadline = time.monotonic() + timeout
        while thread.is_alive():
            now = time.monotonic()
            blocked = self._blocked_since
            if now >= deadline or (blocked is not None and now - blocked > _STOP_GRACE):
                log.info("%s: still in a blocking read; it will close by itself", self.name)
                break
            thread.join(min(0.05, deadline - now))

    def latest(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame; waits up to ``timeout`` s for one (None: does not wait)."""
        return self._ring.latest(timeout)

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(
                state=self._state,
                frames=self._frames,
                dropped=self._ring.dropped,
                last_frame_at=self._last_frame_at,
                message=self._message,
                width=self._width,
                height=self._height,
                fps=1.0 / self._interval if self._interval > 0 else 0.0,
                problem=self._problem,
                params=dict(self._params),
            )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # the thread

    def _run(self, stop: threading.Event) -> None:
        lower_this_thread()
        try:
            if self.spec.kind is SourceKind.DEMO:
                self._run_demo(stop)
            elif self.spec.kind is SourceKind.FILE:
                self._run_file(stop)
            else:
                self._run_live(stop)
        except _StopRequestedError:
            pass
        except SourceError as exc:
            log.warning("%s%s", self._log_prefix, exc)
            self._set_state(stop, SourceState.FAILED, str(exc), exc.problem, exc.params)
        except Exception as exc:  # the thread must report, never die silently
            # repr only, no traceback: OpenCV messages may quote the address with its password.
            log.error("%s stopped on an unexpected error: %s", self.name, redact_url(repr(exc)))
            self._set_state(
                stop,
                SourceState.FAILED,
                f"{self._what} stopped on an unexpected error.",
                SourceProblem.UNEXPECTED,
                {"what": self._what},
            )

    def _run_demo(self, stop: threading.Event) -> None:
        started = time.monotonic()
        index = 0
        while self.spec.loop or index < DEMO_RUN_FRAMES:
            if self._realtime:
                started = self._pace(stop, started, index / DEMO_FPS)
            image = demo_frame(index)
            # Paced frames happen now; unpaced ones are stamped with demo time like a file.
            stamp = time.time() if self._realtime else index / DEMO_FPS
            self._publish(stop, image, stamp)
            index += 1
        self._set_state(stop, SourceState.ENDED, f"The demo run ended after {index} frames.")

    def _run_file(self, stop: threading.Event) -> None:
        path = self.spec.location
        passes = 0
        # Unpaced frames carry their position in the video; across loops it runs on from the
        # end of the previous pass, because the tracker refuses time that goes backwards.
        elapsed = 0.0
        while True:  # a SourceError (missing, unreadable, damaged file) ends it as FAILED
            cap = self._blocking(stop, lambda: _open_file(path))
            try:
                elapsed += self._play_file_once(stop, cap, elapsed)
            finally:
                cap.release()
            passes += 1
            if not self.spec.loop:
                self._set_state(stop, SourceState.ENDED, f"Reached the end of {path}.")
                return
            log.debug("%s: playing again (pass %d)", self.name, passes + 1)

    def _play_file_once(self, stop: threading.Event, cap: cv2.VideoCapture, offset: float) -> float:
        """One pass; returns its length in seconds of video."""
        frames = _file_frames(self.spec.location, cap)
        interval = 1.0 / _file_rate(cap)
        started = time.monotonic()
        position = -interval
        while True:
            item = self._blocking(stop, lambda: next(frames, None))
            if item is None:
                return position + interval
            image, position = item
            if self._realtime:
                started = self._pace(stop, started, position)
            # Paced frames happen now, as the demo's and a camera's do.
            stamp = time.time() if self._realtime else offset + position
            self._publish(stop, image, stamp)

    def _run_live(self, stop: threading.Event) -> None:
        failures = 0
        while True:
            cap = self._blocking(stop, lambda: _open_live(self.spec, self._open_timeout))
            got, frozen = 0, False
            if cap is not None:
                try:
                    got, frozen = self._read_live(stop, cap)
                finally:
                    cap.release()
            failures = 1 if got else failures + 1
            delay = self._backoff(failures)
            params = {"what": self._what, "retry": _number(delay)}
            if cap is None and self.spec.kind is SourceKind.USB:
                problem, reason = (
                    SourceProblem.NO_USB,
                    f"No camera at USB index {self.spec.location}",
                )
                params["index"] = self.spec.location
            elif cap is None or (not got and not frozen):
                problem, reason = self._why_no_picture(stop, cap is None)
                params.update(self._found_params)
            elif frozen:
                problem, reason = SourceProblem.FROZEN, f"The picture from {self._what} froze"
                params["seconds"] = f"{FREEZE_RECONNECT_S:.0f}"
            else:
                problem, reason = SourceProblem.LOST, f"Lost the picture from {self._what}"
            # One warning per outage; a camera that stays away all night must not flood the log.
            log.log(
                logging.WARNING if failures == 1 else logging.DEBUG,
                "%s%s; retry %d in %.1f s",
                self._log_prefix,
                reason,
                failures,
                delay,
            )
            self._set_state(
                stop,
                SourceState.RECONNECTING,
                f"{reason}: retrying in {_seconds(delay)}.",
                problem,
                params,
            )
            if stop.wait(delay):
                raise _StopRequestedError

    def _read_live(self, stop: threading.Event, cap: cv2.VideoCapture) -> tuple[int, bool]:
        """Frames until the stream fails or its picture has not changed for
        FREEZE_RECONNECT_S; how many arrived, and whether it froze."""
        got = 0
        with self._lock:
            self._picture_since = None
        while True:
            ok, image = self._blocking(stop, cap.read)
            if not ok or image is None:
                return got, False
            self._publish(stop, cast(BGRImage, image), time.time())
            got += 1
            with self._lock:
                since = self._picture_since
            if since is not None and time.monotonic() - since >= FREEZE_RECONNECT_S:
                return got, True

    def _backoff(self, failures: int) -> float:
        """Exponential, capped, with jitter so cameras that failed together retry apart."""
        delay = min(self._reconnect_max, self._reconnect_initial * 2 ** (failures - 1))
        return float(min(self._reconnect_max, delay * random.uniform(0.8, 1.2)))

    def _why_no_picture(self, stop: threading.Event, unopened: bool) -> tuple[SourceProblem, str]:
        """The camera's answer to a plain request (wrong password, no such stream, …); the
        generic problem when it answers like a camera. Sets ``_found_params``."""
        found = self._blocking(stop, lambda: diagnose(self.spec.location, self._open_timeout))
        self._found_params = dict(found.params) if found else {}
        if found is not None:
            return SourceProblem(found.finding), f"Cannot read {self._what}: {found.reason}"
        if unopened:
            return SourceProblem.CANNOT_CONNECT, f"Cannot connect to {self._what}"
        return SourceProblem.NO_PICTURES, f"{self._what} sends no pictures"

    def _blocking(self, stop: threading.Event, call: Callable[[], T]) -> T:
        """``call()``, marked as possibly blocking so stop() need not wait for it."""
        self._blocked_since = time.monotonic()
        try:
            result = call()
        finally:
            self._blocked_since = None
        if stop.is_set():
            # A capture opened after stop() has nobody left to close it.
            if isinstance(result, cv2.VideoCapture):
                result.release()
            raise _StopRequestedError
        return result

    def _pace(self, stop: threading.Event, started: float, position: float) -> float:
        """Waits until ``position`` s after ``started``; returns the start to use from now on."""
        now = time.monotonic()
        if now - (started + position) > 1.0:
            # Far behind (a slow disk, a busy or suspended PC): carry on from here, no burst.
            started = now - position
        if stop.wait(max(0.0, started + position - now)):
            raise _StopRequestedError
        return started

    def _publish(self, stop: threading.Event, image: BGRImage, timestamp: float) -> None:
        if stop.is_set():
            raise _StopRequestedError
        # Files and the demo may legitimately show the same picture for long.
        signature = _signature(image) if self.spec.kind in _LIVE_KINDS else None
        received = time.monotonic()
        with self._lock:
            frame = Frame(image, self._frames, timestamp, received)
            if self._last_frame_at is not None:
                interval = received - self._last_frame_at
                self._interval = (
                    interval
                    if self._interval == 0.0
                    else self._interval + _RATE_SMOOTHING * (interval - self._interval)
                )
            self._frames += 1
            self._last_frame_at = received
            before = (self._width, self._height)
            self._height, self._width = image.shape[:2]
            became_live = self._state is not SourceState.LIVE
            if became_live:
                self._state = SourceState.LIVE
                self._describe_live(None)
            if before[0] and before != (self._width, self._height):
                after = (self._width, self._height)
                self._describe_live(
                    SourceProblem.RESIZED, {"before": _size(before), "after": _size(after)}
                )
                log.warning(
                    "%s: picture size changed from %s to %s", self.name, _size(before), _size(after)
                )
            if signature is not None:
                self._watch_freeze(signature, received)
        if became_live:
            log.info("%s: live (%dx%d)", self.name, self._width, self._height)
        self._ring.put(frame)

    def _describe_live(
        self, problem: SourceProblem | None, params: dict[str, str] | None = None
    ) -> None:
        """The LIVE state's message; the caller holds the lock."""
        params = params or {}
        self._problem, self._params = problem, params
        if problem is SourceProblem.RESIZED:
            self._message = (
                f"The picture size of {self._what} changed from {params['before']} to "
                f"{params['after']}."
            )
        elif problem is SourceProblem.FROZEN:
            self._message = (
                f"The picture from {self._what} has not changed for {params['seconds']} s."
            )
        else:
            self._message = f"Receiving pictures from {self._what}."

    def _watch_freeze(self, signature: int, received: float) -> None:
        """Notes whether the picture changed; the caller holds the lock. A live camera whose
        picture stays bit for bit the same is stuck (sensor noise alone changes every frame)."""
        if signature != self._signature or self._picture_since is None:
            self._signature, self._picture_since = signature, received
            if self._problem is SourceProblem.FROZEN:
                log.info("%s: the picture moves again", self.name)
                self._describe_live(None)
            return
        if self._problem is not SourceProblem.FROZEN and received - self._picture_since >= FREEZE_S:
            log.warning("%s: the picture has not changed for %.0f s", self.name, FREEZE_S)
            self._describe_live(
                SourceProblem.FROZEN, {"what": self._what, "seconds": f"{FREEZE_S:.0f}"}
            )

    def _set_state(
        self,
        stop: threading.Event,
        state: SourceState,
        message: str,
        problem: SourceProblem | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        """Records a state change; a stopped thread leaves the status alone."""
        if stop.is_set():
            return
        with self._lock:
            self._state = state
            self._message = message
            self._problem = problem
            self._params = params or {}


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _signature(image: BGRImage) -> int:
    """A checksum of every eighth pixel of every eighth row: cheap, and any real change in the
    picture (or the sensor noise of a working camera) alters it."""
    return zlib.crc32(image[::8, ::8].tobytes())


def _number(delay: float) -> str:
    return f"{delay:.1f}" if delay < 10 else f"{delay:.0f}"


def _seconds(delay: float) -> str:
    return f"{_number(delay)} s"


# --- the demo camera --------------------------------------------------------------------------
# A drawn shop with one person (NASA's public-domain astronaut portrait, the only picture we may
# ship) who walks in, leaves and comes back with a different size and light, so a first-time
# user sees detection, masking, a visit ending and a repeat visit within a minute. Every pixel is
# a function of the frame index alone, so tests and screenshots are repeatable.

DEMO_FPS: Final = 15.0
DEMO_SIZE: Final = (640, 480)  # width, height
_DEMO_CYCLE_SECONDS: Final = 60.0
DEMO_RUN_FRAMES: Final = round(_DEMO_CYCLE_SECONDS * DEMO_FPS)  # one run; the live view loops it

# The portrait's head-and-shoulders crop (x, y, w, h) and the face inside it, in the original
# 512x512 picture; the face box is where the detector finds it.
_CROP: Final = (90, 0, 270, 330)
_FACE: Final = (178.0, 63.0, 89.0, 112.0)
# Her rough outline in the original picture (hair, collar ring, shoulders), traced by hand so the
# flag and the shuttle model stay behind; it reaches past the crop's left and bottom edges so
# those stay opaque. The pale studio backdrop inside it is removed by colour.
_OUTLINE: Final = (
    (220, 16), (245, 18), (265, 26), (282, 40), (294, 56), (299, 80), (298, 105), (292, 125),
    (268, 142), (283, 152), (290, 160), (298, 180), (302, 200), (303, 222), (315, 238),
    (332, 258), (345, 280), (352, 300), (358, 340), (80, 340), (80, 232), (100, 228), (112, 220),
    (114, 200), (120, 182), (133, 165), (150, 152), (170, 140), (165, 135), (156, 115), (152, 90),
    (154, 65), (163, 45), (180, 28), (200, 20),
)  # fmt: skip
_BACKDROP_SEED: Final = (256, 2)  # a point of studio backdrop above her head
# The crop's last rows, averaged and repeated downwards, stand in for the rest of her body: even
# the smallest figure then reaches below the bottom of the picture, as a person close to the
# camera does.
_BODY_ROWS: Final = 320
_BODY_SAMPLE_ROWS: Final = 24
_OFF_LEFT: Final = -320.0  # a face centre from which even the widest figure is out of view
_OFF_RIGHT: Final = DEMO_SIZE[0] + 320.0


@dataclass(frozen=True, slots=True)
class _Appearance:
    start: float  # seconds into the cycle
    # (seconds since start, face centre x, face width in pixels); linear in between
    path: tuple[tuple[float, float, float], ...]
    contrast: float
    brightness: float

    @property
    def end(self) -> float:
        return self.start + self.path[-1][0]


# Four visits a minute, each with the whole face in view for seconds, and about 5 s of empty
# shop between them: long enough for a track to end and the next visit to count as a repeat.
_APPEARANCES: Final = (
    _Appearance(
        3.0,
        (
            (0, _OFF_LEFT, 70),
            (2.5, 260, 80),
            (4.5, 300, 105),
            (6.5, 310, 110),
            (9, _OFF_RIGHT, 100),
        ),
        1.0,
        0.0,
    ),
    _Appearance(
        17.0,
        (
            (0, _OFF_RIGHT, 110),
            (2.5, 420, 140),
            (5, 400, 155),
            (7, 380, 160),
            (9.5, _OFF_RIGHT, 150),
        ),
        0.8,
        -30.0,
    ),
    _Appearance(
        31.5,
        ((0, _OFF_LEFT, 60), (3, 180, 62), (6, 230, 85), (7.5, 240, 90), (10, _OFF_LEFT, 80)),
        1.15,
        25.0,
    ),
    _Appearance(
        46.5,
        ((0, _OFF_RIGHT, 90), (2.5, 350, 100), (5.5, 320, 125), (8.5, _OFF_LEFT, 115)),
        0.9,
        -10.0,
    ),
)


@dataclass(frozen=True, slots=True)
class _Pose:
    centre_x: float
    centre_y: float  # of the face
    face_width: float
    appearance: _Appearance


def _pose(index: int) -> _Pose | None:
    """Where the person is at a frame, or None when the shop is empty."""
    t = (index / DEMO_FPS) % _DEMO_CYCLE_SECONDS
    for appearance in _APPEARANCES:
        if not appearance.start <= t < appearance.end:
            continue
        local = t - appearance.start
        for (t0, x0, w0), (t1, x1, w1) in itertools.pairwise(appearance.path):
            if t0 <= local < t1:
                share = (local - t0) / (t1 - t0)
                x = x0 + share * (x1 - x0)
                width = w0 + share * (w1 - w0)
                # A closer person (bigger face) stands lower in a camera mounted above eye level,
                # and bobs a little with each step while walking (not while standing about).
                y = 140.0 + (width - 60.0) * 0.55
                if abs(x1 - x0) / (t1 - t0) > 30:
                    y -= 3.0 * width / _FACE[2] * abs(math.sin(2 * math.pi * local))
                return _Pose(x, y, width, appearance)
    return None


def _placement(pose: _Pose) -> tuple[float, float, float]:
    """Scale and top-left corner of the figure in the frame, from where the face centre lands."""
    scale = pose.face_width / _FACE[2]
    left = pose.centre_x - (_FACE[0] + _FACE[2] / 2 - _CROP[0]) * scale
    top = pose.centre_y - (_FACE[1] + _FACE[3] / 2 - _CROP[1]) * scale
    return scale, left, top


def demo_face_box(index: int) -> tuple[float, float, float, float] | None:
    """The astronaut's face (x, y, w, h) in demo frame ``index`` — possibly partly outside the
    picture while she walks in or out — or None when nobody is in the picture at all."""
    pose = _pose(index)
    if pose is None:
        return None
    scale, left, top = _placement(pose)
    if left + _CROP[2] * scale <= 0 or left >= DEMO_SIZE[0]:
        return None
    face_left = left + (_FACE[0] - _CROP[0]) * scale
    face_top = top + (_FACE[1] - _CROP[1]) * scale
    return face_left, face_top, _FACE[2] * scale, _FACE[3] * scale


def demo_person_visible(index: int) -> bool:
    """Whether the astronaut's whole face is in demo frame ``index``."""
    box = demo_face_box(index)
    if box is None:
        return False
    left, top, width, height = box
    return left >= 0 and top >= 0 and left + width <= DEMO_SIZE[0] and top + height <= DEMO_SIZE[1]


@dataclass(frozen=True, slots=True)
class _Sprite:
    colour: NDArray[np.float32]  # the crop and the body below it, BGR
    alpha: NDArray[np.float32]  # soft-edged silhouette, 0..1


@cache
def _sprite() -> _Sprite:
    """The astronaut cut out of her portrait, loaded once per process."""
    path = resources_dir() / "demo" / "astronaut.png"
    try:
        portrait = read_image(path)
    except ImageReadError as exc:
        raise SourceError(
            f"The demo camera's picture is missing or damaged: {exc}.", SourceProblem.DEMO_BROKEN
        ) from exc
    x, y, w, h = _CROP
    mask = np.zeros(portrait.shape[:2], np.float32)
    cv2.fillPoly(mask, [np.array(_OUTLINE, np.int32)], 1.0, cv2.LINE_AA)
    mask = cast(NDArray[np.float32], cv2.GaussianBlur(mask * _figure(portrait), (0, 0), 1.5))
    crop = portrait[y : y + h, x : x + w].astype(np.float32)
    suit = crop[-_BODY_SAMPLE_ROWS:].mean(axis=0, dtype=np.float32)
    colour = np.concatenate([crop, np.repeat(suit[None], _BODY_ROWS, axis=0)])
    outline = mask[y : y + h, x : x + w]
    alpha = np.concatenate([outline, np.repeat(outline[-1:], _BODY_ROWS, axis=0)])
    return _Sprite(colour, alpha)


def _figure(portrait: BGRImage) -> NDArray[np.float32]:
    """1 where the portrait is not the pale, grey studio backdrop; holes (teeth, the whites of
    the eyes, highlights on the collar ring) filled."""
    hsv = cv2.cvtColor(portrait, cv2.COLOR_BGR2HSV)
    backdrop = (hsv[:, :, 1] < 40) & (hsv[:, :, 2] > 160)
    specks = np.ones((3, 3), np.uint8)
    gaps = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    raw = np.where(backdrop, 0, 255).astype(np.uint8)
    figure = cv2.morphologyEx(cv2.morphologyEx(raw, cv2.MORPH_OPEN, specks), cv2.MORPH_CLOSE, gaps)
    # Whatever the backdrop above her head cannot reach is part of her.
    height, width = figure.shape
    cv2.floodFill(figure, np.zeros((height + 2, width + 2), np.uint8), _BACKDROP_SEED, 128)
    return np.not_equal(figure, 128).astype(np.float32)


@cache
def _shop() -> BGRImage:
    """The empty shop: back wall, floor in perspective, shelves, an entrance and a counter."""
    width, height = DEMO_SIZE
    scene = np.empty((height, width, 3), np.uint8)
    horizon = 190
    scene[:horizon] = (196, 212, 222)
    scene[horizon:] = (140, 152, 160)
    vanishing = (320, 60)
    for x in range(-800, width + 800, 110):  # floor tiles converging on the vanishing point
        start = (
            vanishing[0] + (x - vanishing[0]) * (horizon - vanishing[1]) // (height - vanishing[1]),
            horizon,
        )
        cv2.line(scene, start, (x, height), (126, 138, 146), 1, cv2.LINE_AA)
    for y in (215, 250, 300, 370, 460):
        cv2.line(scene, (0, y), (width, y), (126, 138, 146), 1, cv2.LINE_AA)
    cv2.line(scene, (0, horizon), (width, horizon), (110, 120, 128), 2)
    rng = np.random.default_rng(7)  # fixed seed: the same shop every time

    def stock(left: int, top: int, right: int, bottom: int, boards: int) -> None:
        cv2.rectangle(scene, (left, top), (right, bottom), (70, 80, 95), -1)
        step = (bottom - top) // boards
        for row in range(boards):
            board = top + (row + 1) * step
            x = left + 4
            while x < right - 12:
                box_width = int(rng.integers(8, 22))
                box_height = int(rng.integers(step // 3, step - 6))
                colour = tuple(int(c) for c in rng.integers(40, 230, 3))
                cv2.rectangle(
                    scene, (x, board - box_height), (x + box_width, board - 3), colour, -1
                )
                x += box_width + 3
            cv2.rectangle(scene, (left, board - 3), (right, board), (190, 195, 200), -1)

    stock(20, 50, 250, 188, 3)  # back wall shelves
    # Left wall shelf in perspective: a quadrilateral with boards converging to the back.
    cv2.fillConvexPoly(
        scene, np.array([[0, 20], [70, 60], [70, 220], [0, 330]], np.int32), (60, 70, 85)
    )
    for share in (0.25, 0.5, 0.75, 1.0):
        cv2.line(
            scene,
            (0, round(20 + 310 * share)),
            (70, round(60 + 160 * share)),
            (185, 190, 195),
            3,
            cv2.LINE_AA,
        )
    # Entrance: a glass door with a frame, a sign and a mat.
    cv2.rectangle(scene, (395, 38), (525, 190), (60, 60, 60), -1)
    cv2.rectangle(scene, (402, 45), (458, 190), (225, 214, 188), -1)
    cv2.rectangle(scene, (462, 45), (518, 190), (225, 214, 188), -1)
    cv2.putText(
        scene, "ENTRANCE", (410, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (40, 90, 40), 2, cv2.LINE_AA
    )
    cv2.fillConvexPoly(
        scene, np.array([[385, 192], [535, 192], [560, 225], [360, 225]], np.int32), (60, 75, 70)
    )
    # Counter with a register on the right.
    cv2.rectangle(scene, (560, 150), (640, 330), (90, 120, 150), -1)
    cv2.rectangle(scene, (560, 150), (640, 162), (60, 85, 110), -1)
    cv2.rectangle(scene, (585, 118), (625, 150), (50, 50, 55), -1)
    return scene


def demo_frame(index: int) -> BGRImage:
    """Demo picture number ``index`` (640x480 BGR); the demo repeats every DEMO_RUN_FRAMES."""
    scene = _shop().copy()
    pose = _pose(index)
    if pose is None:
        return scene
    scale, left, top = _placement(pose)
    _paste(
        scene,
        scale,
        left,
        top,
        contrast=pose.appearance.contrast,
        brightness=pose.appearance.brightness,
    )
    return scene


def demo_group_frame(count: int = 6, face_width: float = 56.0) -> BGRImage:
    """The demo shop with ``count`` astronauts standing in two rows, faces ``face_width`` px
    wide: a busy entrance for `raiten bench`, made from the demo's own picture."""
    if not 1 <= count <= 12:
        raise ValueError("between 1 and 12 figures")
    scene = _shop().copy()
    width, height = DEMO_SIZE
    per_row = math.ceil(count / 2)
    scale = face_width / _FACE[2]
    for number in range(count):
        row, column = divmod(number, per_row)
        centre_x = width * (column + 0.5 + 0.25 * row) / (per_row + 0.5)
        centre_y = height * (0.3 + 0.35 * row)
        left = centre_x - (_FACE[0] + _FACE[2] / 2 - _CROP[0]) * scale
        top = centre_y - (_FACE[1] + _FACE[3] / 2 - _CROP[1]) * scale
        _paste(scene, scale, left, top, contrast=1.0, brightness=0.0)
    return scene


def _paste(
    scene: BGRImage, scale: float, left: float, top: float, *, contrast: float, brightness: float
) -> None:
    """The astronaut drawn into ``scene`` at ``scale`` with her crop's corner at (left, top)."""
    sprite = _sprite()
    height, width = scene.shape[:2]
    x0, y0 = max(0, math.floor(left)), max(0, math.floor(top))
    x1 = min(width, math.ceil(left + sprite.colour.shape[1] * scale))
    y1 = min(height, math.ceil(top + sprite.colour.shape[0] * scale))
    if x0 >= x1 or y0 >= y1:
        return
    # Scale and place the figure straight into the part of the frame it covers.
    matrix = np.array([[scale, 0.0, left - x0], [0.0, scale, top - y0]])
    region = (x1 - x0, y1 - y0)
    colour = cv2.warpAffine(sprite.colour, matrix, region, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(sprite.alpha, matrix, region, flags=cv2.INTER_LINEAR)[:, :, None]
    lit = colour * contrast + brightness
    background = scene[y0:y1, x0:x1].astype(np.float32)
    blended = background + alpha * (lit - background)
    scene[y0:y1, x0:x1] = np.clip(blended, 0, 255).astype(np.uint8)
