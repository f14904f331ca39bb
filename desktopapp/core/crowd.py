"""The crowd-level view (use case 6): people as icons on a plain drawing, never the picture.

The drawing is made from positions only — the camera frame never reaches it — so the live view
of a crowd-level camera shows no pixel of anyone. With a floor calibration the icons stand on
the floor plan's coordinates, otherwise where the people stand in the (unshown) picture. Zones
are outlined and tinted by their congestion level; their names and counts are written by the
UI, which has the fonts for Japanese.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from desktopapp.core.counting import CongestionLevel, Zone
from desktopapp.core.floor import Position, Space
from desktopapp.core.vision.types import Image

log = logging.getLogger(__name__)

PAPER = (245, 245, 240)  # BGR
INK = (90, 90, 90)
ICON = (178, 108, 43)  # a calm blue
LEVEL_COLOURS: dict[CongestionLevel, tuple[int, int, int]] = {
    CongestionLevel.LOW: (144, 200, 144),
    CongestionLevel.MEDIUM: (102, 204, 255),
    CongestionLevel.HIGH: (64, 140, 255),
    CongestionLevel.FULL: (60, 60, 220),
}


def draw_icons(
    size: tuple[int, int],
    positions: Sequence[Position],
    zones: Sequence[Zone],
    levels: Mapping[str, CongestionLevel],
    space: Space,
) -> Image:
    """A ``size`` (width, height) BGR drawing: zones tinted by level, one icon per person
    placed by its position in ``space``."""
    width, height = size
    canvas = np.full((height, width, 3), PAPER, dtype=np.uint8)

    def pixel(point: tuple[float, float]) -> tuple[int, int]:
        return round(point[0] * (width - 1)), round(point[1] * (height - 1))

    for zone in zones:
        if zone.space is not space:
            continue
        corners = np.array([pixel(p) for p in zone.polygon], dtype=np.int32)
        tint = canvas.copy()
        level = levels.get(zone.name, CongestionLevel.LOW)
        cv2.fillPoly(tint, [corners], LEVEL_COLOURS[level])
        cv2.addWeighted(tint, 0.45, canvas, 0.55, 0, dst=canvas)
        cv2.polylines(canvas, [corners], True, INK, 2, cv2.LINE_AA)
    radius = max(4, round(min(width, height) / 60))
    for position in positions:
        point = position.in_space(space)
        if point is None:
            continue
        x, y = pixel(point)
        # A head over a body: readable as "a person" at a glance, identifying no one.
        cv2.circle(canvas, (x, y - 2 * radius), radius, ICON, -1, cv2.LINE_AA)
        cv2.ellipse(canvas, (x, y), (radius + 1, radius + 2), 0, 180, 360, ICON, -1, cv2.LINE_AA)
    return canvas
