"""The framing guide at the counter (issue 17, point 6): "Requests from the public" shows the
chosen camera's live picture, masked, with the face area marked; never a raw frame."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pipeline import MaskedFrame
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec, demo_face_box, demo_frame
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.db import open_database
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import create_main_window
from desktopapp.ui.camera_tile import to_qimage
from desktopapp.ui.framing_guide import GUIDE_SIZE
from desktopapp.ui.public_requests import PublicRequestsDialog
from tests.test_notice import COMPLETE

pytestmark = pytest.mark.gui


def test_the_framing_guide_shows_the_masked_live_picture_with_the_face_area(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path)
    # The demo's picture stands in for the counter camera: it has a face now and then.
    workspace.save_camera(Camera("Counter", SourceSpec(SourceKind.DEMO, "demo")))
    workspace.close()
    db = open_database(tmp_path)
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))
    db.conn.close()
    window = create_main_window(qapp, tmp_path, session=Session("tanaka", Role.ADMIN))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: len(window.controller.workers) == 1, timeout=60_000)
    dialog = PublicRequestsDialog(
        window.workspace,
        window.session,
        window.settings.vision,
        window.cameras,
        window,
        frames=window.controller.frame_ready,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.guide.isVisible()
    assert "Waiting" in dialog.guide.status.text()
    seen: list[MaskedFrame] = []
    window.controller.frame_ready.connect(seen.append, Qt.ConnectionType.DirectConnection)
    qtbot.waitUntil(lambda: dialog.guide.face_seen, timeout=120_000)
    assert "A face is seen" in dialog.guide.status.text()
    frame = next(f for f in reversed(seen) if f.faces)
    # The guide paints the pipeline's masked frame: in the face box it differs from the source.
    box = demo_face_box(frame.index)
    assert box is not None
    x, y, w, h = (max(0, round(v)) for v in box)
    source = demo_frame(frame.index)
    inside = np.abs(frame.image[y : y + h, x : x + w].astype(int) - source[y : y + h, x : x + w])
    assert inside.mean() > 10
    painted = dialog.guide.picture.image
    assert painted is not None and painted.size() == GUIDE_SIZE
    latest = to_qimage(seen[-1].image).scaled(GUIDE_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio)
    earlier = [
        to_qimage(f.image).scaled(GUIDE_SIZE, Qt.AspectRatioMode.IgnoreAspectRatio)
        for f in seen[-5:]
    ]
    assert painted == latest or painted in earlier
    dialog.close()
    window.close()
