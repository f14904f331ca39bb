"""The Staff dialog and a repeated opt-out at the counter, on real faces and real models, driven
through the real widgets (issue 16.7). The captures run face detection on a worker thread, so
these tests run in a pytest process of their own, like the counter's request test
(docs/decisions.md, "The counter-request GUI test runs in a pytest process of its own")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera
from desktopapp.core.workspace import Workspace
from desktopapp.ui.public_requests import PublicRequestsDialog
from desktopapp.ui.staff_dialog import StaffDialog
from tests.conftest import FACES
from tests.isolation import only_in_own_process, run_alone
from tests.streams import MjpegServer
from tests.test_gui_operator import (  # noqa: F401 - fixtures
    ModalWatch,
    Opener,
    _audit_actions,
    _count,
    _set_up,
    modals,
    open_window,
)

pytestmark = pytest.mark.gui

EMPLOYEE = "biden.jpg"
ADMIN = Session("tanaka", Role.ADMIN)


@pytest.mark.parametrize(
    "name",
    [
        "test_staff_are_enrolled_from_a_camera_and_a_picture_and_removed",
        "test_a_second_opt_out_at_the_counter_joins_the_first",
    ],
)
def test_the_capture_tests_run_in_a_process_without_audit_hooks(tmp_path: Path, name: str) -> None:
    run_alone(__file__, name, tmp_path)


@pytest.fixture
def camera_of_the_employee() -> Iterator[str]:
    server = MjpegServer(FACES / EMPLOYEE, fps=10)
    server.start()
    yield server.url
    server.stop()


def test_staff_are_enrolled_from_a_camera_and_a_picture_and_removed(
    qtbot: QtBot,
    tmp_path: Path,
    camera_of_the_employee: str,
    modals: ModalWatch,  # noqa: F811
) -> None:
    only_in_own_process()
    _set_up(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    camera = workspace.save_camera(
        Camera(name="Back office", source=SourceSpec(SourceKind.HTTP, camera_of_the_employee))
    )
    dialog = StaffDialog(workspace, ADMIN, Settings().vision, [camera])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.source.currentData() == camera.camera_id
    # No enrolment without the employee's consent.
    assert not dialog.enrol.isEnabled()
    qtbot.mouseClick(dialog.consent, Qt.MouseButton.LeftButton)
    assert dialog.enrol.isEnabled()
    qtbot.mouseClick(dialog.enrol, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=180_000)
    assert "Enrolled as staff 1" in dialog.message.text()
    assert dialog.table.item(0, 0).text() == "Staff 1"
    assert dialog.table.item(0, 3).text() == "1"
    assert not dialog.consent.isChecked()  # each enrolment asks again
    # No picture anywhere in the dialog: text cells only.
    assert all(
        dialog.table.item(0, c).data(Qt.ItemDataRole.DecorationRole) is None for c in range(4)
    )
    # The same employee from a picture joins staff 1.
    qtbot.mouseClick(dialog.consent, Qt.MouseButton.LeftButton)
    dialog.source.setCurrentIndex(dialog.source.findData("file"))
    dialog.enrol_from("file", FACES / EMPLOYEE)  # the file chooser is the OS's
    qtbot.waitUntil(lambda: dialog.table.item(0, 3).text() == "2", timeout=120_000)
    assert "already as staff 1" in dialog.message.text()
    assert [m.number for m in workspace.staff()] == [1]

    modals.handle = lambda modal: (
        modal.button(QMessageBox.StandardButton.Yes).click()
        if isinstance(modal, QMessageBox)
        else None
    )
    dialog.table.selectRow(0)
    removed: list[bool] = []
    dialog.staff_changed.connect(lambda: removed.append(True))
    qtbot.mouseClick(dialog.remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(removed) and dialog.table.rowCount() == 0, timeout=30_000)
    assert "Staff 1 removed" in dialog.message.text()
    assert workspace.staff() == []
    workspace.close()
    assert _count(tmp_path, "SELECT COUNT(*) FROM template") == 0
    actions = _audit_actions(tmp_path)
    assert actions.count("staff.add") == 2 and actions.count("staff.remove") == 1


def test_the_staff_dialog_is_in_the_menu_for_administrators_only(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    modals: ModalWatch,  # noqa: F811
) -> None:
    _set_up(tmp_path)
    window = open_window(tmp_path)
    assert window.staff_action.isVisible() and window.staff_action.isEnabled()
    QTimer.singleShot(0, window.staff_action.trigger)
    qtbot.waitUntil(lambda: "StaffDialog" in modals.seen, timeout=10_000)
    window.close()
    viewer = open_window(tmp_path, Role.MANAGER)
    assert not viewer.staff_action.isVisible() and not viewer.staff_action.isEnabled()
    viewer.show_staff()  # the slot refuses when reached another way
    qtbot.wait(200)
    assert modals.seen == ["StaffDialog"]
    assert "may not" in viewer.statusBar().currentMessage()


def test_a_second_opt_out_at_the_counter_joins_the_first(
    qtbot: QtBot, tmp_path: Path, qapp: QApplication
) -> None:
    only_in_own_process()
    _set_up(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    dialog = PublicRequestsDialog(workspace, ADMIN, Settings().vision, [])
    qtbot.addWidget(dialog)
    dialog.show()
    changed: list[bool] = []
    dialog.records_changed.connect(lambda: changed.append(True))
    for attempt, picture in enumerate(["obama.jpg", "obama2.jpg"]):
        dialog.search("file", FACES / picture)
        qtbot.waitUntil(dialog.delete.isEnabled, timeout=180_000)
        if attempt:  # the counter sees the earlier opt-out and says so
            assert "opted out already" in dialog.message.text()
            assert dialog.table.item(0, 6).text() == "opted out (no records kept)"
            assert dialog.table.item(0, 5).text() == "until withdrawn"
        dialog.opt_out.setChecked(True)
        dialog.delete_held(opt_out=True)
        qtbot.waitUntil(lambda n=attempt + 1: len(changed) == n, timeout=60_000)
    assert "had opted out already" in dialog.message.text()
    workspace.close()
    assert _count(tmp_path, "SELECT COUNT(*) FROM visitor WHERE kind = 'dnt'") == 1
    assert _count(tmp_path, "SELECT COUNT(*) FROM template") == 2
