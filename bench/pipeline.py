"""Pipeline benchmark: analysis rate of N cameras at once, and the live view's paint rate.

Run from the repository root::

    .venv/bin/python bench/pipeline.py                  # Markdown tables (under 4 minutes)
    .venv/bin/python bench/pipeline.py --json           # one JSON object
    .venv/bin/python bench/pipeline.py --profile        # also where the time goes (py-spy)

DESIGN.md's targets: 4 cameras at 640x480, analysis at >=10 fps each with up to 6 faces per
frame, on 2 cores; the live view painting >=20 fps; the UI event loop never blocked >50 ms.

Every frame is made in memory; nothing here writes a picture to disk. Two sources:

* ``six_faces``: ``SyntheticSource``, the six faces of ``testdata/faces/t1.jpg`` letterboxed
  into 640x480, panning a pixel a frame, paced at 25 fps. Every ``turnover`` seconds the group
  jumps 60 px down or back up (box overlap with the old places <= 0.12, below the tracker's 0.2),
  so the tracker sees six new people, as at a busy entrance: their best shots are embedded
  again and the old tracks close. Cameras are staggered so their turnovers do not coincide.
* ``demo``: the app's own demo camera (``CameraSource`` of ``SourceKind.DEMO``, 15 fps, one
  person walking in and out).

Headless: N ``CameraWorker`` threads, each with its own engine from ``engine_for_mode(
VisionConfig(threads=1), Mode.REPEAT)`` (detection, masking, tracking, dlib features of best
shots, age/gender) plus the person detector on every frame, as the masked pipeline runs it
(every person masked in every mode), with faces searched by need (``vision.face_search_side``,
core.vision.schedule); run with ``analysis_fps`` 30 so the rate is what the machine sustains;
after a warm-up, rate = analysed frames / window. The quality figure beside each rate is the
faces and persons found per analysed frame (the six-face source always shows six faces); CPU is
this process's and its children's (the feature processes), in cores and in ms per analysed
frame. Then, at the largest camera count, other configurations (``TUNED_SETUPS``):

* ``no_persons_640``: what the repeat mode ran before every person was masked: no person
  detector, faces searched in the whole frame at 640 px every frame;
* ``persons_whole_frame``: persons detected, faces searched in the whole frame at 640 px;
* ``persons_every_frame``: the default, but persons searched in the whole frame on the full
  network and in one square on its cheaper copy in every frame, as before the cadence
  (``PipelineConfig.whole_frame_persons_every`` 1).

The detection call releases the GIL (ctypes), and dlib's features run in a child process: a
py-spy ``--gil`` sample over four cameras found the GIL held in about 3 % of samples, so the
analysis threads are not serialised by it; CPU per frame is what limits the rate.

GUI (QT_QPA_PLATFORM=offscreen unless set): a shown QMainWindow holding a real ``CameraGrid`` of
N ``CameraTile``; workers call ``CameraController.frame_ready.emit`` as the app's do, the queued
signal reaches the UI thread, which calls ``tile.show_frame`` like ``MainWindow._frame_ready``.
Phase "live": paint rate per tile (``painted_frames`` / window; a tile repaints only when a frame
arrives, so this is bounded by the analysis rate). Phase "paint-only": the same workers keep
analysing but the tiles are fed one pre-masked frame by a 30 fps QTimer, which shows what the UI
can paint while analysis runs. A 10 ms QTimer records the longest gap between its firings minus
10 ms: the worst event-loop stall. Run with the default configuration and the last other one.

PySide6 6.12.0's ``Signal.emit`` drops a reference to ``True`` at every call, which aborts a
Python 3.11 process once they run out; the GUI run detects this and gives them back
(``emit_drops_true``), and reports it.
"""

from __future__ import annotations

import gc
import os

# Qt reads the platform when the first QApplication is made; a benchmark needs no screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import contextlib
import ctypes
import json
import logging
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.vision import letterbox  # noqa: E402 - one letterbox for both benchmarks
from desktopapp.core.benchmark import SyntheticSource, process_tree_cpu  # noqa: E402
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.images import read_image  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import (  # noqa: E402
    CameraWorker,
    MaskedFrame,
    PipelineConfig,
    TrackClosed,
)
from desktopapp.core.privacy import mask_frame  # noqa: E402
from desktopapp.core.sources import (  # noqa: E402
    CameraSource,
    SourceKind,
    SourceSpec,
    SourceStatus,
)
from desktopapp.core.tracking import TrackerConfig  # noqa: E402
from desktopapp.core.vision.engine import VisionEngine  # noqa: E402
from desktopapp.core.vision.faces import YuFaceDetector  # noqa: E402
from desktopapp.core.vision.persons import load_person_detector  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.schedule import ScheduledFaceDetector  # noqa: E402
from desktopapp.core.vision.types import (  # noqa: E402
    AttributeEstimator,
    Attributes,
    Face,
    FaceDetector,
    FaceEmbedder,
    Image,
    Vector,
)

log = logging.getLogger(__name__)

TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", "/work/shared/testdata"))
SIX_FACES = TESTDATA / "faces" / "t1.jpg"
FRAME_SIZE: Final = (640, 480)  # width, height
SOURCES: Final = ("six_faces", "demo")
TARGET_FPS: Final = 10.0
TARGET_CAMERAS: Final = 4
TARGET_PAINT_FPS: Final = 20.0
TARGET_STALL_MS: Final = 50.0
# Analysis rate cap for the headless runs: above both sources' frame rates, so workers run
# flat out and the measured rate is what the machine sustains.
HEADLESS_ANALYSIS_FPS: Final = 30.0
# The app's default per-camera analysis rate (store/cameras.py), used by the GUI run.
GUI_ANALYSIS_FPS: Final = 10.0
PAINT_ONLY_FPS: Final = 30.0
STALL_PROBE_MS: Final = 10

# --- the six-face source ------------------------------------------------------------------


AnySource = CameraSource | SyntheticSource


def load_six_faces() -> Image:
    return read_image(SIX_FACES)


def make_source(kind: str, camera: int, cameras: int, picture: Image | None) -> AnySource:
    """Source ``camera`` (0-based) of ``cameras`` of the given kind."""
    if kind == "six_faces":
        if picture is None:
            raise ValueError("the six-face source needs its picture")
        return SyntheticSource(
            letterbox(picture), name=f"six faces {camera}", phase=camera / cameras
        )
    if kind == "demo":
        return CameraSource(
            SourceSpec(SourceKind.DEMO, "demo"), name=f"demo {camera}", realtime=True
        )
    raise ValueError(f"unknown source {kind!r}; choose from {', '.join(SOURCES)}")


# --- engines --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setup:
    """One configuration under test."""

    label: str
    max_side: int | None = None  # detection input size; None: the manifest's (640)
    best_shots: int = PipelineConfig().best_shots
    # None: TrackerConfig's default (2 s)
    max_missing_seconds: float | None = None
    # False: no embedder, as in the modes that keep no feature data (attributes still run)
    features: bool = True
    # The app calls libfacedetection through ctypes, which releases the GIL; False measures the
    # yuface extension's call, which holds it for the whole detection.
    gil_free_detection: bool = True
    # The person detector on every frame (masking every person, as every mode now does).
    persons: bool = False
    # Faces searched by need at this coarse size (0: the whole frame at max_side every frame).
    search_side: int = 0
    # PipelineConfig.whole_frame_persons_every: 2 searches the squares alone every other frame.
    whole_frame_every: int = PipelineConfig().whole_frame_persons_every

    def describe(self) -> str:
        side = "640 (manifest)" if self.max_side is None else str(self.max_side)
        parts = [f"detection max_side {side}", f"best shots {self.best_shots}"]
        if self.max_missing_seconds is not None:
            parts.append(f"track kept {self.max_missing_seconds:g} s unseen")
        if not self.features:
            parts.append("no features (attributes only)")
        if not self.gil_free_detection:
            parts.append("detection holding the GIL")
        parts.append("persons detected" if self.persons else "no person detector")
        if self.search_side:
            parts.append(f"faces searched by need ({self.search_side} px whole frame)")
        if self.persons:
            parts.append(f"persons searched whole in one frame of {self.whole_frame_every}")
        return ", ".join(parts)

    def token(self) -> str:
        """This setup on a command line (for the profiling child)."""
        return ":".join(
            (
                self.label,
                str(self.max_side or 0),
                str(self.best_shots),
                str(self.max_missing_seconds or 0),
                str(int(self.features)),
                str(int(self.gil_free_detection)),
                str(int(self.persons)),
                str(self.search_side),
                str(self.whole_frame_every),
            )
        )

    @classmethod
    def from_token(cls, token: str) -> Setup:
        label, side, shots, missing, features, gil_free, persons, search, whole = token.split(":")
        return cls(
            label,
            max_side=int(side) or None,
            best_shots=int(shots),
            max_missing_seconds=float(missing) or None,
            features=bool(int(features)),
            gil_free_detection=bool(int(gil_free)),
            persons=bool(int(persons)),
            search_side=int(search),
            whole_frame_every=int(whole),
        )


DEFAULT_SETUP: Final = Setup("default", persons=True, search_side=VisionConfig().face_search_side)
TUNED_SETUPS: Final = (
    Setup("no_persons_640"),
    Setup("persons_whole_frame", persons=True),
    Setup("persons_every_frame", persons=True, search_side=VisionConfig().face_search_side,
          whole_frame_every=1),
)  # fmt: skip


class _CountingEmbedder:
    """The engine's embedder, counting its calls (one analysis thread per engine)."""

    def __init__(self, inner: FaceEmbedder) -> None:
        self.inner = inner
        self.info = inner.info
        self.dim = inner.dim
        self.threshold = inner.threshold
        self.calls = 0

    def embed(self, image: Image, face: Face) -> Vector:
        self.calls += 1
        return self.inner.embed(image, face)

    # The app's embedder runs in a child process and is used asynchronously: pass that on, or
    # the benchmark would measure a synchronous path the app does not take.
    @property
    def busy(self) -> bool:
        return bool(getattr(self.inner, "busy", False))

    def submit(self, image: Image, face: Face) -> Future[Vector]:
        self.calls += 1
        submit = getattr(self.inner, "submit", None)
        if submit is not None:
            future: Future[Vector] = submit(image, face)
            return future
        done: Future[Vector] = Future()
        done.set_result(self.inner.embed(image, face))
        return done


class _CountingAttributes:
    def __init__(self, inner: AttributeEstimator) -> None:
        self.inner = inner
        self.info = inner.info
        self.calls = 0

    def estimate(self, image: Image, face: Face) -> Attributes:
        self.calls += 1
        return self.inner.estimate(image, face)


def model_calls(engine: VisionEngine) -> tuple[int, int]:
    """(feature, attribute) calls so far of an engine made by ``configured``."""
    embedder, attributes = engine.embedder, engine.attributes
    return (
        embedder.calls if isinstance(embedder, _CountingEmbedder) else 0,
        attributes.calls if isinstance(attributes, _CountingAttributes) else 0,
    )


_verified: dict[tuple[Path, str], dict[str, Path]] = {}


def _verified_paths(registry: ModelRegistry, model_id: str) -> dict[str, Path]:
    """``registry.verified_paths`` once per model (hashing the files takes a while)."""
    key = (registry.models_dir, model_id)
    if key not in _verified:
        _verified[key] = registry.verified_paths(registry.get(model_id))
    return _verified[key]


def load_engines(count: int) -> list[VisionEngine]:
    """One REPEAT-mode engine per camera, as ``CameraController`` loads them."""
    return [engine_for_mode(VisionConfig(threads=1), Mode.REPEAT) for _ in range(count)]


def configured(engine: VisionEngine, setup: Setup, registry: ModelRegistry) -> VisionEngine:
    """``engine``'s models, with the detector ``setup`` asks for and counted model calls."""
    entry = registry.get("yuface")
    options = dict(entry.options)
    options["release_gil"] = setup.gil_free_detection
    if setup.max_side is not None:
        options["max_side"] = setup.max_side
    paths = _verified_paths(registry, entry.model_id)
    detector: FaceDetector = YuFaceDetector(entry.info, paths, options, 1)
    if setup.search_side:
        coarse = YuFaceDetector(entry.info, paths, {**options, "max_side": setup.search_side}, 1)
        detector = ScheduledFaceDetector(
            coarse,
            detector,
            coarse_side=setup.search_side,
            full_side=int(options.get("max_side", 0)),
        )
    persons = load_person_detector(registry, None, 1) if setup.persons else None
    embedder = None
    if engine.embedder is not None and setup.features:
        embedder = _CountingEmbedder(engine.embedder)
    attributes = None if engine.attributes is None else _CountingAttributes(engine.attributes)
    return VisionEngine(
        detector=detector, embedder=embedder, attributes=attributes, persons=persons
    )


def pipeline_config(setup: Setup, analysis_fps: float) -> PipelineConfig:
    tracker = TrackerConfig()
    if setup.max_missing_seconds is not None:
        tracker = replace(tracker, max_missing_seconds=setup.max_missing_seconds)
    return PipelineConfig(
        mode=Mode.REPEAT,
        analysis_fps=analysis_fps,
        best_shots=setup.best_shots,
        tracker=tracker,
        whole_frame_persons_every=setup.whole_frame_every,
    )


# --- headless runs --------------------------------------------------------------------------


@dataclass(slots=True)
class _Counts:
    """What the workers' callbacks saw; each camera's counters are written by its thread."""

    faces: list[int]
    persons: list[int]
    closed: list[int]

    @classmethod
    def zeros(cls, cameras: int) -> _Counts:
        return cls([0] * cameras, [0] * cameras, [0] * cameras)


def _workers(
    engines: Sequence[VisionEngine],
    sources: Sequence[AnySource],
    config: PipelineConfig,
    on_frame: Callable[[MaskedFrame], None],
    on_closed: Callable[[TrackClosed], None],
) -> list[CameraWorker]:
    # CameraWorker is annotated with CameraSource but uses only start/stop/latest.
    return [
        CameraWorker(
            camera,
            cast(CameraSource, source),
            engine,
            config,
            on_frame=on_frame,
            on_closed=on_closed,
        )
        for camera, (engine, source) in enumerate(zip(engines, sources, strict=True))
    ]


def stop_all(workers: Sequence[CameraWorker]) -> None:
    """Stops every worker and its source: all asked at once, then each waited for (one at a
    time, each would wait for its current frame, features and all, before the next is asked)."""
    for worker in workers:
        worker.stop(timeout=0.0)
    for worker in workers:
        worker.stop()


@contextlib.contextmanager
def running(workers: Sequence[CameraWorker]) -> Iterator[None]:
    """Workers started; every one stopped (with its source) however the block ends."""
    started: list[CameraWorker] = []
    try:
        for worker in workers:
            started.append(worker)
            worker.start()
        yield
    finally:
        stop_all(started)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Counters of a run at one moment; per camera unless summed."""

    at: float
    cpu: float
    frames: list[int]
    faces: list[int]
    persons: list[int]
    closed: list[int]
    received: list[int]
    dropped: list[int]
    features: int
    attributes: int

    @classmethod
    def take(
        cls,
        workers: Sequence[CameraWorker],
        sources: Sequence[AnySource],
        engines: Sequence[VisionEngine],
        counts: _Counts,
    ) -> _Snapshot:
        statuses = [s.status() for s in sources]
        calls = [model_calls(e) for e in engines]
        return cls(
            at=time.monotonic(),
            cpu=process_tree_cpu(),
            frames=[w.analyser.frames for w in workers],
            faces=list(counts.faces),
            persons=list(counts.persons),
            closed=list(counts.closed),
            received=[s.frames for s in statuses],
            dropped=[s.dropped for s in statuses],
            features=sum(c[0] for c in calls),
            attributes=sum(c[1] for c in calls),
        )


def _minus(after: Sequence[int], before: Sequence[int]) -> list[int]:
    return [a - b for a, b in zip(after, before, strict=True)]


def measure_headless(
    engines: Sequence[VisionEngine],
    source_kind: str,
    cameras: int,
    setup: Setup,
    *,
    seconds: float,
    warmup: float,
    picture: Image | None,
) -> dict[str, Any]:
    """``cameras`` workers at once on ``source_kind``; rates over ``seconds`` after ``warmup``.

    ``engines`` come from ``configured`` with the same ``setup``; one per camera.
    """
    counts = _Counts.zeros(cameras)

    def on_frame(frame: MaskedFrame) -> None:
        counts.faces[frame.camera_id] += frame.faces
        counts.persons[frame.camera_id] += frame.persons

    def on_closed(event: TrackClosed) -> None:
        counts.closed[event.camera_id] += 1

    used = engines[:cameras]
    sources = [make_source(source_kind, c, cameras, picture) for c in range(cameras)]
    config = pipeline_config(setup, HEADLESS_ANALYSIS_FPS)
    workers = _workers(used, sources, config, on_frame, on_closed)
    with running(workers):
        time.sleep(warmup)
        before = _Snapshot.take(workers, sources, used, counts)
        time.sleep(seconds)
        after = _Snapshot.take(workers, sources, used, counts)
    elapsed = after.at - before.at
    analysed = _minus(after.frames, before.frames)
    fps = [n / elapsed for n in analysed]
    received = _minus(after.received, before.received)
    dropped = _minus(after.dropped, before.dropped)
    return {
        "source": source_kind,
        "setup": setup.label,
        "config": setup.describe(),
        "cameras": cameras,
        "seconds": round(elapsed, 2),
        "fps": [round(v, 2) for v in fps],
        "min_fps": round(min(fps), 2),
        "mean_fps": round(sum(fps) / len(fps), 2),
        "frames_received": received,
        "frames_dropped": dropped,
        "dropped_share": round(sum(dropped) / max(1, sum(received)), 3),
        "faces_per_frame": round(sum(_minus(after.faces, before.faces)) / max(1, sum(analysed)), 2),
        "persons_per_frame": round(
            sum(_minus(after.persons, before.persons)) / max(1, sum(analysed)), 2
        ),
        "cpu_ms_per_frame": round(1000 * (after.cpu - before.cpu) / max(1, sum(analysed)), 1),
        "features_per_s": round((after.features - before.features) / elapsed, 2),
        "attributes_per_s": round((after.attributes - before.attributes) / elapsed, 2),
        "tracks_closed": sum(_minus(after.closed, before.closed)),
        "cpu_cores_used": round((after.cpu - before.cpu) / elapsed, 2),
    }


# --- GUI ------------------------------------------------------------------------------------


class _StallProbe:
    """A 10 ms timer on the UI thread; the longest gap between firings, minus 10 ms."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer  # noqa: PLC0415 - Qt only for the GUI run

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(STALL_PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self._last = 0.0
        self.gaps: list[float] = []

    def start(self) -> None:
        self.reset()
        self.timer.start()

    def reset(self) -> None:
        self._last = time.perf_counter()
        self.gaps = []

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def summary(self) -> dict[str, float]:
        gaps_ms = np.asarray(self.gaps or [0.0]) * 1000.0
        return {
            "max_stall_ms": round(max(0.0, float(gaps_ms.max()) - STALL_PROBE_MS), 1),
            "p99_gap_ms": round(float(np.percentile(gaps_ms, 99)), 1),
            "ticks": len(self.gaps),
        }


def _give_back_true(count: int) -> None:
    """Adds ``count`` references to ``True`` (see ``emit_drops_true``)."""
    for _ in range(count):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))


def emit_drops_true() -> int:
    """How many references to ``True`` one ``SignalInstance.emit`` loses (0 when healthy).

    PySide6 6.12.0 returns ``True`` from ``emit`` without taking a reference, so on Python
    3.11 (where ``True`` is not immortal) every emit drops one of its references, and once
    they are gone the interpreter aborts ("Fatal Python error: bool_dealloc"). 6.11.3 does
    not. The probe's losses are given back.
    """
    from PySide6.QtCore import QObject, Signal  # noqa: PLC0415

    class _Probe(QObject):
        ping = Signal(object)

    probe, calls = _Probe(), 64
    before = sys.getrefcount(True)
    for _ in range(calls):
        probe.ping.emit(None)
    lost = before - sys.getrefcount(True)
    _give_back_true(max(0, lost))
    return round(lost / calls)


class _TrueGuard:
    """Keeps ``True``'s reference count from falling below where it was while the GUI run
    emits signals (PySide6 6.12.0, see ``emit_drops_true``), so the benchmark does not abort;
    counts the references it gave back."""

    def __init__(self) -> None:
        self.floor = sys.getrefcount(True)
        self.given_back = 0

    def top_up(self) -> None:
        missing = self.floor - sys.getrefcount(True)
        if missing > 0:
            _give_back_true(missing)
            self.given_back += missing


def _spin(seconds: float) -> None:
    """Run the Qt event loop for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer  # noqa: PLC0415

    loop = QEventLoop()
    QTimer.singleShot(max(1, round(seconds * 1000)), loop.quit)
    loop.exec()


def premasked_frame(engine: VisionEngine, picture: Image | None) -> Image:
    """A masked 640x480 frame for the paint-only phase (the demo frame if no picture)."""
    from desktopapp.core.sources import demo_frame  # noqa: PLC0415

    image = letterbox(picture) if picture is not None else demo_frame(120)
    assert engine.detector is not None
    boxes = [(f.x, f.y, f.w, f.h) for f in engine.detector.detect(image)]
    return mask_frame(image, boxes)


def measure_gui(
    engines: Sequence[VisionEngine],
    source_kind: str,
    cameras: int,
    *,
    seconds: float,
    warmup: float,
    picture: Image | None,
    setup: Setup = DEFAULT_SETUP,
    analysis_fps: float = GUI_ANALYSIS_FPS,
) -> dict[str, Any]:
    """A shown window with ``cameras`` live tiles; paint rates and the worst stall.

    ``engines`` come from ``configured`` with the same ``setup``; one per camera.
    """
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QMainWindow  # noqa: PLC0415

    from desktopapp.ui.camera_grid import CameraGrid  # noqa: PLC0415
    from desktopapp.ui.camera_tile import CameraTile  # noqa: PLC0415
    from desktopapp.ui.cameras import CameraController  # noqa: PLC0415
    from desktopapp.ui.collector import MainThreadCollector  # noqa: PLC0415

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    window = QMainWindow()
    window.setWindowTitle("Raiten pipeline benchmark")
    grid = CameraGrid(window)
    grid.set_columns(1 if cameras == 1 else 2 if cameras <= 4 else 3)
    window.setCentralWidget(grid)
    window.resize(1280, 800)
    # Garbage collected on the UI thread as the app does (ui.app._application).
    MainThreadCollector(window)
    tiles = [CameraTile(c, f"camera {c}") for c in range(cameras)]
    for tile in tiles:
        grid.add_tile(tile)
    controller = CameraController(VisionConfig(threads=1))
    rates: dict[int, float] = {}
    live = [True]

    def frame_ready(frame: MaskedFrame) -> None:  # MainWindow._frame_ready
        tile = grid.tiles.get(frame.camera_id)
        if live[0] and tile is not None and tile.isVisible():
            tile.show_frame(frame, rates.get(frame.camera_id, 0.0))

    def status_ready(camera_id: int, status: SourceStatus) -> None:
        tile = grid.tiles.get(camera_id)
        if tile is not None:
            tile.show_status(status)

    def fps_ready(camera_id: int, fps: float) -> None:
        rates[camera_id] = fps

    controller.frame_ready.connect(frame_ready)
    controller.status_ready.connect(status_ready)
    controller.fps_ready.connect(fps_ready)
    still = MaskedFrame(0, premasked_frame(engines[0], picture), 0, 0.0, 6, 6)

    def feed() -> None:
        for tile in tiles:
            tile.show_frame(still, rates.get(tile.camera_id, 0.0))

    feeder = QTimer()
    feeder.setInterval(round(1000 / PAINT_ONLY_FPS))
    feeder.timeout.connect(feed)
    probe = _StallProbe()
    drops = emit_drops_true()
    guard = _TrueGuard()
    guard_timer = QTimer()
    guard_timer.setInterval(100)
    guard_timer.timeout.connect(guard.top_up)
    sources = [make_source(source_kind, c, cameras, picture) for c in range(cameras)]
    # The controller's own signals as callbacks, queued into the UI thread.
    workers = _workers(
        engines[:cameras],
        sources,
        pipeline_config(setup, analysis_fps),
        controller.frame_ready.emit,
        controller.track_closed.emit,
    )
    result: dict[str, Any] = {
        "cameras": cameras,
        "source": source_kind,
        "setup": setup.label,
        "config": setup.describe(),
        "analysis_fps_cap": analysis_fps,
        "seconds": seconds,
    }
    try:
        if drops:
            guard_timer.start()
        window.show()
        probe.start()
        for worker in workers:
            worker.start()
            # Handed to the controller as its start() does: it polls and stops them.
            controller.workers[worker.analyser.camera_id] = worker
        _spin(warmup)
        phases: dict[str, dict[str, Any]] = {}
        for phase in ("live", "paint_only"):
            live[0] = phase == "live"
            if phase == "paint_only":
                feeder.start()
                _spin(min(1.0, warmup))  # let paints of live frames already queued settle
            painted0 = [t.painted_frames for t in tiles]
            analysed0 = [w.analyser.frames for w in workers]
            probe.reset()
            began = time.monotonic()
            _spin(seconds)
            elapsed = time.monotonic() - began
            painted = [
                (t.painted_frames - p) / elapsed for t, p in zip(tiles, painted0, strict=True)
            ]
            analysed = [
                (w.analyser.frames - a) / elapsed for w, a in zip(workers, analysed0, strict=True)
            ]
            phases[phase] = {
                "paint_fps": [round(v, 2) for v in painted],
                "min_paint_fps": round(min(painted), 2),
                "analysis_fps": [round(v, 2) for v in analysed],
                "min_analysis_fps": round(min(analysed), 2),
                **probe.summary(),
            }
        result["phases"] = phases
    finally:
        feeder.stop()
        probe.timer.stop()
        live[0] = False
        stop_all(list(controller.workers.values()))
        controller.shutdown()  # as the app does; the workers have stopped already
        window.close()
        app.processEvents()  # frames still queued are dropped: live[0] is False
        controller.deleteLater()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        guard_timer.stop()
        guard.top_up()
        gc.unfreeze()
        gc.enable()
    result["emit_drops_true_refs"] = drops
    result["true_refs_given_back"] = guard.given_back
    result["true_refcount"] = guard.floor
    return result


# --- profiling ------------------------------------------------------------------------------

# Where a sampled stack belongs: the innermost frame matching one of these.
_CATEGORIES: Final = (
    ("detection", re.compile(r"vision/faces\.py|yuface/")),
    ("features (dlib)", re.compile(r"vision/features\.py|_CountingEmbedder")),
    ("attributes (age/gender)", re.compile(r"vision/attributes\.py|_CountingAttributes")),
    ("face quality", re.compile(r"vision/quality\.py")),
    ("masking", re.compile(r"core/privacy\.py")),
    ("tracking", re.compile(r"core/tracking\.py")),
    ("frame production (source thread)", re.compile(r"core/sources\.py|SyntheticSource\.")),
    ("pipeline (Python glue)", re.compile(r"core/pipeline\.py")),
)
# Stacks left out of the shares: the main thread (start-up and sleeping until the run ends)
# and threads caught waking from a wait (py-spy counts a thread as busy while it re-takes the
# GIL after a timed wait). The analysis and source threads are what is left.
_THREAD: Final = "Thread._bootstrap ("
_WAITING: Final = re.compile(r"^(Condition\.wait|Event\.wait|Thread\.join|sleep) \(")
_FRAME: Final = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _category(frames: Sequence[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in _CATEGORIES:
            if pattern.search(frame):
                return name
    return "other"


def summarise_profile(raw: str, top: int = 12) -> dict[str, Any]:
    """py-spy ``--format raw`` samples (collapsed stacks, one "f1;f2;... count" a line): the
    share per category and the functions with the most self samples, in percent of busy
    samples of the worker and source threads (the main thread and waits are counted apart)."""
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    main_thread = waiting = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        if not stack.startswith(_THREAD):
            main_thread += count
            continue
        if _WAITING.match(frames[-1]):
            waiting += count
            continue
        categories[_category(frames)] += count
        match = _FRAME.match(frames[-1])
        leaf = f"{match['function']} ({Path(match['file']).name})" if match else frames[-1]
        leaves[leaf] += count
    busy = sum(categories.values())
    return {
        "samples": busy,
        "samples_main_thread": main_thread,
        "samples_waiting": waiting,
        "categories": {k: round(100.0 * v / busy, 1) for k, v in categories.most_common()},
        "self": {k: round(100.0 * v / busy, 1) for k, v in leaves.most_common(top)},
    }


_PROFILED: Final = "profiled run complete"


def profile(
    cameras: int, seconds: float, setup: Setup = DEFAULT_SETUP, rate: int = 100
) -> dict[str, Any]:
    """py-spy over a child process running one headless six-face configuration."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).is_file():
        return {"error": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    with tempfile.TemporaryDirectory(prefix="raiten-profile-") as folder:
        out = Path(folder) / "profile.txt"
        command = [
            py_spy,
            "record",
            "--format",
            "raw",
            "--rate",
            str(rate),
            "--output",
            str(out),
            "--",
            sys.executable,
            str(Path(__file__).resolve()),
            "--profile-target",
            f"{cameras}:{seconds}:{setup.token()}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or _PROFILED not in done.stdout or not out.is_file():
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": f"py-spy or the profiled run failed: {reason}"}
        summary = summarise_profile(out.read_text(encoding="utf-8"))
    summary.update(cameras=cameras, config=setup.describe(), seconds=seconds)
    return summary


def _profile_target(spec: str) -> None:
    """The child process of ``profile``: models loaded, one headless run, then a line saying
    it completed (model loading happens on the main thread, which the summary leaves out)."""
    cameras_text, seconds_text, token = spec.split(":", 2)
    cameras, setup = int(cameras_text), Setup.from_token(token)
    registry = ModelRegistry.load()
    engines = [configured(e, setup, registry) for e in load_engines(cameras)]
    measure_headless(
        engines,
        "six_faces",
        cameras,
        setup,
        seconds=float(seconds_text),
        warmup=1.0,
        picture=load_six_faces(),
    )
    print(_PROFILED)


# --- the whole benchmark ----------------------------------------------------------------------


def _largest_passing(min_fps: dict[str, float]) -> int:
    passing = [int(n) for n, fps in min_fps.items() if fps >= TARGET_FPS]
    return max(passing, default=0)


def _ui_keys(prefix: str, measured: dict[str, Any]) -> dict[str, Any]:
    live, paint_only = measured["phases"]["live"], measured["phases"]["paint_only"]
    return {
        f"{prefix}.cameras": measured["cameras"],
        f"{prefix}.source": measured["source"],
        f"{prefix}.config": measured["config"],
        f"{prefix}.analysis_fps_cap": measured["analysis_fps_cap"],
        f"{prefix}.seconds": measured["seconds"],
        f"{prefix}.paint_fps": live["min_paint_fps"],
        f"{prefix}.paint_only_fps": paint_only["min_paint_fps"],
        f"{prefix}.max_stall_ms": max(live["max_stall_ms"], paint_only["max_stall_ms"]),
        f"{prefix}.phases": measured["phases"],
        f"{prefix}.emit_drops_true_refs": measured["emit_drops_true_refs"],
        f"{prefix}.true_refs_given_back": measured["true_refs_given_back"],
        f"{prefix}.true_refcount": measured["true_refcount"],
    }


def run(
    cameras: Sequence[int] = (1, 2, 4),
    seconds: float = 20.0,
    *,
    warmup: float = 2.0,
    sources: Sequence[str] = SOURCES,
    tuned: bool = True,
    tuned_seconds: float | None = None,
    gui: bool = True,
    gui_seconds: float = 4.0,
    profile_seconds: float = 0.0,
) -> dict[str, Any]:
    """Every measurement, under flat ``section.name`` keys.

    Headless: each camera count in ``cameras`` on each of ``sources`` with the default
    configuration, then the tuned configurations at the largest count on the main source
    (``six_faces`` when listed), each for ``tuned_seconds`` (default: ``seconds``, at most
    10). GUI: the largest count, default configuration (keys ``ui.*``) and, with ``tuned``, the
    last tuned configuration (``ui_tuned.*``). ``profile_seconds`` > 0 also runs py-spy over
    the largest count (``profile.<setup>``).
    """
    if not cameras or min(cameras) < 1:
        raise ValueError("cameras must list camera counts of at least 1")
    if seconds <= 0 or warmup < 0 or gui_seconds <= 0 or (tuned_seconds or 1) <= 0:
        raise ValueError("run windows must be positive and the warm-up not negative")
    unknown = [s for s in sources if s not in SOURCES]
    if unknown or not sources:
        raise ValueError(f"sources must be some of {', '.join(SOURCES)}")
    counts = sorted(set(cameras))
    tuned_window = min(seconds, 10.0) if tuned_seconds is None else tuned_seconds
    largest = counts[-1]
    main_source = "six_faces" if "six_faces" in sources else sources[0]
    began = time.monotonic()
    picture = load_six_faces() if main_source == "six_faces" else None
    registry = ModelRegistry.load()
    base = load_engines(largest)
    result: dict[str, Any] = {
        "pipeline.cpu_count": os.cpu_count() or 0,
        "pipeline.machine": f"{platform.machine()} {platform.system()} {platform.release()}",
        "pipeline.load_average_before": round(os.getloadavg()[0], 2),
        "pipeline.frame_size": list(FRAME_SIZE),
        "pipeline.analysis_fps_cap": HEADLESS_ANALYSIS_FPS,
        "pipeline.warmup_s": warmup,
        "pipeline.seconds": seconds,
        "pipeline.source": main_source,
        "pipeline.config": DEFAULT_SETUP.describe(),
    }
    runs: list[dict[str, Any]] = []
    engines = [configured(e, DEFAULT_SETUP, registry) for e in base]
    for kind in sources:
        for n in counts:
            log.info("headless: %d x %s", n, kind)
            runs.append(
                measure_headless(
                    engines, kind, n, DEFAULT_SETUP, seconds=seconds, warmup=warmup, picture=picture
                )
            )
    for kind in sources:
        per_n = {str(r["cameras"]): r["min_fps"] for r in runs if r["source"] == kind}
        suffix = "" if kind == main_source else f"_{kind}"
        result[f"pipeline.fps_per_camera{suffix}"] = per_n
        result[f"pipeline.cameras_at_10fps{suffix}"] = _largest_passing(per_n)
    setups = TUNED_SETUPS if tuned else ()
    for setup in setups:
        log.info("headless: %d x %s, %s", largest, main_source, setup.label)
        tuned_engines = [configured(e, setup, registry) for e in base]
        tuned_run = measure_headless(
            tuned_engines, main_source, largest, setup, seconds=tuned_window, warmup=warmup,
            picture=picture,
        )  # fmt: skip
        runs.append(tuned_run)
        result[f"pipeline.{setup.label}.config"] = setup.describe()
        result[f"pipeline.{setup.label}.fps_per_camera"] = {str(largest): tuned_run["min_fps"]}
    result["pipeline.runs"] = runs
    if gui:
        for prefix, setup in (("ui", DEFAULT_SETUP), *(("ui_tuned", s) for s in setups[-1:])):
            log.info("gui: %d tiles, %s", largest, setup.label)
            measured = measure_gui(
                [configured(e, setup, registry) for e in base],
                main_source,
                largest,
                seconds=gui_seconds,
                warmup=min(warmup, 2.0),
                picture=picture,
                setup=setup,
            )
            result.update(_ui_keys(prefix, measured))
    if profile_seconds > 0:
        for setup in (DEFAULT_SETUP, *setups):
            log.info("profile: %d cameras, %s", largest, setup.label)
            result[f"profile.{setup.label}"] = profile(largest, profile_seconds, setup)
    result["pipeline.load_average_after"] = round(os.getloadavg()[0], 2)
    result["bench.total_s"] = round(time.monotonic() - began, 1)
    return result


# --- report -----------------------------------------------------------------------------------

_SOURCE_NAMES: Final = {"six_faces": "6 faces (t1.jpg, 25 fps)", "demo": "demo camera (15 fps)"}


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def _pipeline_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "## Pipeline: analysis rate per camera",
        "",
        f"640x480, REPEAT mode (detection, masking, tracking, dlib features of best shots, "
        f"age/gender), one engine per camera at threads=1, analysis capped at "
        f"{result['pipeline.analysis_fps_cap']:g} fps, measured over the window after "
        f"{result['pipeline.warmup_s']:g} s warm-up. {result['pipeline.cpu_count']} CPUs "
        f"({result['pipeline.machine']}); load average {result['pipeline.load_average_before']} "
        f"before, {result['pipeline.load_average_after']} after.",
        "",
        "| source | config | cameras | window s | min fps | mean fps | fps per camera | dropped "
        "| faces/frame | persons/frame | features/s | attributes/s | tracks closed | CPU cores "
        "| CPU ms/frame | >=10 fps |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["pipeline.runs"]:
        dropped = f"{sum(r['frames_dropped'])} ({100 * r['dropped_share']:.0f}%)"
        lines.append(
            f"| {_SOURCE_NAMES.get(r['source'], r['source'])} | {r['config']} | {r['cameras']} "
            f"| {r['seconds']:.0f} | {r['min_fps']:.1f} | {r['mean_fps']:.1f} "
            f"| {_numbers(r['fps'])} | {dropped} "
            f"| {r['faces_per_frame']:.2f} | {r['persons_per_frame']:.2f} "
            f"| {r['features_per_s']:.1f} "
            f"| {r['attributes_per_s']:.1f} | {r['tracks_closed']} | {r['cpu_cores_used']:.2f} "
            f"| {r['cpu_ms_per_frame']:.1f} "
            f"| {_verdict(r['min_fps'] >= TARGET_FPS)} |"
        )
    at_target = result["pipeline.cameras_at_10fps"]
    lines += [
        "",
        f"**cameras_at_10fps** ({result['pipeline.source']}, default config): {at_target} "
        f"(target {TARGET_CAMERAS}: {_verdict(at_target >= TARGET_CAMERAS)})",
    ]
    for setup in TUNED_SETUPS:
        per_n = result.get(f"pipeline.{setup.label}.fps_per_camera")
        if per_n:
            (n, fps), *_ = per_n.items()
            lines.append(
                f"**{setup.label}** ({setup.describe()}): min {fps:.1f} fps per camera at "
                f"{n} cameras ({_verdict(fps >= TARGET_FPS)})"
            )
    return lines


def _ui_table(result: dict[str, Any], prefix: str) -> list[str]:
    lines = [
        "",
        f"## UI ({prefix}): {result[f'{prefix}.cameras']} tiles in a CameraGrid (offscreen), "
        f"{_SOURCE_NAMES.get(result[f'{prefix}.source'], result[f'{prefix}.source'])}, "
        f"{result[f'{prefix}.config']}, analysis capped at "
        f"{result[f'{prefix}.analysis_fps_cap']:g} fps (the app's default), "
        f"{result[f'{prefix}.seconds']:g} s per phase",
        "",
        "| phase | paint fps per tile (min) | per tile | analysis fps per tile "
        "| max stall ms | p99 gap ms (10 ms timer) | paint >=20 fps | stall <=50 ms |",
        "|---|---:|---|---|---:|---:|---|---|",
    ]
    labels = {
        "live": "live (worker -> queued signal -> show_frame)",
        "paint_only": f"paint-only ({PAINT_ONLY_FPS:g} fps QTimer, analysis running)",
    }
    for phase, numbers in result[f"{prefix}.phases"].items():
        paint, stall = numbers["min_paint_fps"], numbers["max_stall_ms"]
        lines.append(
            f"| {labels.get(phase, phase)} | {paint:.1f} | {_numbers(numbers['paint_fps'])} "
            f"| {_numbers(numbers['analysis_fps'])} | {stall:.1f} | {numbers['p99_gap_ms']:.1f} "
            f"| {_verdict(paint >= TARGET_PAINT_FPS)} | {_verdict(stall <= TARGET_STALL_MS)} |"
        )
    if result[f"{prefix}.emit_drops_true_refs"]:
        lines += [
            "",
            f"**PySide6 bug**: every Signal.emit dropped a reference to True; the run gave back "
            f"{result[f'{prefix}.true_refs_given_back']} (True had "
            f"{result[f'{prefix}.true_refcount']} when it started). Without that the process "
            f"aborts (Fatal Python error: bool_dealloc) once they are used up.",
        ]
    return lines


def _profile_table(label: str, summary: dict[str, Any]) -> list[str]:
    lines = ["", f"## Profile ({label}): where the time goes", ""]
    if "error" in summary:
        return [*lines, f"not profiled: {summary['error']}"]
    return [
        *lines,
        f"py-spy, {summary['cameras']} cameras, {summary['config']}, {summary['seconds']:g} s; "
        f"{summary['samples']} samples of busy analysis and source threads (main thread: "
        f"{summary['samples_main_thread']}, threads waking from a wait: "
        f"{summary['samples_waiting']}, both left out).",
        "",
        "| where (innermost project frame) | share |",
        "|---|---:|",
        *(f"| {k} | {v:.1f}% |" for k, v in summary["categories"].items()),
        "",
        "| function (self time; C calls count to the Python function making them) | share |",
        "|---|---:|",
        *(f"| {k} | {v:.1f}% |" for k, v in summary["self"].items()),
    ]


def markdown(result: dict[str, Any]) -> str:
    lines = _pipeline_table(result)
    for prefix in ("ui", "ui_tuned"):
        if f"{prefix}.paint_fps" in result:
            lines += _ui_table(result, prefix)
    for key in sorted(k for k in result if k.startswith("profile.")):
        lines += _profile_table(key.split(".", 1)[1], result[key])
    lines += ["", f"Total benchmark time: {result['bench.total_s']:.0f} s"]
    return "\n".join(lines)


def _camera_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of camera counts: {text}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("camera counts must be at least 1")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--cameras", type=_camera_counts, default=[1, 2, 4], help="e.g. 1,2,4")
    parser.add_argument("--seconds", type=float, default=20.0, help="window per headless run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--sources", default=",".join(SOURCES), help="six_faces,demo")
    parser.add_argument("--no-tuned", action="store_true", help="skip the tuned configurations")
    parser.add_argument("--no-gui", action="store_true", help="skip the GUI measurement")
    parser.add_argument(
        "--tuned-seconds", type=float, default=None, help="window per tuned run (<= 10 s)"
    )
    parser.add_argument("--gui-seconds", type=float, default=4.0, help="window per GUI phase")
    parser.add_argument(
        "--profile",
        nargs="?",
        type=float,
        const=12.0,
        default=0.0,
        metavar="SECONDS",
        help="also profile the largest camera count with py-spy, each configuration (12 s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile-target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile_target:
        _profile_target(args.profile_target)
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(
            args.cameras,
            args.seconds,
            warmup=args.warmup,
            sources=[s.strip() for s in args.sources.split(",") if s.strip()],
            tuned=not args.no_tuned,
            tuned_seconds=args.tuned_seconds,
            gui=not args.no_gui,
            gui_seconds=args.gui_seconds,
            profile_seconds=args.profile,
        )
    except ValueError as exc:
        print(f"bench/pipeline.py: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
