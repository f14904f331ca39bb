"""Moving regions of a fixed camera's picture, masked as a backstop for the person detector.

A walker the person detector misses (dark clothes against a dark path, too small, half out of
the picture) still moves. A background model (OpenCV's MOG2) on a small grey copy of the frame
finds what changed; each blob big enough to be part of a person becomes a box that is masked
like a person. It costs about a millisecond a frame. What it masks needlessly (a door, a car)
only hides a little of the scene; a person standing still long enough to fade into the model
is left to the detectors and to the held tracks.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from desktopapp.core.tracking import Box
from desktopapp.core.vision.types import Image

log = logging.getLogger(__name__)

# The model runs on a copy this wide: a person 60 px tall at 640 px is still 15 px here.
MODEL_WIDTH = 160
# Frames of history: about 30 s at the live view's 10 frames a second.
HISTORY = 300
VARIANCE_THRESHOLD = 25.0
# A blob smaller than this share of the picture is noise (compression, leaves).
MIN_AREA_SHARE = 0.0006


class MotionMasks:
    """Boxes around what moves in one camera's picture. Owned by one analysis thread."""

    def __init__(self) -> None:
        self._size: tuple[int, int] | None = None
        self._model = self._new_model()

    @staticmethod
    def _new_model() -> cv2.BackgroundSubtractorMOG2:
        return cv2.createBackgroundSubtractorMOG2(
            history=HISTORY, varThreshold=VARIANCE_THRESHOLD, detectShadows=False
        )

    def boxes(self, image: Image) -> list[Box]:
        """The moving regions of ``image`` (x, y, w, h in its pixels). The first frame, and the
        first after a change of size, is all new: the whole picture is one box."""
        height, width = image.shape[:2]
        if self._size != (width, height):
            self._size = (width, height)
            self._model = self._new_model()
        factor = MODEL_WIDTH / width
        small = cv2.resize(
            image, (MODEL_WIDTH, max(1, round(height * factor))), interpolation=cv2.INTER_AREA
        )
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        moving = self._model.apply(grey)
        # Open away single-pixel noise, then close the gaps between a walker's parts.
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
        moving = cv2.dilate(moving, np.ones((5, 5), np.uint8))
        count, _labels, stats, _centres = cv2.connectedComponentsWithStats(moving)
        min_area = MIN_AREA_SHARE * moving.shape[0] * moving.shape[1]
        found: list[Box] = []
        for left, top, w, h, area in stats[1:count]:
            if area >= min_area:
                found.append((left / factor, top / factor, w / factor, h / factor))
        return found
