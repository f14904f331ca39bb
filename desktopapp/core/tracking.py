"""Multi-object tracking by box overlap, and the best-shot buffer of one track.

The tracker is SORT without the Kalman filter: each live track predicts where its box is now
from a constant velocity of the box centre (people walk at a steady pace over the few frames
that matter), detections are assigned to tracks by the Hungarian method on ``1 - IoU``
(``lap.lapjv``), unmatched detections open new tracks, and a track that has not been seen for
``max_missing_seconds`` has left the view and is closed. A Kalman filter would mainly smooth
detector jitter in the velocity; at 10 fps with IoU gating that jitter is a few pixels, well
inside the overlap the matcher tolerates, so the extra state and tuning buy nothing here.

What survives a track is deliberately coarse (DESIGN "A frame's life"): its last box, its hit
count and a path of at most one normalised centre point per ``path_interval_seconds``.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import lap
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
"""x, y, w, h in pixels."""

T = TypeVar("T")


def check_box(box: Box) -> None:
    """Raise ValueError unless ``box`` has four finite numbers and a positive size."""
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValueError(f"a box is four finite numbers (x, y, w, h), got {box!r}")
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"a box must have a positive width and height, got {box!r}")


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    min_iou: float = 0.2
    # A track not seen for this long has left the view and is closed.
    max_missing_seconds: float = 2.0
    # A track seen fewer times than this when it ends is dropped as noise.
    min_hits: int = 2
    # The coarse path keeps at most one point per interval.
    path_interval_seconds: float = 1.0
    # Where a path point is taken on the box: its centre (faces), or the middle of its bottom
    # edge, where a person stands on the floor (persons).
    anchor: Literal["centre", "foot"] = "centre"

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            # 0 would let boxes that do not overlap at all continue each other's tracks.
            raise ValueError(f"min_iou must be above 0 and at most 1, got {self.min_iou}")
        if not (math.isfinite(self.max_missing_seconds) and self.max_missing_seconds > 0):
            raise ValueError(
                f"max_missing_seconds must be a positive number, got {self.max_missing_seconds}"
            )
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be at least 1, got {self.min_hits}")
        if not (math.isfinite(self.path_interval_seconds) and self.path_interval_seconds > 0):
            raise ValueError(
                f"path_interval_seconds must be a positive number, got {self.path_interval_seconds}"
            )


@dataclass(slots=True)
class Track:
    track_id: int
    first_seen: float
    last_seen: float
    box: Box
    hits: int
    # (timestamp, centre x, centre y), centre normalised to 0..1 by the frame size.
    path: list[tuple[float, float, float]] = field(default_factory=list)
    # Centre velocity in pixels per second between the last two observations.
    velocity: tuple[float, float] = (0.0, 0.0)

    def predicted_box(self, timestamp: float) -> Box:
        """Where the box should be at ``timestamp`` if the person kept walking as before."""
        dt = timestamp - self.last_seen
        x, y, w, h = self.box
        return (x + self.velocity[0] * dt, y + self.velocity[1] * dt, w, h)


@dataclass(frozen=True, slots=True)
class TrackUpdate:
    # detection index -> track id; every detection gets a track (new ones open new tracks).
    assignments: dict[int, int]
    # Tracks that ended at this update (missing too long) with hits >= min_hits.
    closed: list[Track]
    # How many tracks ended with hits < min_hits.
    discarded: int


def iou_matrix(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Intersection over union of every (x, y, w, h) row of ``a`` with every row of ``b``."""
    a_x1, a_y1 = a[:, 0:1], a[:, 1:2]
    a_x2, a_y2 = a_x1 + a[:, 2:3], a_y1 + a[:, 3:4]
    b_x1, b_y1 = b[:, 0], b[:, 1]
    b_x2, b_y2 = b_x1 + b[:, 2], b_y1 + b[:, 3]
    inter_w = np.clip(np.minimum(a_x2, b_x2) - np.maximum(a_x1, b_x1), 0.0, None)
    inter_h = np.clip(np.minimum(a_y2, b_y2) - np.maximum(a_y1, b_y1), 0.0, None)
    inter = inter_w * inter_h
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    result: NDArray[np.float64] = inter / union
    return result


class Tracker:
    """Tracks of one camera. Not thread-safe: one analysis worker owns it."""

    def __init__(
        self, config: TrackerConfig = TrackerConfig(), frame_size: tuple[int, int] = (640, 480)
    ):
        self.config = config
        self._tracks: list[Track] = []
        self._next_id = 1
        self._last_timestamp = -math.inf
        self.set_frame_size(frame_size)

    def set_frame_size(self, frame_size: tuple[int, int]) -> None:
        """(width, height) that path points are normalised by, e.g. after a resolution change."""
        width, height = frame_size
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        self._frame_size = (width, height)

    @property
    def active(self) -> list[Track]:
        """The live tracks, oldest first (the tracker's own objects: read, do not modify)."""
        return list(self._tracks)

    def update(self, boxes: Sequence[Box], timestamp: float) -> TrackUpdate:
        """Assign this frame's detections to tracks and close the tracks that left the view."""
        self._advance(timestamp)
        for box in boxes:
            check_box(box)
        # Expire first, so that a box appearing where someone left long ago starts a new track.
        closed, discarded = self._expire(timestamp)

        matched = self._match(boxes, timestamp)
        assignments: dict[int, int] = {}
        for index, box in enumerate(boxes):
            track = matched.get(index)
            if track is None:
                track = Track(self._next_id, timestamp, timestamp, box, 0)
                self._next_id += 1
                self._tracks.append(track)
            self._observe(track, box, timestamp)
            assignments[index] = track.track_id
        return TrackUpdate(assignments, closed, discarded)

    def lost(self, timestamp: float, within: float) -> list[Track]:
        """Live tracks the detector missed at ``timestamp`` (after ``update``) but saw less than
        ``within`` seconds before: the person is most likely still there, near the track's
        ``predicted_box``."""
        return [
            t for t in self._tracks if t.last_seen < timestamp and timestamp - t.last_seen < within
        ]

    def close_all(self, timestamp: float) -> list[Track]:
        """End of stream: close every live track (tracks with too few hits are dropped)."""
        self._advance(timestamp)
        ended, self._tracks = self._tracks, []
        return self._keep_real(ended)

    def _advance(self, timestamp: float) -> None:
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be a finite number, got {timestamp}")
        if timestamp < self._last_timestamp:
            raise ValueError(
                f"timestamps must not go backwards: {timestamp} after {self._last_timestamp}"
            )
        self._last_timestamp = timestamp

    def _expire(self, timestamp: float) -> tuple[list[Track], int]:
        """Close the tracks not seen for max_missing_seconds: (those kept, how many dropped as
        noise)."""
        live: list[Track] = []
        ended: list[Track] = []
        for candidate in self._tracks:
            gone = timestamp - candidate.last_seen >= self.config.max_missing_seconds
            (ended if gone else live).append(candidate)
        self._tracks = live
        closed = self._keep_real(ended)
        return closed, len(ended) - len(closed)

    def _keep_real(self, ended: list[Track]) -> list[Track]:
        real = [t for t in ended if t.hits >= self.config.min_hits]
        for track in real:
            log.debug("track %d closed after %d hits", track.track_id, track.hits)
        if len(real) < len(ended):
            log.debug("%d short tracks discarded as noise", len(ended) - len(real))
        return real

    def _match(self, boxes: Sequence[Box], timestamp: float) -> dict[int, Track]:
        """detection index -> live track, by the Hungarian method on 1 - IoU."""
        # lapjv corrupts the heap on a 0x0 matrix (lap 0.5.13); with nothing on one side there
        # is nothing to match anyway.
        if not boxes or not self._tracks:
            return {}
        detections = np.array(boxes, dtype=np.float64)
        predicted = np.array([t.predicted_box(timestamp) for t in self._tracks], dtype=np.float64)
        cost = 1.0 - iou_matrix(detections, predicted)
        # cost_limit leaves a pair unmatched when its IoU is below min_iou; extend_cost allows a
        # non-square matrix.
        _, track_of_detection, _ = lap.lapjv(
            cost, extend_cost=True, cost_limit=1.0 - self.config.min_iou
        )
        return {
            index: self._tracks[int(column)]
            for index, column in enumerate(track_of_detection)
            if column >= 0
        }

    def _observe(self, track: Track, box: Box, timestamp: float) -> None:
        if track.hits:
            dt = timestamp - track.last_seen
            if dt > 0:
                (old_x, old_y), (new_x, new_y) = centre(track.box), centre(box)
                track.velocity = ((new_x - old_x) / dt, (new_y - old_y) / dt)
        track.box = box
        track.last_seen = timestamp
        track.hits += 1
        if not track.path or timestamp - track.path[-1][0] >= self.config.path_interval_seconds:
            x, y = centre(box)
            if self.config.anchor == "foot":
                y = box[1] + box[3]
            width, height = self._frame_size
            track.path.append((timestamp, _unit(x / width), _unit(y / height)))


def centre(box: Box) -> tuple[float, float]:
    x, y, w, h = box
    return x + w / 2, y + h / 2


def _unit(value: float) -> float:
    """``value`` clipped to 0..1: a box hanging over the frame edge can put its centre outside."""
    return min(max(value, 0.0), 1.0)


class BestShots(Generic[T]):
    """Keeps the K best items of one track by quality.

    The pipeline asks ``wants`` before computing a feature vector, so that the embedder runs
    only for crops that would enter the top K, never on every frame.
    """

    def __init__(self, k: int = 3, min_gain: float = 0.05, min_interval: float = 0.3):
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if not min_gain >= 0:
            raise ValueError(f"min_gain must not be negative, got {min_gain}")
        if not min_interval >= 0:
            raise ValueError(f"min_interval must not be negative, got {min_interval}")
        self.k = k
        self.min_gain = min_gain
        self.min_interval = min_interval
        self._items: list[tuple[float, T]] = []
        self._last_accepted = -math.inf

    @property
    def items(self) -> list[tuple[float, T]]:
        """(quality, item), best first."""
        return list(self._items)

    def too_soon(self, timestamp: float) -> bool:
        """Whether no item seen at ``timestamp`` is wanted, whatever its quality: the caller
        need not work its quality out."""
        # Consecutive frames are nearly the same picture: spacing shots out gives templates
        # that differ (pose, light). Applied when the top K is full too, it cuts the embedder
        # calls for a face that keeps improving as the person walks up to the camera by a
        # quarter to a half (100 frames of steadily rising quality: 38 -> 28, 49 -> 24).
        return timestamp - self._last_accepted < self.min_interval

    def wants(self, quality: float, timestamp: float) -> bool:
        """Whether an item of this quality, seen at ``timestamp``, would enter the top K."""
        if self.too_soon(timestamp):
            return False
        if len(self._items) < self.k:
            return quality > 0
        return quality > self._items[-1][0] + self.min_gain

    def offer(self, quality: float, timestamp: float, item: T) -> T | None:
        """Add ``item`` if wanted; return the item it pushed out of the top K, if any."""
        if not self.wants(quality, timestamp):
            return None
        self._last_accepted = timestamp
        # Insert after equal qualities so that the earlier of two equal shots stays ahead.
        position = bisect.bisect_right([-q for q, _ in self._items], -quality)
        self._items.insert(position, (quality, item))
        if len(self._items) > self.k:
            return self._items.pop()[1]
        return None
