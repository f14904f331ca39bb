"""Issue 16, point 8: a deletion that committed is always audited and its backups replaced, also
when another program kept the file from being cleaned up (ScrubIncompleteError); the operator is
told what remains to be done. Retention, purge (CLI and GUI) and erasure at the counter, on a
real SQLite file held open by a real second reader."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from desktopapp.core.config import Settings, save_settings
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.store import db as store_db
from desktopapp.core.store.backup import create_backup, list_backups
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.retention import ScrubIncompleteError
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.types import Gender
from desktopapp.core.visits import RecorderConfig, VisitRecorder
from desktopapp.core.workspace import Workspace
from tests.conftest import ROOT
from tests.test_gui_operator import PROFILE, Opener, _set_up, open_window  # noqa: F401

LONG_AGO = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)  # far beyond the notice's 180 days
OLD_BACKUP = datetime(2025, 1, 7, 3, 0, tzinfo=UTC)
# The clean-up a held reader blocks gives up after SQLite's busy timeout, 10 s in the app. These
# tests check what happens once it has given up, not how long it waited: they wait 2 s.
BLOCKED_WAIT_S = 2.0
# The command line as `python -m desktopapp` runs it, in a process of its own, but for that wait.
CLI_WAITING_LESS = (
    f"from desktopapp.core.store import db; db.BUSY_TIMEOUT_S = {BLOCKED_WAIT_S}; "
    "from desktopapp.cli import main; raise SystemExit(main())"
)


@pytest.fixture(autouse=True)
def _blocked_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_S", BLOCKED_WAIT_S)


def _populate(data_dir: Path) -> list[str]:
    """Three visitors seen long ago (expired), and a backup holding them; their ids."""
    _set_up(data_dir)
    db = open_database(data_dir)
    recorder = VisitRecorder(
        VisitStore(db, Cipher(load_key(data_dir))),
        dataclasses.replace(RecorderConfig.for_notice(PROFILE, None), threshold=0.92),
        to_datetime=lambda t: LONG_AGO + timedelta(seconds=t),
        now=lambda: LONG_AGO,
    )
    rng = np.random.default_rng(8)
    ids = []
    for n in range(3):
        vector = rng.normal(size=128).astype(np.float32)
        vector /= np.linalg.norm(vector)
        t = n * 600.0
        attributes = AttributeSummary(40, Gender.MALE, 0.9, 3)
        event = TrackClosed(1, n, t, t + 60, 5, vector, ((0.9, vector),), attributes, ((t, 0, 0),))
        outcome = recorder.record(event)
        assert outcome.visitor_id is not None
        ids.append(outcome.visitor_id)
    create_backup(db, data_dir, Cipher(load_key(data_dir)), OLD_BACKUP)
    db.conn.close()
    return ids


@contextmanager
def _reader(data_dir: Path) -> Iterator[None]:
    """Another program reading the database: its snapshot keeps the WAL from being cleared."""
    reader = sqlite3.connect(data_dir / DB_FILE)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM visit").fetchone()
    try:
        yield
    finally:
        reader.close()


def _audit(data_dir: Path, action: str) -> list[dict[str, object]]:
    db = open_database(data_dir)
    try:
        rows = db.execute("SELECT details_json FROM audit WHERE action = ?", [action])
        return [json.loads(row[0]) for row in rows]
    finally:
        db.conn.close()


def _count(data_dir: Path, table: str) -> int:
    db = open_database(data_dir)
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        db.conn.close()


def _backups_replaced(data_dir: Path) -> bool:
    taken = [b.taken_at for b in list_backups(data_dir)]
    return len(taken) == 1 and taken[0] > OLD_BACKUP


@pytest.mark.parametrize(
    ("command", "action"), [(("retention",), "retention.sweep"), (("purge", "--yes"), "purge")]
)
def test_the_cli_audits_a_deletion_whose_clean_up_was_blocked(
    tmp_path: Path, command: tuple[str, ...], action: str
) -> None:
    _populate(tmp_path)
    with _reader(tmp_path):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                CLI_WAITING_LESS,
                *command,
                "--json",
                "--data-dir",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "audit log" in done.stderr and "raiten retention" in done.stderr
    assert _count(tmp_path, "visitor") == 0, "the deletion was committed"
    (entry,) = _audit(tmp_path, action)
    assert entry["visitors"] == 3 and entry["scrub_pending"] is True
    assert _backups_replaced(tmp_path), "no backup may keep what was deleted"


def test_an_erasure_at_the_counter_replaces_the_backups_when_the_clean_up_is_blocked(
    tmp_path: Path,
) -> None:
    ids = _populate(tmp_path)
    workspace = Workspace(tmp_path, Settings())
    try:
        with _reader(tmp_path), pytest.raises(ScrubIncompleteError):
            workspace.erase_held(ids[0], "user:tanaka")
    finally:
        workspace.close()
    assert _count(tmp_path, "visitor") == 2
    assert [e["visitor"] for e in _audit(tmp_path, "request.erase")] == [ids[0]]
    assert _backups_replaced(tmp_path)


@pytest.mark.gui
@pytest.mark.parametrize(
    ("language", "told"), [("en", "finishes the clean-up"), ("ja", "後片付けを完了します")]
)
def test_the_window_tells_the_operator_what_remains_after_a_blocked_sweep(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
    language: str,
    told: str,
) -> None:
    _populate(tmp_path)
    settings = Settings()
    settings.ui.language = language  # type: ignore[assignment]
    save_settings(tmp_path, settings)
    with _reader(tmp_path):
        window = open_window(tmp_path)  # sweeps at start-up
        qtbot.waitUntil(lambda: told in window.statusBar().currentMessage(), timeout=60_000)
    assert _count(tmp_path, "visitor") == 0
    (entry,) = _audit(tmp_path, "retention.sweep")
    assert entry["visitors"] == 3 and entry["scrub_pending"] is True
    assert _backups_replaced(tmp_path)
