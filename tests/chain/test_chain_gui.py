"""The chain in the real main window: background sync, the status bar's state, a click to sync
now, the server going away and coming back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.chain import membership
from desktopapp.core.session import Session
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.ui.chain_dialog import ChainDialog
from tests.chain.conftest import PgServer, WindowOf
from tests.chain.stores import new_chain, person, stores

pytestmark = pytest.mark.gui

ADMIN = Session("tester", Role.ADMIN)


def _visitors(data_dir: Path) -> set[str]:
    conn = sqlite3.connect(data_dir / "raiten.db")
    try:
        return {str(r[0]) for r in conn.execute("SELECT id FROM visitor")}
    finally:
        conn.close()


def test_the_window_syncs_in_the_background_and_shows_the_chains_state(
    pg_server: PgServer, pg_admin_url: str, tmp_path: Path, qtbot: QtBot, window_of: WindowOf
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    shop = tmp_path / "shop"
    db = open_database(shop)
    membership.join(db, Cipher(load_key(shop)), enrolment, "Shibuya")
    db.conn.close()
    with stores(tmp_path, "Ueno") as (ueno,):
        ueno.join(enrolment)
        alice = ueno.visit(person(1)).visitor_id
        ueno.sync()
        window = window_of(shop)
        button = window.chain_status
        # The first sync runs at start, in the background.
        qtbot.waitUntil(lambda: not button.busy and "synced" in button.text(), timeout=30_000)
        assert button.isVisible() and "Shibuya" in button.toolTip()
        assert alice in _visitors(shop)
        # A customer of the other store arrives with a click on the status bar.
        bob = ueno.visit(person(2)).visitor_id
        ueno.sync()
        with qtbot.waitSignal(button.gallery_changed, timeout=30_000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert bob in _visitors(shop)
        # The server goes away: the store keeps working and says since when it is offline.
        pg_server.stop()
        try:
            with qtbot.waitSignal(button.synced, timeout=30_000):
                qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: "offline since" in button.text(), timeout=10_000)
        finally:
            pg_server.start()
        with qtbot.waitSignal(button.synced, timeout=30_000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "synced" in button.text(), timeout=10_000)


def test_a_store_on_its_own_shows_no_chain(
    tmp_path: Path, qtbot: QtBot, window_of: WindowOf
) -> None:
    window = window_of(tmp_path / "alone")
    button = window.chain_status
    qtbot.waitUntil(lambda: not button.busy, timeout=30_000)
    # A sync asked for anyway finds no chain and changes nothing.
    with qtbot.waitSignal(button.synced, timeout=30_000):
        button.sync_now()
    qtbot.wait(200)
    assert button.status is None and button.isHidden()


def test_joining_and_leaving_from_the_administration_menu(
    pg_admin_url: str,
    tmp_path: Path,
    qtbot: QtBot,
    window_of: WindowOf,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    shop = tmp_path / "shop"
    window = window_of(shop)
    opened: list[ChainDialog] = []

    def exec_dialog(dialog: ChainDialog) -> int:
        opened.append(dialog)
        dialog.show()
        return 0

    monkeypatch.setattr(ChainDialog, "exec", exec_dialog)
    window.chain_action.trigger()
    dialog = opened[0]
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.join_button.isEnabled, timeout=10_000)
    assert "on its own" in dialog.state.text()
    # A file that is no enrolment file: the reason in plain words, nothing changes.
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    qtbot.keyClicks(dialog.file, str(bogus))
    qtbot.keyClicks(dialog.store, "Shibuya")
    qtbot.mouseClick(dialog.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot be used to join" in dialog.error.text(), timeout=10_000)
    dialog.file.clear()
    qtbot.keyClicks(dialog.file, str(enrolment))
    with qtbot.waitSignal(dialog.changed, timeout=30_000):
        qtbot.mouseClick(dialog.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Shibuya" in dialog.state.text(), timeout=10_000)
    assert dialog.leave_button.isVisible() and not dialog.join_form.isVisible()
    # The status bar starts showing the chain.
    qtbot.waitUntil(window.chain_status.isVisible, timeout=30_000)
    monkeypatch.setattr(
        QMessageBox, "question", lambda *_args, **_kw: QMessageBox.StandardButton.Yes
    )
    with qtbot.waitSignal(dialog.changed, timeout=30_000):
        qtbot.mouseClick(dialog.leave_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "on its own" in dialog.state.text(), timeout=10_000)
    qtbot.waitUntil(window.chain_status.isHidden, timeout=30_000)
    conn = sqlite3.connect(shop / "raiten.db")
    actions = [r[0] for r in conn.execute("SELECT action FROM audit ORDER BY id")]
    conn.close()
    assert "chain.join" in actions and "chain.leave" in actions
