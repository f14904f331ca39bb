"""Who may recover a damaged database (restore a backup, or start empty).

Recovery replaces the database, so it needs an administrator whenever accounts exist; otherwise
"start empty" would let whoever is at the keyboard make a new administrator. The accounts
table of the damaged file may itself be unreadable, so the accounts are read from the damaged
file if it opens read-only, else from the newest backup that opens with the data key. They are
copied into a scratch database in memory and checked there by the ordinary ``UserStore``, with
its argon2 verification and lock-out (the lock lasts as long as the scratch copy: the damaged
file cannot record it). When no account can be read anywhere (no readable file, no backup),
nobody can be asked: whoever can damage the file can already replace it, so recovery proceeds
without a sign-in, as the command line's ``raiten backup restore`` does.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.backup import list_backups, read_backup
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import DB_FILE, StoreError, migrate
from desktopapp.core.store.users import User, UserStore

log = logging.getLogger(__name__)

# The columns of app_user since migration 3, in a fixed order: a backup may be older than the
# running schema.
_COLUMNS = (
    "id, name, name_key, password_hash, role, failed_attempts, locked_until, created_at, "
    "password_changed_at"
)


@dataclass(frozen=True, slots=True)
class RecoveryAccounts:
    """The accounts that may authorise a recovery, and where they were read."""

    source: str  # the damaged file's or a backup's name; "" when no account could be read
    users: UserStore | None

    @property
    def needs_sign_in(self) -> bool:
        return self.users is not None

    def authenticate(self, name: str, password: str) -> User:
        """The account (LoginError as at sign-in); the caller checks that it is an admin."""
        assert self.users is not None
        return self.users.authenticate(name, password)


def _rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    try:
        return conn.execute(f"SELECT {_COLUMNS} FROM app_user").fetchall()
    except sqlite3.Error as exc:
        log.info("no accounts readable here: %s", exc)
        return []
    finally:
        conn.close()


def _from_damaged_file(data_dir: Path) -> list[tuple[object, ...]]:
    path = data_dir / DB_FILE
    if not path.exists():
        return []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    return _rows(conn)


def recovery_accounts(data_dir: Path, cipher: Cipher | None) -> RecoveryAccounts:
    """The accounts of the damaged file, else of the newest readable backup (``cipher`` None:
    the data key could not be loaded, so no backup can be read)."""
    rows, source = _from_damaged_file(data_dir), DB_FILE
    if not rows and cipher is not None:
        for backup in list_backups(data_dir):
            try:
                rows = _rows(read_backup(backup, cipher))
            except StoreError as exc:
                log.info("backup %s cannot be read for its accounts: %s", backup.name, exc)
                continue
            if rows:
                source = backup.name
                break
    if not rows:
        log.warning("no account can be read: recovery proceeds without a sign-in")
        return RecoveryAccounts("", None)
    # The sign-in dialog checks passwords on a worker thread, one attempt at a time.
    scratch = sqlite_utils.Database(sqlite3.connect(":memory:", check_same_thread=False))
    migrate(scratch)
    marks = ", ".join("?" * len(rows[0]))
    with scratch.conn:
        scratch.conn.executemany(f"INSERT INTO app_user ({_COLUMNS}) VALUES ({marks})", rows)
    log.info("recovery sign-in checked against the accounts of %s", source)
    return RecoveryAccounts(source, UserStore(scratch, AuditLog(scratch)))
