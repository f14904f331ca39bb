"""Faces attached to the bodies that hold them, and one visit per person out of both (issue 18).

In the modes that record visits, the person tracker follows whole bodies (their path stands
where the feet are) and the face tracker follows faces (their best shots give the identity
feature and the attributes). ``BodyFaces`` links the two:

- Every frame in which faces were looked for, each face is attached to at most one body and
  each body holds at most one face: the face's centre must lie inside the upper part of the
  body's box, and among the pairs that fit, the Hungarian method (``lap.lapjv``) picks those of
  least cost (how far the face is from where a head stands in that box). A body keeps the face
  it held the frame before unless that face has clearly left it (outside the upper part): the
  pair it had costs less than any new one (``KEEP_BONUS``).
- Tracks linked by an attachment at any time form one group; a group is settled once all its
  tracks have closed (a face track closes after its features have arrived). Then bodies that
  held the same face one after the other (the person tracker lost the person and found them
  again) become one person; each face goes to the person whose body held it for most frames;
  and each person becomes ONE event: path, crossings and hits from the body tracks, identity
  feature, templates and attributes from the faces' best shots.
- A face never attached to any body (the person detector missed the body, a close-up, a
  single photo) stays an event of its own; a body that never held a face is an event with no
  identity. No person is lost, and a face that went with a body gives no visit of its own.
  Only a body that spent its frames on the box of a body holding a face, never holding one
  itself, gives nothing: it is a second box the detector put on that person.

Faces whose features disagree with the person's main face (the one held longest) cannot be the
same person: the body track switched people. Those stay events of their own rather than join
two people's shots into one identity.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import lap
import numpy as np

from desktopapp.core.tracking import Box, Tracker, TrackUpdate, iou_matrix
from desktopapp.core.vision.features import normalise

if TYPE_CHECKING:
    from desktopapp.core.pipeline import TrackClosed

log = logging.getLogger(__name__)

# The face centre stands in the top part of a person's box: about a tenth of the height down
# for a standing person, lower for one sitting or cut by the bottom of the frame. A little
# above the top edge is allowed: the detector's box sometimes cuts the top of the head.
UPPER_SHARE = 0.45
ABOVE_SHARE = 0.05
# Where a head's centre stands in a person's box, as a share of its height.
HEAD_SHARE = 0.1
# A face wider than this share of the body's box is not that body's face.
MAX_FACE_WIDTH_SHARE = 1.1
# A body that never held a face, and overlapped a body holding one by at least this IoU in at
# least DUPLICATE_SHARE of its frames, is a second box the detector put on that person (t1.jpg:
# one man in two boxes at IoU 0.53), not a person of its own.
DUPLICATE_IOU = 0.4
DUPLICATE_SHARE = 0.8
# A new pair must fit this much better (in cost, 0..1) to take a body's face from it.
KEEP_BONUS = 0.5
_UNFIT = 1e6

Kind = Literal["body", "face"]
Node = tuple[Kind, int]


@dataclass(frozen=True, slots=True)
class Person:
    """What one settled group gives: one visit's events. ``faces`` best first (held longest)."""

    bodies: tuple[TrackClosed, ...]
    faces: tuple[TrackClosed, ...]


@dataclass(slots=True)
class _Group:
    """Tracks linked by attachments, and how many frames each pair was attached."""

    nodes: set[Node] = field(default_factory=set)
    frames: Counter[tuple[int, int]] = field(default_factory=Counter)  # (body, face) -> frames


def fit_cost(body: Box, face: Box) -> float | None:
    """How badly ``face`` fits the head of ``body`` (0: where a head stands; 1: at the edge of
    the upper part), None when it cannot be that body's face."""
    x, y, w, h = body
    fx, fy, fw, fh = face
    cx, cy = fx + fw / 2, fy + fh / 2
    # A box that starts at the shoulders (a man standing behind a table in t1.jpg) still
    # holds the face that overlaps its top edge.
    above = max(ABOVE_SHARE * h, fh / 2)
    if not (x <= cx <= x + w and y - above <= cy <= y + UPPER_SHARE * h):
        return None
    if fw > MAX_FACE_WIDTH_SHARE * w:
        return None
    across = abs(cx - (x + w / 2)) / (w / 2)
    head = y + HEAD_SHARE * h
    reach = (UPPER_SHARE - HEAD_SHARE) * h if cy >= head else HEAD_SHARE * h + above
    down = abs(cy - head) / reach
    return 0.5 * across + 0.5 * min(down, 1.0)


class BodyFaces:
    """One camera's attachments of face tracks to body tracks. Owned by its analysis thread."""

    def __init__(self, threshold: float | None = None):
        # Two faces whose features' cosine is below the feature model's threshold are two
        # people (None: no features are kept, so none are compared).
        self._threshold = threshold
        self._face_of: dict[int, int] = {}  # body -> the face it holds now
        self._body_of: dict[int, int] = {}  # face -> the body holding it now
        self._group_of: dict[Node, _Group] = {}
        self._closed: dict[Node, TrackClosed] = {}
        self._loose: list[Person] = []  # closed tracks that were in no group
        self._frames: Counter[int] = Counter()  # body -> frames seen
        self._shadowed: Counter[int] = Counter()  # body -> frames spent on a face holder's box

    def attach(self, bodies: dict[int, Box], faces: dict[int, Box]) -> None:
        """The attachments of one frame: ``bodies`` and ``faces`` are the tracks seen in it
        (track id -> box)."""
        for body, face in list(self._face_of.items()):
            # Clearly wrong now: both seen, the face outside the body's upper part.
            if body in bodies and face in faces and fit_cost(bodies[body], faces[face]) is None:
                self._detach(body, face)
        if not bodies or not faces:
            self._count_duplicates(bodies)
            return
        body_ids, face_ids = sorted(bodies), sorted(faces)
        cost = np.full((len(body_ids), len(face_ids)), _UNFIT)
        for i, body in enumerate(body_ids):
            for j, face in enumerate(face_ids):
                fit = fit_cost(bodies[body], faces[face])
                if fit is not None:
                    kept = self._face_of.get(body) == face
                    cost[i, j] = fit if kept else fit + KEEP_BONUS
        if not (cost < _UNFIT).any():
            return
        _, face_of_row, _ = lap.lapjv(cost, extend_cost=True, cost_limit=2.0 + KEEP_BONUS)
        for i, j in enumerate(face_of_row):
            if j < 0:
                continue
            body, face = body_ids[i], face_ids[int(j)]
            if self._face_of.get(body) != face:
                if body in self._face_of:
                    self._detach(body, self._face_of[body])
                if face in self._body_of:
                    self._detach(self._body_of[face], face)
                self._face_of[body], self._body_of[face] = face, body
            self._group(("body", body), ("face", face)).frames[body, face] += 1
        self._count_duplicates(bodies)

    def _count_duplicates(self, bodies: dict[int, Box]) -> None:
        holders = [bodies[b] for b in bodies if b in self._face_of]
        for body, box in bodies.items():
            self._frames[body] += 1
            if body in self._face_of or not holders:
                continue
            overlap = iou_matrix(np.array([box]), np.array(holders))
            if float(overlap.max()) >= DUPLICATE_IOU:
                self._shadowed[body] += 1

    def body_closed(self, event: TrackClosed) -> None:
        self._track_closed(("body", event.track_id), event)

    def face_closed(self, event: TrackClosed) -> None:
        self._track_closed(("face", event.track_id), event)

    def settled(self) -> list[Person]:
        """The persons whose tracks have all closed since the last call, in the order they
        were first seen."""
        persons, self._loose = self._loose, []
        for group in {id(g): g for g in self._group_of.values()}.values():
            if all(node in self._closed for node in group.nodes):
                for node in group.nodes:
                    del self._group_of[node]
                persons += self._persons(group, {n: self._closed.pop(n) for n in group.nodes})
        return sorted(persons, key=_first_seen)

    @property
    def waiting(self) -> int:
        """Closed tracks held until the rest of their group closes."""
        return len(self._closed)

    def _track_closed(self, node: Node, event: TrackClosed) -> None:
        kind, track_id = node
        if kind == "body" and track_id in self._face_of:
            self._detach(track_id, self._face_of[track_id])
        if kind == "face" and track_id in self._body_of:
            self._detach(self._body_of[track_id], track_id)
        if kind == "body" and self._duplicate(track_id) and node not in self._group_of:
            log.debug("body track %d was a second box on a person: no visit", track_id)
            return
        if node in self._group_of:
            self._closed[node] = event
        else:
            self._loose.append(Person((event,), ()) if kind == "body" else Person((), (event,)))

    def _duplicate(self, body: int) -> bool:
        """Whether ``body`` (now closed) spent its frames on the box of a body holding a face."""
        frames, shadowed = self._frames.pop(body, 0), self._shadowed.pop(body, 0)
        return frames > 0 and shadowed >= DUPLICATE_SHARE * frames

    def _detach(self, body: int, face: int) -> None:
        del self._face_of[body]
        del self._body_of[face]

    def _group(self, a: Node, b: Node) -> _Group:
        """The group of ``a`` and ``b``, joining the groups each was in."""
        found = [g for g in (self._group_of.get(a), self._group_of.get(b)) if g is not None]
        group = found[0] if found else _Group()
        for other in found[1:]:
            if other is not group:
                group.nodes |= other.nodes
                group.frames.update(other.frames)
        group.nodes |= {a, b}
        for node in group.nodes:
            self._group_of[node] = group
        return group

    def _persons(self, group: _Group, events: dict[Node, TrackClosed]) -> list[Person]:
        bodies = sorted((e for (k, _), e in events.items() if k == "body"), key=_first_seen)
        # Bodies that held one face one after the other are one person found again.
        person_of = {b.track_id: [b] for b in bodies}
        for (body, face), _ in sorted(group.frames.items()):
            for (other, other_face), _ in sorted(group.frames.items()):
                mine, theirs = person_of[body], person_of[other]
                if other_face == face and mine is not theirs and _apart(mine, theirs):
                    mine += theirs
                    for member in theirs:
                        person_of[member.track_id] = mine
        persons = {id(p): p for p in person_of.values()}
        held: dict[int, Counter[int]] = {}  # face -> frames held by each person
        for (body, face), frames in group.frames.items():
            held.setdefault(face, Counter())[id(person_of[body])] += frames
        faces_of: dict[int, list[tuple[int, TrackClosed]]] = {key: [] for key in persons}
        for face, by_person in held.items():
            # Most frames; on a tie the person seen first, so the choice never depends on order.
            most = max(by_person.values())
            owner = min(
                (k for k, n in by_person.items() if n == most),
                key=lambda k: _first_seen(persons[k][0]),
            )
            faces_of[owner].append((most, events["face", face]))
        found: list[Person] = []
        for key, members in persons.items():
            ranked = [e for _, e in sorted(faces_of[key], key=lambda p: (-p[0], p[1].track_id))]
            own, apart = self._agreeing(ranked)
            found.append(Person(tuple(sorted(members, key=_first_seen)), tuple(own)))
            found += [Person((), (face,)) for face in apart]
        return found

    def _agreeing(
        self, faces: Sequence[TrackClosed]
    ) -> tuple[list[TrackClosed], list[TrackClosed]]:
        """(the faces that can be the main face's person, the others)."""
        if not faces:
            return [], []
        main, own = faces[0], [faces[0]]
        apart: list[TrackClosed] = []
        for face in faces[1:]:
            differ = (
                self._threshold is not None
                and main.feature is not None
                and face.feature is not None
                and float(main.feature @ face.feature) < self._threshold
            )
            (apart if differ else own).append(face)
        return own, apart


def _first_seen(item: TrackClosed | Person) -> tuple[float, int]:
    if isinstance(item, Person):
        first = min((*item.bodies, *item.faces), key=_first_seen)
        return first.first_seen, first.track_id
    return item.first_seen, item.track_id


def _apart(a: list[TrackClosed], b: list[TrackClosed]) -> bool:
    """No track of ``a`` overlaps in time with one of ``b``."""
    return all(x.last_seen < y.first_seen or y.last_seen < x.first_seen for x in a for y in b)


def seen(tracker: Tracker, update: TrackUpdate, boxes: Sequence[Box]) -> dict[int, Box]:
    """track id -> box of the tracks ``update`` saw in ``boxes`` that are confirmed (seen
    ``min_hits`` times): a track not yet confirmed may still end as noise, and no event."""
    hits = {t.track_id: t.hits for t in tracker.active}
    confirmed = tracker.config.min_hits
    return {
        track: boxes[index]
        for index, track in update.assignments.items()
        if hits.get(track, 0) >= confirmed
    }


def merged(person: Person, best_shots: int) -> TrackClosed:
    """One event for ``person``: where they went from their bodies, who they are from their
    faces (the best ``best_shots`` shots of them all, as one face track keeps)."""
    if not person.bodies:
        (face,) = person.faces
        return face
    first = person.bodies[0]
    templates = sorted(
        (shot for face in person.faces for shot in face.templates), key=lambda s: -s[0]
    )[:best_shots]
    feature = normalise(np.mean([v for _, v in templates], axis=0)) if templates else None
    with_attributes = [f.attributes for f in person.faces if f.attributes is not None]
    everything = (*person.bodies, *person.faces)
    return dataclasses.replace(
        first,
        first_seen=min(e.first_seen for e in everything),
        last_seen=max(e.last_seen for e in everything),
        hits=sum(b.hits for b in person.bodies),
        feature=feature,
        templates=tuple(templates),
        attributes=max(with_attributes, key=lambda a: a.samples, default=None),
        path=tuple(sorted(p for b in person.bodies for p in b.path)),
        crossings=tuple(
            sorted((c for b in person.bodies for c in b.crossings), key=lambda c: c.timestamp)
        ),
    )
