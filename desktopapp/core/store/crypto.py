"""The data key and AES-GCM for everything personal or secret at rest (features, camera URLs).

The 256-bit key lives in the OS keyring (Windows Credential Manager, Secret Service, macOS
Keychain). Where there is no keyring (a headless Linux box), it falls back to a key file
readable by this user only (0600). A copy of the database without the key reveals nothing.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEYRING_SERVICE = "Raiten"
KEY_FILE = "data.key"
NONCE_BYTES = 12


class DataKeyError(Exception):
    """The data key cannot be found or read; ``str()`` says what to do."""


class DecryptError(Exception):
    """A value could not be decrypted: wrong key, or the stored bytes were altered."""


def _keyring_name(data_dir: Path) -> str:
    # One key per data folder, so a demo folder and a real store never share a key.
    return f"data-key:{data_dir.resolve()}"


def _from_keyring(data_dir: Path) -> bytes | None:
    try:
        import keyring  # noqa: PLC0415 - optional backends are probed at import
        from keyring.errors import KeyringError, NoKeyringError  # noqa: PLC0415
    except ImportError:
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, _keyring_name(data_dir))
        if stored is None:
            key = secrets.token_bytes(32)
            keyring.set_password(
                KEYRING_SERVICE, _keyring_name(data_dir), base64.b64encode(key).decode()
            )
            log.info("created a data key in the OS keyring")
            return key
        return base64.b64decode(stored)
    except NoKeyringError:
        return None
    except KeyringError as exc:
        log.warning("OS keyring unavailable (%s); using the key file", exc)
        return None


def _from_file(data_dir: Path) -> bytes:
    path = data_dir / KEY_FILE
    if path.exists():
        try:
            key = base64.b64decode(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise DataKeyError(f"The key file {path} cannot be read ({exc}).") from exc
        if len(key) != 32:
            raise DataKeyError(f"The key file {path} is damaged.")
        return key
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key))
    log.info("created the data key file %s (no OS keyring on this machine)", path)
    return key


def load_key(data_dir: Path) -> bytes:
    """The data folder's key: an existing key file wins (keeps working if a keyring appears
    later), then the OS keyring, then a new key file."""
    if (data_dir / KEY_FILE).exists():
        return _from_file(data_dir)
    return _from_keyring(data_dir) or _from_file(data_dir)


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
