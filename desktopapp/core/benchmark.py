"""`raiten bench`: the operator's capacity check — how many cameras this PC can analyse at
its settings — and the benchmark table of DESIGN's performance targets, in under 3 minutes.

Everything it needs ships with the app: the cameras are the demo shop with six astronauts (the
demo's own picture) moving as a busy entrance does; the gallery and the store are synthetic and
live in a temporary folder. Heavy figures are measured on a smaller scale and scaled up, and the
result says so next to each (``*_basis`` keys). bench/ scripts import the shared parts from here.

The ``ui.*`` figures need Qt and are measured by the caller (desktopapp/ui/bench_dialog.py)
while the pipeline phase runs; ``run_bench`` hands it every masked frame through ``on_frame``.
"""

from __future__ import annotations

import logging
import math
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from desktopapp.core.config import VisionConfig
from desktopapp.core.matching import Gallery
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.pipeline import CameraWorker, MaskedFrame, PipelineConfig, TrackClosed
from desktopapp.core.sources import (
    CameraSource,
    Frame,
    FrameRing,
    SourceKind,
    SourceSpec,
    SourceState,
    SourceStatus,
    demo_group_frame,
)
from desktopapp.core.store.bulk import measure_store
from desktopapp.core.synthetic_gallery import (
    DIM,
    MAX_TEMPLATES,
    synthetic_gallery,
    synthetic_probes,
    time_each,
)
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.persons import load_person_detector
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.schedule import detect_faces
from desktopapp.core.vision.types import Image

log = logging.getLogger(__name__)

FRAME_SIZE: Final = (640, 480)  # width, height
TARGET_FPS: Final = 10.0
# The synthetic cameras run faster than the analysis can, so the rate measured is the machine's.
SOURCE_FPS: Final = 25.0
ANALYSIS_CAP_FPS: Final = 30.0
FIGURES: Final = 6
ONE_MILLION: Final = 1_000_000
ONE_HUNDRED_K: Final = 100_000

Progress = Callable[[float, str], None]


class BenchCancelledError(Exception):
    """The operator stopped the benchmark."""


@dataclass(frozen=True, slots=True)
class BenchPlan:
    """How much to measure. The default finishes within about two minutes on two cores."""

    cameras: tuple[int, ...] = (1, 2, 4)
    seconds: float = 8.0  # measured window per camera count
    warmup: float = 2.0
    gallery: int = ONE_HUNDRED_K  # templates in the synthetic gallery
    probes: int = 300
    store_rows: int = 10_000  # visits in the synthetic store, then twice that (scaled to 1M)
    repeats: int = 10  # timed calls per vision figure

    def __post_init__(self) -> None:
        if not self.cameras or min(self.cameras) < 1 or self.seconds <= 0 or self.warmup < 0:
            raise ValueError("camera counts must be at least 1 and the windows positive")
        if self.gallery < 1000 or self.probes < 2 or self.store_rows < 100 or self.repeats < 1:
            raise ValueError("the gallery, probes, store rows and repeats are too small")

    @classmethod
    def quick(cls) -> BenchPlan:
        """Every step on a tiny scale (seconds, not minutes): for tests and a first look."""
        return cls(
            cameras=(1,),
            seconds=1.0,
            warmup=0.5,
            gallery=2000,
            probes=20,
            store_rows=500,
            repeats=2,
        )


@dataclass(slots=True)
class _Steps:
    """Progress over the steps, each a share of the whole."""

    report: Progress | None
    cancelled: Callable[[], bool] | None
    done: float = 0.0
    shares: dict[str, float] = field(
        default_factory=lambda: {
            "startup": 0.08,
            "vision": 0.07,
            "pipeline": 0.55,
            "matching": 0.2,
            "store": 0.1,
        }
    )

    def at(self, step: str, within: float = 0.0) -> None:
        if self.cancelled is not None and self.cancelled():
            raise BenchCancelledError
        if self.report is not None:
            self.report(min(1.0, self.done + self.shares[step] * within), step)

    def finish(self, step: str) -> None:
        self.done += self.shares[step]
        self.at(step)

    def wait(self, step: str, seconds: float, start: float, span: float) -> None:
        """Sleep ``seconds`` in short steps, reporting progress within ``step`` from ``start``
        over ``span`` of it, and stopping early when cancelled."""
        began = time.monotonic()
        while (elapsed := time.monotonic() - began) < seconds:
            self.at(step, start + span * elapsed / seconds)
            time.sleep(min(0.25, seconds - elapsed))


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (the feature processes and anything they started); empty
    where there is no /proc."""
    parents: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def process_tree_cpu() -> float:
    """CPU seconds used so far by this process and its children (the feature processes run
    in children: leaving them out under-reports the cores the analysis uses)."""
    total = time.process_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for child in children_of(os.getpid()):
        try:
            with open(f"/proc/{child}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone since it was listed
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class SyntheticSource:
    """A camera showing a still ``picture`` (640x480) that moves: what ``CameraWorker`` needs of a
    ``CameraSource`` (``start``, ``stop``, ``latest``) and what ``CameraController`` polls
    (``status``), served by one thread through a depth-2 ``FrameRing`` at ``fps``.

    The picture pans ``pan`` pixels left and right, one pixel a frame; every ``turnover``
    seconds it jumps ``JUMP`` pixels down or back up so that every face lands where no face was
    (the tracker opens six new tracks). ``phase`` (0..1) staggers several sources.
    """

    JUMP: Final = 60

    def __init__(
        self,
        picture: Image,
        *,
        name: str = "synthetic",
        fps: float = 25.0,
        pan: int = 16,
        turnover: float = 10.0,
        phase: float = 0.0,
    ) -> None:
        if fps <= 0 or pan < 0 or turnover <= 0:
            raise ValueError("fps and turnover must be positive and pan not negative")
        self.name = name
        self._fps = fps
        self._pan = pan
        self._turnover_frames = max(1, round(turnover * fps))
        self._offset = round(phase * 2 * self._turnover_frames)
        width, height = FRAME_SIZE
        if picture.shape[:2] != (height, width):
            raise ValueError(f"the picture must be {width}x{height}")
        framed = picture
        # The frame plus room to pan to either side and to jump down.
        self._canvas = np.zeros((height + self.JUMP, width + 2 * pan, 3), np.uint8)
        self._canvas[self.JUMP : self.JUMP + height, pan : pan + width] = framed
        self._ring = FrameRing(2)
        self._lock = threading.Lock()
        self._frames = 0
        self._last_frame_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def frame_at(self, index: int) -> Image:
        """Picture number ``index``: a fresh array (the analyser zero-fills what it is given)."""
        width, height = FRAME_SIZE
        step = index + self._offset
        period = 4 * self._pan
        swing = step % period if period else 0
        dx = swing if swing <= 2 * self._pan else period - swing  # 0 .. 2*pan .. 0
        # Even turnover periods show the group JUMP px lower than odd ones.
        dy = 0 if (step // self._turnover_frames) % 2 else self.JUMP
        return self._canvas[dy : dy + height, dx : dx + width].copy()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name=f"source {self.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def latest(self, timeout: float | None = None) -> Frame | None:
        return self._ring.latest(timeout)

    def status(self) -> SourceStatus:
        with self._lock:
            frames, last = self._frames, self._last_frame_at
        width, height = FRAME_SIZE
        return SourceStatus(
            state=SourceState.LIVE if frames else SourceState.CONNECTING,
            frames=frames,
            dropped=self._ring.dropped,
            last_frame_at=last,
            message=f"Receiving pictures from {self.name}." if frames else "",
            width=width,
            height=height,
            fps=self._fps if frames else 0.0,
        )

    def _run(self, stop: threading.Event) -> None:
        started = time.monotonic()
        index = 0
        while True:
            due = started + index / self._fps
            now = time.monotonic()
            if now - due > 1.0:  # far behind (a starved thread): carry on from here, no burst
                started, due = now - index / self._fps, now
            if stop.wait(max(0.0, due - now)):
                return
            image = self.frame_at(index)
            received = time.monotonic()
            with self._lock:
                self._frames += 1
                self._last_frame_at = received
            self._ring.put(Frame(image, index, time.time(), received))
            index += 1


def load_engine(vision: VisionConfig, mode: Mode) -> VisionEngine:
    """The models one camera of ``mode`` loads, with the person detector on every frame as the
    masked pipeline runs it (every person is masked in every mode that shows a picture)."""
    engine = engine_for_mode(vision, mode)
    if engine.persons is None:
        engine.persons = load_person_detector(
            ModelRegistry.load(), vision.person_detection, vision.threads
        )
    return engine


def _median_ms(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first calls allocate
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return round(1000.0 * statistics.median(samples), 2)


def measure_startup(vision: VisionConfig, mode: Mode, steps: _Steps) -> dict[str, Any]:
    """Seconds from nothing loaded to the first masked frame of the demo camera (the models of
    one camera loaded, the demo opened, one frame analysed and masked; the window itself not
    included)."""
    started = time.monotonic()
    first = threading.Event()
    engine = load_engine(vision, mode)
    steps.at("startup", 0.5)
    source = CameraSource(SourceSpec(SourceKind.DEMO, "demo"), name="demo", realtime=True)
    worker = CameraWorker(
        0,
        source,
        engine,
        PipelineConfig(mode=mode),
        on_frame=lambda _frame: first.set(),
        on_closed=lambda _event: None,
    )
    worker.start()
    try:
        while not first.wait(0.25):
            steps.at("startup", 0.75)
            if time.monotonic() - started > 120:
                raise RuntimeError("the demo camera gave no masked frame within two minutes")
        seconds = time.monotonic() - started
    finally:
        worker.stop()
    return {
        "startup.first_frame_s": round(seconds, 2),
        "startup.basis": "models of one camera loaded, demo camera opened, first frame masked "
        "(the window's own start not included)",
    }


def measure_vision(engine: VisionEngine, repeats: int) -> dict[str, Any]:
    """Per-frame detection and per-face feature times on the six-figure demo frame."""
    frame = demo_group_frame(FIGURES)
    result: dict[str, Any] = {"vision.frame": f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]}, {FIGURES} faces"}
    persons = engine.persons.detect(frame) if engine.persons is not None else None
    if engine.persons is not None:
        detector = engine.persons
        result["vision.person_ms"] = _median_ms(lambda: detector.detect(frame), repeats)
    faces = []
    if engine.detector is not None:
        faces_of = engine.detector
        result["vision.detect_ms"] = _median_ms(
            lambda: detect_faces(faces_of, frame, persons), repeats
        )
        faces = detect_faces(faces_of, frame, persons)
        result["vision.faces_found"] = len(faces)
    else:
        result["vision.detect_ms"] = None
    if engine.embedder is not None and faces:
        embedder, face = engine.embedder, faces[0]
        result["vision.feature_ms"] = _median_ms(
            lambda: embedder.embed(frame, face), max(1, repeats // 2)
        )
    else:
        result["vision.feature_ms"] = None  # this mode computes no features
    return result


@dataclass(slots=True)
class _Counts:
    faces: list[int]
    persons: list[int]

    def add(self, frame: MaskedFrame) -> None:
        self.faces[frame.camera_id] += frame.faces
        self.persons[frame.camera_id] += frame.persons


def _busy_source(camera: int, cameras: int, picture: Image) -> SyntheticSource:
    return SyntheticSource(
        picture, name=f"busy entrance {camera + 1}", fps=SOURCE_FPS, phase=camera / cameras
    )


def measure_cameras(
    engines: Sequence[VisionEngine],
    mode: Mode,
    cameras: int,
    plan: BenchPlan,
    *,
    steps: _Steps,
    step_range: tuple[float, float],
    on_frame: Callable[[MaskedFrame], None] | None,
) -> dict[str, Any]:
    """``cameras`` cameras analysed at once, each as fast as it can: frames per second per
    camera, faces and persons found per frame, and the CPU it took (feature processes too)."""
    picture = demo_group_frame(FIGURES)
    counts = _Counts([0] * cameras, [0] * cameras)

    def frame_ready(frame: MaskedFrame) -> None:
        counts.add(frame)
        if on_frame is not None:
            on_frame(frame)

    def closed(_event: TrackClosed) -> None:
        return None

    config = PipelineConfig(mode=mode, analysis_fps=ANALYSIS_CAP_FPS)
    workers = [
        CameraWorker(
            camera,
            _busy_source(camera, cameras, picture),  # type: ignore[arg-type]
            engines[camera],
            config,
            on_frame=frame_ready,
            on_closed=closed,
        )
        for camera in range(cameras)
    ]
    start, span = step_range
    warm = plan.warmup / (plan.warmup + plan.seconds)
    try:
        for worker in workers:
            worker.start()
        steps.wait("pipeline", plan.warmup, start, span * warm)
        frames0 = [w.analyser.frames for w in workers]
        faces0, persons0 = list(counts.faces), list(counts.persons)
        cpu0, began = process_tree_cpu(), time.monotonic()
        steps.wait("pipeline", plan.seconds, start + span * warm, span * (1 - warm))
        elapsed = time.monotonic() - began
        cpu = process_tree_cpu() - cpu0
        analysed = [w.analyser.frames - f for w, f in zip(workers, frames0, strict=True)]
        faces = sum(counts.faces) - sum(faces0)
        persons = sum(counts.persons) - sum(persons0)
    finally:
        for worker in workers:
            worker.stop(timeout=0.0)
        for worker in workers:
            worker.stop()
    total = max(1, sum(analysed))
    fps = [n / elapsed for n in analysed]
    return {
        "cameras": cameras,
        "fps": [round(v, 2) for v in fps],
        "min_fps": round(min(fps), 2),
        "faces_per_frame": round(faces / total, 2),
        "persons_per_frame": round(persons / total, 2),
        "cpu_cores": round(cpu / elapsed, 2),
        "cpu_ms_per_frame": round(1000.0 * cpu / total, 1),
    }


def measure_pipeline(
    vision: VisionConfig,
    mode: Mode,
    plan: BenchPlan,
    steps: _Steps,
    on_frame: Callable[[MaskedFrame], None] | None,
) -> dict[str, Any]:
    """Each camera count of the plan in turn, stopping at the first that misses 10 fps (more
    cameras would miss it too)."""
    counts = sorted(set(plan.cameras))
    engines = [load_engine(vision, mode) for _ in range(counts[-1])]
    steps.at("pipeline", 0.1)
    runs: list[dict[str, Any]] = []
    share = 0.9 / len(counts)
    for number, cameras in enumerate(counts):
        run = measure_cameras(
            engines,
            mode,
            cameras,
            plan,
            steps=steps,
            step_range=(0.1 + share * number, share),
            on_frame=on_frame,
        )
        runs.append(run)
        if run["min_fps"] < TARGET_FPS:
            break
    passing = [r["cameras"] for r in runs if r["min_fps"] >= TARGET_FPS]
    last = runs[-1]
    cores = os.cpu_count() or 1
    # What the CPU cost per frame allows, had the analysis every core to itself: the figure
    # to compare with when other programs were busy during the run.
    estimate = math.floor(cores * 1000.0 / (TARGET_FPS * max(0.1, last["cpu_ms_per_frame"])))
    return {
        "pipeline.cameras_at_10fps": max(passing, default=0),
        "pipeline.fps_per_camera": {str(r["cameras"]): r["min_fps"] for r in runs},
        "pipeline.faces_per_frame": {str(r["cameras"]): r["faces_per_frame"] for r in runs},
        "pipeline.persons_per_frame": {str(r["cameras"]): r["persons_per_frame"] for r in runs},
        "pipeline.cpu_ms_per_frame": {str(r["cameras"]): r["cpu_ms_per_frame"] for r in runs},
        "pipeline.cameras_by_cpu_estimate": estimate,
        "pipeline.cpus": cores,
        "pipeline.mode": mode.value,
        "pipeline.source": f"demo shop with {FIGURES} people, {FRAME_SIZE[0]}x{FRAME_SIZE[1]} "
        f"at {SOURCE_FPS:g} fps, turning over every 10 s",
        "pipeline.runs": runs,
    }


def measure_matching(plan: BenchPlan, steps: _Steps) -> dict[str, Any]:
    """Gallery search on a synthetic gallery of ``plan.gallery`` templates: the automatic index
    (IVF) against exact search; 100k and 1M figures scaled by √n where not measured there (an
    IVF search compares the probe with about (1 + nprobe)·√n templates)."""
    ids, features, qualities = synthetic_gallery(plan.gallery)
    queries = synthetic_probes(features, plan.probes)
    rows = list(zip(ids, features, qualities.tolist(), strict=True))
    answers = {}
    timing = {}
    for number, (kind, exact_limit) in enumerate((("exact", plan.gallery), ("ivf", 0))):
        # threshold -1, margin 0: every probe names its best visitor, which recall compares.
        gallery = Gallery.from_templates(
            rows, DIM, -1.0, margin=0.0, max_templates=MAX_TEMPLATES, exact_limit=exact_limit
        )
        steps.at("matching", 0.3 + 0.35 * number)
        timing[kind], answers[kind] = time_each(gallery.search, queries)
        del gallery
    returning = plan.probes // 2
    same = [
        e.visitor_id == a.visitor_id
        for e, a in list(zip(answers["exact"], answers["ivf"], strict=True))[:returning]
    ]
    ms = timing["ivf"]["median_ms"]
    measured = _count_label(plan.gallery)
    return {
        "matching.ms_per_probe_100k": round(ms * math.sqrt(ONE_HUNDRED_K / plan.gallery), 3),
        "matching.ms_per_probe_1m": round(ms * math.sqrt(ONE_MILLION / plan.gallery), 3),
        "matching.exact_ms_per_probe": timing["exact"]["median_ms"],
        "matching.ann_recall_at_1": round(float(np.mean(same)), 4),
        "matching.templates_measured": plan.gallery,
        "matching.basis": f"IVF index measured at {measured} templates"
        + ("" if plan.gallery == ONE_HUNDRED_K else ", scaled to 100k by √n")
        + f"; 1M scaled from {measured} by √n; recall@1 against exact search at {measured}",
    }


def _count_label(count: int) -> str:
    if count % ONE_MILLION == 0:
        return f"{count // ONE_MILLION}M"
    return f"{count / 1000:g}k" if count >= 1000 else str(count)


def measure_store_scaled(plan: BenchPlan) -> dict[str, Any]:
    """Retention sweep and purge timed on ``plan.store_rows`` and twice as many synthetic
    visits (each in a temporary folder), extended along that line to a million rows: both
    delete row by row in one transaction, plus a fixed cost (VACUUM of a small file) that a
    straight multiplication would scale up too."""
    small = measure_store(plan.store_rows)
    large = measure_store(2 * plan.store_rows)
    result: dict[str, Any] = {}
    for key in ("store.purge_1m_s", "store.retention_1m_s"):
        per_row = max(0.0, (large[key] - small[key]) / plan.store_rows)
        result[key] = round(large[key] + per_row * (ONE_MILLION - 2 * plan.store_rows), 2)
    result["store.rows_measured"] = [plan.store_rows, 2 * plan.store_rows]
    result["store.basis"] = (
        f"measured on {_count_label(plan.store_rows)} and {_count_label(2 * plan.store_rows)} "
        "visits, scaled along that line to 1M"
    )
    return result


def run_bench(
    vision: VisionConfig,
    mode: Mode = Mode.REPEAT,
    plan: BenchPlan | None = None,
    *,
    progress: Progress | None = None,
    on_frame: Callable[[MaskedFrame], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Every figure of DESIGN's performance targets at these settings, as flat dotted keys
    (``ui.*`` excepted: see the module docstring). Raises BenchCancelledError when
    ``cancelled`` turns true."""
    plan = plan or BenchPlan()
    steps = _Steps(progress, cancelled)
    began = time.monotonic()
    result: dict[str, Any] = {
        "bench.load_average_before": _load_average(),
        "bench.settings": f"mode {mode.value}, threads {vision.threads}, feature processes "
        f"{vision.feature_processes}, face search side {vision.face_search_side or 'off'}",
    }
    steps.at("startup")
    result |= measure_startup(vision, mode, steps)
    steps.finish("startup")
    result |= measure_vision(load_engine(vision, mode), plan.repeats)
    steps.finish("vision")
    result |= measure_pipeline(vision, mode, plan, steps, on_frame)
    steps.finish("pipeline")
    result |= measure_matching(plan, steps)
    steps.finish("matching")
    result |= measure_store_scaled(plan)
    steps.finish("store")
    result["bench.load_average_after"] = _load_average()
    result["bench.total_s"] = round(time.monotonic() - began, 1)
    return result


def _load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
