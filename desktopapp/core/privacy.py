"""Masking people in every picture Raiten shows (DESIGN "A frame's life", step 2).

Each face or person box, grown by a margin because detector boxes are tight around the
features, and each fixed privacy zone drawn by the operator is made unrecognisable. A box that
comes close to the frame border is extended to it: a detector's box for a person or face cut by
the border stops short of the edge, and what lies between belongs to the same person. Only the
regions concerned are touched: a 640x480 frame with six boxes costs well under 2 ms.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.tracking import Box, check_box

log = logging.getLogger(__name__)

Polygon = Sequence[tuple[float, float]]
"""Corner points in coordinates normalised to 0..1, so a zone survives a resolution change."""

# Neutral grey: says "hidden here" without looking like a picture element.
SOLID_GREY = 128
# The silhouette style: a flat pale ground with a darker pictogram of a person on it.
SILHOUETTE_GROUND = (200, 200, 200)
SILHOUETTE_FIGURE = (96, 96, 96)
# A masked region keeps at most about this many blocks (samples) across the box it hides.
# With 8, the face detector still found 3 of the 6 pixelated faces of a group photo (t1.jpg,
# faces ~100 px, scores up to 0.88); with 6 it finds none in any test image.
SAMPLES_ACROSS = 6
MIN_BLOCK_PX = 8
# Faces: detector boxes are tight around eyes and mouth; a quarter more per side takes in hair,
# ears and chin. Persons: the box already holds the whole figure, a tenth covers arms and
# hair that stick out of it.
FACE_MARGIN = 0.25
PERSON_MARGIN = 0.1
# A masked box whose side ends within this share of its size (beyond the margin) of the frame
# border is extended to the border: the person is most likely cut by it.
BORDER_SNAP = 0.25


class MaskStyle(enum.StrEnum):
    PIXELATE = "pixelate"
    BLUR = "blur"
    SOLID = "solid"
    SILHOUETTE = "silhouette"


def _obscured(region: NDArray[np.uint8], style: MaskStyle, size: int) -> NDArray[np.uint8]:
    """``region`` made unrecognisable; ``size`` is the width of the box or zone it hides."""
    height, width = region.shape[:2]
    if style is MaskStyle.SOLID:
        return np.full_like(region, SOLID_GREY)
    if style is MaskStyle.SILHOUETTE:
        return np.full_like(region, SILHOUETTE_GROUND[0])
    block = max(MIN_BLOCK_PX, size // SAMPLES_ACROSS)
    # Averaging down to a few samples throws the detail away for good (no deconvolution can
    # bring it back), unlike a blur alone.
    small_size = (max(1, round(width / block)), max(1, round(height / block)))
    small = cv2.resize(region, small_size, interpolation=cv2.INTER_AREA)
    if style is MaskStyle.PIXELATE:
        result = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    else:
        # A Gaussian of sigma = size / 4 at full resolution, applied where it is cheap: on the
        # samples (one per block), then scaled back up smoothly.
        small = cv2.GaussianBlur(small, (0, 0), size / 4 / block, borderType=cv2.BORDER_REPLICATE)
        result = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(result, dtype=np.uint8).reshape(region.shape)


def _silhouette(region: NDArray[np.uint8], whole_person: bool) -> None:
    """Paint a flat pictogram over ``region`` in place: a whole figure for a person box, a head
    and shoulders for a face box. Nothing of the picture underneath survives."""
    height, width = region.shape[:2]
    grey = region.ndim == 2
    ground = SILHOUETTE_GROUND[0] if grey else SILHOUETTE_GROUND
    figure = SILHOUETTE_FIGURE[0] if grey else SILHOUETTE_FIGURE
    region[...] = ground
    canvas = np.ascontiguousarray(region)
    centre = width // 2
    if whole_person:
        head = max(1, round(min(width * 0.22, height * 0.09)))
        head_y = round(height * 0.04) + head
        cv2.circle(canvas, (centre, head_y), head, figure, -1)
        body_top = head_y + head + max(1, head // 4)
        cv2.ellipse(
            canvas,
            (centre, (body_top + height) // 2),
            (max(1, round(width * 0.36)), max(1, (height - body_top) // 2)),
            0,
            0,
            360,
            figure,
            -1,
        )
    else:
        head = max(1, round(min(width * 0.3, height * 0.3)))
        cv2.ellipse(
            canvas, (centre, height // 2), (head, round(head * 1.25)), 0, 0, 360, figure, -1
        )
    region[...] = canvas


def _grown(box: Box, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of ``box`` grown by ``margin`` per side, inside the image;
    a side that ends within BORDER_SNAP of its smaller side from the frame border reaches it."""
    x, y, w, h = box
    # By the smaller side: a tall person box snaps no further than a face box of its width.
    snap = BORDER_SNAP * min(w, h)
    snap_x, snap_y = margin * w + snap, margin * h + snap
    left = 0 if x < snap_x else math.floor(x - margin * w)
    top = 0 if y < snap_y else math.floor(y - margin * h)
    right = width if x + w > width - snap_x else math.ceil(x + w + margin * w)
    bottom = height if y + h > height - snap_y else math.ceil(y + h + margin * h)
    return max(0, left), max(0, top), min(width, right), min(height, bottom)


def _polygon_pixels(polygon: Polygon, width: int, height: int) -> NDArray[np.int32]:
    points = np.asarray(polygon, dtype=np.float64)
    if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] != 2:
        raise ValueError("a privacy polygon needs at least three (x, y) points")
    if not np.isfinite(points).all():
        raise ValueError("privacy polygon points must be finite numbers")
    return np.round(points * (width, height)).astype(np.int32)


def _inside_another(areas: Sequence[tuple[int, int, int, int]]) -> list[bool]:
    """For each (left, top, right, bottom) area, whether it lies wholly inside another one (of
    identical areas, all but the last)."""
    if len(areas) < 2:
        return [False] * len(areas)
    a = np.asarray(areas, dtype=np.int64)
    left, top, right, bottom = (a[:, i] for i in range(4))
    # within[i, j]: area i lies inside area j.
    within = (
        (left[:, None] >= left[None, :])
        & (top[:, None] >= top[None, :])
        & (right[:, None] <= right[None, :])
        & (bottom[:, None] <= bottom[None, :])
    )
    np.fill_diagonal(within, False)
    same = within & within.T
    # Of identical areas only the last is kept: drop i if an identical one comes after it.
    later = np.triu(np.ones_like(within), 1)
    dropped = np.any((within & ~same) | (same & later), axis=1)
    return [bool(v) for v in np.atleast_1d(dropped)]


def mask_frame(
    image: NDArray[np.uint8],
    boxes: Sequence[Box],
    polygons: Sequence[Polygon] = (),
    style: MaskStyle = MaskStyle.PIXELATE,
    margin: float = FACE_MARGIN,
    *,
    persons: Sequence[Box] = (),
    person_margin: float = PERSON_MARGIN,
) -> NDArray[np.uint8]:
    """A copy of ``image`` with every face box (grown by ``margin``), person box (grown by
    ``person_margin``) and polygon obscured.

    PIXELATE leaves about six blocks (of at least 8 px) across a box, BLUR a strong smooth
    blur over as few samples, SOLID neutral grey, SILHOUETTE a flat pictogram of a person;
    polygons get the same treatment over their whole area (SILHOUETTE: flat ground). Boxes near
    the border reach it (see _grown). Persons are painted first, so a face inside a person is
    masked at its own, finer scale on top. A box wholly outside the image is ignored. The
    source image is not modified.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 image, got {image.dtype} with shape {image.shape}")
    if not (margin >= 0 and person_margin >= 0):
        raise ValueError(f"margins must not be negative, got {margin} and {person_margin}")
    style = MaskStyle(style)
    height, width = image.shape[:2]
    masked = image.copy()

    for box in (*persons, *boxes):
        check_box(box)
    person_areas = [_grown(b, person_margin, width, height) for b in persons]
    # A person's area inside another's is hidden by that one's mask already (at the coarser
    # scale of the larger box): motion, held tracks and the second look overlap a lot.
    hidden = _inside_another(person_areas)
    for (left, top, right, bottom), box_width, whole_person in [
        *(
            (a, round(b[2]), True)
            for a, b, h in zip(person_areas, persons, hidden, strict=True)
            if not h
        ),
        *((_grown(b, margin, width, height), round(b[2]), False) for b in boxes),
    ]:
        if right <= left or bottom <= top:
            continue  # wholly outside the picture: nothing of it is shown
        region = masked[top:bottom, left:right]
        if style is MaskStyle.SILHOUETTE:
            _silhouette(region, whole_person)
        else:
            region[...] = _obscured(region, style, box_width)

    for polygon in polygons:
        points = _polygon_pixels(polygon, width, height)
        left, top = (max(0, int(v)) for v in points.min(axis=0))
        right = min(width, int(points[:, 0].max()) + 1)
        bottom = min(height, int(points[:, 1].max()) + 1)
        if right <= left or bottom <= top:
            continue  # wholly outside the picture
        region = masked[top:bottom, left:right]
        inside = np.zeros(region.shape[:2], dtype=np.uint8)
        cv2.fillPoly(inside, [points - (left, top)], 1)
        # cv2.copyTo with a mask is ~15x faster than numpy's masked assignment here. It normally
        # writes into the view; assigning its result keeps this correct should it copy instead.
        region[...] = cv2.copyTo(_obscured(region, style, right - left), inside, region)
    return masked
