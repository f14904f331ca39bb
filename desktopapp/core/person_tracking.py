"""Tracking persons through groups: two-stage association of sure and unsure detections.

Where people walk in pairs, pass each other or are half hidden by someone in front, the person
detector's score for the hidden one drops, often below the threshold that makes a detection
worth a new track. The face tracker's rule (every detection above the threshold is a track,
the rest are nothing) then loses that person for a few frames, and when they come out again
they are a new track: a counting line sees neither id on both sides and the crossing is lost.

``PersonTracker`` associates as ByteTrack does (Zhang et al., 2022): detections scoring at least
``high_score`` are matched first against every live track, by the Hungarian method on
``1 - IoU`` with each track's box moved on by its smoothed velocity; then the detections
between ``low_score`` and ``high_score`` are matched, at a stricter overlap, against the tracks
still unmatched. An unsure detection only continues a track, it never opens one, so the low
threshold adds no false people. Everything else (expiry, the coarse path, what survives a
track) is ``Tracker``'s.

A person hidden for several frames (behind a passer-by, or simply missed) often comes out
where their track's moved-on box no longer overlaps them: a third stage gives a sure detection
that matched nothing to a lost track whose predicted or last foot point is near enough for the
time it was missing. The prediction is made twice, from the box's last step and from the foot
point's last second (core.heading), since in a group a box that grew over a neighbour for a
frame or two makes the last step say the person stopped or turned.

A track whose person's clothing colours are known (core.appearance) is kept for this stage a
while after it would have closed, and then only a detection in clothes of near enough colours
continues it: in the face modes every person track is a visit, and one walker's track broken
in pieces counted them several times. The colours stay in memory while
the track is open and are compared only with boxes that may continue it.

The detections come from what the masking found anyway (``tracking_detections``): the whole
frame, and the square of the frame searched again for masking, where people are seen larger
and pairs walking side by side come apart. They are merged by non-maximum suppression; no
detector runs for the tracker alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import lap
import numpy as np

from desktopapp.core.appearance import ClothingColours
from desktopapp.core.heading import Heading, foot_of
from desktopapp.core.tracking import (
    Box,
    Track,
    Tracker,
    TrackerConfig,
    TrackUpdate,
    check_box,
    iou_matrix,
)
from desktopapp.core.vision.persons import MASK_CONFIDENCE, one_box_each
from desktopapp.core.vision.types import Image, Person

# A person's clothing colours are taken only when no other box covers more than this share of
# theirs: a box half hidden behind someone holds that someone's colours too.
CLEAR_OVERLAP = 0.1


@dataclass(frozen=True, slots=True)
class PersonTrackerConfig(TrackerConfig):
    # Detections scoring at least this open tracks and are matched first.
    high_score: float = 0.45
    # Detections between low_score and high_score only continue tracks left unmatched by the
    # sure ones; below low_score a detection is ignored. The masking keeps persons down to
    # MASK_CONFIDENCE: the tracker sees no lower ones.
    low_score: float = MASK_CONFIDENCE
    # The overlap an unsure detection needs with a track's predicted box: stricter than
    # min_iou, since an unsure box near a track is more often a fragment of a neighbour.
    low_min_iou: float = 0.3
    # Weight of the newest step in the smoothed velocity (1: the last step only).
    velocity_smoothing: float = 0.5
    # A sure detection lying at least this much (of its own area) inside the box of a person
    # tracked in the same frame opens no track: it is a second box on that person (a detector
    # run on overlapping windows sees some people twice), not someone new.
    birth_max_inside: float = 0.5
    # A sure detection that matched no track may continue a track lost in earlier frames
    # whose predicted foot point lies within half a box width plus this many box widths per
    # second missing (0: never).
    recover_widths_per_second: float = 1.0
    # A track lost for max_missing_seconds is not closed at once when its clothing colours are
    # known: until it has been missing this long (0: no longer than max_missing_seconds) it may
    # still be recovered, by a sure detection within reach whose colours are near enough.
    # Meanwhile it is neither matched by overlap nor masked.
    recover_missing_seconds: float = 0.0
    # How far (core.appearance distance, 0..1) a detection's clothing colours may lie from a
    # lost track's for the detection to continue it (1: colours are not looked at).
    max_colour_distance: float = 1.0
    # Weight of a new look at a track's clothes in its running colours.
    colour_smoothing: float = 0.2

    def __post_init__(self) -> None:
        TrackerConfig.__post_init__(self)
        if not 0.0 <= self.low_score <= self.high_score <= 1.0:
            raise ValueError(
                "scores must satisfy 0 <= low_score <= high_score <= 1, got "
                f"low_score={self.low_score}, high_score={self.high_score}"
            )
        if not 0.0 < self.low_min_iou <= 1.0:
            raise ValueError(f"low_min_iou must be above 0 and at most 1, got {self.low_min_iou}")
        if not 0.0 < self.birth_max_inside <= 1.0:
            raise ValueError(
                f"birth_max_inside must be above 0 and at most 1, got {self.birth_max_inside}"
            )
        if not (
            math.isfinite(self.recover_widths_per_second) and self.recover_widths_per_second >= 0
        ):
            raise ValueError(
                "recover_widths_per_second must be a number of at least 0, got "
                f"{self.recover_widths_per_second}"
            )
        if not (math.isfinite(self.recover_missing_seconds) and self.recover_missing_seconds >= 0):
            raise ValueError(
                "recover_missing_seconds must be a number of at least 0, got "
                f"{self.recover_missing_seconds}"
            )
        if not 0.0 < self.max_colour_distance <= 1.0:
            raise ValueError(
                f"max_colour_distance must be above 0 and at most 1, got {self.max_colour_distance}"
            )
        if not 0.0 < self.colour_smoothing <= 1.0:
            raise ValueError(
                f"colour_smoothing must be above 0 and at most 1, got {self.colour_smoothing}"
            )
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError(
                f"velocity_smoothing must be above 0 and at most 1, got {self.velocity_smoothing}"
            )


class PersonTracker(Tracker):
    """Tracks of one camera's persons. Not thread-safe: one analysis worker owns it."""

    config: PersonTrackerConfig

    def __init__(
        self,
        config: PersonTrackerConfig = PersonTrackerConfig(),
        frame_size: tuple[int, int] = (640, 480),
    ):
        super().__init__(config, frame_size)
        # Tracks missing longer than max_missing_seconds, kept only to be recovered.
        self._missing: list[Track] = []
        # The running clothing colours of the open tracks: memory only, dropped at closing.
        self._colours: dict[int, ClothingColours] = {}
        # Where each open track's person was heading over the last second (core.heading).
        self._headings: dict[int, Heading] = {}

    def update(
        self,
        boxes: Sequence[Box],
        timestamp: float,
        scores: Sequence[float] | None = None,
        image: Image | None = None,
    ) -> TrackUpdate:
        """Assign this frame's detections to tracks and close the tracks that left the view.

        ``scores`` are the detector's, one per box (all sure when None). Unsure detections that
        continue no track get no assignment. ``image``: the frame the boxes were found in, to
        tell lost people apart by their clothes (None: by position only).
        """
        self._advance(timestamp)
        for box in boxes:
            check_box(box)
        if scores is None:
            scores = [1.0] * len(boxes)
        if len(scores) != len(boxes):
            raise ValueError(f"{len(scores)} scores for {len(boxes)} boxes")
        closed, discarded = self._expire(timestamp)

        sure = [i for i, s in enumerate(scores) if s >= self.config.high_score]
        unsure = [
            i for i, s in enumerate(scores) if self.config.low_score <= s < self.config.high_score
        ]
        first = self._associate(boxes, sure, self._tracks, timestamp, self.config.min_iou)
        taken = {id(t) for t in first.values()}
        left = [t for t in self._tracks if id(t) not in taken]
        second = self._associate(boxes, unsure, left, timestamp, self.config.low_min_iou)
        taken |= {id(t) for t in second.values()}
        lost = [t for t in left if id(t) not in taken and t.last_seen < timestamp]
        unmatched = [i for i in sure if i not in first]
        recovered = self._recover(boxes, unmatched, lost + self._missing, timestamp, image)
        for found in recovered.values():
            if found in self._missing:
                self._missing.remove(found)
                self._tracks.append(found)
        first.update(recovered)

        assignments: dict[int, int] = {}
        seen = [boxes[i] for i in [*first, *second]]
        for index in sorted([*sure, *second]):
            track = first.get(index) or second.get(index)
            if track is None:
                if _inside_any(boxes[index], seen) >= self.config.birth_max_inside:
                    continue
                seen.append(boxes[index])
                track = Track(self._next_id, timestamp, timestamp, boxes[index], 0)
                self._next_id += 1
                self._tracks.append(track)
            self._observe(track, boxes[index], timestamp)
            assignments[index] = track.track_id
        if image is not None:
            self._look(image, boxes, assignments)
        return TrackUpdate(assignments, closed, discarded)

    def close_all(self, timestamp: float) -> list[Track]:
        self._tracks += self._missing
        self._missing = []
        self._colours.clear()
        self._headings.clear()
        return super().close_all(timestamp)

    def _expire(self, timestamp: float) -> tuple[list[Track], int]:
        """Close the tracks missing too long to be recovered; keep those missing longer than
        max_missing_seconds, but not yet recover_missing_seconds, whose colours are known."""
        live: list[Track] = []
        missing: list[Track] = []
        ended: list[Track] = []
        for track in [*self._tracks, *self._missing]:
            away = timestamp - track.last_seen
            if away < self.config.max_missing_seconds:
                live.append(track)
            elif (
                away < self.config.recover_missing_seconds
                and track.hits >= self.config.min_hits
                and track.track_id in self._colours
            ):
                missing.append(track)
            else:
                ended.append(track)
                self._colours.pop(track.track_id, None)
                self._headings.pop(track.track_id, None)
        self._tracks, self._missing = live, missing
        closed = self._keep_real(ended)
        return closed, len(ended) - len(closed)

    def _look(self, image: Image, boxes: Sequence[Box], assignments: dict[int, int]) -> None:
        """Take the clothing colours of every assigned person no other box covers."""
        weight = self.config.colour_smoothing
        for index, track_id in assignments.items():
            others = [b for i, b in enumerate(boxes) if i != index]
            if _inside_any(boxes[index], others) > CLEAR_OVERLAP:
                continue
            colours = ClothingColours.of(image, boxes[index])
            if colours is None:
                continue
            before = self._colours.get(track_id)
            self._colours[track_id] = colours if before is None else before.blend(colours, weight)

    def _associate(
        self,
        boxes: Sequence[Box],
        chosen: list[int],
        tracks: list[Track],
        timestamp: float,
        min_iou: float,
    ) -> dict[int, Track]:
        """detection index (of ``chosen``) -> track, by the Hungarian method on 1 - IoU."""
        # lapjv corrupts the heap on a 0x0 matrix (lap 0.5.13).
        if not chosen or not tracks:
            return {}
        detections = np.array([boxes[i] for i in chosen], dtype=np.float64)
        predicted = np.array([t.predicted_box(timestamp) for t in tracks], dtype=np.float64)
        cost = 1.0 - iou_matrix(detections, predicted)
        _, track_of_detection, _ = lap.lapjv(cost, extend_cost=True, cost_limit=1.0 - min_iou)
        return {
            chosen[row]: tracks[int(column)]
            for row, column in enumerate(track_of_detection)
            if column >= 0
        }

    def _recover(
        self,
        boxes: Sequence[Box],
        chosen: list[int],
        tracks: list[Track],
        timestamp: float,
        image: Image | None,
    ) -> dict[int, Track]:
        """detection index -> lost track, by the distance of the foot points and, where known,
        the clothing colours: a person hidden for several frames while turning or changing pace
        comes out where the track's box no longer overlaps them. A track missing longer than
        max_missing_seconds is continued only by a detection whose colours are near its own."""
        reach = self.config.recover_widths_per_second
        if not chosen or not tracks or reach <= 0:
            return {}
        limit = self.config.max_colour_distance
        cost = np.full((len(chosen), len(tracks)), 1.0)
        for row, index in enumerate(chosen):
            foot = foot_of(boxes[index])
            height = boxes[index][3]
            colours: ClothingColours | None = None
            looked = False
            for column, track in enumerate(tracks):
                pw, ph = track.box[2:]
                if not 2 / 3 <= height / ph <= 3 / 2:
                    continue
                away = timestamp - track.last_seen
                allowed = pw * (0.5 + reach * away)
                # From where the track's last step or its last second of walking (core.heading)
                # would have taken the person, or where they were last seen: a person hidden
                # for a while may have walked on or stopped (as the masking's held boxes assume).
                places = [foot_of(track.predicted_box(timestamp)), foot_of(track.box)]
                heading = self._headings.get(track.track_id)
                ahead = heading.predicted(timestamp) if heading is not None else None
                if ahead is not None:
                    places.append(ahead)
                distance = min(math.dist(foot, place) for place in places)
                if distance >= allowed:
                    continue
                known = self._colours.get(track.track_id)
                if known is not None and limit < 1.0 and image is not None and not looked:
                    colours, looked = ClothingColours.of(image, boxes[index]), True
                if known is None or colours is None:
                    if away >= self.config.max_missing_seconds:
                        continue
                    cost[row, column] = distance / allowed
                    continue
                unlike = known.distance(colours)
                if unlike >= limit:
                    continue
                cost[row, column] = 0.5 * (distance / allowed + unlike / limit)
        _, track_of_detection, _ = lap.lapjv(cost, extend_cost=True, cost_limit=0.999)
        return {
            chosen[row]: tracks[int(column)]
            for row, column in enumerate(track_of_detection)
            if column >= 0
        }

    def _observe(self, track: Track, box: Box, timestamp: float) -> None:
        previous = track.velocity if track.hits > 1 else None
        super()._observe(track, box, timestamp)
        self._headings.setdefault(track.track_id, Heading()).observe(timestamp, foot_of(box))
        if previous is not None:
            weight = self.config.velocity_smoothing
            vx, vy = track.velocity
            track.velocity = (
                weight * vx + (1 - weight) * previous[0],
                weight * vy + (1 - weight) * previous[1],
            )


def _inside_any(box: Box, others: Sequence[Box]) -> float:
    """The largest share of ``box``'s area that lies inside one of ``others``."""
    x, y, w, h = box
    best = 0.0
    for ox, oy, ow, oh in others:
        overlap_w = min(x + w, ox + ow) - max(x, ox)
        overlap_h = min(y + h, oy + oh) - max(y, oy)
        if overlap_w > 0 and overlap_h > 0:
            best = max(best, overlap_w * overlap_h / (w * h))
    return best


# Boxes of one person from the whole frame and from a square of it overlap this much or more;
# two people walking side by side, each found in the square, overlap less.
MERGE_IOU = 0.45


def tracking_detections(found: Sequence[Person], iou: float = MERGE_IOU) -> list[Person]:
    """One box per person out of everything the person detector found in a frame (the whole
    frame's boxes and those of the squares searched again for masking, which repeat many of
    them): non-maximum suppression, surest first."""
    return one_box_each(found, iou)
