"""The database file, its migrations, and the data key."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from desktopapp.core.store.crypto import KEY_FILE, Cipher, DataKeyError, DecryptError, load_key
from desktopapp.core.store.db import DB_FILE, SCHEMA_VERSION, SchemaTooNewError, open_database


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_new_database_is_migrated_and_in_wal_mode(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"notice_version", "camera"} <= set(db.table_names())
    db.conn.close()
    reopened = open_database(tmp_path)
    assert reopened.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_database_from_a_newer_raiten_is_refused(tmp_path: Path) -> None:
    open_database(tmp_path).conn.close()
    conn = sqlite3.connect(tmp_path / DB_FILE)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer Raiten"):
        open_database(tmp_path)


def test_key_file_fallback_is_private_and_stable(tmp_path: Path) -> None:
    # conftest installs keyring's fail backend, as on a Linux box without Secret Service.
    key = load_key(tmp_path)
    assert len(key) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / KEY_FILE).st_mode)
    assert mode == 0o600
    assert load_key(tmp_path) == key


def test_keyring_is_preferred_when_present(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        key = load_key(tmp_path)
        assert not (tmp_path / KEY_FILE).exists()
        assert load_key(tmp_path) == key
        assert len(memory.store) == 1
    finally:
        keyring.set_keyring(previous)


def test_damaged_key_file(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"c2hvcnQ=")
    with pytest.raises(DataKeyError, match="damaged"):
        load_key(tmp_path)


def test_cipher_round_trip_and_tamper_detection(tmp_path: Path) -> None:
    cipher = Cipher(load_key(tmp_path))
    secret = b"rtsp://admin:hunter2@10.0.0.5/stream"
    blob = cipher.encrypt(secret, b"camera.location")
    assert secret not in blob
    assert cipher.decrypt(blob, b"camera.location") == secret
    assert cipher.encrypt(secret) != cipher.encrypt(secret), "nonces must differ"
    with pytest.raises(DecryptError):
        cipher.decrypt(blob, b"another.context")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(DecryptError):
        cipher.decrypt(bytes(tampered), b"camera.location")
    with pytest.raises(DecryptError):
        Cipher(os.urandom(32)).decrypt(blob, b"camera.location")
