"""A damaged database's way back, before any workspace can open on it: the backups to pick
from, the accounts that may authorise the replacement, and the replacement itself."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from desktopapp.core.store.backup import Backup, list_backups, restore_backup, set_aside_damaged
from desktopapp.core.store.crypto import Cipher, DataKeyError, load_key
from desktopapp.core.store.recovery import RecoveryAccounts, recovery_accounts

__all__ = ["Backup", "Recovery", "RecoveryAccounts"]

log = logging.getLogger(__name__)


class Recovery:
    """The recovery of the data folder ``data_dir``, whose database would not open."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        try:
            self._cipher: Cipher | None = Cipher(load_key(data_dir))
        except DataKeyError as exc:
            # The accounts are then read from the damaged file only; restoring tries the key
            # again and says why it cannot.
            log.error("the data key cannot be loaded: %s", exc)
            self._cipher = None
        self.accounts: RecoveryAccounts = recovery_accounts(data_dir, self._cipher)

    def backups(self) -> list[Backup]:
        return list_backups(self.data_dir)

    def restore(self, backup: Backup, now: datetime) -> Path | None:
        """The database replaced by ``backup``; the folder the damaged file was set aside in.
        StoreError when the backup is damaged too, DataKeyError when the key still fails."""
        cipher = self._cipher or Cipher(load_key(self.data_dir))
        return restore_backup(self.data_dir, backup, cipher, now)

    def start_empty(self, now: datetime) -> Path | None:
        """The damaged database set aside (its folder), so that an empty one is created."""
        return set_aside_damaged(self.data_dir, now)
