"""The person detector's cadence: the whole frame in one frame of two, one square alone between
(issue 15), on the walking people of vtest.avi."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.person_tracking import PersonTracker, PersonTrackerConfig
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import Frame, SourceKind, SourceSpec, iter_frames
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.persons import MASK_CONFIDENCE, SsdLitePersonDetector, cut_by_square
from desktopapp.core.vision.types import Person
from tests.conftest import VIDEO

pytestmark = pytest.mark.skipif(not VIDEO.is_file(), reason="shared test video not present")

FRAMES = 60


@pytest.fixture(scope="module")
def engine() -> VisionEngine:
    return engine_for_mode(VisionConfig(threads=1, feature_processes=0), Mode.PASSERBY)


def _frames() -> Iterator[Frame]:
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(VIDEO))):
        if frame.index >= FRAMES:
            return
        yield frame


def test_a_square_alone_finds_only_its_own_persons(engine: VisionEngine) -> None:
    detector = engine.persons
    assert isinstance(detector, SsdLitePersonDetector)
    image = next(_frames()).image
    height, width = image.shape[:2]
    for square, (left, right) in ((0, (0, height)), (1, (width - height, width))):
        found, masked = detector.detect_for_masking(image, (square,), whole=False)
        assert masked, "vtest.avi's first frame has people in both squares"
        assert all(left <= p.x and p.x + p.w <= right + 1 for p in masked)
        assert all(p.score >= MASK_CONFIDENCE for p in masked)
        assert set(found) <= set(masked)
    whole_found, whole_masked = detector.detect_for_masking(image, (), whole=True)
    assert whole_found == detector.detect(image)
    assert set(whole_found) <= set(whole_masked)


def _run(engine: VisionEngine, every: int) -> tuple[list[int], list[int | None], int]:
    """Persons per frame, the square searched alone in each frame, and detector runs."""
    detector = engine.persons
    assert isinstance(detector, SsdLitePersonDetector)
    runs = 0
    inner = detector._detect

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        return inner(*args, **kwargs)

    detector._detect = counted  # type: ignore[method-assign]
    try:
        analyser = FrameAnalyser(
            1, engine, PipelineConfig(Mode.PASSERBY, whole_frame_persons_every=every)
        )
        persons, squares = [], []
        for frame in _frames():
            squares.append(analyser.square_alone(analyser.frames))
            masked, _closed = analyser.process(frame)
            persons.append(masked.persons)
    finally:
        del detector._detect
    return persons, squares, runs


def test_one_detector_run_a_frame_and_the_counts_hold(engine: VisionEngine) -> None:
    every_frame, squares_before, runs_before = _run(engine, 1)
    alternating, squares, runs = _run(engine, 2)
    assert squares_before == [None] * FRAMES
    assert runs_before == 2 * FRAMES  # the whole frame and one square, every frame
    assert squares[:6] == [None, 0, None, 1, None, 0]
    assert runs == FRAMES
    # The persons of the part of the picture not searched are carried from the frame before:
    # the count per frame does not drop in the frames that search one square alone.
    whole = [n for n, square in zip(alternating, squares, strict=True) if square is None]
    alone = [n for n, square in zip(alternating, squares, strict=True) if square is not None]
    assert statistics.mean(alone) >= 0.85 * statistics.mean(whole)
    assert statistics.mean(alternating) >= 0.85 * statistics.mean(every_frame)


def test_a_look_at_part_of_the_frame_continues_tracks_and_opens_none() -> None:
    tracker = PersonTracker(PersonTrackerConfig(min_iou=0.15, max_missing_seconds=1.5))
    (track_id,) = tracker.update([(100.0, 100.0, 40.0, 100.0)], 0.0, [0.9]).assignments.values()
    boxes = [(104.0, 100.0, 40.0, 100.0), (400.0, 100.0, 40.0, 100.0)]
    update = tracker.update(boxes, 0.1, [0.9, 0.9], continue_only=True)
    assert update.assignments == {0: track_id}  # the sure box at 400 waits for a whole look
    assert [t.track_id for t in tracker.active] == [track_id]
    assert len(tracker.update(boxes, 0.2, [0.9, 0.9]).assignments) == 2


def test_a_box_reaching_a_squares_inner_side_is_cut_by_it() -> None:
    # A 640x480 frame: the left square is x 0-480, the right one x 160-640.
    def person(x: float, w: float) -> Person:
        return Person(x, 100.0, w, 200.0, 0.9)

    assert cut_by_square(person(430, 50), 0, 640, 480)  # ends at the left square's right side
    assert not cut_by_square(person(400, 50), 0, 640, 480)
    assert not cut_by_square(person(0, 50), 0, 640, 480)  # the frame's own edge cuts nobody
    assert cut_by_square(person(160, 50), 1, 640, 480)
    assert not cut_by_square(person(200, 50), 1, 640, 480)
    assert not cut_by_square(person(590, 50), 1, 640, 480)
