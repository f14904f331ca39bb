"""The person detector's cadence: the whole frame in one frame of two, both squares between, all
on the network's cheaper copy (issue 15), on the walking people of vtest.avi."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import Frame, SourceKind, SourceSpec, iter_frames
from desktopapp.core.tracking import iou_matrix
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.persons import (
    MASK_CONFIDENCE,
    NMS_IOU,
    SQUARES,
    SsdLitePersonDetector,
    cut_by_a_square,
    cut_by_square,
)
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


def test_the_squares_alone_find_each_person_once_and_whole(engine: VisionEngine) -> None:
    detector = engine.persons
    assert isinstance(detector, SsdLitePersonDetector)
    found_in_squares = found_whole = 0
    for frame in _frames():
        if frame.index % 10:
            continue
        image = frame.image
        height, width = image.shape[:2]
        found, masked = detector.detect_for_masking(image, SQUARES, whole=False)
        assert set(found) <= set(masked)
        assert all(p.score >= MASK_CONFIDENCE for p in masked)
        # Every box lies in a square; none found is cut by its square's inner side, and a
        # person seen in both squares is found once.
        assert all(p.x + p.w <= height + 1 or p.x >= width - height - 1 for p in masked)
        assert not any(cut_by_a_square(p, width, height) for p in found)
        if len(found) > 1:
            boxes = np.array([(p.x, p.y, p.w, p.h) for p in found], np.float64)
            overlaps = iou_matrix(boxes, boxes) - np.eye(len(found))
            assert overlaps.max() < NMS_IOU
        found_in_squares += len(found)
        found_whole += len(detector.detect_for_masking(image, (), whole=True, cheap=True)[0])
    # The squares see people larger than the whole frame squashed to the network's input.
    assert found_in_squares >= found_whole > 0


def _run(engine: VisionEngine, every: int) -> tuple[list[int], list[bool], list[bool]]:
    """Persons per frame, whether each frame was searched whole, and for every run of the
    network whether it ran on the full copy."""
    detector = engine.persons
    assert isinstance(detector, SsdLitePersonDetector)
    full: list[bool] = []
    inner = detector._detect

    def counted(image: Any, confidence: float, session: Any = None) -> Any:
        full.append(session in (None, detector._session))
        return inner(image, confidence, session)

    detector._detect = counted  # type: ignore[method-assign]
    try:
        analyser = FrameAnalyser(
            1, engine, PipelineConfig(Mode.PASSERBY, whole_frame_persons_every=every)
        )
        persons, whole = [], []
        for frame in _frames():
            whole.append(analyser.searched_whole(analyser.frames))
            masked, _closed = analyser.process(frame)
            persons.append(masked.persons)
    finally:
        del detector._detect
    return persons, whole, full


def test_the_cheaper_cadence_searches_every_frame_everywhere_and_the_counts_hold(
    engine: VisionEngine,
) -> None:
    every_frame, whole_before, full_before = _run(engine, 1)
    cadence, whole, full = _run(engine, 2)
    assert whole_before == [True] * FRAMES
    # Before: the whole frame on the full network and one square on the cheap one, each frame.
    assert full_before == [True, False] * FRAMES
    assert whole[:4] == [True, False, True, False]
    # Now: the whole frame in one frame, both squares in the next, all on the cheap network.
    assert len(full) == FRAMES // 2 * 3
    assert not any(full)
    in_whole = [n for n, w in zip(cadence, whole, strict=True) if w]
    in_squares = [n for n, w in zip(cadence, whole, strict=True) if not w]
    assert statistics.mean(in_squares) >= 0.85 * statistics.mean(in_whole)
    assert statistics.mean(cadence) >= 0.85 * statistics.mean(every_frame)


def test_a_box_ending_at_a_squares_inner_side_is_cut_by_it() -> None:
    # A 640x480 frame: the left square is x 0-480, the right one x 160-640.
    def person(x: float, w: float) -> Person:
        return Person(x, 100.0, w, 200.0, 0.9)

    assert cut_by_square(person(430, 50), 0, 640, 480)  # ends at the left square's right side
    assert not cut_by_square(person(400, 50), 0, 640, 480)
    assert not cut_by_square(person(0, 50), 0, 640, 480)  # the frame's own edge cuts nobody
    assert cut_by_square(person(160, 50), 1, 640, 480)
    assert not cut_by_square(person(200, 50), 1, 640, 480)
    assert not cut_by_square(person(590, 50), 1, 640, 480)
    # A box reaching over a square's inner side was not found in that square.
    assert not cut_by_a_square(person(450, 60), 640, 480)
    assert not cut_by_a_square(person(140, 60), 640, 480)
    assert cut_by_a_square(person(300, 180), 640, 480)
