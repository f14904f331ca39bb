"""The chain's state in the status bar, and the background sync behind it.

A store of a chain syncs with the chain's server every few minutes and when the button is
clicked; the button says when it last synced, since when the server has been out of reach, and
how many changes wait to be sent. A store on its own never shows it. New visitors from the other
stores reach the live recorder's gallery through ``gallery_changed``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QToolButton, QWidget

from desktopapp.core.chain.local import ChainStatus
from desktopapp.core.workspace import Workspace
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)

SYNC_INTERVAL_MS = 5 * 60 * 1000


class ChainStatusButton(QToolButton):
    gallery_changed = Signal()
    """The sync brought visitors from other stores (or merged some): reload the gallery."""
    synced = Signal()
    """A sync attempt finished, whether or not the server was reached."""

    def __init__(self, workspace: Workspace, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("chain-status")
        self.setAutoRaise(True)
        self.workspace = workspace
        self.status: ChainStatus | None = None
        self._syncing = False
        self._again = False
        self._timer = QTimer(self)
        self._timer.setInterval(SYNC_INTERVAL_MS)
        self._timer.timeout.connect(self.sync_now)
        # "synced 3 min ago" is read again every minute.
        self._clock = QTimer(self)
        self._clock.setInterval(60_000)
        self._clock.timeout.connect(self.refresh)
        self.clicked.connect(self.sync_now)
        self.setVisible(False)

    @property
    def busy(self) -> bool:
        """A sync is under way (a click now asks for one more after it)."""
        return self._syncing

    def start(self) -> None:
        """Show the state, sync once now and then every few minutes."""
        self.refresh()
        self._timer.start()
        self._clock.start()
        QTimer.singleShot(0, self.sync_now)

    def refresh(self) -> None:
        run_in_background(self.workspace.chain_status, self._show, self._status_failed, self)

    def sync_now(self) -> None:
        """Sync in the background (a store on its own returns at once)."""
        if self._syncing:
            # The sync under way may have read the server before what the asker waits for (a
            # click after another store's visit, a join): one more follows it, however many
            # asked meanwhile.
            self._again = True
            return
        self._syncing = True
        self._again = False
        if self.status is not None:
            self.setText(self.tr("Chain: syncing…"))
        run_in_background(self.workspace.chain_sync, self._synced, self._sync_failed, self)

    def _synced(self, result: object) -> None:
        self._syncing = False
        pulled = getattr(result, "pulled", 0)
        merged = getattr(result, "merged", 0)
        if pulled or merged:
            self.gallery_changed.emit()
        self.refresh()
        self.synced.emit()
        self._sync_again()

    def _sync_failed(self, error: Exception) -> None:
        # Logged by the worker and kept in the chain's state (offline since ...).
        self._syncing = False
        log.info("chain sync did not complete: %s", error)
        self.refresh()
        self.synced.emit()
        self._sync_again()

    def _sync_again(self) -> None:
        if self._again:
            self.sync_now()

    def _status_failed(self, error: Exception) -> None:
        log.warning("chain status unavailable: %s", error)

    def _show(self, status: ChainStatus | None) -> None:
        self.status = status
        self.setVisible(status is not None)
        if status is None:
            return
        if status.offline_since is not None:
            since = status.offline_since.astimezone().strftime("%Y-%m-%d %H:%M")
            text = self.tr("Chain: offline since %1").replace("%1", since)
        elif status.last_sync is not None:
            minutes = int((datetime.now(UTC) - status.last_sync).total_seconds() // 60)
            text = (
                self.tr("Chain: synced just now")
                if minutes < 1
                else self.tr("Chain: synced %1 min ago").replace("%1", str(minutes))
            )
        else:
            text = self.tr("Chain: not synced yet")
        if status.waiting:
            text += " · " + self.tr("%1 changes waiting").replace("%1", str(status.waiting))
        self.setText(text)
        self.setToolTip(
            self.tr("Store %1 of %2 (server %3). Click to sync now.")
            .replace("%1", status.store)
            .replace("%2", status.operator)
            .replace("%3", status.server)
        )
