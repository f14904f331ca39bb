"""What a person's clothes look like, held only while their track is open (issue 18).

When the person tracker has lost someone for a while (hidden behind others, missed by the
detector) and a new person box appears near where the lost track was heading, the box's
position alone cannot always tell which of several lost people it is, or whether it is someone
new walking in. The colours of the clothes can: ``ClothingColours`` describes a box as two
colour histograms (hue, saturation, brightness), of the upper body and of the legs, each taken
from the middle of the box (the edges are mostly background), leaving out the head.

This is appearance within one track only (docs/decisions.md, "appearance"): a track's
histogram lives in the tracker's memory while the track is open, is compared only with boxes
that may continue that same track, and is dropped when the track closes. It is never stored,
never put in a track's closed event, and never used to link two visits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.tracking import Box
from desktopapp.core.vision.types import Image

Histogram = NDArray[np.float32]

# The parts of a person's box the histograms are taken from, as shares of its height: the upper
# body (below the head) and the legs (above the feet, which stand on the floor's colour).
UPPER = (0.18, 0.5)
LOWER = (0.5, 0.9)
# The middle share of the box's width: a person's outline fills it, the background the edges.
MIDDLE = 0.5
# Hue, saturation and brightness bins: grey, white and black clothes differ by brightness.
BINS = (8, 3, 3)
# The crop is shrunk to at most this many pixels a side before counting: enough for colours.
SIDE = 32


@dataclass(frozen=True, slots=True)
class ClothingColours:
    """Histograms of one person box."""

    upper: Histogram
    lower: Histogram

    @classmethod
    def of(cls, image: Image, box: Box) -> ClothingColours | None:
        """The box's clothing colours, None when too little of it lies inside the frame."""
        height, width = image.shape[:2]
        x, y, w, h = box
        left = max(0, round(x + w * (1 - MIDDLE) / 2))
        right = min(width, round(x + w * (1 + MIDDLE) / 2))
        parts = []
        for top_share, bottom_share in (UPPER, LOWER):
            top = max(0, round(y + h * top_share))
            bottom = min(height, round(y + h * bottom_share))
            if right - left < 3 or bottom - top < 3:
                return None
            parts.append(_histogram(image[top:bottom, left:right]))
        return cls(parts[0], parts[1])

    def distance(self, other: ClothingColours) -> float:
        """0 (the same colours) .. 1 (nothing in common): the Bhattacharyya distance of the two
        parts' histograms, averaged."""
        return 0.5 * (
            _bhattacharyya(self.upper, other.upper) + _bhattacharyya(self.lower, other.lower)
        )

    def blend(self, other: ClothingColours, weight: float) -> ClothingColours:
        """A running mean: ``weight`` of ``other``, the rest of this."""
        return ClothingColours(
            _normalised((1 - weight) * self.upper + weight * other.upper),
            _normalised((1 - weight) * self.lower + weight * other.lower),
        )


def _histogram(crop: Image) -> Histogram:
    scale = SIDE / max(crop.shape[:2])
    small = (
        cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if scale < 1
        else crop
    )
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    counts = cv2.calcHist([hsv], [0, 1, 2], None, list(BINS), [0, 180, 0, 256, 0, 256])
    return _normalised(counts.ravel().astype(np.float32))


def _normalised(histogram: Histogram) -> Histogram:
    total = float(histogram.sum())
    result: Histogram = histogram / total if total > 0 else histogram
    return result


def _bhattacharyya(a: Histogram, b: Histogram) -> float:
    overlap = float(np.sqrt(a * b).sum())
    return float(np.sqrt(max(0.0, 1.0 - min(1.0, overlap))))
