"""A real PostgreSQL server for the chain tests, started once per session (see pgserver.py).
Without PostgreSQL the chain tests are skipped, except under ``CI=true``, where a missing
server or driver fails the run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

if os.environ.get("CI") == "true":
    import psycopg  # under CI a missing driver fails the run
else:
    psycopg = pytest.importorskip("psycopg")

from desktopapp.core.access import Role
from desktopapp.core.session import Session
from desktopapp.ui.app import create_main_window, remove_translations
from desktopapp.ui.main_window import MainWindow
from tests.chain.pgserver import PgServer, PgServerError, remove_server, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = start_server()
    except PgServerError as exc:
        pytest.fail(str(exc))
    if server is None:
        message = "PostgreSQL is not installed (scripts/install-system-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        remove_server(server)


@pytest.fixture
def pg_admin_url(pg_server: PgServer) -> str:
    """A fresh database on the session's server, as the superuser (``chain init``'s URL)."""
    return pg_server.url(pg_server.new_database())


WindowOf = Callable[[Path], MainWindow]


@pytest.fixture
def window_of(qtbot: QtBot, qapp: QApplication) -> Iterator[WindowOf]:
    """The main window on a store's data folder, signed in as its administrator."""

    def opener(data_dir: Path) -> MainWindow:
        window = create_main_window(
            qapp, data_dir, session=Session("tester", Role.ADMIN), start_cameras=False
        )
        qtbot.addWidget(window)
        window.show()
        return window

    yield opener
    remove_translations(qapp)
