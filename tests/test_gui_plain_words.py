"""The audit log and the models dialog in plain words (issue 17, point 4), through the real
widgets: who, what and which record by a short reference; no JSON, UUIDs or microseconds; the
details on demand."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktopapp.core.config import Settings
from desktopapp.core.setup import FirstRunAnswers
from desktopapp.core.vision.status import ModelCheck, check_active_models
from desktopapp.core.vision.types import ModelInfo
from desktopapp.core.vision.types import Role as ModelRole
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import apply_language, remove_translations
from desktopapp.ui.audit_viewer import AuditViewer
from desktopapp.ui.model_status import ModelStatusPanel
from desktopapp.ui.models_dialog import ModelsDialog
from tests.test_gui_operator import PASSWORD, PROFILE

pytestmark = pytest.mark.gui

VISITOR = str(uuid.UUID("3f2a9c1b-0000-4000-8000-00000000abcd"))


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    opened = Workspace(tmp_path, Settings())
    opened.complete_first_run(FirstRunAnswers(PROFILE, "tanaka", PASSWORD))
    opened.record(
        "user:tanaka",
        "request.erase",
        {"visitor": VISITOR, "visits": 2, "templates": 3, "path_points": 40},
    )
    changed = Settings()
    changed.reports.min_group = 3
    opened.save_settings(changed, "cli:owner")
    yield opened
    opened.close()


@pytest.fixture
def language(qapp: QApplication) -> Iterator[object]:
    def use(code: str) -> None:
        settings = Settings()
        settings.ui.language = code  # type: ignore[assignment]
        apply_language(qapp, settings)

    yield use
    remove_translations(qapp)


def _rows(viewer: AuditViewer) -> list[list[str]]:
    table = viewer.table
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def _open(qtbot: QtBot, workspace: Workspace) -> AuditViewer:
    viewer = AuditViewer(workspace.audit_entries, workspace.verify_audit)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitUntil(lambda: viewer.table.rowCount() >= 4, timeout=10_000)
    return viewer


def test_the_audit_log_reads_in_plain_words_with_details_on_demand(
    qtbot: QtBot, workspace: Workspace
) -> None:
    viewer = _open(qtbot, workspace)
    rows = _rows(viewer)
    text = "\n".join(" | ".join(row) for row in rows)
    assert "{" not in text and '"' not in text, "no raw JSON"
    assert VISITOR not in text, "no full UUID"
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", text), "no microsecond stamps"
    erase = next(row for row in rows if row[2] == "Request: erasure")
    assert erase[1] == "tanaka"
    assert "visitor: #3f2a9c1b" in erase[3] and "feature records: 3" in erase[3]
    settings = next(row for row in rows if row[2] == "Settings changed")
    assert settings[1] == "owner (command line)"
    assert settings[3] == "changed: reports.min_group: 5 → 3"

    # Details on demand: click the row, then Details….
    row = rows.index(erase)
    rect = viewer.table.visualItemRect(viewer.table.item(row, 3))
    qtbot.mouseClick(viewer.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert viewer.details_button.isEnabled()
    shown: list[str] = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, read_and_close)
            return
        shown.append(box.text())
        box.accept()

    QTimer.singleShot(50, read_and_close)
    qtbot.mouseClick(viewer.details_button, Qt.MouseButton.LeftButton)
    assert shown and VISITOR in shown[0] and "request.erase" in shown[0]
    assert "path points: 40" in shown[0]

    # Staff type a name to see one person's entries.
    qtbot.keyClicks(viewer.actor, "tanaka")
    qtbot.mouseClick(viewer.apply, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: viewer.apply.isEnabled() and {r[1] for r in _rows(viewer)} == {"tanaka"},
        timeout=10_000,
    )


def test_the_audit_log_in_japanese(qtbot: QtBot, workspace: Workspace, language: object) -> None:
    language("ja")  # type: ignore[operator]
    viewer = _open(qtbot, workspace)
    erase = next(row for row in _rows(viewer) if "#3f2a9c1b" in row[3])
    assert erase[2] == "請求対応：削除"
    assert "来店者" in erase[3] and "visitor" not in erase[3]


def test_the_models_dialog_says_what_each_model_does_and_whether_a_shop_may_use_it(
    qtbot: QtBot,
) -> None:
    checks = check_active_models(Settings().vision)
    pack = ModelInfo("scrfd-arcface", ModelRole.FACE_FEATURES, "onnx", "non-commercial", False, "x")
    checks.append(ModelCheck(ModelRole.FACE_FEATURES, pack.model_id, pack))
    status = ModelStatusPanel()
    qtbot.addWidget(status)
    dialog = ModelsDialog(checks, status, status)
    table = dialog.table
    rows = [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]
    jobs = {row[0] for row in rows}
    assert "Finds faces, so that they are masked" in jobs
    assert "Turns a face into feature data to recognise returns" in jobs
    assert ["Finds faces, so that they are masked", "yuface", "Allowed", "BSD-3-Clause"] in rows
    assert rows[-1][2].startswith("Not allowed: non-commercial use only")
