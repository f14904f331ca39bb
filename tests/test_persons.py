"""Person detection: SSDLite on the walking people of vtest.avi, and the HOG fallback."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktopapp.core.vision.backends import BACKENDS, load_backend
from desktopapp.core.vision.persons import (
    HOG_MODEL_ID,
    HogPersonDetector,
    SsdLitePersonDetector,
    decode,
    load_person_detector,
)
from desktopapp.core.vision.registry import (
    MANIFEST,
    ModelError,
    ModelProblem,
    ModelRegistry,
    sha256_of,
)
from desktopapp.core.vision.types import Image, Person, PersonDetector, Role
from tests.conftest import VIDEO

MODEL_ID = "ssdlite-mobilenet-v2"
# Everyone walking in frame 0 of vtest.avi (768x576), (x, y, w, h) in its pixels, by eye.
FRAME_0_PEOPLE = [(250, 217, 36, 96), (497, 157, 34, 78), (637, 240, 53, 82)]
# People visible in other frames, counted by eye; SSDLite at 300x300 misses the smallest and
# partly hidden ones, so each frame has the least it must find and the most it may.
EXPECTED = {0: (2, 3), 200: (5, 7), 700: (4, 8)}

pytestmark = pytest.mark.skipif(not VIDEO.is_file(), reason="shared test video not present")


@pytest.fixture(scope="module")
def frames() -> dict[int, Image]:
    capture = cv2.VideoCapture(str(VIDEO))
    wanted, found = set(EXPECTED), {}
    try:
        index = 0
        while wanted - set(found):
            ok, frame = capture.read()
            assert ok, f"vtest.avi ended before frame {index}"
            if index in wanted:
                found[index] = np.asarray(frame, dtype=np.uint8)
            index += 1
    finally:
        capture.release()
    return found


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    return ModelRegistry.load()


@pytest.fixture(scope="module")
def detector(registry: ModelRegistry) -> PersonDetector:
    return load_person_detector(registry, threads=2)


def _inside(person: Person, box: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    cx, cy = person.x + person.w / 2, person.y + person.h / 2
    return x <= cx <= x + w and y <= cy <= y + h


def _write_manifest(models_dir: Path, sha256: str, path: str = "persons/model.onnx") -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / MANIFEST).write_text(
        f"""version = 1
[[model]]
id = "{MODEL_ID}"
role = "person_detection"
backend = "ssdlite"
default = true
licence = "Apache-2.0"
commercial_use = true
source = "copied by the test"
options = {{ min_confidence = 0.4 }}
[[model.file]]
key = "onnx"
path = "{path}"
sha256 = "{sha256}"
""",
        encoding="utf-8",
    )


def _shipped_file(registry: ModelRegistry) -> tuple[Path, str]:
    spec = registry.get(MODEL_ID).files[0]
    path = spec.locate(registry.models_dir)
    assert path is not None
    return path, spec.sha256


def test_the_default_person_model_is_ssdlite_and_verifies(
    registry: ModelRegistry, detector: PersonDetector
) -> None:
    entry = registry.default(Role.PERSON_DETECTION)
    assert entry.model_id == MODEL_ID and entry.backend in BACKENDS
    assert entry.commercial_use and entry.licence == "Apache-2.0"
    assert (registry.models_dir / entry.notice).is_file(), "the licence notice must ship"
    paths = registry.verified_paths(entry)
    assert set(paths) == {"onnx", "masking"}, "the float network, and its int8 copy for masking"
    for path in paths.values():
        assert path.suffix == ".onnx" and path.is_relative_to(registry.models_dir)
    assert isinstance(detector, SsdLitePersonDetector) and isinstance(detector, PersonDetector)
    assert detector.info.fallback_for is None and detector.info.role is Role.PERSON_DETECTION


@pytest.mark.parametrize("index", sorted(EXPECTED))
def test_the_walking_people_are_found(
    detector: PersonDetector, frames: dict[int, Image], index: int
) -> None:
    people = detector.detect(frames[index])
    least, most = EXPECTED[index]
    assert least <= len(people) <= most, people
    assert [p.score for p in people] == sorted((p.score for p in people), reverse=True)
    height, width = frames[index].shape[:2]
    for person in people:
        assert 0.4 <= person.score <= 1.0
        assert person.x >= 0 and person.x + person.w <= width + 0.01
        assert person.y >= 0 and person.y + person.h <= height + 0.01
        # Upright people in this footage: taller than wide, and 30-160 px tall.
        assert person.h > person.w and 30 <= person.h <= 160, person


def test_boxes_are_in_the_pixels_of_the_frame(
    detector: PersonDetector, frames: dict[int, Image]
) -> None:
    people = detector.detect(frames[0])
    for person in people:
        assert sum(_inside(person, box) for box in FRAME_0_PEOPLE) == 1, person
    held = [box for box in FRAME_0_PEOPLE if any(_inside(p, box) for p in people)]
    assert len(held) == len(people), "one box per person"
    # The same frame at half size: the same people, at half the coordinates.
    small = cv2.resize(frames[0], (384, 288), interpolation=cv2.INTER_AREA)
    halves = detector.detect(small)
    assert len(halves) == len(people)
    for big, half in zip(people, halves, strict=True):
        assert abs(half.x * 2 - big.x) < 6 and abs(half.y * 2 - big.y) < 6
        assert abs(half.w * 2 - big.w) < 8 and abs(half.h * 2 - big.h) < 8


def test_threads_and_min_confidence_come_from_the_caller_and_manifest(
    registry: ModelRegistry, frames: dict[int, Image]
) -> None:
    entry = registry.get(MODEL_ID)
    one = load_backend(registry, entry, threads=1)
    assert one._session.get_session_options().intra_op_num_threads == 1
    two = load_backend(registry, entry, threads=2)
    assert two._session.get_session_options().intra_op_num_threads == 2
    strict = load_backend(registry, dataclasses.replace(entry, options={"min_confidence": 0.9}))
    loose = load_backend(registry, dataclasses.replace(entry, options={"min_confidence": 0.3}))
    assert {len(one.detect(frames[700])), len(two.detect(frames[700]))} == {4}
    assert all(p.score >= 0.9 for p in strict.detect(frames[700]))
    assert len(loose.detect(frames[700])) > 4


def test_decode_scales_clips_and_merges_overlapping_boxes() -> None:
    boxes = np.array(
        [
            [0.10, 0.20, 0.50, 0.30],  # a person
            [0.11, 0.20, 0.51, 0.31],  # the same person again, lower score
            [0.60, 0.90, 1.20, 1.00],  # runs off the bottom of the image
            [0.00, 0.00, 0.40, 0.10],  # below min_confidence
        ],
        dtype=np.float32,
    )
    scores = np.array([0.8, 0.7, 0.9, 0.2], dtype=np.float32)
    people = decode(boxes, scores, width=200, height=100, min_confidence=0.5)
    assert [round(p.score, 2) for p in people] == [0.9, 0.8]
    clipped, person = people
    assert (clipped.x, clipped.y, clipped.w, clipped.h) == pytest.approx((180, 60, 20, 40))
    assert (person.x, person.y, person.w, person.h) == pytest.approx((40, 10, 20, 40))
    assert decode(boxes, scores, 200, 100, min_confidence=0.95) == []


def test_hog_runs_when_the_model_file_is_absent(
    tmp_path: Path,
    registry: ModelRegistry,
    frames: dict[int, Image],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, sha256 = _shipped_file(registry)
    _write_manifest(tmp_path, sha256)
    with caplog.at_level(logging.WARNING, logger="desktopapp.core.vision.persons"):
        fallback = load_person_detector(ModelRegistry.load(tmp_path))
    assert isinstance(fallback, HogPersonDetector) and isinstance(fallback, PersonDetector)
    assert fallback.info.model_id == HOG_MODEL_ID
    assert fallback.info.fallback_for == MODEL_ID
    assert "missing" in fallback.info.source and fallback.info.commercial_use
    assert any("HOG" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    people = fallback.detect(frames[0])
    assert 1 <= len(people) <= 4
    assert [p.score for p in people] == sorted((p.score for p in people), reverse=True)
    assert any(_inside(p, box) for p in people for box in FRAME_0_PEOPLE)
    for person in people:
        assert 0.0 < person.score <= 1.0
        assert person.x >= 0 and person.x + person.w <= frames[0].shape[1]
        assert person.y >= 0 and person.y + person.h <= frames[0].shape[0]


def test_hog_also_covers_a_damaged_registered_file_and_a_manifest_without_persons(
    tmp_path: Path,
) -> None:
    damaged = tmp_path / "persons" / "model.onnx"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not an onnx model at all")
    _write_manifest(tmp_path, sha256_of(damaged))
    fallback = load_person_detector(ModelRegistry.load(tmp_path))
    assert fallback.info.fallback_for == MODEL_ID and "corrupt" in fallback.info.source
    without = tmp_path / "without"
    without.mkdir()
    (without / MANIFEST).write_text("version = 1\n", encoding="utf-8")
    fallback = load_person_detector(ModelRegistry.load(without))
    assert fallback.info.model_id == HOG_MODEL_ID and fallback.info.fallback_for is not None


def test_a_person_model_with_the_wrong_sha256_is_refused(
    tmp_path: Path, registry: ModelRegistry
) -> None:
    original, sha256 = _shipped_file(registry)
    copy = tmp_path / "persons" / "model.onnx"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(original, copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    _write_manifest(tmp_path, sha256)
    changed = ModelRegistry.load(tmp_path)
    for load in (
        lambda: load_person_detector(changed),
        lambda: load_backend(changed, changed.get(MODEL_ID)),
    ):
        with pytest.raises(ModelError) as caught:
            load()
        assert caught.value.problem is ModelProblem.MISMATCH
        assert str(copy) in str(caught.value)


def test_choosing_an_unknown_or_non_person_model_is_an_error(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        load_person_detector(registry, "no-such-model")
    assert caught.value.problem is ModelProblem.UNKNOWN
    with pytest.raises(ModelError) as caught:
        load_person_detector(registry, "yuface")
    assert caught.value.problem is ModelProblem.UNKNOWN


def test_the_int8_model_finds_the_persons_the_float_model_finds(
    registry: ModelRegistry, detector: PersonDetector, frames: dict[int, Image]
) -> None:
    """models/tools/quantise_ssdlite.py's output: verified by its SHA-256 like every model,
    and at its own threshold it finds every person the float model finds in the test frames."""
    quantised = load_person_detector(registry, "ssdlite-mobilenet-v2-int8")
    assert isinstance(quantised, SsdLitePersonDetector)
    assert quantised.info.fallback_for is None
    assert registry.default(Role.PERSON_DETECTION).model_id == MODEL_ID  # not the default

    def overlap(a: Person, b: Person) -> float:
        left, top = max(a.x, b.x), max(a.y, b.y)
        right, bottom = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
        inter = max(0.0, right - left) * max(0.0, bottom - top)
        return inter / (a.w * a.h + b.w * b.h - inter)

    reference = found = 0
    for image in frames.values():
        expected, got = detector.detect(image), quantised.detect(image)
        reference += len(expected)
        found += sum(any(overlap(e, g) >= 0.5 for g in got) for e in expected)
    assert reference > 0 and found == reference
