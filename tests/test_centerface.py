"""CenterFace on real photos, checked against the default yuface detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.centerface import CenterFaceDetector
from desktopapp.core.vision.registry import ModelError, ModelProblem, ModelRegistry
from desktopapp.core.vision.types import Face, FaceDetector, Image, Role

FACES = Path("/work/shared/testdata/faces")
SINGLE_FACE = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png", "messi5.jpg"]

pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason="shared test images not present")


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    return ModelRegistry.load()


@pytest.fixture(scope="module")
def centerface(registry: ModelRegistry) -> FaceDetector:
    detector: FaceDetector = load_backend(registry, registry.get("centerface"), threads=2)
    return detector


@pytest.fixture(scope="module")
def yuface(registry: ModelRegistry) -> FaceDetector:
    detector: FaceDetector = load_backend(registry, registry.default(Role.FACE_DETECTION))
    return detector


def read(name: str) -> Image:
    image = cv2.imread(str(FACES / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return image


def iou(a: Face, b: Face) -> float:
    width = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    height = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    inter = max(0.0, width) * max(0.0, height)
    return inter / (a.area + b.area - inter)


def assert_well_formed(faces: list[Face]) -> None:
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    for face in faces:
        assert 0.0 <= face.score <= 1.0
        xs, ys = face.landmarks[:, 0], face.landmarks[:, 1]
        assert np.all((xs >= face.x) & (xs <= face.x + face.w)), face
        assert np.all((ys >= face.y) & (ys <= face.y + face.h)), face
        # Face's order: the image-left eye and mouth corner first, nose in between.
        right_eye, left_eye, nose, right_mouth, left_mouth = face.landmarks
        assert right_eye[0] < nose[0] < left_eye[0]
        assert right_mouth[0] < left_mouth[0]
        assert max(right_eye[1], left_eye[1]) < min(right_mouth[1], left_mouth[1])


def test_is_a_face_detector(centerface: FaceDetector) -> None:
    assert isinstance(centerface, CenterFaceDetector)
    assert isinstance(centerface, FaceDetector)
    assert centerface.info.model_id == "centerface"
    assert centerface.info.role is Role.FACE_DETECTION


@pytest.mark.parametrize("width", [None, 640])
def test_finds_all_six_faces_of_t1(centerface: FaceDetector, width: int | None) -> None:
    image = read("t1.jpg")
    if width is not None:
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])))
    faces = centerface.detect(image)
    assert len(faces) == 6
    assert_well_formed(faces)


@pytest.mark.parametrize("name", SINGLE_FACE)
def test_single_face_matches_yuface(
    centerface: FaceDetector, yuface: FaceDetector, name: str
) -> None:
    image = read(name)
    expected = yuface.detect(image)
    assert expected, f"yuface found no face in {name}"
    faces = centerface.detect(image)
    assert_well_formed(faces)
    assert max(iou(face, expected[0]) for face in faces) > 0.3


def test_image_smaller_than_the_network_stride(centerface: FaceDetector) -> None:
    assert centerface.detect(np.zeros((20, 30, 3), dtype=np.uint8)) == []


def test_damaged_file_is_a_model_error(registry: ModelRegistry, tmp_path: Path) -> None:
    entry = registry.get("centerface")
    real = registry.verified_paths(entry)["onnx"]
    damaged = tmp_path / "centerface.onnx"
    damaged.write_bytes(real.read_bytes()[:100_000])
    with pytest.raises(ModelError) as caught:
        CenterFaceDetector(entry.info, {"onnx": damaged}, entry.options, 1)
    assert caught.value.problem is ModelProblem.CORRUPT
    assert caught.value.path == damaged
