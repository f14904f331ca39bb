"""One data folder's state as the GUI needs it: settings, cameras, the notice in force.

The UI calls these methods from worker threads (desktopapp.ui.workers); nothing here imports
Qt, and the UI itself never opens the database.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from desktopapp.core.config import Settings, load_settings
from desktopapp.core.notice import NoticeGateError, NoticeStore, NoticeVersion
from desktopapp.core.notice import require_complete_notice as _require
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy, SweepResult, sweep

log = logging.getLogger(__name__)


class Workspace:
    def __init__(self, data_dir: Path, settings: Settings | None = None):
        self.data_dir = data_dir
        self.settings = settings or load_settings(data_dir)
        self._db = open_database(data_dir)
        # One connection, shared by worker threads one at a time.
        self._lock = threading.Lock()
        self._cameras = CameraStore(self._db, Cipher(load_key(data_dir)))
        self._notices = NoticeStore(self._db)

    def cameras(self) -> list[Camera]:
        with self._lock:
            return self._cameras.all()

    def save_camera(self, camera: Camera) -> Camera:
        with self._lock:
            if camera.camera_id is None:
                return self._cameras.add(camera)
            return self._cameras.update(camera)

    def remove_camera(self, camera_id: int) -> None:
        with self._lock:
            self._cameras.remove(camera_id)

    def notice_in_force(self) -> NoticeVersion:
        """The complete notice, or NoticeGateError naming what is missing (G-01)."""
        with self._lock:
            return _require(self._notices)

    def notice_problems(self) -> list[tuple[str, str]]:
        """(problem, key) pairs that keep analysis from starting; empty when it may start."""
        try:
            self.notice_in_force()
        except NoticeGateError as exc:
            return exc.items
        return []

    def run_retention(self, now: datetime | None = None) -> SweepResult | None:
        """The retention sweep as of ``now`` (G-04), audited; None when no period is set yet."""
        with self._lock:
            current = self._notices.current()
            if current is None or not current.profile.retention_days:
                return None
            profile = current.profile
            policy = RetentionPolicy(profile.retention_days, profile.retention_from)
            moment = now or datetime.now(UTC)
            result = sweep(self._db, policy, moment)
            AuditLog(self._db).append(
                "system", "retention.sweep", {"now": moment.isoformat(), **asdict(result)}
            )
            return result

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
