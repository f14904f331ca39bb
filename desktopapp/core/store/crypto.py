"""The data key and AES-GCM for everything personal or secret at rest (features, camera URLs).

The 256-bit key lives in the OS keyring (Windows Credential Manager, Secret Service, macOS
Keychain). Where there is no keyring (a headless Linux box), it falls back to a key file
readable by this user only (0600). A copy of the database without the key reveals nothing.

The key cannot split. The database holds a key-check value (a constant sealed with the key,
setting ``data_key.check``), so a key from either place is tried against it before use. A new
key is made only while nothing is encrypted yet: no check value, no template, no camera and no
backup. A keyring that cannot be reached (no D-Bus over ssh, a dismissed unlock prompt) or a
key that does not open the check is a DataKeyError that stops the program before anything is
written; nothing is lost and the next start with the keyring unlocked works again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from desktopapp.core.store.db import BACKUP_DIR, BUSY_TIMEOUT_S, DB_FILE

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Raiten"
KEY_FILE = "data.key"
NONCE_BYTES = 12
KEY_CHECK_SETTING = "data_key.check"
_CHECK_PLAINTEXT = b"Raiten data key check"
_CHECK_CONTEXT = b"data-key-check"


class KeyProblem(StrEnum):
    """Why the data key cannot be used; the GUI words each in the operator's language."""

    DAMAGED = "damaged"  # the key file cannot be read
    UNREACHABLE = "unreachable"  # the keyring holds the key and cannot be reached now
    MISMATCH = "mismatch"  # a key was found, but the data was encrypted with another


class DataKeyError(Exception):
    """The data key cannot be found or read; ``str()`` says what to do."""

    def __init__(self, message: str, problem: KeyProblem = KeyProblem.DAMAGED):
        super().__init__(message)
        self.problem = problem


class DecryptError(Exception):
    """A value could not be decrypted: wrong key, or the stored bytes were altered."""


def _keyring_name(data_dir: Path) -> str:
    # One key per data folder, so a demo folder and a real store never share a key.
    return f"data-key:{data_dir.resolve()}"


def _keyring_key(data_dir: Path) -> tuple[bytes | None, str]:
    """The keyring's key for the folder (None when it holds none or cannot be reached) and,
    when it could not be asked, why."""
    try:
        import keyring  # noqa: PLC0415 - optional backends are probed at import
        from keyring.errors import KeyringError, NoKeyringError  # noqa: PLC0415
    except ImportError:
        return None, "no keyring module"
    try:
        stored = keyring.get_password(KEYRING_SERVICE, _keyring_name(data_dir))
    except NoKeyringError:
        return None, "no OS keyring on this machine"
    except KeyringError as exc:
        log.warning("OS keyring unavailable: %s", exc)
        return None, f"the OS keyring cannot be opened ({exc})"
    if stored is None:
        return None, ""
    try:
        key = base64.b64decode(stored)
    except ValueError:
        return None, "the key in the OS keyring is damaged"
    return (key, "") if len(key) == 32 else (None, "the key in the OS keyring is damaged")


def _store_in_keyring(data_dir: Path, key: bytes) -> bool:
    try:
        import keyring  # noqa: PLC0415
        from keyring.errors import KeyringError  # noqa: PLC0415
    except ImportError:
        return False
    try:
        keyring.set_password(
            KEYRING_SERVICE, _keyring_name(data_dir), base64.b64encode(key).decode()
        )
    except KeyringError:
        return False
    log.info("created a data key in the OS keyring")
    return True


def _from_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    try:
        key = base64.b64decode(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise DataKeyError(f"The key file {path} cannot be read ({exc}).") from exc
    if len(key) != 32:
        raise DataKeyError(f"The key file {path} is damaged.")
    return key


def _write_file(data_dir: Path, key: bytes) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key))
    log.info("created the data key file %s (no OS keyring on this machine)", data_dir / KEY_FILE)


@dataclass(frozen=True, slots=True)
class _Held:
    """What the folder already holds that a key must open."""

    check: bytes | None  # the key-check value, None before the first key was checked
    encrypted: bool  # anything sealed with a key: check, templates, cameras, backups
    writable: bool  # the database has its setting table, so the check can be recorded


def _held(data_dir: Path) -> _Held:
    backups = data_dir / BACKUP_DIR
    has_backups = backups.is_dir() and any(backups.iterdir())
    path = data_dir / DB_FILE
    if not path.exists():
        return _Held(None, has_backups, False)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            check = None
            if "setting" in tables:
                row = conn.execute(
                    "SELECT value_json FROM setting WHERE key = ?", (KEY_CHECK_SETTING,)
                ).fetchone()
                check = base64.b64decode(json.loads(row[0])) if row else None
            rows = any(
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                for table in ("template", "camera")
                if table in tables
            )
        finally:
            conn.close()
    except (sqlite3.Error, ValueError) as exc:
        # A damaged file may hold ciphertext: never make a new key for it.
        log.warning("cannot read the key check from %s: %s", path, exc)
        return _Held(None, True, False)
    return _Held(check, check is not None or rows or has_backups, "setting" in tables)


def _opens_check(key: bytes, held: _Held) -> bool:
    if held.check is None:
        return True
    try:
        Cipher(key).decrypt(held.check, _CHECK_CONTEXT)
    except DecryptError:
        return False
    return True


def _record_check(data_dir: Path, key: bytes, held: _Held) -> None:
    """Seal the check value into the database the first time a key is used with it."""
    if held.check is not None or not held.writable:
        return
    sealed = base64.b64encode(Cipher(key).encrypt(_CHECK_PLAINTEXT, _CHECK_CONTEXT)).decode()
    try:
        conn = sqlite3.connect(data_dir / DB_FILE, timeout=BUSY_TIMEOUT_S)
        try:
            with conn:
                conn.execute(
                    "INSERT INTO setting (key, value_json) VALUES (?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (KEY_CHECK_SETTING, json.dumps(sealed)),
                )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        # The next start records it; until then a key is accepted as before.
        log.warning("could not record the data key check: %s", exc)


def load_key(data_dir: Path) -> bytes:
    """The data folder's key: the key file's, else the OS keyring's, whichever opens the
    folder's key check; a new one only while nothing is encrypted. DataKeyError otherwise."""
    held = _held(data_dir)
    file_key = _from_file(data_dir) if (data_dir / KEY_FILE).exists() else None
    if file_key is not None and _opens_check(file_key, held):
        _record_check(data_dir, file_key, held)
        return file_key
    keyring_key, reason = _keyring_key(data_dir)
    if keyring_key is not None and _opens_check(keyring_key, held):
        if file_key is not None:
            log.warning("the key file does not fit this data; using the OS keyring's key")
        _record_check(data_dir, keyring_key, held)
        return keyring_key
    if file_key is not None or keyring_key is not None:
        raise DataKeyError(
            f"The data key found for {data_dir} does not fit the data there: it was encrypted "
            "with another key. Nothing was changed. Put back the key file or keyring entry "
            "this folder was made with.",
            KeyProblem.MISMATCH,
        )
    if held.encrypted:
        raise DataKeyError(
            f"The data key of {data_dir} is kept in the OS keyring, which cannot be reached now "
            f"({reason or 'it holds no key for this folder'}). Nothing was changed. Sign in "
            "at the desktop (or unlock the keyring) and start Raiten again.",
            KeyProblem.UNREACHABLE,
        )
    key = secrets.token_bytes(32)
    if not _store_in_keyring(data_dir, key):
        _write_file(data_dir, key)
    _record_check(data_dir, key, held)
    return key


class Cipher:
    """AES-256-GCM with a random nonce per value; ``context`` binds a value to its use."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as exc:
            raise DecryptError("stored value cannot be decrypted with this key") from exc
