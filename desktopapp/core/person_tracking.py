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
that matched nothing to a lost track whose predicted foot point is near enough for the time it
was missing.

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

from desktopapp.core.tracking import (
    Box,
    Track,
    Tracker,
    TrackerConfig,
    TrackUpdate,
    check_box,
    iou_matrix,
)
from desktopapp.core.vision.persons import MASK_CONFIDENCE, _nms
from desktopapp.core.vision.types import Person


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

    def update(
        self, boxes: Sequence[Box], timestamp: float, scores: Sequence[float] | None = None
    ) -> TrackUpdate:
        """Assign this frame's detections to tracks and close the tracks that left the view.

        ``scores`` are the detector's, one per box (all sure when None). Unsure detections that
        continue no track get no assignment.
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
        first.update(self._recover(boxes, unmatched, lost, timestamp))

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
        return TrackUpdate(assignments, closed, discarded)

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
        self, boxes: Sequence[Box], chosen: list[int], tracks: list[Track], timestamp: float
    ) -> dict[int, Track]:
        """detection index -> lost track, by the distance of the foot points: a person hidden
        for several frames while turning or changing pace comes out where the track's box no
        longer overlaps them."""
        reach = self.config.recover_widths_per_second
        if not chosen or not tracks or reach <= 0:
            return {}
        cost = np.full((len(chosen), len(tracks)), 1.0)
        for row, index in enumerate(chosen):
            x, y, w, h = boxes[index]
            foot = (x + w / 2, y + h)
            for column, track in enumerate(tracks):
                px, py, pw, ph = track.predicted_box(timestamp)
                if not 2 / 3 <= h / ph <= 3 / 2:
                    continue
                allowed = pw * (0.5 + reach * (timestamp - track.last_seen))
                distance = float(np.hypot(foot[0] - px - pw / 2, foot[1] - py - ph))
                if distance < allowed:
                    cost[row, column] = distance / allowed
        _, track_of_detection, _ = lap.lapjv(cost, extend_cost=True, cost_limit=0.999)
        return {
            chosen[row]: tracks[int(column)]
            for row, column in enumerate(track_of_detection)
            if column >= 0
        }

    def _observe(self, track: Track, box: Box, timestamp: float) -> None:
        previous = track.velocity if track.hits > 1 else None
        super()._observe(track, box, timestamp)
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
    if not found:
        return []
    xywh = np.array([(p.x, p.y, p.w, p.h) for p in found], dtype=np.float32)
    scores = np.array([p.score for p in found], dtype=np.float32)
    return [found[i] for i in _nms(xywh, scores, iou, len(found))]
