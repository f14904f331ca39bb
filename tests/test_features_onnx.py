"""dlib's ResNet converted to ONNX gives dlib's vectors, so dlib-resnet128's calibration holds."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from desktopapp.core.calibration import labelled_photos, photo_face
from desktopapp.core.vision.engine import VisionEngine, load_backend
from desktopapp.core.vision.features import DlibEmbedder, OnnxResNetEmbedder
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Role
from tests.conftest import ROOT, TESTDATA

FACES_CALIB = TESTDATA / "faces-calib"
needs_calib = pytest.mark.skipif(not FACES_CALIB.is_dir(), reason="faces-calib not present")


def _converter() -> ModuleType:
    path = ROOT / "models" / "tools" / "convert_dlib_resnet.py"
    spec = importlib.util.spec_from_file_location("convert_dlib_resnet", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses resolve their annotations through sys.modules.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_the_default_features_model_is_the_onnx_conversion_with_dlibs_calibration(
    registry: ModelRegistry,
) -> None:
    onnx_entry = registry.default(Role.FACE_FEATURES)
    dlib_entry = registry.get("dlib-resnet128")
    assert onnx_entry.model_id == "dlib-resnet128-onnx"
    assert not dlib_entry.default, "dlib's own runtime stays as the alternative"
    # The default averages each face's vector with its mirror image's, calibrated on its own.
    assert onnx_entry.options["mirrored"] is True and "mirrored" not in dlib_entry.options
    assert {k: v for k, v in onnx_entry.options.items() if k != "mirrored"}.keys() == (
        dlib_entry.options.keys()
    )
    assert onnx_entry.licence == dlib_entry.licence == "CC0-1.0"
    assert onnx_entry.commercial_use
    landmarks = {f.key: f for f in onnx_entry.files}["landmarks5"]
    assert landmarks == {f.key: f for f in dlib_entry.files}["landmarks5"]


def test_converting_the_dlib_file_again_gives_the_committed_onnx_file(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    """The conversion is deterministic, so the manifest's hash can be checked by anyone."""
    converter = _converter()
    dat = registry.verified_paths(registry.get("dlib-resnet128"))["recognition"]
    output = tmp_path / "converted.onnx"
    assert converter.main(["--dat", str(dat), "--output", str(output)]) == 0
    spec = {f.key: f for f in registry.get("dlib-resnet128-onnx").files}["onnx"]
    assert hashlib.sha256(output.read_bytes()).hexdigest() == spec.sha256


def test_the_converter_refuses_a_file_that_is_not_the_network(tmp_path: Path) -> None:
    converter = _converter()
    bogus = tmp_path / "other.dat"
    bogus.write_bytes(b"\x01\x01\x01\x0dloss_multiclass_log_")
    output = tmp_path / "out.onnx"
    assert converter.main(["--dat", str(bogus), "--output", str(output)]) == 2
    assert not output.exists()


@pytest.fixture(scope="module")
def embedders(registry: ModelRegistry) -> tuple[DlibEmbedder, OnnxResNetEmbedder]:
    dlib_embedder = load_backend(registry, registry.get("dlib-resnet128"))
    onnx_embedder = load_backend(registry, registry.get("dlib-resnet128-onnx"))
    assert isinstance(dlib_embedder, DlibEmbedder)
    assert isinstance(onnx_embedder, OnnxResNetEmbedder)
    # The conversion is compared chip for chip (the mirror is test_mirrored_vectors_...).
    onnx_embedder.mirrored = False
    return dlib_embedder, onnx_embedder


@needs_calib
def test_onnx_vectors_equal_dlibs_on_real_faces(
    engine: VisionEngine, embedders: tuple[DlibEmbedder, OnnxResNetEmbedder]
) -> None:
    """Two photos each of five people: the same vector from both (cosine >= 0.9999), so every
    decision at a threshold is the same."""
    dlib_embedder, onnx_embedder = embedders
    assert engine.detector is not None
    photos = labelled_photos(FACES_CALIB)
    people = sorted({p.identity for p in photos})[::11][:5]
    chosen = [p for person in people for p in [q for q in photos if q.identity == person][:2]]
    assert len(chosen) == 10
    pairs = []
    for photo in chosen:
        found = photo_face(engine.detector, photo.path)
        assert found is not None, photo.path
        ours, theirs = onnx_embedder.embed(*found), dlib_embedder.embed(*found)
        assert ours.dtype == np.float32 and ours.shape == (128,)
        assert float(np.linalg.norm(ours)) == pytest.approx(1.0, abs=1e-6)
        assert float(ours @ theirs) >= 0.9999, photo.path
        pairs.append((ours, theirs))
    for (a_ours, a_theirs), (b_ours, b_theirs) in itertools.pairwise(pairs):
        assert float(a_ours @ b_ours) == pytest.approx(float(a_theirs @ b_theirs), abs=1e-4)


@needs_calib
def test_the_comparison_benchmark_reports_equal_vectors_and_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """bench/features_onnx.py on three people of faces-calib (test input copied in)."""
    from bench import features_onnx  # noqa: PLC0415 - the benchmark loads every model

    folder = tmp_path / "people"
    for person in sorted({p.identity for p in labelled_photos(FACES_CALIB)})[:3]:
        shutil.copytree(FACES_CALIB / person, folder / person)
    assert features_onnx.main(["--folder", str(folder), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["faces"] == len(labelled_photos(folder))
    assert result["cosine"]["min"] >= 0.9999
    assert result["pairs_decided_differently"] == 0
    dlib_side, onnx_side = (
        result["decisions"][m] for m in ("dlib-resnet128", "dlib-resnet128-onnx")
    )
    assert dlib_side == onnx_side and dlib_side["genuine_pairs"] > 0
    steps = result["cpu_ms_per_face"]
    assert set(steps) == {"dlib-resnet128", "dlib-resnet128-onnx", "landmarks", "chip", "net"}
    assert all(s["mean"] >= 0.0 for s in steps.values())
    assert features_onnx.main(["--folder", str(tmp_path / "absent")]) == 2
    assert "no such folder" in capsys.readouterr().err


@needs_calib
def test_mirrored_vectors_miss_fewer_people_for_no_more_false_matches(
    engine: VisionEngine, registry: ModelRegistry
) -> None:
    """Every photo of faces-calib, plain chips against the default's chip-and-mirror mean:
    at thresholds that let exactly 9 impostor pairs match for each, the mirrored vectors miss
    fewer genuine pairs."""
    assert engine.detector is not None
    mirrored = load_backend(registry, registry.get("dlib-resnet128-onnx"), threads=1)
    assert isinstance(mirrored, OnnxResNetEmbedder) and mirrored.mirrored
    identities, plain_vectors, mirrored_vectors = [], [], []
    for photo in labelled_photos(FACES_CALIB):
        found = photo_face(engine.detector, photo.path)
        if found is None:
            continue
        identities.append(photo.identity)
        mirrored_vectors.append(mirrored.embed(*found))
        mirrored.mirrored = False
        plain_vectors.append(mirrored.embed(*found))
        mirrored.mirrored = True
    labels = np.array(identities)
    same = labels[:, None] == labels[None, :]
    upper = np.triu_indices(len(labels), 1)

    def missed_at_nine_false_matches(vectors: list[np.ndarray]) -> float:
        matrix = np.asarray(vectors) @ np.asarray(vectors).T
        genuine, impostor = matrix[upper][same[upper]], matrix[upper][~same[upper]]
        threshold = float(np.sort(impostor)[-10]) + 1e-6
        assert int(np.count_nonzero(impostor >= threshold)) == 9
        return float(np.mean(genuine < threshold))

    missed = missed_at_nine_false_matches(mirrored_vectors)
    plain_missed = missed_at_nine_false_matches(plain_vectors)
    assert missed < plain_missed - 0.05, (missed, plain_missed)
    cosines = np.sum(np.asarray(plain_vectors) * np.asarray(mirrored_vectors), axis=1)
    assert float(cosines.min()) >= 0.98
