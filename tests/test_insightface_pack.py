"""The InsightFace pack path end to end, on small ONNX graphs with the real packs' signatures.

The real buffalo_l files cannot be downloaded in CI, so each test builds stand-ins with
``onnx.helper``: a SCRFD graph whose nine outputs encode known faces at known anchors, an
ArcFace graph (average pool + fixed random projection) whose output numpy can reproduce, and a
genderage graph with a constant answer. All three compute their outputs from the input tensor so
onnxruntime really runs them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
import pytest
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

import desktopapp.core.vision.insightface as insightface_module
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.faces import align_face
from desktopapp.core.vision.packs import INSIGHTFACE_LICENCE, register_pack
from desktopapp.core.vision.registry import (
    LOCAL_MANIFEST,
    MANIFEST,
    ModelError,
    ModelProblem,
    ModelRegistry,
)
from desktopapp.core.vision.types import Face, Gender, Image, Role

FACES_DIR = Path("/work/shared/testdata/faces")
INPUT = 640
STRIDES = (8, 16, 32)
ANCHORS = 2
POOL = 8
EMBEDDING_DIM = 512
GENDERAGE_OUTPUT = (0.1, 0.9, 0.42)

ROLES = (Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES)
CHOICES = {
    Role.FACE_DETECTION: "buffalo_l-scrfd",
    Role.FACE_FEATURES: "buffalo_l-arcface",
    Role.FACE_ATTRIBUTES: "buffalo_l-genderage",
}

# Faces written into the SCRFD outputs: (stride, row, col, anchor, score, box distances
# left/top/right/bottom and five keypoint offsets, both in units of the stride).
KPS_OFFSETS = ((-2.0, -1.5), (2.0, -1.5), (0.0, 1.0), (-1.5, 3.0), (1.5, 3.0))
ENCODED = (
    # The face the test looks for: anchor centre (240, 320), box (160, 224)-(320, 432).
    (16, 20, 15, 1, 0.9, (5.0, 6.0, 5.0, 7.0), KPS_OFFSETS),
    # Nearly the same box from stride 8 with a lower score: NMS must drop it.
    (8, 40, 30, 0, 0.8, (10.0, 12.0, 10.0, 13.5), tuple((2 * x, 2 * y) for x, y in KPS_OFFSETS)),
    # A second, separate face: centre (384, 128), box (336, 64)-(432, 192).
    (32, 4, 12, 0, 0.6, (1.5, 2.0, 1.5, 2.0), tuple((x / 4, y / 4) for x, y in KPS_OFFSETS)),
    # Below the default min_confidence of 0.5: never reported.
    (32, 15, 3, 1, 0.3, (1.0, 1.0, 1.0, 1.0), KPS_OFFSETS),
)


def _image(name: str) -> Image:
    image = cv2.imread(str(FACES_DIR / name))
    assert image is not None, f"test image {name} is missing"
    return np.asarray(image, dtype=np.uint8)


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # old enough for every onnxruntime the project allows
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def _input_zero(input_name: str) -> list[onnx.NodeProto]:
    """Nodes making the scalar ``zero`` from the input, so outputs really depend on it."""
    return [
        helper.make_node("ReduceMean", [input_name], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero_scale"], ["zero"]),
    ]


def _scrfd_outputs() -> dict[str, NDArray[np.float32]]:
    """Score, box and keypoint tensors per stride with ENCODED written at their anchors."""
    tensors: dict[str, NDArray[np.float32]] = {}
    for stride in STRIDES:
        rows = (INPUT // stride) ** 2 * ANCHORS
        tensors[f"score_{stride}"] = np.zeros((rows, 1), np.float32)
        tensors[f"bbox_{stride}"] = np.zeros((rows, 4), np.float32)
        tensors[f"kps_{stride}"] = np.zeros((rows, 10), np.float32)
    for stride, row, col, anchor, score, box, kps in ENCODED:
        index = (row * (INPUT // stride) + col) * ANCHORS + anchor
        tensors[f"score_{stride}"][index] = score
        tensors[f"bbox_{stride}"][index] = box
        tensors[f"kps_{stride}"][index] = np.array(kps, np.float32).reshape(-1)
    return tensors


def write_scrfd(path: Path) -> None:
    nodes = _input_zero("input.1")
    initializers = [numpy_helper.from_array(np.array(0.0, np.float32), "zero_scale")]
    outputs = []
    tensors = _scrfd_outputs()
    # The real ordering: all scores, then all boxes, then all keypoints.
    for kind in ("score", "bbox", "kps"):
        for stride in STRIDES:
            name = f"{kind}_{stride}"
            value = tensors[name]
            # Stride 8 as (N, C), the others with a batch dim: exports differ, both must work.
            if stride != 8:
                value = value[None]
            initializers.append(numpy_helper.from_array(value, f"{name}_const"))
            nodes.append(helper.make_node("Add", [f"{name}_const", "zero"], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, value.shape))
    graph = helper.make_graph(
        nodes,
        "scrfd_stand_in",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, INPUT, INPUT])],
        outputs,
        initializers,
    )
    _save(graph, path)


def arcface_weight() -> NDArray[np.float32]:
    side = 112 // POOL
    rng = np.random.default_rng(20240601)
    return rng.standard_normal((3 * side * side, EMBEDDING_DIM)).astype(np.float32)


def write_arcface(path: Path) -> None:
    nodes = [
        helper.make_node(
            "AveragePool", ["input.1"], ["pooled"], kernel_shape=[POOL, POOL], strides=[POOL, POOL]
        ),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weight"], ["683"]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_stand_in",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["None", EMBEDDING_DIM])],
        [numpy_helper.from_array(arcface_weight(), "weight")],
    )
    _save(graph, path)


def write_genderage(path: Path) -> None:
    nodes = [
        helper.make_node("ReduceMean", ["data"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["mean"], ["flat"], axis=1),
        helper.make_node("Mul", ["flat", "zero_scale"], ["zero"]),
        helper.make_node("Add", ["zero", "answer"], ["fc1"]),
    ]
    graph = helper.make_graph(
        nodes,
        "genderage_stand_in",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["None", 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["None", 3])],
        [
            numpy_helper.from_array(np.array(0.0, np.float32), "zero_scale"),
            numpy_helper.from_array(np.array([GENDERAGE_OUTPUT], np.float32), "answer"),
        ],
    )
    _save(graph, path)


def write_pack(pack_dir: Path) -> None:
    write_scrfd(pack_dir / "det_10g.onnx")
    write_arcface(pack_dir / "w600k_r50.onnx")
    write_genderage(pack_dir / "genderage.onnx")
    # Shipped in buffalo_l but unused by Raiten: registration must ignore it.
    (pack_dir / "2d106det.onnx").write_bytes(b"landmark model Raiten does not load")


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "models"
    directory.mkdir()
    (directory / MANIFEST).write_text("version = 1\n", encoding="utf-8")
    write_pack(directory / "buffalo_l")
    return directory


@pytest.fixture
def engine(models_dir: Path) -> VisionEngine:
    register_pack(models_dir, models_dir / "buffalo_l")
    return VisionEngine.load(ModelRegistry.load(models_dir), ROLES, choices=CHOICES)


def _letterbox_scale(image: Image) -> float:
    """insightface's det_scale for a 640x640 input, computed independently of the backend."""
    rows, cols = int(image.shape[0]), int(image.shape[1])
    if rows / cols > 1.0:
        return INPUT / rows
    return int(INPUT * rows / cols) / rows


def _first_face(engine: VisionEngine, image: Image) -> Face:
    assert engine.detector is not None
    return engine.detector.detect(image)[0]


# -- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["obama.jpg", "t1.jpg"])  # portrait, then landscape
def test_scrfd_decodes_the_encoded_faces_in_original_coordinates(
    engine: VisionEngine, name: str
) -> None:
    image = _image(name)
    assert image.shape[0] != image.shape[1]
    scale = _letterbox_scale(image)
    assert scale != 1.0
    assert engine.detector is not None

    faces = engine.detector.detect(image)

    assert [round(f.score, 4) for f in faces] == [0.9, 0.6]  # overlap and low score dropped
    best, second = faces
    np.testing.assert_allclose(
        [best.x, best.y, best.w, best.h],
        np.array([160.0, 224.0, 160.0, 208.0]) / scale,
        rtol=1e-5,
    )
    expected_kps = (np.array([240.0, 320.0]) + np.array(KPS_OFFSETS) * 16) / scale
    np.testing.assert_allclose(best.landmarks, expected_kps, rtol=1e-5)
    assert best.landmarks.dtype == np.float32
    np.testing.assert_allclose(
        [second.x, second.y, second.x + second.w, second.y + second.h],
        np.array([336.0, 64.0, 432.0, 192.0]) / scale,
        rtol=1e-5,
    )


# -- features --------------------------------------------------------------------------------


def _numpy_embedding(image: Image, face: Face) -> NDArray[np.float64]:
    chip = align_face(image, face.landmarks, 112)
    blob = ((chip[:, :, ::-1].astype(np.float64) - 127.5) / 127.5).transpose(2, 0, 1)
    side = 112 // POOL
    pooled = blob.reshape(3, side, POOL, side, POOL).mean(axis=(2, 4)).reshape(-1)
    vector: NDArray[np.float64] = pooled @ arcface_weight().astype(np.float64)
    return vector / np.linalg.norm(vector)


def test_arcface_matches_numpy_on_the_aligned_chip(engine: VisionEngine) -> None:
    assert engine.embedder is not None
    image = _image("obama.jpg")
    face = _first_face(engine, image)

    vector = engine.embedder.embed(image, face)

    assert engine.embedder.dim == EMBEDDING_DIM
    assert engine.embedder.threshold == pytest.approx(0.30)
    assert vector.dtype == np.float32
    assert vector.shape == (EMBEDDING_DIM,)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(vector, _numpy_embedding(image, face), atol=1e-5)


def test_arcface_tells_two_faces_apart(engine: VisionEngine) -> None:
    assert engine.embedder is not None
    obama, other = _image("obama.jpg"), _image("t1.jpg")

    first = engine.embedder.embed(obama, _first_face(engine, obama))
    second = engine.embedder.embed(other, _first_face(engine, other))

    assert float(np.dot(first, second)) < 0.99
    assert not np.allclose(first, second, atol=1e-3)


def test_arcface_zeroes_the_aligned_chip(
    engine: VisionEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert engine.embedder is not None
    chips: list[Image] = []

    def keep_chip(image: Image, landmarks: NDArray[np.float32], size: int = 112) -> Image:
        chips.append(align_face(image, landmarks, size))
        return chips[-1]

    monkeypatch.setattr(insightface_module, "align_face", keep_chip)
    image = _image("obama.jpg")
    engine.embedder.embed(image, _first_face(engine, image))

    assert len(chips) == 1
    assert not chips[0].any()


# -- attributes ------------------------------------------------------------------------------


def test_genderage_reads_male_and_age(engine: VisionEngine) -> None:
    assert engine.attributes is not None
    image = _image("obama.jpg")

    attributes = engine.attributes.estimate(image, _first_face(engine, image))

    assert attributes.gender is Gender.MALE
    assert attributes.age_years == pytest.approx(42.0)
    assert attributes.age_band == "40-49"
    assert attributes.gender_confidence == pytest.approx(0.8, abs=1e-6)
    assert attributes.age_confidence == pytest.approx(0.5)


def test_engine_runs_the_whole_pack(engine: VisionEngine) -> None:
    results = engine.analyse(_image("t1.jpg"))

    assert len(results) == 2
    for result in results:
        assert result.feature is not None and result.feature.shape == (EMBEDDING_DIM,)
        assert result.attributes is not None and result.attributes.gender is Gender.MALE


# -- registration ----------------------------------------------------------------------------


def test_registered_pack_loads_as_non_commercial(models_dir: Path) -> None:
    entries = register_pack(models_dir, models_dir / "buffalo_l")

    assert sorted(e.model_id for e in entries) == sorted(CHOICES.values())
    registry = ModelRegistry.load(models_dir)
    for role, model_id in CHOICES.items():
        entry = registry.get(model_id)
        assert entry.role is role
        assert entry.files[0].package is None
        assert entry.files[0].path.startswith("buffalo_l/")
        assert entry.source == "user-supplied pack models/buffalo_l/"
        assert entry == next(e for e in entries if e.model_id == model_id)

    engine = VisionEngine.load(registry, ROLES, choices=CHOICES)

    infos = engine.models()
    assert {i.model_id for i in infos} == set(CHOICES.values())
    for info in infos:
        assert info.commercial_use is False
        assert info.licence == INSIGHTFACE_LICENCE
    assert not [p for p in models_dir.iterdir() if p.suffix == ".tmp"]


def _local_models(models_dir: Path) -> list[dict[str, Any]]:
    data = tomllib.loads((models_dir / LOCAL_MANIFEST).read_text(encoding="utf-8"))
    assert data["version"] == 1
    models: list[dict[str, Any]] = data["model"]
    return models


def test_registering_again_replaces_the_pack_and_keeps_the_rest(models_dir: Path) -> None:
    foreign = (
        "version = 1\n\n[[model]]\n"
        'id = "sface"\nrole = "face_features"\nbackend = "sface"\n'
        'licence = "Apache-2.0"\ncommercial_use = true\nsource = "OpenCV Zoo \\"sface\\""\n'
        "options = { threshold = 0.363, note = 'kept' }\n\n[[model.file]]\n"
        'key = "onnx"\npath = "opencv_zoo/sface.onnx"\nsha256 = "' + "0" * 64 + '"\n'
    )
    (models_dir / LOCAL_MANIFEST).write_text(foreign, encoding="utf-8")
    write_pack(models_dir / "antelope")
    register_pack(models_dir, models_dir / "buffalo_l")
    register_pack(models_dir, models_dir / "antelope")
    text = (models_dir / LOCAL_MANIFEST).read_text(encoding="utf-8")
    (models_dir / LOCAL_MANIFEST).write_text(
        text.replace("threshold = 0.3 }", "threshold = 0.45 }", 1), encoding="utf-8"
    )
    (models_dir / "buffalo_l" / "genderage.onnx").unlink()

    entries = register_pack(models_dir, models_dir / "buffalo_l")

    assert sorted(e.model_id for e in entries) == ["buffalo_l-arcface", "buffalo_l-scrfd"]
    ids = sorted(m["id"] for m in _local_models(models_dir))
    assert ids == [
        "antelope-arcface",
        "antelope-genderage",
        "antelope-scrfd",
        "buffalo_l-arcface",
        "buffalo_l-scrfd",
        "sface",
    ]
    registry = ModelRegistry.load(models_dir)
    sface = registry.get("sface")
    assert sface.source == 'OpenCV Zoo "sface"'
    assert sface.options == {"threshold": 0.363, "note": "kept"}
    assert registry.get("buffalo_l-arcface").options == {"threshold": 0.45}


def test_a_pack_outside_models_dir_is_refused(models_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    write_pack(outside)

    with pytest.raises(ValueError, match="must be a folder inside"):
        register_pack(models_dir, outside)
    with pytest.raises(ValueError, match="must be a folder inside"):
        register_pack(models_dir, models_dir)


def test_a_folder_without_insightface_files_is_refused(models_dir: Path) -> None:
    empty = models_dir / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing here", encoding="utf-8")

    with pytest.raises(ValueError, match="No InsightFace model was found"):
        register_pack(models_dir, empty)
    assert not (models_dir / LOCAL_MANIFEST).exists()


# -- damaged files ---------------------------------------------------------------------------


def test_a_changed_file_is_refused_as_mismatch(models_dir: Path) -> None:
    register_pack(models_dir, models_dir / "buffalo_l")
    path = models_dir / "buffalo_l" / "w600k_r50.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stat = path.stat()
    path.write_bytes(bytes(data))
    # The hash cache is keyed by mtime; make sure the change is visible on coarse clocks.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    registry = ModelRegistry.load(models_dir)

    with pytest.raises(ModelError) as caught:
        registry.verified_paths(registry.get("buffalo_l-arcface"))

    assert caught.value.problem is ModelProblem.MISMATCH
    assert "w600k_r50.onnx" in str(caught.value)


@pytest.mark.parametrize(
    ("file_name", "role", "damage"),
    [
        ("det_10g.onnx", Role.FACE_DETECTION, "truncate"),
        ("genderage.onnx", Role.FACE_ATTRIBUTES, "garbage"),
    ],
)
def test_an_unloadable_file_is_refused_as_corrupt(
    models_dir: Path, file_name: str, role: Role, damage: str
) -> None:
    broken = models_dir / "broken"
    broken.mkdir()
    source = (models_dir / "buffalo_l" / file_name).read_bytes()
    data = source[: len(source) // 3] if damage == "truncate" else b"\x00garbage\xff" * 50
    (broken / file_name).write_bytes(data)
    (entry,) = register_pack(models_dir, broken)
    registry = ModelRegistry.load(models_dir)

    with pytest.raises(ModelError) as caught:
        VisionEngine.load(registry, [role], choices={role: entry.model_id})

    assert caught.value.problem is ModelProblem.CORRUPT
    assert file_name in str(caught.value)
