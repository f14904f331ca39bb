"""Counting people against what the operator drew: zones (dwell per visit, people per zone,
congestion) and counting lines (crossings in and out).

Each zone and line is tagged with the space it was drawn in (``floor.Space``): FLOOR once the
camera is calibrated, since a shelf or a till is a place on the plan whatever the camera angle,
or IMAGE, which works without calibration (a passer-by camera looking at the street has no
floor plan). Counters are fed a ``floor.Position`` per track and frame and read the coordinate
of their own space; a position without it (no floor point) is skipped, as if not seen.

The counters are separate objects, one per purpose, like ``Tracker``: not thread-safe, owned by
one camera's analysis worker, and fed the track ids of that camera's tracker.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from desktopapp.core.floor import Point, Position, Space, normalised_points

log = logging.getLogger(__name__)


class ZoneKind(enum.StrEnum):
    SHELF = "shelf"
    CHECKOUT = "checkout"
    ENTRANCE = "entrance"
    OTHER = "other"


MAX_NAME = 40


def _name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a {what} needs a name")
    if len(name.strip()) > MAX_NAME:
        raise ValueError(f"a {what} name can be at most {MAX_NAME} characters")
    return name.strip()


def _check_time(timestamp: float, last: float | None) -> None:
    if not math.isfinite(timestamp):
        raise ValueError(f"timestamp must be a finite number, got {timestamp}")
    if last is not None and timestamp < last:
        raise ValueError(f"timestamps must not go backwards: {timestamp} after {last}")


def _cross(o: Point, a: Point, b: Point) -> float:
    """z of (a - o) x (b - o): positive when b is right of o->a on a y-down picture."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Whether segments ab and cd cross at a point inside both (touching does not count)."""
    return (_cross(a, b, c) > 0) != (_cross(a, b, d) > 0) and (_cross(c, d, a) > 0) != (
        _cross(c, d, b) > 0
    )


@dataclass(frozen=True, slots=True)
class Zone:
    """A polygon drawn on the picture or the plan: a shelf, the checkout, the entrance."""

    name: str
    kind: ZoneKind
    polygon: tuple[Point, ...]
    space: Space

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "zone"))
        object.__setattr__(self, "kind", ZoneKind(self.kind))
        object.__setattr__(self, "space", Space(self.space))
        corners = normalised_points(self.polygon, f"the corners of zone '{self.name}'")
        object.__setattr__(self, "polygon", corners)
        if len(corners) < 3:
            raise ValueError(f"zone '{self.name}' needs at least three corners")
        edges = list(zip(corners, corners[1:] + corners[:1], strict=True))
        # A bow tie from corners clicked out of order has an inside that is not what was meant.
        for (i, (a, b)), (j, (c, d)) in itertools.combinations(enumerate(edges), 2):
            adjacent = j == i + 1 or (i == 0 and j == len(edges) - 1)
            if not adjacent and _segments_cross(a, b, c, d):
                raise ValueError(
                    f"zone '{self.name}' crosses itself; click its corners in order around it"
                )
        area = abs(sum(_cross((0.0, 0.0), a, b) for a, b in edges)) / 2
        # A ten-thousandth of the picture is 30 px² on 640x480: a line, not a zone.
        if area < 1e-4:
            raise ValueError(f"zone '{self.name}' has (almost) no area")

    def contains(self, point: Point) -> bool:
        """Whether ``point`` (in this zone's space) is inside, by the even-odd rule."""
        x, y = point
        inside = False
        corners = self.polygon
        previous = corners[-1]
        for corner in corners:
            (x1, y1), (x2, y2) = previous, corner
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
            previous = corner
        return inside


def count_in_zones(zones: Iterable[Zone], positions: Iterable[Position]) -> dict[str, int]:
    """People standing in each zone in one frame (crowd mode needs no tracks for this)."""
    located = list(positions)
    counts: dict[str, int] = {}
    for zone in zones:
        points = (p.in_space(zone.space) for p in located)
        counts[zone.name] = sum(1 for p in points if p is not None and zone.contains(p))
    return counts


class CongestionLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class CongestionThresholds:
    """People in a zone from which it is MEDIUM, HIGH and FULL (below ``medium``: LOW).

    Counts, not densities: the operator knows that three people at the till is a queue, and a
    zone's area in plan units would mean nothing to them. The defaults are placeholders for a
    small shop; each store sets its own.
    """

    medium: int = 3
    high: int = 6
    full: int = 10

    def __post_init__(self) -> None:
        values = (self.medium, self.high, self.full)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"congestion thresholds are whole numbers of people, got {values}")
        if not 1 <= self.medium < self.high < self.full:
            raise ValueError(
                "congestion thresholds must rise: 1 <= medium < high < full, got "
                f"medium={self.medium}, high={self.high}, full={self.full}"
            )

    def level(self, count: int) -> CongestionLevel:
        if count < 0:
            raise ValueError(f"a count of people cannot be negative, got {count}")
        if count >= self.full:
            return CongestionLevel.FULL
        if count >= self.high:
            return CongestionLevel.HIGH
        if count >= self.medium:
            return CongestionLevel.MEDIUM
        return CongestionLevel.LOW


def congestion_levels(
    counts: Mapping[str, int],
    default: CongestionThresholds,
    per_zone: Mapping[str, CongestionThresholds] | None = None,
) -> dict[str, CongestionLevel]:
    """The level of each zone in ``counts``, by its own thresholds where it has some."""
    own = per_zone or {}
    return {name: own.get(name, default).level(count) for name, count in counts.items()}


@dataclass(frozen=True, slots=True)
class DwellConfig:
    # A track seen outside a zone for less than this has not left it: feet on a zone's edge
    # jitter in and out by a few pixels, and that is one visit, not many.
    exit_grace_seconds: float = 2.0
    # Visits shorter than this are walking past, not visiting; they are not reported.
    min_visit_seconds: float = 0.0

    def __post_init__(self) -> None:
        for name in ("exit_grace_seconds", "min_visit_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value}")


@dataclass(frozen=True, slots=True)
class ZoneVisit:
    """One stay of one track in one zone: from the first to the last time seen inside."""

    zone: str
    kind: ZoneKind
    track_id: int
    entered: float
    exited: float

    @property
    def seconds(self) -> float:
        return self.exited - self.entered


@dataclass(slots=True)
class _OpenVisit:
    entered: float
    last_inside: float


@dataclass(slots=True)
class _TrackDwell:
    last_seen: float
    open: dict[str, _OpenVisit] = field(default_factory=dict)
    closed: list[ZoneVisit] = field(default_factory=list)


class ZoneDwell:
    """Visits of each track to each zone, and the seconds it spent in each.

    A visit starts when a track is first seen inside a zone and ends at the last time it was
    seen inside, once it has been seen outside ``exit_grace_seconds`` after that (or the track
    ends). Coming back within the grace continues the visit; coming back later starts a new one,
    and ``totals`` adds them up. A track not seen at all (hidden by a shelf) is not outside: its
    visit goes on until it is seen outside or ends.
    """

    def __init__(self, zones: Sequence[Zone], config: DwellConfig = DwellConfig()):
        names = [z.name for z in zones]
        if len(set(names)) != len(names):
            raise ValueError(f"zone names must differ, got {names}")
        self.zones = tuple(zones)
        self.config = config
        self._tracks: dict[int, _TrackDwell] = {}

    def update(self, track_id: int, timestamp: float, position: Position) -> list[ZoneVisit]:
        """Record where ``track_id`` is now; return the visits that this showed to be over."""
        state = self._tracks.get(track_id)
        _check_time(timestamp, state.last_seen if state else None)
        if state is None:
            state = self._tracks[track_id] = _TrackDwell(timestamp)
        state.last_seen = timestamp
        ended: list[ZoneVisit] = []
        for zone in self.zones:
            point = position.in_space(zone.space)
            if point is None:
                continue  # not seen in this zone's space: no news
            visit = state.open.get(zone.name)
            if zone.contains(point):
                if visit is None:
                    state.open[zone.name] = _OpenVisit(timestamp, timestamp)
                else:
                    visit.last_inside = timestamp
            elif (
                visit is not None
                and timestamp - visit.last_inside >= self.config.exit_grace_seconds
            ):
                del state.open[zone.name]
                ended.extend(self._close(state, zone, track_id, visit))
        return ended

    def end_track(self, track_id: int) -> list[ZoneVisit]:
        """The track is gone: close its open visits, forget it and return all its visits, in
        the order they started."""
        state = self._tracks.pop(track_id, None)
        if state is None:
            return []
        for zone in self.zones:
            visit = state.open.pop(zone.name, None)
            if visit is not None:
                self._close(state, zone, track_id, visit)
        return sorted(state.closed, key=lambda v: v.entered)

    def totals(self, track_id: int) -> dict[str, float]:
        """Seconds ``track_id`` has spent in each zone so far, open visits included."""
        state = self._tracks.get(track_id)
        result = {zone.name: 0.0 for zone in self.zones}
        if state is None:
            return result
        for visit in state.closed:
            result[visit.zone] += visit.seconds
        for name, open_visit in state.open.items():
            if open_visit.last_inside - open_visit.entered >= self.config.min_visit_seconds:
                result[name] += open_visit.last_inside - open_visit.entered
        return result

    def occupancy(self) -> dict[str, int]:
        """Tracks in each zone now (inside, or outside for less than the grace)."""
        result = {zone.name: 0 for zone in self.zones}
        for state in self._tracks.values():
            for name in state.open:
                result[name] += 1
        return result

    def _close(
        self, state: _TrackDwell, zone: Zone, track_id: int, visit: _OpenVisit
    ) -> list[ZoneVisit]:
        if visit.last_inside - visit.entered < self.config.min_visit_seconds:
            return []
        done = ZoneVisit(zone.name, zone.kind, track_id, visit.entered, visit.last_inside)
        state.closed.append(done)
        return [done]


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class CountingLine:
    """A line from ``start`` to ``end`` with a band of ``margin`` either side.

    Walking along the line from start to end, IN is a crossing from your left to your right: a
    line drawn left to right across a doorway counts people walking down the picture as IN.
    Swap the ends to swap the directions. ``margin`` is in the units of ``space`` (a fraction
    of the picture or plan).
    """

    name: str
    start: Point
    end: Point
    space: Space
    margin: float = 0.02

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name(self.name, "counting line"))
        object.__setattr__(self, "space", Space(self.space))
        start, end = normalised_points((self.start, self.end), f"the ends of line '{self.name}'")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        if math.dist(start, end) < 0.01:
            raise ValueError(f"line '{self.name}' must be at least 1 % of the picture long")
        # Without a band, feet jittering on the line would count at every wobble; a band a
        # quarter of the picture wide on each side would miss most people.
        if not (isinstance(self.margin, int | float) and 0 < self.margin <= 0.25):
            raise ValueError(
                f"the margin of line '{self.name}' must be above 0 and at most 0.25, "
                f"got {self.margin!r}"
            )

    @property
    def length(self) -> float:
        return math.dist(self.start, self.end)

    def signed_distance(self, point: Point) -> float:
        """Distance of ``point`` from the (infinite) line: positive on the right (IN) side."""
        return _cross(self.start, self.end, point) / self.length

    def crossed_within(self, before: Point, after: Point) -> bool:
        """Whether the step before -> after, with its ends on opposite sides of the line, goes
        through the drawn segment and not past one of its ends."""
        d0, d1 = self.signed_distance(before), self.signed_distance(after)
        if d0 * d1 >= 0:
            return False
        t = d0 / (d0 - d1)
        x = before[0] + t * (after[0] - before[0])
        y = before[1] + t * (after[1] - before[1])
        (sx, sy), (ex, ey) = self.start, self.end
        along = ((x - sx) * (ex - sx) + (y - sy) * (ey - sy)) / self.length**2
        return 0.0 <= along <= 1.0


@dataclass(frozen=True, slots=True)
class Crossing:
    line: str
    track_id: int
    timestamp: float
    direction: Direction


@dataclass(slots=True)
class _LineTrack:
    last_seen: float
    # The side (-1 left, +1 right) where the track was last seen fully outside the band; 0
    # until it has been.
    side: int = 0
    # The side of the infinite line the track was last on (0: only ever exactly on it), and
    # where: the step that changes sides starts from here.
    sign: int = 0
    off_line: Point | None = None
    # Whether the last change of sides went through the drawn segment.
    through_segment: bool = False
    # Where it was last seen fully outside the band (on ``side``).
    outside: Point | None = None


class LineCounter:
    """Crossings of one counting line, with hysteresis against jitter and ID switches.

    A crossing counts when a track, last seen fully outside the band on one side (at least
    ``margin`` from the line), is seen fully outside it on the other side, and both the step on
    which it last changed sides of the line and the straight way from its last sighting outside
    the band to this one went through the drawn segment. Near an end of the line the foot
    point's jitter (a box's bottom moves by a tenth of a person's height from frame to frame)
    decides on which side of the end a single step passes; the way between the band's two
    sides averages that jitter over the passage, and a walker whose feet graze an end counts
    only when both say they went through. Inside the band nothing counts, so feet jittering on
    the line count once at most; and a track id only counts from a side it was itself seen
    on, so a new id that first appears in the band or on the far side (the tracker lost the
    person near the line and gave them a new id) counts nothing until it crosses again. Such a
    switch in the band loses that one crossing rather than count it twice: an undercount by the
    rate of ID switches within the band, which a narrow margin keeps small. The counts of one
    track alternate IN/OUT unless it walks round an end of the line in between.
    """

    def __init__(self, line: CountingLine):
        self.line = line
        self.counts = {Direction.IN: 0, Direction.OUT: 0}
        self._tracks: dict[int, _LineTrack] = {}

    @property
    def in_count(self) -> int:
        return self.counts[Direction.IN]

    @property
    def out_count(self) -> int:
        return self.counts[Direction.OUT]

    def update(self, track_id: int, timestamp: float, position: Position) -> Crossing | None:
        """Record where ``track_id`` is now; return the crossing this completes, if any."""
        state = self._tracks.get(track_id)
        _check_time(timestamp, state.last_seen if state else None)
        point = position.in_space(self.line.space)
        if point is None:
            return None
        if state is None:
            state = self._tracks[track_id] = _LineTrack(timestamp)
        state.last_seen = timestamp

        distance = self.line.signed_distance(point)
        sign = (distance > 0) - (distance < 0)
        if sign:
            if state.sign and sign != state.sign and state.off_line is not None:
                state.through_segment = self.line.crossed_within(state.off_line, point)
            state.sign, state.off_line = sign, point
        if abs(distance) < self.line.margin:
            return None
        before, state.outside = state.outside, point
        if sign == state.side:
            return None
        # Fully outside the band, on a side other than the one the track was last confirmed on.
        first_sighting = state.side == 0
        counted = (
            not first_sighting
            and state.through_segment
            and before is not None
            and self.line.crossed_within(before, point)
        )
        state.side, state.through_segment = sign, False
        if not counted:
            return None
        direction = Direction.IN if sign > 0 else Direction.OUT
        self.counts[direction] += 1
        log.debug("track %d crossed line '%s' %s", track_id, self.line.name, direction)
        return Crossing(self.line.name, track_id, timestamp, direction)

    def forget(self, track_id: int) -> None:
        """The track ended; an id the tracker hands out again later starts afresh."""
        self._tracks.pop(track_id, None)
