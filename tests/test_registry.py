"""The model manifest and the SHA-256 check (no model ever loads from an unverified file)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.registry import (
    MANIFEST,
    ModelError,
    ModelProblem,
    ModelRegistry,
    platform_tag,
)
from desktopapp.core.vision.types import Role
from tests.conftest import ROOT

TINY_MODEL = b"pretend weights\n"


def _write_manifest(models_dir: Path, sha256: str, path: str = "pack/weights.onnx") -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / MANIFEST).write_text(
        f"""version = 1
[[model]]
id = "tiny"
role = "face_features"
backend = "insightface_arcface"
default = true
licence = "test"
commercial_use = false
source = "made by the test"
[[model.file]]
key = "onnx"
path = "{path}"
sha256 = "{sha256}"
""",
        encoding="utf-8",
    )


def test_shipped_manifest_verifies_every_default_model(registry: ModelRegistry) -> None:
    for role in Role:
        entry = registry.default(role)
        assert entry.commercial_use, f"default {role} must allow commercial use"
        paths = registry.verified_paths(entry)
        assert all(p.is_file() for p in paths.values())
        assert (registry.models_dir / entry.notice).is_file(), "licence notice must ship"


def test_a_file_whose_hash_does_not_match_is_refused(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    _write_manifest(models_dir, "0" * 64)
    (models_dir / "pack").mkdir()
    weights = models_dir / "pack" / "weights.onnx"
    weights.write_bytes(TINY_MODEL)
    registry = ModelRegistry.load(models_dir)
    with pytest.raises(ModelError) as caught:
        registry.verified_paths(registry.get("tiny"))
    error = caught.value
    assert error.problem is ModelProblem.MISMATCH
    assert str(weights) in str(error)
    assert "SHA-256" in str(error)
    assert "Reinstall" in str(error), "the message must say what to do"
    assert "\n" not in str(error)


@pytest.mark.parametrize("model_id", ["yuface", "dlib-resnet128-onnx"])
def test_a_damaged_shipped_model_is_refused_before_loading(
    tmp_path: Path, registry: ModelRegistry, model_id: str
) -> None:
    """A copy of the real file (yuface's library, the converted ResNet) with one byte changed
    never reaches the loader."""
    entry = registry.get(model_id)
    spec = entry.files_for(platform_tag())[0]
    original = spec.locate(registry.models_dir)
    assert original is not None
    models_dir = tmp_path / "models"
    (models_dir / "copy").mkdir(parents=True)
    damaged = models_dir / "copy" / original.name
    shutil.copyfile(original, damaged)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    text = (registry.models_dir / MANIFEST).read_text(encoding="utf-8")
    shipped = f'path = "{spec.path}"'
    if spec.package is not None:
        shipped = f'package = "{spec.package}"\n{shipped}'
    assert text.count(shipped) == 1
    text = text.replace(shipped, f'path = "copy/{original.name}"')
    (models_dir / MANIFEST).write_text(text, encoding="utf-8")
    damaged_registry = ModelRegistry.load(models_dir)
    with pytest.raises(ModelError) as caught:
        load_backend(damaged_registry, damaged_registry.get(model_id))
    assert caught.value.problem is ModelProblem.MISMATCH
    assert str(damaged) in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    _write_manifest(models_dir, "0" * 64)
    registry = ModelRegistry.load(models_dir)
    with pytest.raises(ModelError) as caught:
        VisionEngine.load(registry, [Role.FACE_FEATURES])
    assert caught.value.problem is ModelProblem.MISSING
    assert "pack/weights.onnx" in str(caught.value).replace("\\", "/")


def test_a_missing_or_malformed_manifest_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        ModelRegistry.load(tmp_path)
    assert caught.value.problem is ModelProblem.MANIFEST
    (tmp_path / MANIFEST).write_text("version = 1\n[[model]]\nid = 'x'\n", encoding="utf-8")
    with pytest.raises(ModelError, match="manifest"):
        ModelRegistry.load(tmp_path)
    (tmp_path / MANIFEST).write_text("version = 99\n", encoding="utf-8")
    with pytest.raises(ModelError, match="malformed"):
        ModelRegistry.load(tmp_path)


def test_unknown_model_id(registry: ModelRegistry) -> None:
    with pytest.raises(ModelError) as caught:
        registry.get("no-such-model")
    assert caught.value.problem is ModelProblem.UNKNOWN


def test_files_are_chosen_by_platform(registry: ModelRegistry) -> None:
    entry = registry.get("yuface")
    linux = entry.files_for("linux-x86_64")
    windows = entry.files_for("windows-amd64")
    assert [f.path for f in linux] == ["libfacedetection.so"]
    assert [f.path for f in windows] == ["facedetection.dll"]


def test_a_mode_without_features_loads_no_embedder(registry: ModelRegistry) -> None:
    engine = VisionEngine.load(registry, [Role.FACE_DETECTION, Role.FACE_ATTRIBUTES])
    assert engine.embedder is None
    assert {m.role for m in engine.models()} == {Role.FACE_DETECTION, Role.FACE_ATTRIBUTES}


def test_the_non_commercial_68_point_model_is_never_referenced() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "shape_predictor_68", "--", "desktopapp", "models", "installer"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tracked.stdout == ""
    manifest = (ROOT / "models" / MANIFEST).read_text(encoding="utf-8")
    assert "68_face" not in manifest
