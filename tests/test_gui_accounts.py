"""Accounts, stopping analysis, recovery and the purge's exclusions, driven through the real
widgets (issue 17.5, 16.7): every user changes their own password, an administrator unlocks a
locked account, a viewer cannot stop the analysis by closing the window, a damaged database is
recovered only after an administrator signs in, and the purge keeps opt-outs and staff unless
the operator ticks the box."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings
from desktopapp.core.modes import Mode
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.backup import list_backups
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.recovery import recovery_accounts
from desktopapp.core.store.users import LoginError
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import Gui, create_main_window, remove_translations
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.main_window import MainWindow
from desktopapp.ui.own_password import OwnPasswordDialog
from desktopapp.ui.purge_dialog import PurgeDialog
from desktopapp.ui.recovery import RecoveryDialog
from desktopapp.ui.settings_dialog import SettingsDialog
from tests.conftest import VIDEO
from tests.test_gui_operator import (  # noqa: F401 - fixtures
    PASSWORD,
    PROFILE,
    ModalWatch,
    Opener,
    _audit_actions,
    _count,
    _set_up,
    modals,
    open_window,
)

pytestmark = pytest.mark.gui

VIEWER_PASSWORD = "tenpo2026ab"
NEW_PASSWORD = "atarashii2027"


def _add_viewer(data_dir: Path) -> None:
    workspace = Workspace(data_dir, Settings())
    workspace.create_user("suzuki", VIEWER_PASSWORD, Role.VIEWER, "user:tanaka")
    workspace.close()


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


def _until() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


def _window(qapp: QApplication, qtbot: QtBot, data_dir: Path, session: Session) -> MainWindow:
    window = create_main_window(qapp, data_dir, session=session)
    qtbot.addWidget(window)
    window.show()
    return window


def _sign_in(qtbot: QtBot, dialog: LoginDialog, name: str, password: str) -> None:
    dialog.name_edit.clear()
    qtbot.keyClicks(dialog.name_edit, name)
    qtbot.keyClicks(dialog.password_edit, password)
    qtbot.mouseClick(dialog.sign_in, Qt.MouseButton.LeftButton)


# --- own password and unlocking ---------------------------------------------------------------


def test_a_viewer_changes_their_own_password_from_the_menu(
    qapp: QApplication,
    qtbot: QtBot,
    tmp_path: Path,
    modals: ModalWatch,  # noqa: F811
) -> None:
    _set_up(tmp_path)
    _add_viewer(tmp_path)
    window = _window(qapp, qtbot, tmp_path, Session("suzuki", Role.VIEWER))
    assert window.password_action.isVisible() and window.password_action.isEnabled()
    steps: list[str] = []

    def change(modal: QWidget) -> None:
        if not isinstance(modal, OwnPasswordDialog) or not modal.change.isEnabled():
            return
        if not steps:
            steps.append("wrong")
            qtbot.keyClicks(modal.current, "not-my-password1")
            qtbot.keyClicks(modal.first, NEW_PASSWORD)
            qtbot.keyClicks(modal.second, NEW_PASSWORD)
            qtbot.mouseClick(modal.change, Qt.MouseButton.LeftButton)
        elif steps == ["wrong"] and "wrong" in modal.message.text():
            steps.append("differ")
            qtbot.keyClicks(modal.current, VIEWER_PASSWORD)
            modal.second.clear()
            qtbot.keyClicks(modal.second, "something2else")
            qtbot.mouseClick(modal.change, Qt.MouseButton.LeftButton)
            assert "differ" in modal.message.text()
            modal.second.clear()
            qtbot.keyClicks(modal.second, NEW_PASSWORD)
            qtbot.mouseClick(modal.change, Qt.MouseButton.LeftButton)
            steps.append("sent")

    modals.handle = change
    QTimer.singleShot(0, window.password_action.trigger)
    qtbot.waitUntil(
        lambda: "password was changed" in window.statusBar().currentMessage(), timeout=30_000
    )
    assert steps == ["wrong", "differ", "sent"]
    assert window.workspace.authenticate("suzuki", NEW_PASSWORD).role is Role.VIEWER
    with pytest.raises(LoginError):
        window.workspace.authenticate("suzuki", VIEWER_PASSWORD)
    actions = _audit_actions(tmp_path)
    assert "user.password" in actions and "login.failed" in actions


def test_an_administrator_unlocks_a_locked_account_in_settings(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _set_up(tmp_path)
    _add_viewer(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    for _ in range(5):
        with pytest.raises(LoginError):
            workspace.authenticate("suzuki", "wrong-password-1")
    with pytest.raises(LoginError, match="locked"):
        workspace.authenticate("suzuki", VIEWER_PASSWORD)
    workspace.close()
    window = open_window(tmp_path)
    dialog = SettingsDialog(window.workspace, window.session, window)
    qtbot.addWidget(dialog)
    accounts = dialog.accounts_tab
    qtbot.waitUntil(lambda: accounts.table.rowCount() == 2, timeout=5000)
    row = [accounts.table.item(r, 0).text() for r in range(2)].index("suzuki")
    assert "locked" in accounts.table.item(row, 2).text()
    tanaka = 1 - row
    accounts.table.selectRow(tanaka)
    qtbot.mouseClick(accounts.unlock, Qt.MouseButton.LeftButton)
    assert "not locked" in accounts.message.text()
    accounts.table.selectRow(row)
    qtbot.mouseClick(accounts.unlock, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "unlocked" in accounts.message.text(), timeout=5000)
    qtbot.waitUntil(lambda: "locked" not in accounts.table.item(row, 2).text(), timeout=5000)
    assert window.workspace.authenticate("suzuki", VIEWER_PASSWORD).name == "suzuki"
    assert "user.unlock" in _audit_actions(tmp_path)


# --- stopping analysis ------------------------------------------------------------------------


@pytest.fixture
def analysing(tmp_path: Path, qapp: QApplication, qtbot: QtBot) -> Iterator[Path]:
    """A store whose notice counts passers-by (persons only) with one camera on a video."""
    _set_up(tmp_path, PROFILE.model_copy(update={"mode": Mode.PASSERBY}))
    _add_viewer(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    workspace.save_camera(
        Camera(name="Street", source=SourceSpec(SourceKind.FILE, str(VIDEO)), analysis_fps=2.0)
    )
    workspace.close()
    yield tmp_path
    remove_translations(qapp)


def test_a_viewer_closing_the_window_leaves_analysis_running(
    analysing: Path,
    qapp: QApplication,
    qtbot: QtBot,
    modals: ModalWatch,  # noqa: F811
) -> None:
    window = _window(qapp, qtbot, analysing, Session("suzuki", Role.VIEWER))
    qtbot.waitUntil(lambda: bool(window.controller.workers), timeout=60_000)
    attempts: list[str] = []

    def answer(modal: QWidget) -> None:
        if isinstance(modal, QMessageBox):
            attempts.append("refused")
            modal.accept()
        elif isinstance(modal, LoginDialog) and modal.sign_in.isEnabled():
            if not attempts:
                attempts.append("cancel")
                modal.reject()
            elif attempts == ["cancel"]:
                attempts.append("viewer")
                _sign_in(qtbot, modal, "suzuki", VIEWER_PASSWORD)
            elif attempts == ["cancel", "viewer", "refused"]:
                attempts.append("admin")
                _sign_in(qtbot, modal, "tanaka", PASSWORD)

    modals.handle = answer
    window.quit_action.trigger()  # cancelled: the window stays, the camera keeps analysing
    assert attempts == ["cancel"] and window.isVisible() and window.controller.workers
    window.quit_action.trigger()  # a viewer's sign-in does not stop it either
    assert attempts == ["cancel", "viewer", "refused"]
    assert window.isVisible() and window.controller.workers
    window.quit_action.trigger()  # an administrator's does
    assert attempts[-1] == "admin"
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert not window.controller.workers
    workspace = Workspace(analysing, Settings())
    [entry] = workspace.audit_entries(_since(), _until(), None, "analysis.stop")
    workspace.close()
    assert entry.actor == "user:tanaka" and entry.details["for"] == "user:suzuki"


def test_a_manager_quits_without_being_asked(
    analysing: Path,
    qapp: QApplication,
    qtbot: QtBot,
    modals: ModalWatch,  # noqa: F811
) -> None:
    window = _window(qapp, qtbot, analysing, Session("tanaka", Role.MANAGER))
    qtbot.waitUntil(lambda: bool(window.controller.workers), timeout=60_000)
    window.quit_action.trigger()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert modals.seen == []


# --- recovery from a damaged database ---------------------------------------------------------


def _damaged_with_a_backup(data_dir: Path) -> None:
    """An admin, a viewer and a backup; then the file's header is destroyed."""
    _set_up(data_dir)
    _add_viewer(data_dir)
    workspace = Workspace(data_dir, Settings())
    workspace.run_retention()  # takes the first backup
    workspace.close()
    assert list_backups(data_dir)
    path = data_dir / "raiten.db"
    data = bytearray(path.read_bytes())
    data[:100] = np.random.default_rng(7).integers(0, 256, 100, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def test_recovery_accounts_come_from_the_file_or_the_newest_backup(tmp_path: Path) -> None:
    _set_up(tmp_path)
    readable = recovery_accounts(tmp_path, Cipher(load_key(tmp_path)))
    assert readable.needs_sign_in and readable.source == "raiten.db"
    assert readable.authenticate("tanaka", PASSWORD).role is Role.ADMIN

    damaged = tmp_path / "damaged-store"
    _damaged_with_a_backup(damaged)
    from_backup = recovery_accounts(damaged, Cipher(load_key(damaged)))
    assert from_backup.source.endswith(".rbak")
    assert from_backup.authenticate("suzuki", VIEWER_PASSWORD).role is Role.VIEWER
    for _ in range(5):  # the lock-out holds in the scratch copy too
        with pytest.raises(LoginError):
            from_backup.authenticate("tanaka", "wrong-password-1")
    with pytest.raises(LoginError, match="locked"):
        from_backup.authenticate("tanaka", PASSWORD)
    # Nothing readable and no backup: nobody can be asked.
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "raiten.db").write_bytes(b"\0" * 4096)
    assert not recovery_accounts(nothing, None).needs_sign_in


def test_recovery_needs_an_administrators_sign_in(
    tmp_path: Path, qapp: QApplication, qtbot: QtBot
) -> None:
    _damaged_with_a_backup(tmp_path)
    steps: list[str] = []
    watch = ModalWatch()

    def handle(modal: QWidget) -> None:
        if isinstance(modal, RecoveryDialog):
            if steps in ([], ["viewer", "refused"], ["viewer", "refused", "wrong"]):
                steps.append("start empty")
                qtbot.mouseClick(modal.empty_button, Qt.MouseButton.LeftButton)
        elif isinstance(modal, QMessageBox):
            steps.append("refused")
            modal.accept()
        elif isinstance(modal, LoginDialog) and modal.objectName() == "recovery-sign-in":
            if not modal.sign_in.isEnabled():
                return
            if steps == ["start empty"]:
                steps[-1:] = ["viewer"]
                _sign_in(qtbot, modal, "suzuki", VIEWER_PASSWORD)
            elif steps == ["viewer", "refused", "start empty"]:
                steps[-1:] = ["wrong"]
                _sign_in(qtbot, modal, "tanaka", "not-the-password1")
            elif steps[-1] == "wrong" and "wrong" in modal.message.text():
                steps.append("admin")
                modal.password_edit.clear()
                _sign_in(qtbot, modal, "tanaka", PASSWORD)
        elif hasattr(modal, "reject"):
            steps.append(type(modal).__name__)
            modal.reject()  # the first-run wizard of the new, empty database

    watch.handle = handle
    try:
        assert not Gui(qapp, tmp_path).start()
    finally:
        watch.stop()
    assert steps[:4] == ["viewer", "refused", "wrong", "admin"], steps
    assert "FirstRunWizard" in steps
    assert len(list((tmp_path / "damaged").iterdir())) == 1
    db = open_database(tmp_path)
    [row] = db.execute("SELECT actor FROM audit WHERE action = 'database.start_empty'").fetchall()
    db.conn.close()
    assert row[0] == "user:tanaka"


# --- purge ------------------------------------------------------------------------------------


def _opt_out_and_staff(data_dir: Path) -> None:
    db = open_database(data_dir)
    store = VisitStore(db, Cipher(load_key(data_dir)))
    rng = np.random.default_rng(3)
    with db.conn:
        operator_id, store_id = store.ensure_operator_and_store("Op", PROFILE.store, _since())
        for visitor_id, kind in (("opt", "dnt"), ("emp", "staff"), ("cust", "customer")):
            store.add_visitor(
                visitor_id,
                operator_id=operator_id,
                store_id=store_id,
                kind=kind,
                seen=_since(),
                expires_at=_until() + timedelta(days=3650),
            )
            vector = rng.normal(size=128).astype(np.float32)
            store.replace_templates(
                visitor_id, "m", [(1.0, vector / np.linalg.norm(vector))], _since()
            )
        db.conn.execute(
            "INSERT INTO staff_consent VALUES "
            "('emp', 1, '2026-11-01', '2026-11-01T00:00:00+00:00', 'user:tanaka')"
        )
    db.conn.close()


@pytest.mark.parametrize("include", [False, True])
def test_the_purge_keeps_opt_outs_and_staff_unless_ticked(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    modals: ModalWatch,  # noqa: F811
    include: bool,
) -> None:
    _set_up(tmp_path)
    _opt_out_and_staff(tmp_path)
    window = open_window(tmp_path)
    dialogs: list[PurgeDialog] = []

    def purge(modal: QWidget) -> None:
        if isinstance(modal, PurgeDialog) and modal.result_counts is not None:
            modal.reject()
        elif isinstance(modal, PurgeDialog) and not dialogs:
            dialogs.append(modal)
            assert "Opt-outs and enrolled staff stay too" in modal.explanation.text()
            assert not modal.include_exclusions.isChecked()
            if include:
                qtbot.mouseClick(modal.include_exclusions, Qt.MouseButton.LeftButton)
            qtbot.keyClicks(modal.confirmation, modal.word)
            qtbot.mouseClick(modal.purge_button, Qt.MouseButton.LeftButton)

    modals.handle = purge
    QTimer.singleShot(0, window.purge_action.trigger)
    qtbot.waitUntil(lambda: bool(dialogs) and dialogs[0].result_counts is not None, timeout=30_000)
    result = dialogs[0].result_counts
    assert result is not None
    kinds = {row[0] for row in open_database(tmp_path).execute("SELECT kind FROM visitor")}
    if include:
        assert kinds == set() and result.exclusions_kept == 0
    else:
        assert kinds == {"dnt", "staff"} and result.exclusions_kept == 2
        assert "kept: 2" in dialogs[0].message.text()
    db = open_database(tmp_path)
    [details] = [
        row[0] for row in db.execute("SELECT details_json FROM audit WHERE action = 'purge'")
    ]
    db.conn.close()
    assert f'"include_exclusions":{str(include).lower()}' in details.replace(" ", "")
