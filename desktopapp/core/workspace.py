"""One data folder's state as the GUI needs it: settings, cameras, the notice in force.

The UI calls these methods from worker threads (desktopapp.ui.workers); nothing here imports
Qt, and the UI itself never opens the database.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from desktopapp.core.access import Role
from desktopapp.core.analytics import Analytics, Period
from desktopapp.core.chain.local import ChainStatus, chain_status
from desktopapp.core.config import Settings, changed_settings, load_settings, save_settings
from desktopapp.core.model_change import (
    ExclusionModelError,
    applies_exclusions,
    configured_features_model,
    require_recognisable_exclusions,
)
from desktopapp.core.notice import NoticeGateError, NoticeProfile, NoticeStore, NoticeVersion
from desktopapp.core.notice import require_complete_notice as _require
from desktopapp.core.pos import (
    ColumnMapping,
    PosImportResult,
    RegisterCamera,
    find_or_create_store,
    import_pos_csv,
    link_purchases,
    register_cameras,
    remove_register_camera,
    set_register_camera,
)
from desktopapp.core.reports.export_csv import Language, write_csv, write_incident_csv
from desktopapp.core.reports.export_pdf import write_pdf
from desktopapp.core.requests import Exclusion, HeldRecord, PublicRequests
from desktopapp.core.setup import FirstRunAnswers, complete_first_run, needs_first_run
from desktopapp.core.staff import Enrolment, StaffMember, StaffRegister
from desktopapp.core.store.audit import AuditEntry, AuditLog, AuditVerification
from desktopapp.core.store.backup import backup_if_due, replace_backups
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, DataKeyError, load_key
from desktopapp.core.store.db import (
    DB_FILE,
    StoreError,
    check_integrity,
    immediate_transaction,
    open_database,
    store_error,
)
from desktopapp.core.store.purge import PurgeResult, purge_personal_data
from desktopapp.core.store.retention import (
    RetentionPolicy,
    ScrubIncompleteError,
    SweepResult,
    reapply_policy,
    sweep,
)
from desktopapp.core.store.users import User, UserStore
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.engine import false_match_rate
from desktopapp.core.vision.types import FaceEmbedder, Vector

if TYPE_CHECKING:
    from desktopapp.core.chain.sync import SyncResult

log = logging.getLogger(__name__)

T = TypeVar("T")
# What a deletion reports, audited field by field.
D = TypeVar("D", SweepResult, PurgeResult)
ExportKind = Literal["csv", "pdf", "incident"]


# Who changed settings that were edited in settings.json rather than in Raiten.
SETTINGS_FILE_ACTOR = "file:settings.json"


class WorkspaceClosedError(Exception):
    """The workspace was closed (the window closing) while a background job still wanted it:
    the job's result is no longer wanted, so this is not a fault to report."""


class Workspace:
    def __init__(self, data_dir: Path, settings: Settings | None = None):
        self.data_dir = data_dir
        self.settings = settings or load_settings(data_dir)
        self._db = open_database(data_dir)
        try:
            # A damaged file is found now, while a backup can still be offered, rather than by
            # the query that happens to reach the damaged page.
            check_integrity(self._db, data_dir / DB_FILE)
            self._cipher = Cipher(load_key(data_dir))
        except (StoreError, DataKeyError):
            self._db.conn.close()
            raise
        # One connection, shared by worker threads one at a time.
        self._lock = threading.Lock()
        self._closed = False
        # Why the last backup failed (disk full, …); None once one succeeds.
        self.backup_problem: StoreError | None = None
        self._cameras = CameraStore(self._db, self._cipher)
        self._notices = NoticeStore(self._db)
        self._audit = AuditLog(self._db)
        self._users = UserStore(self._db, self._audit)
        with self._store():
            self._audit_edited_settings()

    @contextmanager
    def _store(self) -> Iterator[None]:
        """The shared connection, one thread at a time. The file's condition (damaged, locked,
        read-only, disk full) comes out as StoreError, which the UI words."""
        with self._lock:
            if self._closed:
                raise WorkspaceClosedError(f"the workspace of {self.data_dir} is closed")
            try:
                yield
            except sqlite3.Error as exc:
                error = store_error(exc, self.data_dir / DB_FILE)
                if error is None:
                    raise
                raise error from exc

    def chain_status(self) -> ChainStatus | None:
        """This PC's place in a chain of stores; None when it is a store on its own."""
        with self._store():
            return chain_status(self._db.conn, self._cipher)

    def chain_sync(self) -> SyncResult | None:
        """Push and pull the chain now, on a connection of its own (the network may take a
        while; the shared connection must not wait for it). None when not in a chain;
        ChainError when the server cannot be reached or refuses."""
        if self.chain_status() is None:
            return None
        from desktopapp.core.chain.sync import ChainSync, live_threshold  # noqa: PLC0415

        db = open_database(self.data_dir)
        try:
            threshold = live_threshold(self.settings.vision)
            return ChainSync(db, self._cipher, threshold=threshold).sync()
        finally:
            db.conn.close()

    def chain_join(self, enrolment: Path, store: str, actor: str) -> None:
        """Enrol this PC as the store ``store`` of the chain in the enrolment file (audited).
        ChainError when it cannot (see core.chain.errors)."""
        from desktopapp.core.chain.membership import join  # noqa: PLC0415

        with self._store():
            joined = join(self._db, self._cipher, enrolment, store)
            self._audit.append(
                actor, "chain.join", {"operator": joined.operator, "store": joined.store}
            )

    def chain_leave(self, actor: str) -> None:
        """Stop syncing with the chain; every visitor and visit stays here (audited)."""
        from desktopapp.core.chain.membership import leave  # noqa: PLC0415

        with self._store():
            state = leave(self._db, self._cipher)
            self._audit.append(
                actor, "chain.leave", {"operator": state.operator_name, "store": state.store_name}
            )

    def record(self, actor: str, action: str, details: dict[str, Any]) -> None:
        """One entry in the audit log (G-09)."""
        with self._store():
            self._audit.append(actor, action, details)

    def cameras(self) -> list[Camera]:
        with self._store():
            return self._cameras.all()

    def save_camera(self, camera: Camera, actor: str = "system") -> Camera:
        with self._store():
            if camera.camera_id is None:
                saved = self._cameras.add(camera)
            else:
                saved = self._cameras.update(camera)
            # The address may hold a password: the audit names the camera only.
            self._audit.append(
                actor, "camera.save", {"camera": saved.camera_id, "name": saved.name}
            )
            return saved

    def remove_camera(self, camera_id: int, actor: str = "system") -> None:
        with self._store():
            self._cameras.remove(camera_id)
            self._audit.append(actor, "camera.remove", {"camera": camera_id})

    def save_settings(self, settings: Settings, actor: str) -> None:
        with self._store():
            changed = changed_settings(self.settings, settings)
            save_settings(self.data_dir, settings)
            self.settings = settings
            self._audit_settings(actor, changed)

    def _audit_settings(self, actor: str, changed: dict[str, list[Any]]) -> None:
        # The whole set rides along, so that a later change of the file is found by comparing
        # against the last entry (_audit_edited_settings).
        details = {"changed": changed, "settings": self.settings.model_dump(mode="json")}
        self._audit.append(actor, "settings.change", details)

    def _audit_edited_settings(self) -> None:
        """Settings that only an edit of settings.json can change (the threshold, the
        false-match rate, the smallest group shown) are audited like the others: the settings
        in effect are compared with those of the last audited change (or the defaults)."""
        last = self._audit.entries(action="settings.change")
        recorded = last[-1].details.get("settings") if last else None
        try:
            before = Settings.model_validate(recorded) if recorded else Settings()
        except ValueError:
            before = Settings()
        changed = changed_settings(before, self.settings)
        if changed:
            log.info("settings changed outside Raiten: %s", ", ".join(changed))
            self._audit_settings(SETTINGS_FILE_ACTOR, changed)

    def needs_first_run(self) -> bool:
        with self._store():
            return needs_first_run(self._db)

    def complete_first_run(self, answers: FirstRunAnswers) -> NoticeVersion:
        with self._store():
            return complete_first_run(self._db, answers)

    def current_notice(self) -> NoticeVersion | None:
        with self._store():
            return self._notices.current()

    def save_notice(self, profile: NoticeProfile, actor: str) -> NoticeVersion:
        """A new notice version (if anything changed), audited; a changed retention period
        applies to the feature data already held at once (G-04)."""
        with self._store():
            before = self._notices.current()
            saved = self._notices.save(profile)
            if before is not None and saved.version == before.version:
                return saved
            self._audit.append(actor, "notice.set", {"version": saved.version})
            policy = RetentionPolicy.of_notice(profile)
            if before is None or policy != RetentionPolicy.of_notice(before.profile):
                changed = reapply_policy(self._db, policy)
                log.info("retention period changed: %d visitors re-dated", changed)
            return saved

    def authenticate(self, name: str, password: str) -> User:
        with self._store():
            return self._users.authenticate(name, password)

    def users(self) -> list[User]:
        with self._store():
            return self._users.all()

    def create_user(self, name: str, password: str, role: Role, actor: str) -> User:
        with self._store():
            return self._users.create(name, password, role, actor=actor)

    def set_role(self, name: str, role: Role, actor: str) -> User:
        with self._store():
            return self._users.set_role(name, role, actor=actor)

    def set_password(self, name: str, password: str, actor: str) -> None:
        with self._store():
            self._users.set_password(name, password, actor=actor)

    def change_own_password(self, name: str, old: str, new: str) -> None:
        with self._store():
            self._users.change_own_password(name, old, new)

    def unlock_user(self, name: str, actor: str) -> User:
        with self._store():
            return self._users.unlock(name, actor=actor)

    def remove_user(self, name: str, actor: str) -> None:
        with self._store():
            self._users.remove(name, actor=actor)

    def audit_entries(
        self, since: datetime, until: datetime, actor: str | None, action: str | None
    ) -> list[AuditEntry]:
        with self._store():
            return self._audit.entries(since=since, until=until, actor=actor, action=action)

    def verify_audit(self) -> AuditVerification:
        with self._store():
            return self._audit.verify()

    def purge(
        self,
        keep_statistics: bool,
        progress: Callable[[float], None],
        actor: str,
        *,
        include_exclusions: bool = False,
    ) -> PurgeResult:
        """All personal data, unrecoverably (G-14); opt-outs and staff only when
        ``include_exclusions``. Stop the cameras' store writer first: its connection would keep
        the WAL from being truncated."""
        with self._store():
            return self._deleting(
                actor,
                "purge",
                {"keep_statistics": keep_statistics, "include_exclusions": include_exclusions},
                lambda: purge_personal_data(
                    self._db,
                    keep_statistics=keep_statistics,
                    include_exclusions=include_exclusions,
                    progress=progress,
                ),
                datetime.now(UTC),
            )

    def _deleting(
        self,
        actor: str,
        action: str,
        details: dict[str, Any],
        delete: Callable[[], D],
        now: datetime,
    ) -> D:
        """``delete()``, audited, then fresh backups in place of those holding what it deleted.
        Both follow a committed deletion even when its file clean-up failed
        (ScrubIncompleteError, raised again afterwards so that the operator is told)."""
        try:
            result = delete()
        except ScrubIncompleteError as exc:
            if not isinstance(exc.result, SweepResult | PurgeResult):
                raise
            done = {**details, **asdict(exc.result), "scrub_pending": True}
            self._audit.append(actor, action, done)
            self._back_up(now, replace=True)
            raise
        self._audit.append(actor, action, {**details, **asdict(result)})
        self._back_up(now, replace=getattr(result, "deleted", True))
        return result

    def _requests(self, embedder: FaceEmbedder | None) -> PublicRequests:
        return PublicRequests(
            self._db,
            self._cipher,
            self._audit,
            threshold=embedder.threshold if embedder else 1.0,
            dim=embedder.dim if embedder else 0,
            model=embedder.info.model_id if embedder else "",
        )

    def find_held(self, probe: Vector, embedder: FaceEmbedder, actor: str) -> list[HeldRecord]:
        """What is held about the person whose feature is ``probe`` (G-08 disclosure)."""
        with self._store():
            return self._requests(embedder).find(probe, actor=actor)

    def unsearchable_held(self, embedder: FaceEmbedder) -> int:
        """How many visitors another face features model made: ``find_held`` cannot search
        them (they age out, or are removed in Staff / by the purge)."""
        with self._store():
            return self._requests(embedder).unsearchable()

    def erase_held(self, visitor_id: str, actor: str) -> None:
        """Erasure at the counter, audited by PublicRequests before its file clean-up; the
        backups holding the person are replaced even when that clean-up fails."""
        with self._store():
            try:
                self._requests(None).erase(visitor_id, actor=actor)
            finally:
                self._back_up(datetime.now(UTC), replace=True)

    def opt_out(self, probe: Vector, embedder: FaceEmbedder, actor: str) -> Exclusion:
        with self._store():
            return self._requests(embedder).opt_out(probe, actor=actor)

    def _staff(self, embedder: FaceEmbedder | None) -> StaffRegister:
        return StaffRegister(self._db, self._requests(embedder), self._audit)

    def staff(self) -> list[StaffMember]:
        with self._store():
            return self._staff(None).members()

    def enrol_staff(
        self, probe: Vector, embedder: FaceEmbedder, consented_on: date, actor: str
    ) -> Enrolment:
        with self._store():
            return self._staff(embedder).enrol(probe, consented_on=consented_on, actor=actor)

    def remove_staff(self, number: int, actor: str) -> StaffMember:
        with self._store():
            member = self._staff(None).remove(number, actor=actor)
            self._back_up(datetime.now(UTC), replace=True)
            return member

    def notice_in_force(self) -> NoticeVersion:
        """The complete notice, or NoticeGateError naming what is missing (G-01)."""
        with self._store():
            return _require(self._notices)

    def notice_problems(self) -> list[tuple[str, str]]:
        """(problem, key) pairs that keep analysis from starting; empty when it may start."""
        try:
            self.notice_in_force()
        except NoticeGateError as exc:
            return exc.items
        return []

    def exclusion_problem(self) -> ExclusionModelError | None:
        """Opt-outs or staff that the configured face features model cannot recognise, when
        the notice's mode recognises exclusions: analysis must not start (cameras blocked)."""
        with self._store():
            current = self._notices.current()
            if current is None or not applies_exclusions(current.profile.mode):
                return None
            model = configured_features_model(self.settings.vision)
            try:
                require_recognisable_exclusions(VisitStore(self._db, self._cipher), model)
            except ExclusionModelError as exc:
                return exc
            return None

    def run_retention(self, now: datetime | None = None) -> SweepResult:
        """At start-up and every hour: the retention sweep as of ``now`` (G-04), audited, then
        the daily backup. It runs whatever the notice's mode, under the notice's period or,
        when it names none, ``RetentionPolicy.of_notice``'s day."""
        moment = now or datetime.now(UTC)
        with self._store():
            current = self._notices.current()
            policy = RetentionPolicy.of_notice(current.profile if current else None)
            return self._deleting(
                "system",
                "retention.sweep",
                {"now": moment.isoformat()},
                lambda: sweep(self._db, policy, moment),
                moment,
            )

    def _back_up(self, now: datetime, *, replace: bool) -> None:
        """The daily backup, or with ``replace`` (personal data was just deleted) a fresh one
        that replaces every other. A failure is kept in ``backup_problem``, never raised: the
        deletion itself succeeded, and the next hourly run tries again."""
        try:
            if replace:
                replace_backups(self._db, self.data_dir, self._cipher, now)
            else:
                backup_if_due(self._db, self.data_dir, self._cipher, now)
        except StoreError as exc:
            log.error("backup failed: %s", exc)
            self.backup_problem = exc
        else:
            self.backup_problem = None

    def _analytics(self) -> Analytics:
        return Analytics(
            self._db,
            k=self.settings.reports.min_group,
            false_match_rate=false_match_rate(self.settings.vision),
        )

    def aggregates(self, job: Callable[[Analytics], T]) -> T:
        """``job`` over the aggregates (G-07: only aggregates leave the store layer)."""
        with self._store():
            return job(self._analytics())

    def export(
        self, path: Path, kind: ExportKind, period: Period, language: Language, actor: str
    ) -> Path:
        """Aggregates as CSV or a PDF report, or the incident report (G-15); audited."""
        with self._store():
            analytics = self._analytics()
            if kind == "incident":
                write_incident_csv(path, analytics.incident_report(datetime.now(UTC)), language)
            elif kind == "pdf":
                write_pdf(path, analytics, period, language)
            else:
                write_csv(path, analytics, period, language)
            self._audit.append(
                actor,
                "export",
                {
                    "format": kind,
                    "from": period.start.isoformat(),
                    "to": period.end.isoformat(),
                    "store": period.store_id,
                    "file": path.name,
                },
            )
            return path

    def import_pos(
        self, path: Path, store: str, mapping: ColumnMapping, minutes: int, actor: str
    ) -> PosImportResult:
        with self._store():
            return import_pos_csv(
                self._db,
                path,
                store=store,
                mapping=mapping,
                tolerance=timedelta(minutes=minutes),
                actor=actor,
                audit=self._audit,
            )

    def register_cameras(self) -> list[RegisterCamera]:
        with self._store():
            return register_cameras(self._db)

    def set_register_camera(
        self, store: str, register: str, camera_id: int, zone: str | None, actor: str
    ) -> int:
        """Record which camera (and zone) watches a register, then link the purchases that
        can be linked now; returns how many were linked. Audited."""
        with self._store():
            # The notice's store has no row until its first visit or sale: the operator
            # names it here, so it is created like a POS import would.
            with immediate_transaction(self._db.conn):
                store_id = find_or_create_store(self._db, store.strip(), datetime.now(UTC))
            set_register_camera(self._db, store, register, camera_id, zone)
            tolerance = timedelta(minutes=self.settings.reports.pos_tolerance_minutes)
            linked = link_purchases(self._db, store_id, tolerance)
            self._audit.append(
                actor,
                "pos.register_camera",
                {
                    "store": store.strip(),
                    "register": register.strip(),
                    "camera_id": camera_id,
                    "zone": zone,
                    "linked": linked,
                },
            )
            return linked

    def remove_register_camera(self, store: str, register: str, actor: str) -> None:
        with self._store():
            remove_register_camera(self._db, store, register)
            self._audit.append(
                actor,
                "pos.register_camera.remove",
                {"store": store.strip(), "register": register.strip()},
            )

    def close(self) -> None:
        """Close the database; a job that reaches it later gets WorkspaceClosedError. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.conn.close()
