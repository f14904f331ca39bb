"""The per-camera analysis: masking first, tracks, best-shot features, TrackClosed events."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.privacy import UnmaskDeniedError, authorise_unmasked_view
from desktopapp.core.sources import (
    DEMO_FPS,
    DEMO_RUN_FRAMES,
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
from tests.conftest import VIDEO

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
    closed: list[TrackClosed] = []
    for index in range(0, DEMO_RUN_FRAMES, STEP):
        closed += analyser.process(demo(index))[1]
    closed += analyser.finish(DEMO_RUN_FRAMES / DEMO_FPS + 5)
    return closed, counting.calls, analyser.frames


def test_each_demo_appearance_is_one_track_with_features(
    demo_run: tuple[list[TrackClosed], int, int], engine: VisionEngine
) -> None:
    closed, _, _ = demo_run
    assert len(closed) == 4, "the demo person walks in four times per cycle"
    for event in closed:
        assert event.feature is not None
        assert np.linalg.norm(event.feature) == pytest.approx(1.0, abs=1e-5)
        assert 1 <= len(event.templates) <= 3
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
    closed: list[TrackClosed] = []
    for index in range(0, 300, STEP):
        closed += analyser.process(demo(index))[1]
    closed += analyser.finish(300 / DEMO_FPS + 5)
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
    closed: list[TrackClosed] = []
    timestamp = 0.0
    for frame in iter_frames(parse_source(str(VIDEO)), max_frames=200):
        timestamp = frame.timestamp
        closed += analyser.process(frame)[1]
    closed += analyser.finish(timestamp + 5)
    assert analyser.faces > 0
    assert all(event.feature is None for event in closed)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"analysis_fps": 0.0}, "analysis rate"), ({"best_shots": 0}, "best shots")],
)
def test_config_is_validated(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PipelineConfig(**changes)  # type: ignore[arg-type]


def test_unmasking_needs_an_admin_and_is_audited(engine: VisionEngine) -> None:
    audit: list[tuple[str, dict[str, object]]] = []
    with pytest.raises(UnmaskDeniedError):
        authorise_unmasked_view(1, "mika", "manager", lambda e, d: audit.append((e, d)))
    assert audit == []

    def failing_audit(event: str, details: dict[str, object]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError):
        authorise_unmasked_view(1, "root", "admin", failing_audit)

    grant = authorise_unmasked_view(1, "root", "admin", lambda e, d: audit.append((e, d)))
    assert audit == [("unmask", {"camera_id": 1, "user": "root"})]
    analyser = FrameAnalyser(1, engine, PipelineConfig())
    with pytest.raises(ValueError, match="another camera"):
        FrameAnalyser(2, engine, PipelineConfig()).set_unmasked(grant)
    index = next(i for i in range(0, DEMO_RUN_FRAMES, 10) if demo_person_visible(i))
    analyser.set_unmasked(grant)
    shown, _ = analyser.process(demo(index))
    assert not shown.masked
    assert np.array_equal(shown.image, demo_frame(index))
    analyser.set_unmasked(None)
    shown, _ = analyser.process(demo(index))
    assert shown.faces == 1
    assert shown.masked and not np.array_equal(shown.image, demo_frame(index))
