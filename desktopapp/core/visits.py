"""Turning a camera's TrackClosed events into visitors and visits (DOMAIN "Repeat analysis").

A visit is one visitor's presence in one store; tracks of that store's cameras less than
``merge_gap`` apart merge into one visit. In repeat mode the track's feature is matched against
the operator's gallery (open-set: threshold and margin); a match is a returning visitor, anything
else a new pseudonymous visitor with a random UUID. Opted-out people (do-not-track) and
consented staff are matched first, by the threshold alone (no margin: look-alike exclusions must
not cancel each other out), and produce no customer record at all. Modes that keep no
identity store anonymous visits, and so does a repeat-mode track with no usable face: a visit
whose identity is unknown. Owned by the single store-writer thread.

The galleries are in memory, loaded at start; other connections delete visitors under them
(retention, purge, erasure at the counter). A match whose visitor is gone is dropped from its
gallery and the probe searched again, so such a track still becomes a visit. Other changes
made elsewhere (an opt-out at the counter, or its withdrawal) take effect at
``reload_galleries``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from desktopapp.core.config import VisionConfig
from desktopapp.core.matching import Gallery, MatchPolicy, MatchResult
from desktopapp.core.model_change import require_recognisable_exclusions
from desktopapp.core.modes import PRESETS, Mode, allowed_mode
from desktopapp.core.notice import NoticeProfile, NoticeStore, require_complete_notice
from desktopapp.core.pipeline import TrackClosed
from desktopapp.core.store.counts import add_counts
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import immediate_transaction, open_database
from desktopapp.core.store.retention import RetentionPolicy, expiry_for

# The visitor kinds are the store's; the UI takes them from here, through the recorder.
from desktopapp.core.store.visits import (
    CUSTOMER,
    DO_NOT_TRACK,
    STAFF,
    NewVisit,
    PathPoint,
    StoredVisitor,
    VisitStore,
)
from desktopapp.core.vision.engine import VisionEngine, match_margin
from desktopapp.core.vision.types import FaceEmbedder, Role, Vector

log = logging.getLogger(__name__)

# In the face modes a body seen for less than this, with no face, is counted but is no visit:
# on vtest.avi 24 of 75 body tracks lasted under 2 s, mostly pieces of one walker's track cut
# where others hid them, which would have counted them as visitors twice (docs/decisions.md).
MIN_FACELESS_VISIT_S = 2.0
# A face no body held, seen in several frames but for less than this, is counted but is no
# visit either: on crowd.mp4 most such faces are pieces of people who have other tracks, cut
# where a passer-by hid them or they turned, or no face at all (a hand, the back of a head);
# docs/decisions.md, face fragments. A face seen once (a photo) is a visit.
MIN_BODILESS_FACE_VISIT_S = 1.0


@dataclass(frozen=True, slots=True)
class RecorderConfig:
    operator: str
    store: str
    mode: Mode
    retention: RetentionPolicy
    merge_gap: timedelta = timedelta(minutes=10)
    model: str = ""
    threshold: float = 0.92
    margin: float = 0.02
    dim: int = 128

    @property
    def policy(self) -> MatchPolicy:
        return MatchPolicy(self.threshold, self.margin)

    @classmethod
    def for_notice(
        cls,
        profile: NoticeProfile,
        embedder: FaceEmbedder | None,
        mode: Mode | None = None,
        store: str | None = None,
        margin: float = 0.02,
    ) -> RecorderConfig:
        """The notice in force decides who, where, what and for how long (``mode`` may only
        narrow its mode: ModeError otherwise); the embedder decides how features compare."""
        return cls(
            operator=profile.operator,
            store=store or profile.store,
            mode=allowed_mode(profile.mode, mode),
            # Modes that keep no identity may leave the period unset; anonymous visits then
            # age out after a day.
            retention=RetentionPolicy(max(1, profile.retention_days), profile.retention_from),
            model=embedder.info.model_id if embedder else "",
            threshold=embedder.threshold if embedder else 1.0,
            margin=margin,
            dim=embedder.dim if embedder else 128,
        )


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one track became: a new visit, an extension of a visit (by identity: merged; by
    place and time on another camera: joined), or nothing. A visit without ``visitor_id`` is
    anonymous: of unknown identity in repeat mode."""

    outcome: Literal["visit", "merged", "joined", "suppressed", "skipped", "counted"]
    visitor_id: str | None = None
    visit_id: int | None = None
    is_repeat: bool = False
    new_visitor: bool = False
    age_band: str | None = None
    gender: str | None = None


class VisitRecorder:
    def __init__(
        self,
        store: VisitStore,
        config: RecorderConfig,
        to_datetime: Callable[[float], datetime] = lambda t: datetime.fromtimestamp(t, UTC),
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.store = store
        self.config = config
        self._to_datetime = to_datetime
        self._now = now
        with store.db.conn:
            self.operator_id, self.store_id = store.ensure_operator_and_store(
                config.operator, config.store, now()
            )
        self.preset = PRESETS[config.mode]
        self.keeps_identity = self.preset.keeps_features
        if self.keeps_identity:
            require_recognisable_exclusions(store, config.model, self.operator_id)
        self.galleries: dict[str, Gallery] = {}
        self.reload_galleries()

    def reload_galleries(self) -> None:
        """Read the three galleries from the database again, e.g. after an opt-out."""
        scope = None if self.store.share_gallery(self.operator_id) else self.store_id
        policy = self.config.policy
        # Exclusion decides by the threshold alone: two opt-outs (or staff) that look alike, or
        # two records of one person, must not cancel each other out.
        exclusion = replace(policy, margin=0.0)
        self.galleries = {
            kind: (policy if kind == CUSTOMER else exclusion).gallery(
                # An opt-out is a request to the operator, so it holds in every store.
                self.store.templates(
                    self.operator_id,
                    kind,
                    None if kind == DO_NOT_TRACK else scope,
                    self.config.model,
                ),
                self.config.dim,
            )
            for kind in (CUSTOMER, STAFF, DO_NOT_TRACK)
        }
        log.info(
            "gallery loaded: %d visitors (%d templates)",
            self.galleries[CUSTOMER].visitors,
            self.galleries[CUSTOMER].templates,
        )

    def record(self, event: TrackClosed) -> Recorded:
        """Store what ``event`` means, in one transaction."""
        # IMMEDIATE: no other connection can delete the matched visitor between the check that
        # it still exists and the rows that refer to it.
        with immediate_transaction(self.store.db.conn):
            return self._record(event)

    def _record(self, event: TrackClosed) -> Recorded:
        started = self._to_datetime(event.first_seen)
        ended = self._to_datetime(event.last_seen)
        attributes = event.attributes
        age_band = attributes.age_band if attributes else None
        gender = attributes.gender.value if attributes else None
        path = self._path(event)
        if event.kind == "person":
            self._count(event, started)
            # In the face modes a person track is a visit with whatever face it held.
            if not (self.preset.person_visits or self.preset.face_visits):
                return Recorded("counted")
            if self.preset.face_visits and _a_glimpse(event):
                return Recorded("counted")
        elif not self.preset.face_visits:
            return Recorded("skipped")  # faces were found only to be masked
        elif _a_face_glimpse(event):
            self._count(event, started)
            return Recorded("counted")
        # Without a usable face (none large or sharp enough, or its feature failed) the person
        # was still here: a visit of unknown identity, never a silent loss. Repeat rates are
        # taken over identified visits, with this share shown beside them.
        probe = self.config.policy.probe(event.templates) if self.keeps_identity else None
        if probe is None:
            visit_id = self.store.add_visit(
                NewVisit(
                    self.store_id,
                    None,
                    started,
                    ended,
                    age_band,
                    gender,
                    False,
                    1,
                    self.config.mode.value,
                    path,
                )
            )
            return Recorded("visit", None, visit_id, age_band=age_band, gender=gender)
        feature, quality = probe
        if self._excluded(feature):
            return Recorded("suppressed")
        gallery = self.galleries[CUSTOMER]
        matched, result = self._live_customer(feature)
        new_visitor = matched is None
        visitor_id = matched.visitor_id if matched else str(uuid.uuid4())
        if new_visitor:
            self.store.add_visitor(
                visitor_id,
                operator_id=self.operator_id,
                store_id=self.store_id,
                kind=CUSTOMER,
                seen=started,
                expires_at=expiry_for(started, ended, self.config.retention),
            )
        if self.config.policy.keeps_template(result) and gallery.add(visitor_id, feature, quality):
            self.store.replace_templates(
                visitor_id, self.config.model, gallery.templates_of(visitor_id), self._now()
            )
        stored = matched or self.store.visitor(visitor_id)
        assert stored is not None
        last = None if new_visitor else self.store.last_visit(visitor_id, self.store_id)
        # Overlapping tracks (two cameras seeing the person at once) merge as well.
        if last is not None and started - last[2] <= self.config.merge_gap:
            visit_id, visit_started, visit_ended = last
            self.store.extend_visit(visit_id, visit_started, max(ended, visit_ended))
            self.store.add_path(visit_id, path)
            self._touch(stored, ended, stored.visit_count)
            return Recorded("merged", visitor_id, visit_id)
        number = stored.visit_count + 1
        visit_id = self.store.add_visit(
            NewVisit(
                self.store_id,
                visitor_id,
                started,
                ended,
                age_band,
                gender,
                number > 1,
                number,
                self.config.mode.value,
                path,
            )
        )
        self._touch(stored, ended, number)
        return Recorded("visit", visitor_id, visit_id, number > 1, new_visitor, age_band, gender)

    def join(self, visit_id: int | None, event: TrackClosed) -> Recorded | None:
        """Add a track of another camera to a visit in progress (core.visit_join): its path,
        zone dwell and end, never a second visit. ``visit_id`` None: the visit was suppressed
        (staff, opt-out), and the track with it. None, with nothing written, when the track
        cannot be that visit's: the visit has been deleted meanwhile (erasure at the counter,
        purge), or the track's face is another returning visitor's."""
        with immediate_transaction(self.store.db.conn):
            span = None if visit_id is None else self.store.visit_span(visit_id)
            if visit_id is not None and span is None:
                return None
            probe = self.config.policy.probe(event.templates) if self.keeps_identity else None
            feature = probe[0] if probe is not None else None
            if feature is not None and span is not None and span[0] is not None:
                # A face outweighs where the track walked.
                matched, _result = self._live_customer(feature)
                if matched is not None and matched.visitor_id != span[0]:
                    return None
            started = self._to_datetime(event.first_seen)
            if event.kind == "person":
                self._count(event, started)
            # A face the joined track saw that is an opt-out's or staff's stays out of the
            # visit, whoever the entrance saw.
            if (
                visit_id is None
                or span is None
                or (feature is not None and self._excluded(feature))
            ):
                return Recorded("suppressed")
            visitor_id, visit_started, visit_ended = span
            ended = self._to_datetime(event.last_seen)
            self.store.extend_visit(visit_id, visit_started, max(ended, visit_ended))
            self.store.add_path(visit_id, self._path(event))
            stored = self.store.visitor(visitor_id) if visitor_id is not None else None
            if stored is not None:
                self._touch(stored, ended, stored.visit_count)
            return Recorded("joined", visitor_id, visit_id)

    def _excluded(self, feature: Vector) -> bool:
        """Whether the feature is an opted-out person's or a consenting employee's."""
        # A stale entry here (withdrawn elsewhere) suppresses until the next reload: the safe
        # side, so these galleries are not checked against the database.
        return any(self.galleries[kind].search(feature).is_match for kind in (DO_NOT_TRACK, STAFF))

    def _path(self, event: TrackClosed) -> tuple[PathPoint, ...]:
        return tuple(
            PathPoint(event.camera_id, self._to_datetime(t), x, y) for t, x, y in event.path
        )

    def _count(self, event: TrackClosed, started: datetime) -> None:
        """The counting lines a person track crossed, counted whatever becomes of the track."""
        crossings = [
            (c.line, c.direction.value, self._to_datetime(c.timestamp)) for c in event.crossings
        ]
        add_counts(self.store.db.conn, self.store_id, event.camera_id, started, crossings)

    def _live_customer(self, feature: Vector) -> tuple[StoredVisitor | None, MatchResult]:
        """The returning customer the feature matches, if it still exists in the database,
        with the search's result."""
        gallery = self.galleries[CUSTOMER]
        while (result := gallery.search(feature)).visitor_id is not None:
            stored = self.store.visitor(result.visitor_id)
            if stored is not None:
                return stored, result
            gallery.remove(result.visitor_id)
            log.info("a visitor deleted elsewhere has left the gallery")
        return None, result

    def _touch(self, stored: StoredVisitor, last_seen: datetime, visit_count: int) -> None:
        last_seen = max(last_seen, stored.last_seen)
        self.store.update_visitor(
            stored.visitor_id,
            last_seen,
            visit_count,
            expiry_for(stored.first_seen, last_seen, self.config.retention),
        )


def _a_glimpse(event: TrackClosed) -> bool:
    """A body seen briefly that never showed a face (no shot, no attributes)."""
    brief = event.last_seen - event.first_seen < MIN_FACELESS_VISIT_S
    return brief and not event.templates and event.attributes is None


def _a_face_glimpse(event: TrackClosed) -> bool:
    """A face that no body held, seen in more than one frame but briefly."""
    brief = event.last_seen - event.first_seen < MIN_BODILESS_FACE_VISIT_S
    return brief and event.hits > 1


def open_recorder(data_dir: Path, vision: VisionConfig) -> VisitRecorder:
    """A recorder on its own connection, for the store-writer thread that calls this.

    Refuses (NoticeGateError) unless the notice in force is complete.
    """
    db = open_database(data_dir)
    notice = require_complete_notice(NoticeStore(db))
    mode = notice.profile.mode
    embedder = (
        VisionEngine.configured(vision, [Role.FACE_FEATURES]).embedder
        if PRESETS[mode].keeps_features
        else None
    )
    return VisitRecorder(
        VisitStore(db, Cipher(load_key(data_dir))),
        RecorderConfig.for_notice(notice.profile, embedder, margin=match_margin(vision)),
    )
