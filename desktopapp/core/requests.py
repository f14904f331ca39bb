"""Requests from the public (G-08): disclosure, erasure and opt-out at the shop counter.

With the person present, an administrator captures their face (from a camera, or from a
picture the person brings), searches every visitor the operator holds, shows what is held
about each match without any picture, deletes it on confirmation, and can keep the person out
of future analysis. Every step adds one audit entry (G-09); audit details name visitor ids
and counts, never a feature.

The probe. ``probe_from_image`` and ``probe_from_source`` return the feature of the largest
face and keep nothing: the caller owns the picture it passes in, and every camera frame read
here is zero-filled once analysed, as the pipeline does. ``find`` compares the probe in memory
and stores neither it nor any score. The one exception is ``opt_out``: keeping a person out of
analysis means recognising them, so at their request their probe is stored as the encrypted
template of a do-not-track (``dnt``) visitor. That template lasts until the person withdraws
the opt-out (``withdraw_opt_out``); retention does not expire it, because an opt-out that
lapsed after the retention period would start recording the person again unasked.

Searching. ``find`` lists every visitor of the operator, in all stores and of every kind
(customers, staff, earlier opt-outs), whose best template reaches the threshold, with no margin
over the runner-up: at the counter a second candidate costs a look, a missed one leaves a
person's data in place. The administrator judges the candidates with the person present.

Erasure deletes the visitor, its templates, visits and path points in one transaction and
then scrubs the file (secure delete, WAL truncation, VACUUM) so that no byte of them survives.
The visits are first folded into the hourly statistics, as retention does: those counts carry
no visitor id and cannot be traced back to the person, so they are not personal data and the
erasure request does not reach them, while dropping them would make past statistics depend on
who asked for erasure.

A running VisitRecorder notices erased visitors by itself; an opt-out or its withdrawal takes
effect there when the store-writer thread calls ``VisitRecorder.reload_galleries``. Like the
rest of the store, a PublicRequests belongs to the thread that owns its connection.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from desktopapp.core.matching import Gallery
from desktopapp.core.notice import NoticeStore
from desktopapp.core.sources import SourceError, SourceSpec, iter_frames
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.retention import fold_visits, scrub
from desktopapp.core.store.visits import CUSTOMER, DO_NOT_TRACK, STAFF, VisitStore
from desktopapp.core.verification import largest_face_feature
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image, Vector

log = logging.getLogger(__name__)

# An opt-out's (and a staff member's) expiry: it lasts until withdrawn. Stored as ISO text like
# every expiry, so the retention sweep's "expires_at <= now" never reaches it.
OPT_OUT_EXPIRY = datetime(9999, 12, 31, tzinfo=UTC)
# Captures kept per excluded person: a second opt-out or enrolment adds one, up to this many.
EXCLUSION_TEMPLATES = 5


class NoFaceError(Exception):
    """The picture or the camera shows no usable face; ``str()`` is a plain sentence."""


class RequestError(Exception):
    """The request cannot be carried out as asked; ``str()`` is a plain sentence."""


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """What is held about one matched visitor, for the person to see: no picture, no feature.

    ``age_band`` and ``gender`` are the values most of the visits recorded (the latest visit's
    on a tie); the visit times, stores and attributes are None or empty for a visitor without
    visits (staff, opt-outs).
    """

    visitor_id: str
    kind: str
    score: float
    visit_count: int
    first_visit: datetime | None
    last_visit: datetime | None
    stores: tuple[str, ...]
    age_band: str | None
    gender: str | None
    templates: int
    path_points: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An opt-out or a staff member: who, and whether the person was excluded already (the
    new capture joined their record rather than making a second one)."""

    visitor_id: str
    kind: str
    merged: bool


@dataclass(frozen=True, slots=True)
class ErasureResult:
    visitor_id: str
    visits: int
    templates: int
    path_points: int
    opted_out: bool
    """The erased visitor was the person's opt-out: they are analysed again from now on."""


def probe_from_image(engine: VisionEngine, image: Image) -> Vector:
    """The feature of the largest face in ``image``; NoFaceError when there is none.

    Nothing is kept; the picture stays the caller's, to discard.
    """
    feature = largest_face_feature(engine, image)
    if feature is None:
        raise NoFaceError(
            "No face was found in the picture. Use a picture where the face is clearly visible."
        )
    return feature


def probe_from_source(
    engine: VisionEngine, spec: SourceSpec, *, timeout: float = 10.0, attempts: int = 15
) -> Vector:
    """The feature of the largest face in the first of up to ``attempts`` frames that has one,
    read from a capture of its own (never the masked frames of the live view).

    Each frame is zero-filled once analysed. SourceError (a plain sentence, no credentials)
    when the camera cannot be opened or sends nothing; NoFaceError when no frame within
    ``attempts`` frames or about ``timeout`` seconds shows a face. ``timeout`` also bounds how
    long a stream may take to open and to deliver a frame.
    """
    if attempts < 1 or timeout <= 0:
        raise ValueError("attempts and timeout must be positive")
    deadline = time.monotonic() + timeout
    read = 0
    with contextlib.closing(iter_frames(spec, max_frames=attempts, timeout=timeout)) as frames:
        for frame in frames:
            read += 1
            try:
                feature = largest_face_feature(engine, frame.image)
            finally:
                frame.image.fill(0)
            if feature is not None:
                return feature
            if time.monotonic() >= deadline:
                break
    if not read:
        raise SourceError("The camera sent no picture. Check that it is working and try again.")
    raise NoFaceError(
        f"No face was found in {read} pictures from the camera. "
        "Ask the person to look at the camera and try again."
    )


class PublicRequests:
    """Disclosure, erasure and opt-out for one database; see the module docstring."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        cipher: Cipher,
        audit: AuditLog,
        *,
        threshold: float,
        dim: int,
        model: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db.conn
        self._visits = VisitStore(db, cipher)
        self._audit = audit
        self._threshold = threshold
        self._dim = dim
        self._model = model
        self._clock = clock

    def find(self, probe: Vector, *, actor: str) -> list[HeldRecord]:
        """Every visitor the probe matches (score >= threshold, no margin), best first."""
        operator = self._conn.execute("SELECT id FROM operator ORDER BY id LIMIT 1").fetchone()
        records: list[HeldRecord] = []
        if operator is not None:
            rows = (
                row
                for kind in (CUSTOMER, STAFF, DO_NOT_TRACK)
                for row in self._visits.templates(int(operator[0]), kind, None, self._model)
            )
            # One exhaustive scan per request: no index is worth building for it.
            gallery = Gallery.from_templates(
                rows, self._dim, self._threshold, exact_limit=sys.maxsize
            )
            records = [
                self._held(visitor_id, score)
                for visitor_id, score in gallery.scores_at_least(probe, self._threshold)
            ]
        visitors = [record.visitor_id for record in records]
        self._audit.append(
            actor, "request.search", {"matches": len(visitors), "visitors": visitors}
        )
        log.info("public request: search found %d visitors", len(visitors))
        return records

    def unsearchable(self) -> int:
        """Visitors (of every kind) held with another face features model than this search's:
        ``find`` cannot compare them, and the clerk must be told that they exist."""
        return sum(
            visitors
            for _kind, _model, visitors in self._visits.visitors_of_other_models(
                None, (CUSTOMER, STAFF, DO_NOT_TRACK), self._model
            )
        )

    def erase(self, visitor_id: str, *, actor: str) -> ErasureResult:
        """Delete the visitor with its templates, visits and path points; its visits stay in
        the statistics as anonymous counts. RequestError for an unknown visitor."""
        result = self._delete(visitor_id, only_kind=None)
        self._audit.append(
            actor,
            "request.erase",
            {
                "visitor": visitor_id,
                "visits": result.visits,
                "templates": result.templates,
                "path_points": result.path_points,
            },
        )
        log.info("public request: erased %s", result)
        # After the audit entry: should another connection keep the WAL from being truncated
        # (ScrubIncompleteError), the committed erasure is on record and any later scrub
        # (the next retention sweep) finishes the job.
        scrub(self._conn)
        return result

    def opt_out(self, probe: Vector, *, actor: str, store: str | None = None) -> Exclusion:
        """Keep the person out of future analysis: a do-not-track visitor holding ``probe``,
        encrypted, until withdrawn. ``store`` (default: the notice's store) becomes its home
        store; the opt-out holds in every store of the operator. A person who opted out
        already is recognised: the new capture joins their opt-out (``merged``) instead of
        making a second one."""
        exclusion = self.exclude(probe, DO_NOT_TRACK, store=store)
        self._audit.append(
            actor,
            "request.opt_out",
            {"visitor": exclusion.visitor_id, "merged": exclusion.merged},
        )
        log.info("public request: opt-out %s recorded", exclusion)
        return exclusion

    def exclude(
        self,
        probe: Vector,
        kind: str,
        *,
        store: str | None = None,
        created: Callable[[str], None] | None = None,
    ) -> Exclusion:
        """The exclusion (``kind`` dnt or staff) that ``probe`` matches at the threshold, with
        ``probe`` added to its templates, or a new one holding only ``probe``, for which
        ``created`` is called in the same transaction. Not audited (the caller says why it
        excludes)."""
        now = self._clock()
        with immediate_transaction(self._conn):
            operator_id, store_id = self._operator_and_store(store, now)
            held = Gallery.from_templates(
                self._visits.templates(operator_id, kind, None, self._model),
                self._dim,
                self._threshold,
                max_templates=EXCLUSION_TEMPLATES,
                exact_limit=sys.maxsize,
            )
            found = held.scores_at_least(probe, self._threshold)
            if found:
                visitor_id = found[0][0]
                kept = held.templates_of(visitor_id)[: EXCLUSION_TEMPLATES - 1]
                self._visits.replace_templates(visitor_id, self._model, [(1.0, probe), *kept], now)
                return Exclusion(visitor_id, kind, merged=True)
            visitor_id = str(uuid.uuid4())
            self._visits.add_visitor(
                visitor_id,
                operator_id=operator_id,
                store_id=store_id,
                kind=kind,
                seen=now,
                expires_at=OPT_OUT_EXPIRY,
            )
            self._visits.replace_templates(visitor_id, self._model, [(1.0, probe)], now)
            if created is not None:
                created(visitor_id)
        return Exclusion(visitor_id, kind, merged=False)

    def withdraw_opt_out(self, visitor_id: str, *, actor: str) -> None:
        """Delete a do-not-track visitor: the person is analysed again. RequestError when
        ``visitor_id`` is not an opt-out."""
        self.remove_exclusion(visitor_id, DO_NOT_TRACK)
        self._audit.append(actor, "request.opt_out_withdrawn", {"visitor": visitor_id})
        log.info("public request: opt-out %s withdrawn", visitor_id)

    def remove_exclusion(self, visitor_id: str, kind: str) -> int:
        """Delete an exclusion of ``kind`` with its templates and scrub the file; how many
        templates went. Not audited (the caller is). RequestError when it is not one."""
        result = self._delete(visitor_id, only_kind=kind)
        scrub(self._conn)  # its templates were features, like any other
        return result.templates

    def _delete(self, visitor_id: str, *, only_kind: str | None) -> ErasureResult:
        params = {"visitor": visitor_id}
        with immediate_transaction(self._conn):
            row = self._conn.execute("SELECT kind FROM visitor WHERE id = :visitor", params)
            found = row.fetchone()
            if found is None:
                raise RequestError(f"There is no visitor {visitor_id}; it may be deleted already.")
            kind = str(found[0])
            if only_kind is not None and kind != only_kind:
                raise RequestError(
                    f"Visitor {visitor_id} is not "
                    + ("an opt-out." if only_kind == DO_NOT_TRACK else "a staff member.")
                )
            fold_visits(self._conn, "visitor_id = :visitor", params)
            path_points = self._conn.execute(
                "DELETE FROM path_point WHERE visit_id IN "
                "(SELECT id FROM visit WHERE visitor_id = :visitor)",
                params,
            ).rowcount
            visits = self._conn.execute(
                "DELETE FROM visit WHERE visitor_id = :visitor", params
            ).rowcount
            templates = self._conn.execute(
                "DELETE FROM template WHERE visitor_id = :visitor", params
            ).rowcount
            self._conn.execute("DELETE FROM visitor WHERE id = :visitor", params)
        return ErasureResult(visitor_id, visits, templates, path_points, kind == DO_NOT_TRACK)

    def _operator_and_store(self, store: str | None, now: datetime) -> tuple[int, int]:
        """The database's operator and the named store, created from the notice in force when
        an opt-out comes before any visit was recorded."""
        row = self._conn.execute("SELECT name FROM operator ORDER BY id LIMIT 1").fetchone()
        notice = NoticeStore(self._db).current()
        operator = str(row[0]) if row else notice.profile.operator if notice else ""
        store = store or (notice.profile.store if notice else "")
        if not operator or not store:
            raise RequestError(
                "An opt-out needs the operator and store names: complete the notice first."
            )
        # The existing operator's own name, so that this never renames it.
        return self._visits.ensure_operator_and_store(operator, store, now)

    def _held(self, visitor_id: str, score: float) -> HeldRecord:
        params = {"visitor": visitor_id}
        kind, expires_at = self._conn.execute(
            "SELECT kind, expires_at FROM visitor WHERE id = :visitor", params
        ).fetchone()
        visits, first, last = self._conn.execute(
            "SELECT COUNT(*), MIN(started_at), MAX(started_at) FROM visit "
            "WHERE visitor_id = :visitor",
            params,
        ).fetchone()
        stores = self._conn.execute(
            "SELECT DISTINCT s.name FROM visit v JOIN store s ON s.id = v.store_id "
            "WHERE v.visitor_id = :visitor ORDER BY s.name",
            params,
        ).fetchall()
        templates = self._conn.execute(
            "SELECT COUNT(*) FROM template WHERE visitor_id = :visitor", params
        ).fetchone()[0]
        path_points = self._conn.execute(
            "SELECT COUNT(*) FROM path_point WHERE visit_id IN "
            "(SELECT id FROM visit WHERE visitor_id = :visitor)",
            params,
        ).fetchone()[0]
        return HeldRecord(
            visitor_id=visitor_id,
            kind=str(kind),
            score=score,
            visit_count=int(visits),
            first_visit=datetime.fromisoformat(first) if first else None,
            last_visit=datetime.fromisoformat(last) if last else None,
            stores=tuple(str(name) for (name,) in stores),
            age_band=self._most_recorded(visitor_id, "age_band"),
            gender=self._most_recorded(visitor_id, "gender"),
            templates=int(templates),
            path_points=int(path_points),
            expires_at=datetime.fromisoformat(expires_at),
        )

    def _most_recorded(self, visitor_id: str, column: str) -> str | None:
        """The value of ``column`` ("age_band" or "gender") most of the visitor's visits
        recorded, the latest on a tie."""
        row = self._conn.execute(
            f"SELECT {column} FROM visit WHERE visitor_id = ? AND {column} IS NOT NULL "
            f"GROUP BY {column} ORDER BY COUNT(*) DESC, MAX(started_at) DESC LIMIT 1",
            (visitor_id,),
        ).fetchone()
        return None if row is None else str(row[0])
