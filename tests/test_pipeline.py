"""The per-camera analysis: masking first, tracks, best-shot features, TrackClosed events."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from bench.masking import obscured
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.sources import (
    DEMO_FPS,
    DEMO_RUN_FRAMES,
    DEMO_SIZE,
    Frame,
    demo_face_box,
    demo_frame,
    demo_person_visible,
    iter_frames,
    parse_source,
)
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Face, Gender, Image, Role, Vector
from tests.conftest import VIDEO, closed_tracks

STEP = 3  # every third demo frame keeps the test quick; timestamps stay true


class CountingEmbedder:
    def __init__(self, inner: object):
        self.inner = inner
        self.calls = 0
        self.info = inner.info  # type: ignore[attr-defined]
        self.dim = inner.dim  # type: ignore[attr-defined]
        self.threshold = inner.threshold  # type: ignore[attr-defined]

    def embed(self, image: Image, face: Face) -> Vector:
        self.calls += 1
        return self.inner.embed(image, face)  # type: ignore[attr-defined,no-any-return]


def demo(index: int) -> Frame:
    return Frame(demo_frame(index), index, index / DEMO_FPS, 0.0)


@pytest.fixture(scope="module")
def demo_run(engine: VisionEngine) -> tuple[list[TrackClosed], int, int]:
    counting = CountingEmbedder(engine.embedder)
    analyser = FrameAnalyser(
        1, VisionEngine(engine.detector, counting, engine.attributes), PipelineConfig()
    )  # type: ignore[arg-type]
    closed = closed_tracks(analyser, (demo(i) for i in range(0, DEMO_RUN_FRAMES, STEP)))
    return closed, counting.calls, analyser.frames


def test_each_demo_appearance_is_one_track_with_features(
    demo_run: tuple[list[TrackClosed], int, int], engine: VisionEngine
) -> None:
    closed, _, _ = demo_run
    assert len(closed) == 4, "the demo person walks in four times per cycle"
    for event in closed:
        assert event.feature is not None
        assert np.linalg.norm(event.feature) == pytest.approx(1.0, abs=1e-5)
        assert 1 <= len(event.templates) <= PipelineConfig().best_shots
        qualities = [q for q, _ in event.templates]
        assert qualities == sorted(qualities, reverse=True)
        assert event.attributes is not None and event.attributes.gender is Gender.FEMALE
        assert event.last_seen - event.first_seen > 2.0
        assert event.path and all(0 <= x <= 1 and 0 <= y <= 1 for _, x, y in event.path)
        times = [t for t, _, _ in event.path]
        assert all(b - a >= 0.99 for a, b in itertools.pairwise(times)), "path is ~1 Hz"
    threshold = engine.embedder.threshold  # type: ignore[union-attr]
    for a, b in itertools.combinations(closed, 2):
        assert float(a.feature @ b.feature) >= threshold  # type: ignore[operator]


def test_features_only_for_the_best_shots(demo_run: tuple[list[TrackClosed], int, int]) -> None:
    closed, embeds, frames = demo_run
    assert frames == len(range(0, DEMO_RUN_FRAMES, STEP))
    faces_seen = sum(e.hits for e in closed)
    assert embeds < faces_seen / 3, f"{embeds} features for {faces_seen} face sightings"


def test_the_ui_frame_is_masked_and_the_source_is_wiped(engine: VisionEngine) -> None:
    analyser = FrameAnalyser(1, engine, PipelineConfig())
    checked = 0
    for index in range(0, DEMO_RUN_FRAMES, 20):
        box = demo_face_box(index)
        frame = demo(index)
        source = frame.image.copy()
        masked, _ = analyser.process(frame)
        assert not frame.image.any(), "the analysed frame must be zero-filled"
        if box is None or masked.faces == 0:
            continue
        x, y, w, h = (round(v) for v in box)
        x0, y0 = max(0, x), max(0, y)
        inside = np.abs(
            masked.image[y0 : y + h, x0 : x + w].astype(int) - source[y0 : y + h, x0 : x + w]
        )
        assert inside.mean() > 10, f"face at frame {index} is not masked"
        checked += 1
    assert checked >= 10


def test_attribute_mode_keeps_no_feature(registry: ModelRegistry) -> None:
    engine = VisionEngine.load(registry, [Role.FACE_DETECTION, Role.FACE_ATTRIBUTES])
    analyser = FrameAnalyser(1, engine, PipelineConfig(mode=Mode.ATTRIBUTES))
    closed = closed_tracks(analyser, (demo(i) for i in range(0, 300, STEP)))
    assert closed
    for event in closed:
        assert event.feature is None and event.templates == ()
        assert event.attributes is not None


def test_repeat_engine_in_attribute_mode_still_keeps_no_feature(engine: VisionEngine) -> None:
    analyser = FrameAnalyser(1, engine, PipelineConfig(mode=Mode.ATTRIBUTES))
    assert not analyser.keeps_features


def test_tiny_faces_are_masked_but_never_embedded(engine: VisionEngine) -> None:
    """vtest.avi's pedestrians have faces of ~8 px: too small for a meaningful feature."""
    analyser = FrameAnalyser(1, engine, PipelineConfig())
    closed = closed_tracks(analyser, iter_frames(parse_source(str(VIDEO)), max_frames=200))
    assert analyser.faces > 0
    assert all(event.feature is None for event in closed)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"analysis_fps": 0.0}, "analysis rate"), ({"best_shots": 0}, "best shots")],
)
def test_config_is_validated(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def masking_engine(engine: VisionEngine, registry: ModelRegistry) -> VisionEngine:
    """Repeat mode's models (engine_for_mode): faces, features, attributes and persons."""
    persons = VisionEngine.load(registry, [Role.PERSON_DETECTION]).persons
    return VisionEngine(engine.detector, engine.embedder, engine.attributes, persons)


def _visible(box: tuple[float, float, float, float]) -> float:
    """The share of the demo face's width inside the picture."""
    x, _y, w, _h = box
    return (min(DEMO_SIZE[0], x + w) - max(0.0, x)) / w


def test_a_face_cut_by_the_border_is_masked(masking_engine: VisionEngine) -> None:
    """The demo visitor walks in and out at the picture's edges: every frame in which at least
    a third of her face shows is masked there, at the live view's rate. (Walking in, a smaller
    sliver is found by neither detector; walking out, the held track covers it.)"""
    analyser = FrameAnalyser(1, masking_engine, PipelineConfig())
    checked = 0
    # Around each walk in and out only (1 s either side), at 7.5 analysed frames a second.
    border = [i for i in range(DEMO_RUN_FRAMES) if (b := demo_face_box(i)) and _visible(b) < 1]
    near = {i for i in range(0, DEMO_RUN_FRAMES, 2) if any(abs(i - j) <= DEMO_FPS for j in border)}
    for index in sorted(near):
        frame = demo(index)
        source = frame.image.copy()
        masked, _ = analyser.process(frame)
        box = demo_face_box(index)
        if box is None or not 1 / 3 <= _visible(box) < 1.0:
            continue
        assert obscured(masked.image, source, box), f"frame {index}: {box}"
        checked += 1
    assert checked >= 15


class _Missing:
    """The real person and face detectors, blind on chosen frames: a detector's miss."""

    def __init__(self, inner: object, blind: set[int]):
        self.inner, self.blind, self.index = inner, blind, 0
        self.info = inner.info  # type: ignore[attr-defined]

    def detect(self, image: Image) -> list[object]:
        found = [] if self.index in self.blind else self.inner.detect(image)  # type: ignore[attr-defined]
        return found  # type: ignore[no-any-return]


def test_a_lost_track_stays_masked_for_the_hold_time(masking_engine: VisionEngine) -> None:
    """Both detectors miss the demo visitor from frame 60 of the run on (0.4 s after she is in
    full view): her last boxes, moved on, stay masked for mask_hold_seconds, then no longer."""
    # She walks: motion alone would mask her. Faces are looked for in every frame here, so that
    # every frame after the first blind one is a frame of the hold.
    config = PipelineConfig(motion_masks=False, face_detection_every=1)
    start = next(i for i in range(0, DEMO_RUN_FRAMES) if demo_person_visible(i)) + 30
    indices = list(range(start - 30, start + 40, 2))
    blind = {n for n, i in enumerate(indices) if i >= start}
    faces = _Missing(masking_engine.detector, blind)
    persons = _Missing(masking_engine.persons, blind)
    analyser = FrameAnalyser(1, VisionEngine(faces, persons=persons), config)  # type: ignore[arg-type]
    held, released = [], []
    for n, index in enumerate(indices):
        faces.index = persons.index = n
        frame = demo(index)
        source = frame.image.copy()
        masked, _ = analyser.process(frame)
        box = demo_face_box(index)
        assert box is not None and demo_person_visible(index)
        lost_for = (index - start + 2) / DEMO_FPS  # seconds since the last detection
        if n not in blind:
            assert masked.held == 0
        elif lost_for < config.mask_hold_seconds - 1e-6:
            assert masked.faces == masked.persons == 0
            assert masked.held >= 1
            assert obscured(masked.image, source, box), f"{lost_for:.2f} s"
            held.append(lost_for)
        else:
            assert masked.held == 0
            released.append(lost_for)
            # Nothing is masked any more: the picture is the source (the test's own blindness).
            assert np.array_equal(masked.image, source)
    assert held and max(held) >= config.mask_hold_seconds - 0.15
    assert released


class _CountingDetector:
    def __init__(self, inner: object):
        self.inner, self.calls = inner, 0
        self.info = inner.info  # type: ignore[attr-defined]

    def detect(self, image: Image) -> list[Face]:
        self.calls += 1
        return self.inner.detect(image)  # type: ignore[attr-defined,no-any-return]


def test_faces_stay_masked_between_face_detections(engine: VisionEngine) -> None:
    """Faces looked for in one frame of three, with no person detector and no motion masks to
    cover for them: the demo visitor's face is obscured in every frame she is in full view, and
    the face detector ran on a third of the frames."""
    detector = _CountingDetector(engine.detector)
    config = PipelineConfig(motion_masks=False, face_detection_every=3)
    analyser = FrameAnalyser(1, VisionEngine(detector), config)  # type: ignore[arg-type]
    indices = [i for i in range(0, DEMO_RUN_FRAMES, 2) if demo_person_visible(i)][:60]
    checked = 0
    for index in indices:
        frame = demo(index)
        source = frame.image.copy()
        masked, _ = analyser.process(frame)
        box = demo_face_box(index)
        if box is None or _visible(box) < 1.0 or analyser.frames <= 1:
            continue
        assert masked.faces == 1, f"frame {index}: the face found last is still counted"
        assert obscured(masked.image, source, box), f"frame {index}: {box}"
        checked += 1
    assert checked >= 30
    assert detector.calls == -(-len(indices) // 3)


def test_the_face_detection_interval_is_validated() -> None:
    with pytest.raises(ValueError, match="faces must be looked for"):
        PipelineConfig(face_detection_every=0)


def test_the_hold_is_validated() -> None:
    with pytest.raises(ValueError, match="mask hold"):
        PipelineConfig(mask_hold_seconds=5.0)


class _Broken:
    info = None

    def detect(self, image: Image) -> list[Face]:
        raise RuntimeError("the model crashed")


def test_a_camera_whose_analysis_fails_shows_nothing_and_says_so() -> None:
    """No frame is emitted unanalysed: the tile keeps nothing and is told why."""
    from desktopapp.core.pipeline import CameraWorker  # noqa: PLC0415
    from desktopapp.core.sources import CameraSource, SourceKind, SourceSpec  # noqa: PLC0415

    frames: list[object] = []
    failing: list[str] = []
    told = threading.Event()

    def on_failing(detail: str) -> None:
        failing.append(detail)
        told.set()

    worker = CameraWorker(
        1,
        CameraSource(SourceSpec(SourceKind.DEMO, "demo"), realtime=True),
        VisionEngine(_Broken()),  # type: ignore[arg-type]
        PipelineConfig(),
        on_frame=frames.append,
        on_closed=frames.append,
        on_failing=on_failing,
    )
    worker.start()
    try:
        assert told.wait(30), "the failing analysis was never reported"
    finally:
        worker.stop()
    assert frames == []
    assert failing == ["RuntimeError: the model crashed"]


@pytest.mark.timeout(120)
def test_test_connection_answers_once_the_camera_has_failed(engine: VisionEngine) -> None:
    """ "Test connection" tells why as soon as the first attempt fails: it does not sit out the
    retries. With nothing listening and an hour's timeout, only an early answer can pass."""
    from desktopapp.core.pipeline import preview_frame  # noqa: PLC0415
    from desktopapp.core.sources import SourceError, SourceProblem  # noqa: PLC0415

    spec = parse_source("rtsp://viewer:secret@127.0.0.1:1/stream")
    with pytest.raises(SourceError) as failed:
        preview_frame(spec, engine, PipelineConfig(), timeout=3600.0)
    assert failed.value.problem is SourceProblem.REFUSED
    assert "secret" not in str(failed.value)
