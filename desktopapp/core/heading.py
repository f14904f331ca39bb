"""Where a tracked person is heading: their foot point's velocity over the last second.

A lost person is looked for where they were heading (core.person_tracking, third stage). The
track's own velocity is that of its box centre between the last two frames, which is right for
matching boxes frame to frame but a poor guide over the half second or more that a person may
stay hidden: a person detector's box around someone walking beside others grows over a
neighbour or shrinks to half of them from one frame to the next, and its centre jumps with it.
On vtest.avi a man walking steadily at 80 px/s was predicted to stand still after such a box,
and came out of a group 50 px from the prediction, as a new track, on the far side of a
counting line. The foot point (where the person stands) moves with the walk and much less
with the box's size, and its displacement over a second averages the frame-to-frame jitter.

Positions only, in memory, for as long as the track is open.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from desktopapp.core.floor import Point
from desktopapp.core.tracking import Box

# Over this much time a walker keeps their pace and direction, and the detector's jitter
# (a few pixels a frame) averages out.
WINDOW_SECONDS = 1.0


def foot_of(box: Box) -> Point:
    """Where a person in ``box`` stands: the middle of its bottom edge (pixels)."""
    x, y, w, h = box
    return x + w / 2, y + h


@dataclass(slots=True)
class Heading:
    """The foot points of one track over the last ``window_seconds``."""

    window_seconds: float = WINDOW_SECONDS
    _feet: deque[tuple[float, Point]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.window_seconds) and self.window_seconds > 0):
            raise ValueError(f"window_seconds must be a positive number, got {self.window_seconds}")

    def observe(self, timestamp: float, foot: Point) -> None:
        if self._feet and timestamp < self._feet[-1][0]:
            raise ValueError(f"timestamps must not go backwards: {timestamp}")
        self._feet.append((timestamp, foot))
        while timestamp - self._feet[0][0] > self.window_seconds:
            self._feet.popleft()

    @property
    def velocity(self) -> tuple[float, float]:
        """Pixels per second from the oldest foot point of the window to the newest (0, 0
        until two have been seen at different times)."""
        if not self._feet:
            return 0.0, 0.0
        (t0, (x0, y0)), (t1, (x1, y1)) = self._feet[0], self._feet[-1]
        if t1 <= t0:
            return 0.0, 0.0
        return (x1 - x0) / (t1 - t0), (y1 - y0) / (t1 - t0)

    def predicted(self, timestamp: float) -> Point | None:
        """Where the foot should be at ``timestamp`` if the person kept walking as they did
        (None before any foot point was seen)."""
        if not self._feet:
            return None
        last, (x, y) = self._feet[-1]
        vx, vy = self.velocity
        return x + vx * (timestamp - last), y + vy * (timestamp - last)
