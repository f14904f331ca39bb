"""Face detection by need (core.vision.schedule) on real footage with the real models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from desktopapp.core.config import VisionConfig
from desktopapp.core.images import read_image
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import Frame
from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.engine import load_face_detector
from desktopapp.core.vision.persons import load_person_detector
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.schedule import (
    SWEEP_EVERY,
    ScheduledFaceDetector,
    detect_faces,
    merge_faces,
    merge_regions,
    refine_face,
    start_stream,
)
from desktopapp.core.vision.types import Face, Image
from tests.conftest import FACES, TESTDATA, VIDEO

CROWD = TESTDATA / "video" / "crowd.mp4"


def _frames(path: object, every: int, count: int) -> list[Image]:
    cap = cv2.VideoCapture(str(path))
    frames: list[Image] = []
    index = 0
    while len(frames) < count:
        ok, image = cap.read()
        if not ok:
            break
        if index % every == 0:
            frames.append(image)
        index += 1
    cap.release()
    assert len(frames) == count, f"{path} has too few frames"
    return frames


def _covered(face: Face, found: list[Face]) -> bool:
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    return any(f.x <= cx <= f.x + f.w and f.y <= cy <= f.y + f.h for f in found)


def test_overlapping_regions_join_only_when_that_searches_fewer_pixels() -> None:
    # Two heads side by side, overlapping: one region.
    assert merge_regions([(0, 0, 100, 100), (50, 0, 150, 100)]) == [(0, 0, 150, 100)]
    # Two regions touching at a corner: their bounding box would search far more pixels.
    apart = merge_regions([(0, 0, 100, 100), (90, 90, 300, 300)])
    assert sorted(apart) == [(0, 0, 100, 100), (90, 90, 300, 300)]


@pytest.mark.parametrize(("video", "every"), [(VIDEO, 20), (CROWD, 12)])
def test_search_by_need_finds_the_faces_the_whole_frame_search_finds(
    registry: ModelRegistry, video: object, every: int
) -> None:
    """On real footage, with the persons of each frame, the scheduled detector finds at least
    as many of the full-resolution reference faces as the default whole-frame search at
    640 px, while searching fewer pixels at full resolution."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    whole = load_backend(registry, entry, 1)
    reference = load_backend(registry, entry, 1, {"max_side": 4096})
    persons = load_person_detector(registry)
    references = by_need = by_whole = 0
    for image in _frames(video, every, 12):
        truth = reference.detect(image)
        found = detect_faces(scheduled, image, persons.detect(image))
        references += len(truth)
        by_need += sum(_covered(f, found) for f in truth)
        by_whole += sum(_covered(f, whole.detect(image)) for f in truth)
    assert references > 0
    assert by_need >= by_whole, (by_need, by_whole, references)
    stats = scheduled.stats
    height, width = image.shape[:2]
    assert stats.frames == 12
    assert stats.region_pixels < 12 * width * height


def test_without_persons_the_whole_frame_is_searched(registry: ModelRegistry) -> None:
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    whole = load_backend(registry, entry, 1)
    image = _frames(CROWD, 1, 1)[0]
    assert isinstance(scheduled, ScheduledFaceDetector)
    found = detect_faces(scheduled, image, None)
    assert [(f.x, f.y) for f in found] == [(f.x, f.y) for f in whole.detect(image)]
    assert scheduled.stats.full_frames == 1


def test_each_stream_starts_with_a_whole_search_then_searches_by_need(
    registry: ModelRegistry,
) -> None:
    """A photo has no later frame for the sweep to reach its faces in, so the first frame of
    every stream (each analyser) is searched whole at full resolution, as without persons."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    whole = load_backend(registry, entry, 1)
    persons = load_person_detector(registry)
    frames = _frames(VIDEO, 20, 3)
    first = detect_faces(scheduled, frames[0], persons.detect(frames[0]))
    assert [(f.x, f.y) for f in first] == [(f.x, f.y) for f in whole.detect(frames[0])]
    for image in frames[1:]:
        detect_faces(scheduled, image, persons.detect(image))
    assert scheduled.stats.full_frames == 1
    start_stream(scheduled)
    detect_faces(scheduled, frames[2], persons.detect(frames[2]))
    assert scheduled.stats.full_frames == 2
    engine = engine_for_mode(VisionConfig(face_search_side=320), Mode.REPEAT)
    assert isinstance(engine.detector, ScheduledFaceDetector)
    for index, image in enumerate(frames):
        analyser = FrameAnalyser(0, engine, PipelineConfig(mode=Mode.REPEAT))
        analyser.process(Frame(image.copy(), 0, float(index), float(index)))
    assert engine.detector.stats.full_frames == len(frames)


def test_a_mode_with_persons_searches_faces_by_need_in_the_pipeline() -> None:
    """The incidental mode runs both detectors: with the setting on (the default), its frames
    go through the scheduled search; off (0) they do not."""
    engine = engine_for_mode(VisionConfig(face_search_side=320), Mode.INCIDENTAL)
    assert isinstance(engine.detector, ScheduledFaceDetector)
    # Faces looked for in every frame (incidental capture's own default is every other one).
    config = PipelineConfig(mode=Mode.INCIDENTAL, face_detection_every=1)
    analyser = FrameAnalyser(0, engine, config)
    for index, image in enumerate(_frames(CROWD, 12, 3)):
        masked, _ = analyser.process(Frame(image, index, float(index), float(index)))
        assert masked.faces > 0
    assert engine.detector.stats.frames == 3
    assert VisionConfig().face_search_side == 320
    plain = engine_for_mode(VisionConfig(face_search_side=0), Mode.INCIDENTAL)
    assert not isinstance(plain.detector, ScheduledFaceDetector)


def _face(x: float, y: float, w: float, h: float, score: float) -> Face:
    return Face(x, y, w, h, score, np.zeros((5, 2), np.float32))


def test_a_face_cut_by_a_search_region_is_one_face_with_the_whole_one() -> None:
    """A band of the sweep cuts a face: the part it finds (here with a higher score) and the
    whole face from the coarse pass are one face, and the whole box is kept."""
    whole = _face(100, 100, 80, 100, 0.7)
    part = _face(100, 150, 80, 38, 0.9)  # IoU 0.38, all of it inside the whole
    assert merge_faces([whole], [part]) == [whole]
    assert merge_faces([part], [whole]) == [whole]
    # Two faces side by side, touching, stay two.
    neighbour = _face(175, 100, 80, 100, 0.8)
    assert len(merge_faces([whole], [neighbour])) == 2


def test_a_face_to_embed_gets_the_whole_frame_searchs_landmarks(registry: ModelRegistry) -> None:
    """Faces the coarse pass found carry coarse landmarks; ``refine_face`` finds them again at
    the whole-frame search's scale, on its grid: within one detector pixel of what the
    whole-frame search gives (here 1280 px pictures searched at 640: 2 picture pixels)."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    whole = load_backend(registry, entry, 1)
    persons = load_person_detector(registry)
    checked = 0
    coarse_off = 0.0
    for name in ("t1.jpg", "obama.jpg", "obama3.jpg", "biden.jpg"):
        image = read_image(FACES / name)
        found = detect_faces(scheduled, image, persons.detect(image))
        for reference in whole.detect(image):
            face = next(f for f in found if _covered(reference, [f]))
            coarse_off = max(coarse_off, float(np.abs(face.landmarks - reference.landmarks).max()))
            refined = refine_face(scheduled, image, face)
            factor = max(1.0, max(image.shape[:2]) / 640)
            assert np.abs(refined.landmarks - reference.landmarks).max() <= factor + 1e-3, name
            checked += 1
    assert checked >= 9
    assert coarse_off > 4.0, "the coarse landmarks differ: refining is needed"
    # A detector without a search by need hands the face back as it is.
    face = whole.detect(image)[0]
    assert refine_face(whole, image, face) is face


def _small_obama(registry: ModelRegistry, height_px: float) -> Image:
    """obama.jpg's face with its surroundings, shrunk to a face ``height_px`` tall."""
    obama = read_image(FACES / "obama.jpg")
    (big,) = load_backend(registry, registry.get("yuface"), 1).detect(obama)
    pad = 0.6
    left, top = int(big.x - pad * big.w), int(big.y - pad * big.h)
    crop = obama[
        max(0, top) : int(big.y + (1 + pad) * big.h), max(0, left) : int(big.x + (1 + pad) * big.w)
    ]
    factor = height_px / big.h
    return cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def test_a_small_face_outside_any_person_is_found_by_the_sweep_and_then_followed(
    registry: ModelRegistry,
) -> None:
    """A face too small for the coarse pass, with no person box to point to it: the sweep,
    the whole frame at full resolution in one frame of SWEEP_EVERY, finds it within that many
    frames; from then on it is looked for in every frame. The frames between sweeps search
    nothing at full resolution where nothing points to a face."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    small = _small_obama(registry, 30.0)  # a 30 px face: 15 px at 320, below the coarse floor
    frame = np.full((480, 640, 3), 120, np.uint8)
    y, x = 400, 500
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    assert load_backend(registry, entry, 1, {"max_side": 320}).detect(frame) == []
    blank = np.full((480, 640, 3), 120, np.uint8)
    # The stream's first frame is the sweep; the schedule starts after it.
    assert scheduled.detect_among(blank, []) == []
    before = scheduled.stats
    for _ in range(4):
        assert scheduled.detect_among(blank, []) == []
    assert scheduled.stats.region_pixels == before.region_pixels
    assert scheduled.stats.full_frames == before.full_frames
    found_at = None
    for index in range(2 * SWEEP_EVERY):
        faces = scheduled.detect_among(frame, [])
        if faces and found_at is None:
            found_at = index
        if found_at is not None:
            assert faces, f"followed once found (frame {index})"
            assert abs(faces[0].x - x) < 20 and abs(faces[0].y - y) < 20
    # Five frames were searched before the face came: the next sweep is the stream's 19th.
    assert found_at == SWEEP_EVERY - 5
    # The stream's 19th and 37th frames: two whole searches in 2 * SWEEP_EVERY frames.
    assert scheduled.stats.full_frames == before.full_frames + 2


def test_the_sweep_of_a_large_frame_still_searches_heads_at_the_frames_resolution(
    registry: ModelRegistry,
) -> None:
    """A frame larger than the full detector's input is shrunk for the sweep's whole search,
    which then misses a small face that the head region of its person, searched at the frame's
    own resolution, finds: the sweep's frame searches that region too."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    small = _small_obama(registry, 30.0)  # 15 px once the 1280 px frame is shrunk to 640
    frame = np.full((960, 1280, 3), 120, np.uint8)
    y, x = 300, 600
    frame[y : y + small.shape[0], x : x + small.shape[1]] = small
    assert load_backend(registry, entry, 1).detect(frame) == []
    person = (x - 40.0, y - 30.0, 160.0, 420.0)
    faces = scheduled.detect_among(frame, [person])  # the stream's first frame: a sweep
    assert scheduled.stats.full_frames == 1
    assert len(faces) == 1 and abs(faces[0].x - x) < 40 and abs(faces[0].y - y) < 40


def test_heads_whose_faces_the_coarse_pass_sees_are_not_searched_again(
    registry: ModelRegistry,
) -> None:
    """Six people close to the camera, each body cut by the frame: their head regions come to
    more than the frame, but the coarse pass sees every face, so nothing is searched at full
    resolution (this frame is not the sweep's). Persons whose faces it does not see
    (here a plain wall) and whose regions exceed the frame make one whole-frame search."""
    entry = registry.get("yuface")
    scheduled = load_face_detector(registry, entry, 1, search_side=320)
    assert isinstance(scheduled, ScheduledFaceDetector)
    group = read_image(FACES / "t1.jpg")
    frame = cv2.resize(group, (640, 443), interpolation=cv2.INTER_AREA)
    frame = cv2.copyMakeBorder(frame, 18, 19, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    reference = load_backend(registry, entry, 1).detect(frame)
    assert len(reference) == 6
    bodies = [(f.x - 1.25 * f.w, f.y - 0.3 * f.h, 3.5 * f.w, 300.0) for f in reference]
    assert all(h < 7 * 48 for *_, h in bodies), "faces too small for the coarse pass expected"
    heads = sum(1.3 * w * (0.45 * h + 0.15 * w) for _, _, w, h in bodies)
    # Without the coarse pass's faces, most of the frame would be searched at full resolution.
    assert heads > 0.7 * 640 * 480
    wall = np.full((480, 640, 3), 120, np.uint8)
    # The stream's first frame is searched whole; the schedule starts after it.
    scheduled.detect_among(wall, [])
    before = scheduled.stats
    found = scheduled.detect_among(frame, bodies)
    assert all(_covered(f, found) for f in reference)
    stats = scheduled.stats
    assert stats.full_frames == before.full_frames
    assert stats.region_pixels == before.region_pixels, "no head region searched"

    crowd = [
        (float(x), float(y), 100.0, 300.0) for x in range(0, 600, 50) for y in range(0, 500, 100)
    ]
    assert scheduled.detect_among(wall, crowd) == []
    assert scheduled.stats.full_frames == before.full_frames + 1
