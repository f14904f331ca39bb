"""Database faults on real files: a damaged file at start-up (restore the encrypted daily backup
or start empty), backups that forget what retention, purge and erasure delete, a file locked by
another process, a read-only and a full disk, a process killed mid-transaction or mid-backup.
No committed record is ever lost, and every fault is said in the operator's language."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from desktopapp.cli import main
from desktopapp.core.access import Role
from desktopapp.core.config import Settings, save_settings
from desktopapp.core.session import Session
from desktopapp.core.store import backup as backups
from desktopapp.core.store import db as store_db
from desktopapp.core.store.backup import list_backups, restore_backup
from desktopapp.core.store.crypto import KEY_FILE, Cipher, load_key
from desktopapp.core.store.db import DB_FILE, StoreError, StoreProblem, open_database
from desktopapp.core.store.writer import StoreWriter
from desktopapp.core.visits import VisitRecorder
from desktopapp.core.workspace import Workspace, WorkspaceClosedError
from desktopapp.ui.app import Gui, create_main_window, remove_translations
from desktopapp.ui.error_texts import ErrorTexts
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.recovery import RecoveryDialog
from desktopapp.ui.workers import run_in_background
from tests.conftest import ROOT
from tests.reliability.conftest import PASSWORD, PROFILE, Mount, set_up, set_up_in_japanese
from tests.streams import wait_for
from tests.test_gui_operator import ModalWatch
from tests.test_repeat_analysis import BASE, _event, _recorder

pytestmark = pytest.mark.timeout(120)


def _record(data_dir: Path, count: int, first: int = 0) -> list[str]:
    """``count`` visits of new visitors, committed one by one; their visitor ids."""
    recorder = _recorder(data_dir)
    rng = np.random.default_rng(first)
    try:
        ids = []
        for i in range(first, first + count):
            outcome = recorder.record(_event(rng.normal(size=128), i * 1000.0, i * 1000.0 + 5))
            assert outcome.visitor_id is not None
            ids.append(outcome.visitor_id)
        return ids
    finally:
        recorder.store.db.conn.close()


def _count(data_dir: Path, sql: str = "SELECT COUNT(*) FROM visit") -> int:
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _integrity(data_dir: Path) -> str:
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _damage(data_dir: Path, how: str) -> None:
    path = data_dir / DB_FILE
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(7)
    if how == "header":
        data[:100] = rng.integers(0, 256, 100, dtype=np.uint8).tobytes()
    else:  # a few pages in the middle: the file still opens; the check finds it
        data[4096 * 3 : 4096 * 6] = rng.integers(0, 256, 4096 * 3, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))


def _texts(japanese: bool, qapp: QApplication) -> Iterator[ErrorTexts]:
    """ErrorTexts with or without the Japanese translation installed."""
    from desktopapp.ui.i18n import install_translator  # noqa: PLC0415

    translators = install_translator(qapp, "ja") if japanese else []
    try:
        yield ErrorTexts()
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)


# --- a damaged file at start-up ------------------------------------------------------------


@pytest.mark.parametrize("how", ["header", "pages"])
def test_a_damaged_file_is_found_at_start_and_named(
    tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    set_up(tmp_path)
    _record(tmp_path, 3)
    _damage(tmp_path, how)
    with pytest.raises(StoreError) as caught:
        Workspace(tmp_path, Settings())
    assert caught.value.problem is StoreProblem.CORRUPT
    assert str(tmp_path / DB_FILE) in str(caught.value)
    if how == "header":
        # A command that opens the file names it in one line and exits 1, no traceback.
        assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 1
        err = capsys.readouterr().err.strip()
        assert "is damaged" in err and len(err.splitlines()) == 1


def test_backups_are_daily_encrypted_and_the_last_seven_kept(tmp_path: Path) -> None:
    set_up(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    start = datetime.now(UTC)
    try:
        for day in range(9):
            workspace.run_retention(start + timedelta(days=day))
            workspace.run_retention(start + timedelta(days=day, hours=1))  # hourly: no new one
            assert len(list_backups(tmp_path)) == min(day + 1, backups.KEEP)
    finally:
        workspace.close()
    taken = [b.taken_at for b in list_backups(tmp_path)]
    assert taken == sorted(taken, reverse=True)
    assert taken[0] == start + timedelta(days=8)
    for backup in list_backups(tmp_path):
        raw = backup.path.read_bytes()
        # Nothing of the database is readable without the key: no SQLite header, no name.
        assert b"SQLite format 3" not in raw
        assert PROFILE.operator.encode() not in raw and b"tanaka" not in raw


def test_a_restore_brings_back_the_backup_and_damaged_backups_are_refused(tmp_path: Path) -> None:
    set_up(tmp_path)
    _record(tmp_path, 4)
    workspace = Workspace(tmp_path, Settings())
    workspace.run_retention(BASE + timedelta(days=1))
    workspace.close()
    _record(tmp_path, 2, first=10)
    assert _count(tmp_path) == 6
    backup = list_backups(tmp_path)[0]
    cipher = Cipher(load_key(tmp_path))

    good = backup.path.read_bytes()
    damaged = {
        "tampered": good[:5000] + bytes([good[5000] ^ 1]) + good[5001:],
        "cut short": good[: len(good) // 2],
        "another key": b"",
    }
    for kind, altered in damaged.items():
        content = altered
        if kind == "another key":
            other = tmp_path / "other"
            other.mkdir()
            os.replace(backup.path, backup.path.with_suffix(".keep"))
            shutil.copy(tmp_path / DB_FILE, other / DB_FILE)
            # Another data folder's key (load_key refuses to make one beside this ciphertext).
            foreign = backups.create_backup(
                open_database(other), tmp_path, Cipher(os.urandom(32)), BASE
            )
            content = foreign.path.read_bytes()
            foreign.path.unlink()
            os.replace(backup.path.with_suffix(".keep"), backup.path)
        backup.path.write_bytes(content)
        with pytest.raises(StoreError, match="damaged or was made with another data key"):
            restore_backup(tmp_path, backup, cipher, BASE)
        assert _count(tmp_path) == 6, f"a {kind} backup changed the database"
        assert not (tmp_path / "damaged").exists()

    backup.path.write_bytes(good)
    aside = restore_backup(tmp_path, backup, cipher, BASE + timedelta(days=2))
    assert _count(tmp_path) == 4
    assert aside is not None and (aside / DB_FILE).is_file()
    assert _integrity(tmp_path) == "ok"
    assert not list(tmp_path.glob(".raiten-restore*")), "no decrypted copy is left behind"


@pytest.fixture
def gui_app(qapp: QApplication) -> Iterator[QApplication]:
    yield qapp
    remove_translations(qapp)


@pytest.mark.gui
def test_the_gui_offers_the_backup_of_a_day_and_restores_it(
    qtbot: QtBot, gui_app: QApplication, tmp_path: Path
) -> None:
    settings = set_up_in_japanese(tmp_path)
    _record(tmp_path, 4)
    workspace = Workspace(tmp_path, settings)
    workspace.run_retention(BASE + timedelta(days=1))
    workspace.close()
    _record(tmp_path, 2, first=10)  # after the backup: lost by the restore, as the dialog says
    _damage(tmp_path, "pages")

    seen: list[str] = []
    watch = ModalWatch()

    def handle(modal: QWidget) -> None:
        if isinstance(modal, RecoveryDialog):
            problem = modal.findChild(QWidget, "recovery-problem")
            seen.append(problem.text())  # type: ignore[attr-defined]
            seen.append(modal.restore_button.text())
            modal.restore_button.click()
        elif isinstance(modal, LoginDialog) and modal.objectName() == "recovery-sign-in":
            if modal.sign_in.isEnabled() and not modal.password_edit.text():
                modal.name_edit.setText("tanaka")  # an administrator authorises the restore
                modal.password_edit.setText(PASSWORD)
                modal.sign_in.click()
        elif hasattr(modal, "reject"):
            modal.reject()  # the sign-in that follows

    watch.handle = handle
    try:
        assert not Gui(gui_app, tmp_path).start()  # the sign-in was cancelled
    finally:
        watch.stop()
    assert watch.seen[:2] == ["RecoveryDialog", "LoginDialog"]
    assert "破損" in seen[0], seen  # "The database … is damaged." in Japanese
    assert seen[1].startswith("バックアップ") and "2026-11-0" in seen[1], seen
    assert _count(tmp_path) == 4
    assert _integrity(tmp_path) == "ok"
    assert len(list((tmp_path / "damaged").iterdir())) == 1
    actions = _count(tmp_path, "SELECT COUNT(*) FROM audit WHERE action = 'database.restore'")
    assert actions == 1


@pytest.mark.gui
def test_starting_empty_keeps_the_damaged_file_aside(
    qtbot: QtBot, gui_app: QApplication, tmp_path: Path
) -> None:
    set_up(tmp_path)
    _record(tmp_path, 2)
    _damage(tmp_path, "header")
    damaged = (tmp_path / DB_FILE).read_bytes()
    watch = ModalWatch()
    buttons: list[bool] = []

    def handle(modal: QWidget) -> None:
        if isinstance(modal, RecoveryDialog):
            buttons.append(modal.restore_button.isVisible())
            modal.empty_button.click()
        elif hasattr(modal, "reject"):
            modal.reject()  # the first-run wizard of the new, empty database

    watch.handle = handle
    try:
        assert not Gui(gui_app, tmp_path).start()
    finally:
        watch.stop()
    assert watch.seen[:2] == ["RecoveryDialog", "FirstRunWizard"]
    assert buttons == [False], "no backup: no restore offered"
    (aside,) = (tmp_path / "damaged").iterdir()
    assert (aside / DB_FILE).read_bytes() == damaged
    assert _integrity(tmp_path) == "ok" and _count(tmp_path) == 0


def test_the_command_line_lists_and_restores_backups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_up(tmp_path)
    _record(tmp_path, 3)
    assert main(["backup", "create", "--data-dir", str(tmp_path)]) == 0
    assert main(["backup", "list", "--json", "--data-dir", str(tmp_path)]) == 0
    assert '"backups": [{"name": "raiten-' in capsys.readouterr().out
    _damage(tmp_path, "pages")
    assert main(["backup", "restore", "latest", "--data-dir", str(tmp_path)]) == 2  # no --yes
    assert main(["backup", "restore", "latest", "--yes", "--data-dir", str(tmp_path)]) == 0
    assert main(["audit", "verify", "--data-dir", str(tmp_path)]) == 0
    assert _count(tmp_path) == 3


# --- backups forget what is deleted --------------------------------------------------------


def _visitors_in(backup: backups.Backup, key_dir: Path, scratch: Path) -> set[str]:
    """The visitor ids a backup holds, read from a restored copy in ``scratch``."""
    scratch.mkdir()
    shutil.copy(key_dir / KEY_FILE, scratch / KEY_FILE)
    restore_backup(scratch, backup, Cipher(load_key(scratch)), BASE)
    conn = sqlite3.connect(scratch / DB_FILE)
    try:
        return {row[0] for row in conn.execute("SELECT id FROM visitor")}
    finally:
        conn.close()


@pytest.mark.parametrize("deletion", ["retention", "purge", "erasure"])
def test_backups_forget_what_retention_purge_and_erasure_delete(
    tmp_path: Path, deletion: str
) -> None:
    data = tmp_path / "data"
    set_up(data)
    visitors = _record(data, 3)  # they expire 30 days after BASE
    workspace = Workspace(data, Settings())
    try:
        workspace.run_retention(BASE + timedelta(days=1))
        (before,) = list_backups(data)
        assert _visitors_in(before, data, tmp_path / "before") == set(visitors)
        # A damaged file set aside at an earlier restore holds the same people.
        aside = data / "damaged" / "20261101T000000000000Z"
        aside.mkdir(parents=True)
        shutil.copy(data / DB_FILE, aside / DB_FILE)
        if deletion == "retention":
            workspace.run_retention(BASE + timedelta(days=31))
            gone = set(visitors)
        elif deletion == "purge":
            workspace.purge(keep_statistics=True, progress=lambda _f: None, actor="test")
            gone = set(visitors)
        else:
            workspace.erase_held(visitors[0], actor="test")
            gone = {visitors[0]}
        assert workspace.backup_problem is None
    finally:
        workspace.close()
    (after,) = list_backups(data)
    assert after.path != before.path and not before.path.exists()
    assert not (data / "damaged").exists() or not any((data / "damaged").iterdir())
    assert _visitors_in(after, data, tmp_path / "after") == set(visitors) - gone


# --- a file locked by another process ------------------------------------------------------

HOLD_LOCK = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    if sys.argv[2] == "exclusive":
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO setting (key, value_json) VALUES ('held', '1')")
    print("locked", flush=True)
    time.sleep(120)
    """
)


def _hold_lock(data_dir: Path, how: str) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(data_dir / DB_FILE), how],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def _release(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    if child.stdout is not None:
        child.stdout.close()


def test_a_database_locked_by_another_program_is_named_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: QApplication
) -> None:
    set_up(tmp_path)
    _record(tmp_path, 2)
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.3)
    child = _hold_lock(tmp_path, "exclusive")
    try:
        with pytest.raises(StoreError) as caught:
            Workspace(tmp_path, Settings())
    finally:
        _release(child)
    assert caught.value.problem is StoreProblem.LOCKED
    for japanese, words in ((False, "in use by another program"), (True, "別のプログラム")):
        for texts in _texts(japanese, qapp):
            assert words in texts.error(caught.value)
    workspace = Workspace(tmp_path, Settings())  # once released, all is there
    workspace.close()
    assert _count(tmp_path) == 2


def _writer(data_dir: Path) -> StoreWriter[VisitRecorder]:
    writer = StoreWriter(
        lambda: _recorder(data_dir), retry_initial=0.1, retry_max=0.5, path=data_dir / DB_FILE
    )
    writer.ready(timeout=30)
    return writer


def _submit(writer: StoreWriter[VisitRecorder], first: int, count: int) -> None:
    rng = np.random.default_rng(first)
    for i in range(first, first + count):
        event = _event(rng.normal(size=128), i * 1000.0, i * 1000.0 + 5)
        writer.submit(lambda recorder, e=event: recorder.record(e))


def test_visits_wait_out_a_lock_held_by_another_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", 0.2)
    writer = _writer(tmp_path)
    _submit(writer, 0, 3)
    assert wait_for(lambda: _count(tmp_path) == 3, 30)
    child = _hold_lock(tmp_path, "write")
    try:
        _submit(writer, 10, 5)
        assert wait_for(lambda: writer.health().problem is not None, 30)
        health = writer.health()
        assert health.problem is not None and health.problem.problem is StoreProblem.LOCKED
        assert health.pending == 5 and health.dropped == 0
    finally:
        _release(child)
    assert wait_for(lambda: writer.health().pending == 0, 30)
    writer.close()
    assert writer.health() == type(writer.health())(None, 0, 0)
    assert _count(tmp_path) == 8, "every visit seen during the lock was recorded"


# --- read-only and full disks (real tmpfs mounts) ------------------------------------------


@pytest.mark.gui
def test_a_read_only_disk_is_named_at_start(
    small_disk: Mount, qtbot: QtBot, gui_app: QApplication
) -> None:
    data = small_disk.path / "data"
    set_up(data)
    small_disk.read_only(True)
    with pytest.raises(StoreError) as caught:
        Workspace(data, Settings())
    assert caught.value.problem is StoreProblem.READ_ONLY
    texts: list[str] = []
    watch = ModalWatch()

    def handle(modal: QWidget) -> None:
        if isinstance(modal, QMessageBox):
            texts.append(modal.text())
            modal.reject()

    watch.handle = handle
    try:
        assert not Gui(gui_app, data).start()  # a clear message, no traceback, no crash
    finally:
        watch.stop()
    assert texts and "read-only" in texts[0] and str(data) in texts[0]
    small_disk.read_only(False)
    Workspace(data, Settings()).close()


def test_a_full_disk_holds_visits_until_space_returns(
    small_disk: Mount, qapp: QApplication
) -> None:
    data = small_disk.path / "data"
    set_up(data)
    writer = _writer(data)
    workspace = Workspace(data, Settings())
    try:
        _submit(writer, 0, 3)
        assert wait_for(lambda: _count(data) == 3, 30)
        small_disk.fill()
        _submit(writer, 100, 40)
        assert wait_for(lambda: writer.health().problem is not None, 30)
        health = writer.health()
        assert health.problem is not None and health.problem.problem is StoreProblem.DISK_FULL
        assert health.pending > 0 and health.dropped == 0
        assert _integrity(data) == "ok", "committed data stays intact on a full disk"
        # The daily backup and a settings save fail with a plain reason, leaving nothing
        # half-written; the hourly job itself carries on (nothing expired to delete).
        workspace.run_retention(BASE + timedelta(days=1))
        assert workspace.backup_problem is not None
        assert workspace.backup_problem.problem is StoreProblem.DISK_FULL
        with pytest.raises(StoreError) as backup:
            backups.create_backup(open_database(data), data, Cipher(load_key(data)), BASE)
        assert backup.value.problem is StoreProblem.DISK_FULL
        assert not list((data / backups.BACKUP_DIR).glob("*")), "no partial backup"
        small_disk.fill()  # the failed backup's partial file freed a little
        with pytest.raises(OSError) as failed:
            save_settings(data, Settings())
        for japanese, words in ((False, "is full"), (True, "いっぱい")):
            for texts in _texts(japanese, qapp):
                assert words in texts.error(failed.value)
                assert words in texts.error(health.problem)
        small_disk.free()
        assert wait_for(lambda: writer.health().pending == 0, 60)
        assert writer.health().problem is None
        workspace.run_retention(BASE + timedelta(days=1))
        assert workspace.backup_problem is None and len(list_backups(data)) == 1
    finally:
        small_disk.free()
        writer.close()
        workspace.close()
    assert _count(data) == 43, "every visit seen while the disk was full was recorded"
    assert _integrity(data) == "ok"


# --- killed mid-transaction and mid-backup -------------------------------------------------

KILLED_IN_TRANSACTION = textwrap.dedent(
    """
    import sys, numpy as np
    from pathlib import Path
    from tests.test_repeat_analysis import _event, _recorder
    data = Path(sys.argv[1])
    recorder = _recorder(data)
    rng = np.random.default_rng(0)
    for i in range(5):
        recorder.record(_event(rng.normal(size=128), i * 1000.0, i * 1000.0 + 5))
    conn = recorder.store.db.conn
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(8):
        conn.execute("INSERT INTO visit (store_id, visitor_id, started_at, ended_at, "
                     "dwell_seconds, mode) SELECT store_id, NULL, started_at, ended_at, "
                     "dwell_seconds, mode FROM visit")
    print("open", flush=True)
    import time; time.sleep(120)
    """
)


def test_a_process_killed_mid_transaction_loses_nothing_committed(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_IN_TRANSACTION, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "open"
    _release(child)
    assert (tmp_path / f"{DB_FILE}-wal").exists(), "the killed transaction's WAL is left"
    workspace = Workspace(tmp_path, Settings())  # checks the file; recovers the WAL
    workspace.close()
    assert _count(tmp_path) == 5, "the 5 committed visits stay, the uncommitted 1275 do not"
    _record(tmp_path, 1, first=50)
    assert _count(tmp_path) == 6 and _integrity(tmp_path) == "ok"


BACKING_UP = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    import keyring, keyring.backends.fail
    keyring.set_keyring(keyring.backends.fail.Keyring())
    from desktopapp.core.store import backup
    from desktopapp.core.store.crypto import Cipher, load_key
    from desktopapp.core.store.db import open_database
    backup._CHUNK = 4096  # many small writes: a kill lands inside one more often
    data = Path(sys.argv[1])
    db = open_database(data)
    cipher = Cipher(load_key(data))
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(10_000):
        backup.create_backup(db, data, cipher, start + timedelta(minutes=n))
        print(n, flush=True)
    """
)


def test_a_backup_killed_mid_write_leaves_no_half_backup(tmp_path: Path) -> None:
    set_up(tmp_path)
    _record(tmp_path, 20)
    child = subprocess.Popen(
        [sys.executable, "-c", BACKING_UP, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    for _ in range(3):
        assert child.stdout.readline()
    _release(child)
    complete = list_backups(tmp_path)
    assert len(complete) >= 3
    cipher = Cipher(load_key(tmp_path))
    for index, backup in enumerate(complete[:3]):
        scratch = tmp_path / f"check{index}"
        scratch.mkdir()
        restore_backup(scratch, backup, cipher, BASE)  # every listed backup is whole
        assert _count(scratch) == 20
    workspace = Workspace(tmp_path, Settings())
    workspace.run_retention(datetime.now(UTC))
    workspace.close()
    assert not list((tmp_path / backups.BACKUP_DIR).glob("*.partial")), "leftovers cleared"


# --- what the operator sees while the database cannot be written ---------------------------


@pytest.mark.gui
def test_the_status_bar_says_visits_wait_and_the_backup_failed(
    qtbot: QtBot, gui_app: QApplication, tmp_path: Path
) -> None:
    set_up_in_japanese(tmp_path)
    window = create_main_window(
        gui_app, tmp_path, session=Session("tanaka", Role.ADMIN), start_cameras=False
    )
    qtbot.addWidget(window)
    window.show()
    full = StoreError(StoreProblem.DISK_FULL, tmp_path / DB_FILE, "The disk is full.")

    def unwritable() -> VisitRecorder:
        raise full

    writer: StoreWriter[VisitRecorder] = StoreWriter(unwritable, retry_initial=60.0)
    try:
        # The window's own writer comes and goes with its cameras: once its first load is done
        # (a second reload here would replace the stand-in below), this one stands in for a
        # writer whose disk is full.
        with qtbot.waitSignal(window.cameras_ready, timeout=30_000):
            pass
        window.writer = writer
        for _ in range(3):
            writer.submit(lambda recorder: recorder)
        qtbot.waitUntil(lambda: bool(list_backups(tmp_path)), timeout=30_000)  # start-up run
        window.workspace.backup_problem = full
        label = window.statusBar().findChild(QLabel, "store-health")
        assert isinstance(label, QLabel)
        qtbot.waitUntil(lambda: "3 件" in label.text() and "バックアップ" in label.text())
        assert label.isVisible()
        assert "来店を記録できていません" in label.text() and "いっぱい" in label.text()
    finally:
        window.writer = None
        writer.close()
        window.close()
    assert writer.health().pending == 0  # given up at closing, and said so in the log


def test_a_job_that_reaches_the_database_after_closing_is_dropped_quietly(
    qtbot: QtBot, gui_app: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    set_up(tmp_path)
    workspace = Workspace(tmp_path)
    workspace.close()
    workspace.close()  # a second close (window and app both closing) is harmless
    with pytest.raises(WorkspaceClosedError):
        workspace.cameras()
    # A dashboard refresh still queued when the window closed: no error, no callback.
    parent = QWidget()
    qtbot.addWidget(parent)
    reached = threading.Event()
    answers: list[object] = []

    def refresh() -> object:
        try:
            return workspace.cameras()
        finally:
            reached.set()

    run_in_background(refresh, answers.append, answers.append, parent)
    assert reached.wait(10)
    qtbot.wait(100)
    assert answers == []
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
