"""The camera tile says why repeat analysis is blocked after a change of the face features
model: an opt-out enrolled with another model would not be recognised (issue 16 point 7)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.requests import OPT_OUT_EXPIRY
from desktopapp.core.session import Session
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.visits import CUSTOMER, DO_NOT_TRACK
from desktopapp.core.workspace import Workspace
from desktopapp.ui.public_requests import PublicRequestsDialog
from tests.conftest import FACES
from tests.test_gui_cameras import Opener, _add_video_camera, open_window  # noqa: F401
from tests.test_notice import COMPLETE

pytestmark = pytest.mark.gui

OLD_MODEL = "pack-arcface-512"


def _held_with(data: Path, kind: str, visitor_id: str, model: str, dim: int) -> None:
    db = open_database(data)
    store = VisitStore(db, Cipher(load_key(data)))
    now = datetime.now(UTC)
    with db.conn:
        operator_id, store_id = store.ensure_operator_and_store("Op", "Shibuya", now)
        store.add_visitor(
            visitor_id,
            operator_id=operator_id,
            store_id=store_id,
            kind=kind,
            seen=now - timedelta(days=3),
            expires_at=OPT_OUT_EXPIRY,
        )
        store.replace_templates(visitor_id, model, [(1.0, np.ones(dim, np.float32))], now)
    db.conn.close()


def test_the_counter_says_how_many_records_of_another_model_were_not_searched(
    qtbot: QtBot, tmp_path: Path
) -> None:
    _held_with(tmp_path, CUSTOMER, "old-customer", OLD_MODEL, 512)
    workspace = Workspace(tmp_path, Settings())
    dialog = PublicRequestsDialog(workspace, Session("tanaka", Role.ADMIN), Settings().vision, [])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.search("file", FACES / "obama.jpg")
    qtbot.waitUntil(dialog.delete.isEnabled, timeout=120_000)
    assert dialog.table.rowCount() == 0
    text = dialog.message.text()
    assert "Nothing is held about this person." in text
    assert "1 other record(s) were made with an earlier face features model" in text
    workspace.close()


def test_a_camera_is_blocked_while_an_opt_out_of_another_model_exists(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _add_video_camera(tmp_path)
    db = open_database(tmp_path)
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))
    db.conn.close()
    _held_with(tmp_path, DO_NOT_TRACK, "old-opt-out", OLD_MODEL, 512)

    window = open_window(tmp_path)
    qtbot.waitUntil(lambda: window.camera_grid.tile_count == 1, timeout=30_000)
    tile = next(iter(window.camera_grid.tiles.values()))
    qtbot.waitUntil(lambda: bool(tile.blocked_reason), timeout=10_000)
    text = tile.blocked_reason
    assert "1 opt-out(s)" in text and OLD_MODEL in text and "dlib" in text
    assert "Switch the face features model back" in text
    assert tile.status_text() == "Not analysing"
    assert window.controller.workers == {}
    assert window.writer is None
