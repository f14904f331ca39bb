"""The data key cannot split (issue 17.9): a keyring that cannot be reached, or a stray key
file, never becomes a second key while anything is encrypted; the program stops and says so,
losing nothing, and works again once the keyring is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from keyring.errors import KeyringLocked

from desktopapp.cli import main
from desktopapp.core.config import Settings, save_settings
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import (
    KEY_CHECK_SETTING,
    KEY_FILE,
    Cipher,
    DataKeyError,
    KeyProblem,
    load_key,
)
from desktopapp.core.store.db import open_database
from tests.test_store_basics import MemoryKeyring

SECRET_URL = "rtsp://admin:hunter2@10.0.0.5/stream"


class LockedKeyring(MemoryKeyring):
    """A Secret Service whose unlock prompt the user dismissed."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("the collection is locked")


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _encrypted_folder(data: Path) -> bytes:
    """A data folder whose key is in the keyring and which holds an encrypted camera URL."""
    db = open_database(data)
    key = load_key(data)
    CameraStore(db, Cipher(key)).add(
        Camera(name="Door", source=SourceSpec(SourceKind.RTSP, SECRET_URL))
    )
    db.conn.close()
    assert not (data / KEY_FILE).exists()
    return key


def _camera_url(data: Path) -> str:
    db = open_database(data)
    try:
        return CameraStore(db, Cipher(load_key(data))).all()[0].source.location
    finally:
        db.conn.close()


@pytest.mark.parametrize("broken", [keyring.backends.fail.Keyring, LockedKeyring])
def test_an_unreachable_keyring_stops_instead_of_making_a_second_key(
    tmp_path: Path, memory: MemoryKeyring, broken: type
) -> None:
    key = _encrypted_folder(tmp_path)
    keyring.set_keyring(broken())
    with pytest.raises(DataKeyError) as raised:
        load_key(tmp_path)
    assert raised.value.problem is KeyProblem.UNREACHABLE
    assert "keyring" in str(raised.value) and "Nothing was changed" in str(raised.value)
    assert not (tmp_path / KEY_FILE).exists()
    # The keyring is back (the operator signed in at the desktop): everything opens as before.
    keyring.set_keyring(memory)
    assert load_key(tmp_path) == key
    assert _camera_url(tmp_path) == SECRET_URL


def test_a_stray_key_file_is_refused_and_the_right_key_wins(
    tmp_path: Path, memory: MemoryKeyring
) -> None:
    key = _encrypted_folder(tmp_path)
    # What the old fallback left behind: a fresh key file beside data encrypted with another.
    (tmp_path / KEY_FILE).write_bytes(b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")
    assert load_key(tmp_path) == key  # the keyring's key opens the check; the stray does not
    assert _camera_url(tmp_path) == SECRET_URL
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(DataKeyError) as raised:
        load_key(tmp_path)
    assert raised.value.problem is KeyProblem.MISMATCH


def test_a_new_folder_gets_a_key_file_and_its_check(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    key = load_key(tmp_path)  # nothing encrypted yet: a key file is made (fail keyring)
    assert (tmp_path / KEY_FILE).exists()
    check = db.execute("SELECT value_json FROM setting WHERE key = ?", [KEY_CHECK_SETTING])
    assert check.fetchone() is not None
    assert load_key(tmp_path) == key
    db.conn.close()


def test_the_command_line_says_so_in_one_line_and_exits_2(
    tmp_path: Path, memory: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    _encrypted_folder(tmp_path)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    code = main(["backup", "create", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "keyring" in err
    assert not (tmp_path / KEY_FILE).exists()
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())


@pytest.mark.gui
@pytest.mark.parametrize(
    ("language", "words"), [("en", "cannot be opened now"), ("ja", "キーリング")]
)
def test_the_window_says_so_in_the_operators_language(
    tmp_path: Path, memory: MemoryKeyring, qapp: object, language: str, words: str
) -> None:
    from PySide6.QtCore import QTimer  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: PLC0415

    from desktopapp.ui.app import Gui, remove_translations  # noqa: PLC0415

    _encrypted_folder(tmp_path)
    settings = Settings()
    settings.ui.language = language  # type: ignore[assignment]
    save_settings(tmp_path, settings)
    keyring.set_keyring(keyring.backends.fail.Keyring())
    shown: list[str] = []

    def close_the_message() -> None:
        modal = QApplication.activeModalWidget()
        if isinstance(modal, QMessageBox):
            shown.append(modal.text())
            modal.accept()
        else:
            QTimer.singleShot(50, close_the_message)

    QTimer.singleShot(50, close_the_message)
    assert Gui(QApplication.instance(), tmp_path).start() is False  # type: ignore[arg-type]
    assert len(shown) == 1 and words in shown[0]
    assert not (tmp_path / KEY_FILE).exists()
    remove_translations(QApplication.instance())  # type: ignore[arg-type]
