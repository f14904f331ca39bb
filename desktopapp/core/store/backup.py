"""The automatic daily backup of the database, encrypted with the data key, and its restore.

A backup is a consistent copy taken with SQLite's online backup API into memory and sealed with
AES-GCM under the data folder's key in chunks, then written to ``backups/`` atomically: no
plaintext copy touches the disk, and a copy of the folder without the key reveals nothing of
it. Only a file that passes SQLite's quick check is backed up; the newest ``KEEP`` are kept.

A backup holds the personal data of the moment it was taken, and a damaged file set aside at a
restore holds what it held. Whatever deletes personal data (a retention sweep that deleted
anything, the purge, an erasure) therefore calls ``replace_backups``: one fresh backup of the
swept file is taken and every older backup and every set-aside file is deleted
(docs/decisions.md, "Backups are replaced, not swept").
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Final

import sqlite_utils

from desktopapp.core.store.crypto import Cipher, DecryptError
from desktopapp.core.store.db import (
    BACKUP_DIR,
    DB_FILE,
    SCHEMA_VERSION,
    StoreError,
    StoreProblem,
    check_integrity,
    store_error,
)

log = logging.getLogger(__name__)

DAMAGED_DIR: Final = "damaged"
KEEP: Final = 7
INTERVAL: Final = timedelta(days=1)
_MAGIC: Final = b"RAITEN-BACKUP-1\n"
_CHUNK: Final = 4 * 1024 * 1024
_LENGTH_BYTES: Final = 4
_STAMP: Final = "%Y%m%dT%H%M%S%fZ"
_NAME: Final = re.compile(r"^raiten-(\d{8}T\d{12}Z)\.rbak$")
# The decrypted copy being checked before it replaces the database; a leftover from a crash
# holds personal data in the clear and is deleted at the next backup or restore.
_STAGING: Final = ".raiten-restore.db"
_MORE, _LAST = b"\x00", b"\x01"


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    taken_at: datetime  # UTC
    size: int  # bytes on disk

    @property
    def name(self) -> str:
        return self.path.name


def _context(index: int) -> bytes:
    # Binds each sealed chunk to its place: chunks cannot be reordered, and the flag inside the
    # last one means a cut-off file is detected.
    return f"raiten-backup:{index}".encode()


def list_backups(data_dir: Path) -> list[Backup]:
    """The folder's backups, newest first."""
    found: list[Backup] = []
    folder = data_dir / BACKUP_DIR
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match is None:
            continue
        taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
        try:
            found.append(Backup(path, taken, path.stat().st_size))
        except OSError:
            continue  # deleted meanwhile
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def _write_sealed(handle: BinaryIO, image: bytes, cipher: Cipher) -> None:
    handle.write(_MAGIC)
    view = memoryview(image)
    chunks = max(1, math.ceil(len(image) / _CHUNK))
    for index in range(chunks):
        flag = _LAST if index == chunks - 1 else _MORE
        sealed = cipher.encrypt(flag + view[index * _CHUNK : (index + 1) * _CHUNK], _context(index))
        handle.write(len(sealed).to_bytes(_LENGTH_BYTES, "big"))
        handle.write(sealed)


def create_backup(
    db: sqlite_utils.Database, data_dir: Path, cipher: Cipher, now: datetime
) -> Backup:
    """A new encrypted backup of ``db``; StoreError if the file is damaged (nothing is written
    then) or the backup cannot be written (no partial file is left)."""
    check_integrity(db, data_dir / DB_FILE)
    folder = data_dir / BACKUP_DIR
    target = folder / f"raiten-{now.astimezone(UTC).strftime(_STAMP)}.rbak"
    partial = target.with_suffix(".partial")
    memory = sqlite3.connect(":memory:")
    try:
        db.conn.backup(memory)
        image = memory.serialize()
    except sqlite3.Error as exc:
        raise store_error(exc, data_dir / DB_FILE) or exc from exc
    finally:
        memory.close()
    try:
        folder.mkdir(exist_ok=True)
        with partial.open("wb") as handle:
            _write_sealed(handle, image, cipher)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        log.error("cannot write the backup %s: %s", target, exc)
        raise store_error(exc, target) or exc from exc
    log.info("backup %s written (%d bytes of database)", target.name, len(image))
    return Backup(target, now.astimezone(UTC), target.stat().st_size)


def _discard(paths: list[Path]) -> None:
    for path in paths:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot delete %s: %s", path, exc)


def _leftovers(data_dir: Path) -> list[Path]:
    """Files a crash may have left: half-written backups and a decrypted staging copy."""
    folder = data_dir / BACKUP_DIR
    partial = list(folder.glob("*.partial")) if folder.is_dir() else []
    return [*partial, data_dir / _STAGING]


def backup_if_due(
    db: sqlite_utils.Database, data_dir: Path, cipher: Cipher, now: datetime
) -> Backup | None:
    """A backup when the newest is a day old (or from the future: the clock was changed), then
    only the newest KEEP are kept. None when none was due."""
    _discard(_leftovers(data_dir))
    backups = list_backups(data_dir)
    if backups and timedelta(0) <= now - backups[0].taken_at < INTERVAL:
        return None
    fresh = create_backup(db, data_dir, cipher, now)
    _discard([b.path for b in list_backups(data_dir)[KEEP:]])
    return fresh


def set_aside_files(data_dir: Path) -> list[Path]:
    """The damaged databases set aside at restores, oldest first."""
    folder = data_dir / DAMAGED_DIR
    return sorted(folder.iterdir()) if folder.is_dir() else []


def replace_backups(
    db: sqlite_utils.Database, data_dir: Path, cipher: Cipher, now: datetime
) -> Backup:
    """After personal data was deleted: a fresh backup, then every other backup and every
    set-aside damaged file is deleted, since each still holds what was deleted. The old ones go
    even when the fresh backup fails (StoreError): personal data must not outlive its deletion
    in a copy; the next daily backup tries again."""
    stale = [b.path for b in list_backups(data_dir)] + set_aside_files(data_dir)
    fresh: Backup | None = None
    try:
        fresh = create_backup(db, data_dir, cipher, now)
    finally:
        kept = fresh.path if fresh else None
        _discard([path for path in stale if path != kept] + _leftovers(data_dir))
    log.info("backups replaced by %s after personal data was deleted", fresh.name)
    return fresh


def _plain_chunks(backup: Backup, cipher: Cipher) -> Iterator[bytes]:
    """The backup's database image, chunk by chunk; StoreError (CORRUPT) when it is damaged,
    cut off or sealed with another key."""
    damaged = StoreError(
        StoreProblem.CORRUPT,
        backup.path,
        f"The backup {backup.name} is damaged or was made with another data key.",
    )
    with backup.path.open("rb") as source:
        if source.read(len(_MAGIC)) != _MAGIC:
            raise damaged
        index = 0
        while True:
            length = int.from_bytes(source.read(_LENGTH_BYTES), "big")
            sealed = source.read(length)
            if length == 0 or len(sealed) != length:
                raise damaged  # cut off before its last chunk
            try:
                chunk = cipher.decrypt(sealed, _context(index))
            except DecryptError as exc:
                raise damaged from exc
            yield chunk[1:]
            if chunk[:1] == _LAST:
                break
            index += 1
        if source.read(1):
            raise damaged


def _decrypt_to(backup: Backup, target: Path, cipher: Cipher) -> None:
    with target.open("wb") as out:
        for chunk in _plain_chunks(backup, cipher):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def read_backup(backup: Backup, cipher: Cipher) -> sqlite3.Connection:
    """The backup as a read-only database in memory (nothing decrypted touches the disk);
    StoreError when it is damaged."""
    conn = sqlite3.connect(":memory:")
    try:
        image = bytearray(b"".join(_plain_chunks(backup, cipher)))
        # The file-format bytes of a WAL database: an in-memory copy cannot have a WAL, and
        # SQLite refuses to read one that says it does.
        image[18:20] = b"\x01\x01"
        conn.deserialize(bytes(image))
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(StoreProblem.CORRUPT, backup.path, str(exc)) from exc
    return conn


def _check_restored(path: Path, backup: Backup) -> None:
    conn = sqlite3.connect(path)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        result, version = [str(exc)], 0
    finally:
        conn.close()
    if result != ["ok"] or version > SCHEMA_VERSION:
        raise StoreError(
            StoreProblem.CORRUPT,
            backup.path,
            f"The backup {backup.name} does not hold a usable database ({'; '.join(result)}).",
        )


def set_aside_damaged(data_dir: Path, now: datetime) -> Path | None:
    """Moves the database with its WAL and shared-memory file into ``damaged/<time>/`` (kept
    for an expert, deleted with the next deletion of personal data); the folder, or None when
    there was no database. Nothing may have the database open."""
    present = [
        data_dir / name
        for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm")
        if (data_dir / name).exists()
    ]
    if not present:
        return None
    folder = data_dir / DAMAGED_DIR / now.astimezone(UTC).strftime(_STAMP)
    folder.mkdir(parents=True, exist_ok=True)
    for path in present:
        os.replace(path, folder / path.name)
    log.warning("the damaged database was set aside in %s", folder)
    return folder


def restore_backup(data_dir: Path, backup: Backup, cipher: Cipher, now: datetime) -> Path | None:
    """Replace the database with ``backup``: decrypted into a staging file, checked in full,
    then swapped in; the file it replaces is set aside (its folder is returned). StoreError
    when the backup is damaged (the database is left as it was). Nothing may have the database
    open."""
    staging = data_dir / _STAGING
    try:
        _decrypt_to(backup, staging, cipher)
        _check_restored(staging, backup)
        aside = set_aside_damaged(data_dir, now)
        os.replace(staging, data_dir / DB_FILE)
    except OSError as exc:
        raise store_error(exc, data_dir / DB_FILE) or exc from exc
    finally:
        staging.unlink(missing_ok=True)
    log.warning("database restored from the backup %s", backup.name)
    return aside
