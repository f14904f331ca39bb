"""One visit across a store's cameras: tracks of the other cameras join the visit in progress.

The operator marks the cameras that watch the entrance (``Camera.entrance``). Their tracks are
recorded as each mode says (``VisitRecorder.record``: a new visit, or one merged by identity)
and open a *trail*: where on the floor plan the visit's person was, and when. A track of any
other camera then joins the visit whose trail it continues on the calibrated floor plan:

- seen at the same times by two overlapping cameras: its floor points lie next to the trail's
  points of the same moments (``OVERLAP_DISTANCE_M``);
- or handed over: it starts where and shortly after the trail was last seen, allowing for the
  walk between the two fields of view (``HANDOVER_GAP_S``, ``WALK_SPEED_M_S``).

A joined track adds its path, zone dwell and end to that visit (``VisitRecorder.join``); it
never makes a second visit. Of several visits it could continue, the nearest on the plan takes
it, and a visit never takes two tracks of one camera at once (that camera saw two people); a
face on the track that is another returning visitor's outweighs the floor. A
track that joins no visit is recorded as its mode says today, as is every track of a camera
without a floor calibration (there is no floor to compare on; logged once per camera).

A track may close before the entrance track of the same person (two cameras seeing them at
once, the other one briefly): it then waits ``HOLD_S`` of event time for that visit to appear.
``flush`` records whatever still waits, e.g. when the cameras stop.

Only floor positions and times are used: no appearance, no feature. The trails are in memory
only, owned by the store-writer thread like the recorder, and dropped ``TRAIL_KEEP_S`` after
their last point.
"""

from __future__ import annotations

import bisect
import logging
import math
import sqlite3
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desktopapp.core.config import ASSUMED_PLAN_SIZE_M, VisionConfig
from desktopapp.core.floor import FloorCalibration
from desktopapp.core.geometry_config import CameraGeometryConfig
from desktopapp.core.pipeline import TrackClosed
from desktopapp.core.store.db import StoreError
from desktopapp.core.store.zones import CameraZones
from desktopapp.core.visits import Recorded, VisitRecorder, open_recorder

log = logging.getLogger(__name__)

# Two cameras seeing one person at once place their feet this close on the plan at most: a
# box's foot point is off by up to about 0.3 m, and each camera's calibration clicks by about
# as much again at the edge of its view; two people this close are walking side by side.
OVERLAP_DISTANCE_M = 1.5
# Paths hold about one point a second (PipelineConfig's path interval): a trail's points are
# interpolated between neighbours at most this far apart, and looked at this far beyond its
# ends, to give its position at a track point's time.
INTERPOLATE_S = 2.5
AT_ENDS_S = 0.5
# A person leaving one camera's field and entering the next: the blind stretch between the
# fields of a small store's cameras is a few metres, crossed in a few seconds; a longer gap is
# as likely another person.
HANDOVER_GAP_S = 8.0
# A brisk walk; the handover allowance grows with the gap at this pace, on top of
# HANDOVER_DISTANCE_M for where the feet are placed on either camera.
WALK_SPEED_M_S = 1.5
HANDOVER_DISTANCE_M = 1.5
# How long (event time) a track that joined nothing waits for an entrance track still open: the
# entrance camera's track closes some seconds after the person has left its view.
HOLD_S = 20.0
# A trail no track has continued for this long is forgotten; a track can be joined to it while
# it started within HANDOVER_GAP_S of it, however long it lasted.
TRAIL_KEEP_S = 3600.0

FloorPoint = tuple[float, float, float]  # (timestamp, x, y) on the plan, in metres


@dataclass(frozen=True, slots=True)
class CameraPlace:
    """What joining needs of a camera: whether it watches the entrance, and its calibration."""

    entrance: bool
    calibration: FloorCalibration | None


@dataclass(slots=True)
class _Trail:
    """Where a visit's person was seen, on the floor plan; visit None: a suppressed visit
    (staff, opt-out), whose joined tracks are suppressed with it."""

    visit_id: int | None
    points: list[FloorPoint] = field(default_factory=list)
    # (camera, first_seen, last_seen) of each track that made or joined the trail.
    spans: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def last(self) -> float:
        return self.points[-1][0]

    def add(self, event: TrackClosed, points: Sequence[FloorPoint]) -> None:
        self.points = sorted([*self.points, *points])
        self.spans.append((event.camera_id, event.first_seen, event.last_seen))

    def busy(self, camera_id: int, first: float, last: float) -> bool:
        """Whether a track of ``camera_id`` joined this visit during first..last already."""
        return any(c == camera_id and f <= last and first <= e for c, f, e in self.spans)

    def at(self, t: float) -> tuple[float, float] | None:
        """The trail's position at time ``t``, if it was seen then."""
        times = [p[0] for p in self.points]
        i = bisect.bisect_left(times, t)
        if i < len(times) and times[i] == t:
            return self.points[i][1:]
        if 0 < i < len(times):
            (t0, x0, y0), (t1, x1, y1) = self.points[i - 1], self.points[i]
            if t1 - t0 <= INTERPOLATE_S:
                f = (t - t0) / (t1 - t0)
                return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            return None
        end = self.points[0] if i == 0 else self.points[-1]
        return end[1:] if abs(end[0] - t) <= AT_ENDS_S else None

    def before(self, t: float) -> FloorPoint | None:
        """The trail's last point at or before ``t``."""
        i = bisect.bisect_right([p[0] for p in self.points], t)
        return self.points[i - 1] if i else None


def fit(trail: _Trail, points: Sequence[FloorPoint]) -> float | None:
    """How well a track's floor points continue ``trail``: the distance over the distance
    allowed (0 is perfect, at most 1 joins), or None when they cannot be one person.

    Where the trail was seen at the track's times, those moments decide alone (median of the
    distances, so one misplaced foot point does not); otherwise the track must start near the
    trail's last position before it, soon after."""
    together = [math.dist((x, y), at) for t, x, y in points if (at := trail.at(t)) is not None]
    if together:
        distance = statistics.median(together)
        return distance / OVERLAP_DISTANCE_M if distance <= OVERLAP_DISTANCE_M else None
    t, x, y = points[0]
    last = trail.before(t)
    if last is None or t - last[0] > HANDOVER_GAP_S:
        return None
    allowed = HANDOVER_DISTANCE_M + WALK_SPEED_M_S * (t - last[0])
    distance = math.dist((x, y), last[1:])
    return distance / allowed if distance <= allowed else None


class VisitJoiner:
    """A VisitRecorder that joins the store's cameras into one visit. Owned by the store-writer
    thread (core.services.recording), in the recorder's place."""

    def __init__(
        self,
        recorder: VisitRecorder,
        plan_size_m: Callable[[], tuple[float, float] | None] = lambda: None,
    ):
        self.recorder = recorder
        # Asked at each track, so a size the operator sets while the cameras run applies to
        # the next person.
        self._plan_size_m = plan_size_m
        self._trails: list[_Trail] = []
        self._held: list[tuple[TrackClosed, list[FloorPoint]]] = []
        self._clock = -math.inf
        self._geometry: dict[int, tuple[str, FloorCalibration | None]] = {}
        self._told: set[tuple[str, int]] = set()

    def reload_galleries(self) -> None:
        self.recorder.reload_galleries()

    def cameras(self) -> dict[int, CameraPlace]:
        """The store's cameras as they are now (the operator may change them while running);
        a calibration is fitted again only when it changed."""
        places = {}
        rows = self.recorder.store.db.execute("SELECT id, entrance, geometry_json FROM camera")
        for camera_id, entrance, text in rows:
            cached = self._geometry.get(camera_id)
            if cached is None or cached[0] != text:
                calibration = CameraGeometryConfig.model_validate_json(text).floor_calibration()
                cached = self._geometry[camera_id] = (text, calibration)
            places[int(camera_id)] = CameraPlace(bool(entrance), cached[1])
        return places

    def record(self, event: TrackClosed) -> Recorded | None:
        """Record ``event``: joined to a visit in progress, or as its mode says. None: held for
        a visit whose entrance track has not closed yet (recorded later either way)."""
        self._clock = max(self._clock, event.last_seen)
        # Released first: if the database fails, the store writer runs this job again, and
        # only what is not yet recorded is recorded then.
        self._release()
        return self._record(event)

    def flush(self) -> list[Recorded]:
        """Record the tracks still waiting for a visit as their mode says."""
        return self._release(everything=True)

    def _record(self, event: TrackClosed) -> Recorded | None:
        cameras = self.cameras()
        place = cameras.get(event.camera_id, CameraPlace(False, None))
        points = list(self._on_plan(event, place.calibration))
        if place.entrance:
            recorded = self.recorder.record(event)
            if place.calibration is None:
                self._tell(
                    "entrance",
                    event.camera_id,
                    "camera %d watches the entrance but has no floor calibration: the other "
                    "cameras' tracks cannot be joined to its visits",
                )
            elif points and (recorded.visit_id is not None or recorded.outcome == "suppressed"):
                self._open(recorded.visit_id, event, points)
            return recorded
        if not any(c.entrance for c in cameras.values()):
            if len(cameras) > 1:
                self._tell(
                    "no entrance",
                    0,
                    "no camera is marked as watching the entrance: tracks of the store's "
                    "cameras are not joined into one visit",
                )
            return self.recorder.record(event)
        if place.calibration is None:
            self._tell(
                "uncalibrated",
                event.camera_id,
                "camera %d has no floor calibration: its tracks cannot be joined to visits, "
                "each becomes a visit of its own",
            )
            return self.recorder.record(event)
        if not points:
            return self.recorder.record(event)
        joined = self._join(event, points, self._trails)
        if joined is not None:
            return joined
        self._held.append((event, points))
        return None

    def _join(
        self, event: TrackClosed, points: list[FloorPoint], trails: Sequence[_Trail]
    ) -> Recorded | None:
        """``event`` joined to the trail it continues best, if any (and that visit remains)."""
        scored = [
            (score, i)
            for i, trail in enumerate(trails)
            if not trail.busy(event.camera_id, event.first_seen, event.last_seen)
            and (score := fit(trail, points)) is not None
        ]
        for _score, i in sorted(scored):
            trail = trails[i]
            recorded = self.recorder.join(trail.visit_id, event)
            if recorded is None:
                if trail.visit_id is not None and not self.recorder.store.visit_span(
                    trail.visit_id
                ):
                    log.info("a visit was deleted while in progress: no track joins it any more")
                    self._trails.remove(trail)
                else:
                    log.info("a track's face is another visitor's than the visit it continues")
                continue
            trail.add(event, points)
            log.debug(
                "camera %d track %d joined visit %s",
                event.camera_id,
                event.track_id,
                trail.visit_id,
            )
            return recorded
        return None

    def _open(self, visit_id: int | None, event: TrackClosed, points: list[FloorPoint]) -> None:
        trail = next(
            (t for t in self._trails if visit_id is not None and t.visit_id == visit_id), None
        )
        if trail is None:
            trail = _Trail(visit_id)
            self._trails.append(trail)
        trail.add(event, points)
        # Tracks that closed before this one, of the same person on other cameras.
        for waiting in list(self._held):
            try:
                joined = self._join(*waiting, [trail])
            except (StoreError, sqlite3.Error, OSError):
                # The entrance track is recorded, so the job must not fail (it would be
                # recorded again): the held track stays held, and tries again on release.
                log.exception("a held track could not be joined to its visit")
                continue
            if joined is not None:
                self._held.remove(waiting)

    def _release(self, *, everything: bool = False) -> list[Recorded]:
        recorded = []
        for waiting in list(self._held):
            event = waiting[0]
            if everything or event.last_seen + HOLD_S < self._clock:
                # One more try first: a join the database refused when its visit appeared.
                joined = self._join(*waiting, self._trails)
                recorded.append(joined or self.recorder.record(event))
                self._held.remove(waiting)
        self._trails = [t for t in self._trails if t.last + TRAIL_KEEP_S >= self._clock]
        return recorded

    def _on_plan(
        self, event: TrackClosed, calibration: FloorCalibration | None
    ) -> Iterator[FloorPoint]:
        """The track's path on the floor plan, in metres; points off the plan are left out."""
        if calibration is None:
            return
        shapes = CameraZones(calibration=calibration)
        width, depth = self._plan_size_m() or ASSUMED_PLAN_SIZE_M
        for t, x, y in event.path:
            fx, fy = shapes.on_plan(x, y)
            if fx is not None and fy is not None:
                yield t, fx * width, fy * depth

    def _tell(self, what: str, camera_id: int, message: str) -> None:
        """Log ``message`` (which may name the camera as %d) once per camera and kind."""
        if (what, camera_id) not in self._told:
            self._told.add((what, camera_id))
            log.warning(message.replace("%d", str(camera_id)))


def open_joiner(
    data_dir: Path,
    vision: VisionConfig,
    plan_size_m: Callable[[], tuple[float, float] | None] = lambda: None,
) -> VisitJoiner:
    """``open_recorder``'s recorder, joining the store's cameras: for the store-writer thread."""
    return VisitJoiner(open_recorder(data_dir, vision), plan_size_m)
