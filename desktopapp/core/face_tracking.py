"""Face tracks that hold through missed detections: a face found again near where it was lost.

The face tracker (core.tracking) continues a track only with a detection that overlaps the
track's box moved on by its velocity. For a face that is not enough: the velocity is taken
from the last two observations only, and for a small face a jitter of a few pixels a frame is
a large speed, so after a face has gone undetected for half a second (turned away, hidden by a
passer-by, blurred) its predicted box lies well away from where it comes back; and the
detector's box of a blurred face changes size from frame to frame, so the same face can
overlap its own last box too little. The face then comes back as a new track, and in the face
modes a face that no body holds is a visit of its own: one person, several visits.

``FaceTracker`` adds a second stage, as the person tracker does for bodies: a detection that
matched no track by overlap continues a live track it did not match either when its centre
lies within ``widths + widths_per_second * seconds missing`` face widths of where that track
was last seen or where its motion carries it, and its size is within ``max_size_ratio`` of the
track's. Among candidates the Hungarian method takes the nearest. Only live tracks are
considered: a track not seen for ``max_missing_seconds`` has closed as before, so no track
lives longer than it did. Nothing about the face's looks is used: only places, sizes and times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import lap
import numpy as np

from desktopapp.core.tracking import Box, Track, Tracker, TrackerConfig, centre


@dataclass(frozen=True, slots=True)
class FaceRecovery:
    """How near a detection must be to a face track it did not overlap to continue it."""

    # Reach in face widths (of the track's last box) from its last or predicted centre, plus
    # this many widths per second the face has been missing (0 and 0: never).
    widths: float = 0.5
    widths_per_second: float = 0.25
    # The detection's width may be at most this many times the track's, or its inverse.
    max_size_ratio: float = 1.5
    # Only a face missing at most this long is found again by nearness: in a crowd, a face
    # hidden for longer often comes out as someone else's at the same place.
    max_seconds: float = 0.5

    def __post_init__(self) -> None:
        for name in ("widths", "widths_per_second", "max_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number of at least 0, got {value}")
        if not (math.isfinite(self.max_size_ratio) and self.max_size_ratio >= 1):
            raise ValueError(f"max_size_ratio must be at least 1, got {self.max_size_ratio}")


class FaceTracker(Tracker):
    """Tracks of one camera's faces. Not thread-safe: one analysis worker owns it."""

    def __init__(
        self,
        config: TrackerConfig | None = None,
        recovery: FaceRecovery = FaceRecovery(),
        frame_size: tuple[int, int] = (640, 480),
    ):
        super().__init__(config or TrackerConfig(), frame_size)
        self.recovery = recovery
        # How many detections continued a track by nearness rather than overlap.
        self.recovered = 0

    def _match(self, boxes: Sequence[Box], timestamp: float) -> dict[int, Track]:
        matched = super()._match(boxes, timestamp)
        taken = {id(t) for t in matched.values()}
        free = [i for i in range(len(boxes)) if i not in matched]
        tracks = [t for t in self._tracks if id(t) not in taken]
        found = self._recover(boxes, free, tracks, timestamp)
        self.recovered += len(found)
        return {**matched, **found}

    def _recover(
        self, boxes: Sequence[Box], free: list[int], tracks: list[Track], timestamp: float
    ) -> dict[int, Track]:
        """detection index -> track, for detections near a track they did not overlap."""
        reach = self.recovery
        # lapjv corrupts the heap on a 0x0 matrix (lap 0.5.13).
        if not free or not tracks or reach.widths + reach.widths_per_second <= 0:
            return {}
        cost = np.full((len(free), len(tracks)), 1.0)
        for row, index in enumerate(free):
            cx, cy = centre(boxes[index])
            width = boxes[index][2]
            for column, track in enumerate(tracks):
                last_width = track.box[2]
                if not 1 / reach.max_size_ratio <= width / last_width <= reach.max_size_ratio:
                    continue
                away = timestamp - track.last_seen
                if away > reach.max_seconds:
                    continue
                allowed = last_width * (reach.widths + reach.widths_per_second * away)
                distance = min(
                    math.dist((cx, cy), centre(track.box)),
                    math.dist((cx, cy), centre(track.predicted_box(timestamp))),
                )
                if distance < allowed:
                    cost[row, column] = distance / allowed
        if not (cost < 1.0).any():
            return {}
        _, track_of_detection, _ = lap.lapjv(cost, extend_cost=True, cost_limit=0.999)
        return {
            free[row]: tracks[int(column)]
            for row, column in enumerate(track_of_detection)
            if column >= 0
        }
