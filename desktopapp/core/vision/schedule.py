"""Face detection by need: the whole frame at low resolution, full resolution only where small
faces can be.

Detection cost grows with the pixels searched (yuface: ~37 ms of CPU for a 640x480 frame, ~8 ms
at 320x240), and four cameras at 10 fps on two cores leave about 30 ms per frame for everything.
Most pixels hold no face, and a face big enough to be seen at 320 px needs no more. So, given
the persons the person detector found in the same frame:

* the whole frame is searched at ``coarse_side`` (finds faces from about 24 px up at 640);
* the head region (top of the box) of every person too small for the coarse pass to see their
  face is searched at the frame's own resolution, as is the neighbourhood of every small face
  found in the previous frame (a face whose body the person detector missed);
* one tile of the frame, in turn, is searched at full resolution every frame, so a small face
  outside any person box is found within ``sweep_tiles`` frames.

Without person boxes (a mode that runs no person detector) ``detect`` searches the whole frame
at ``full_side`` as before. bench/pipeline.py reports the faces found against the full
detector's on the same frames.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from desktopapp.core.vision.faces import check_image
from desktopapp.core.vision.types import Face, FaceDetector, Image, ModelInfo, Person

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]  # x, y, w, h in frame pixels
Region = tuple[int, int, int, int]  # left, top, right, bottom

# The smallest face (box height, detector input pixels) yuface reliably finds; faces below this
# many pixels *after* the coarse pass's shrink are searched at full resolution.
DETECTABLE_PX = 24.0
# A standing person's head is about 1/7 of their height; a person cut by the frame's lower edge
# shows a larger share. The search region is the top HEAD_SHARE of the box, widened a little.
HEAD_SHARE = 0.45
HEAD_WIDEN = 0.15
FACE_PER_PERSON = 1.0 / 7.0
# Context around a previous small face (its own size, each side) where it is looked for again.
FOLLOW_MARGIN = 1.0
# The detector needs some context around a face; a region is at least this big.
MIN_REGION_PX = 64
# Overlapping faces from two passes: the same face.
SAME_FACE_IOU = 0.4


@dataclass(frozen=True, slots=True)
class ScheduleStats:
    """What the last frames cost, for the benchmark: pixels searched at full resolution."""

    frames: int
    region_pixels: int
    full_frames: int


def _iou(a: Face, b: Face) -> float:
    left, top = max(a.x, b.x), max(a.y, b.y)
    right, bottom = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def merge_faces(first: Sequence[Face], second: Sequence[Face]) -> list[Face]:
    """Both lists' faces, a face seen by both once (the higher score kept), best first."""
    merged = list(first)
    for face in second:
        same = [i for i, kept in enumerate(merged) if _iou(face, kept) >= SAME_FACE_IOU]
        if not same:
            merged.append(face)
        elif all(face.score > merged[i].score for i in same):
            for i in reversed(same):
                del merged[i]
            merged.append(face)
    merged.sort(key=lambda f: f.score, reverse=True)
    return merged


def _clip(region: tuple[float, float, float, float], width: int, height: int) -> Region | None:
    left, top, right, bottom = region
    # Grow a small region around its centre to the minimum the detector needs.
    if right - left < MIN_REGION_PX:
        centre = (left + right) / 2
        left, right = centre - MIN_REGION_PX / 2, centre + MIN_REGION_PX / 2
    if bottom - top < MIN_REGION_PX:
        centre = (top + bottom) / 2
        top, bottom = centre - MIN_REGION_PX / 2, centre + MIN_REGION_PX / 2
    clipped = (
        max(0, math.floor(left)),
        max(0, math.floor(top)),
        min(width, math.ceil(right)),
        min(height, math.ceil(bottom)),
    )
    if clipped[2] - clipped[0] < 8 or clipped[3] - clipped[1] < 8:
        return None
    return clipped


def _area(region: Region) -> int:
    return (region[2] - region[0]) * (region[3] - region[1])


def _joined(a: Region, b: Region) -> Region | None:
    """The bounding rectangle of two overlapping regions, if searching it costs no more than
    searching both (None otherwise: two people's heads far apart stay two small regions)."""
    if not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]):
        return None
    joined = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
    return joined if _area(joined) <= _area(a) + _area(b) else None


def merge_regions(regions: Sequence[Region]) -> list[Region]:
    """Overlapping regions joined where that searches fewer pixels than both apart."""
    pending = list(regions)
    merged: list[Region] = []
    while pending:
        current = pending.pop()
        changed = True
        while changed:
            changed = False
            for other in list(pending):
                joined = _joined(current, other)
                if joined is not None:
                    current = joined
                    pending.remove(other)
                    changed = True
        merged.append(current)
    return merged


def _shifted(face: Face, dx: int, dy: int) -> Face:
    return Face(
        face.x + dx,
        face.y + dy,
        face.w,
        face.h,
        face.score,
        (face.landmarks + np.array([dx, dy], np.float32)).astype(np.float32),
    )


class ScheduledFaceDetector:
    """A face detector searching by need (see the module docstring). One per analysis thread:
    it remembers the previous frame's small faces and where its sweep is."""

    def __init__(
        self,
        coarse: FaceDetector,
        full: FaceDetector,
        *,
        coarse_side: int,
        sweep_tiles: int = 6,
    ):
        if coarse_side < 64 or sweep_tiles < 1:
            raise ValueError("coarse_side must be at least 64 and sweep_tiles at least 1")
        self.info: ModelInfo = full.info
        self._coarse = coarse
        self._full = full
        self._coarse_side = coarse_side
        self._sweep_tiles = sweep_tiles
        self._sweep = 0
        self._previous_small: list[Face] = []
        self._frames = 0
        self._region_pixels = 0
        self._full_frames = 0

    @property
    def stats(self) -> ScheduleStats:
        return ScheduleStats(self._frames, self._region_pixels, self._full_frames)

    def detect(self, image: Image) -> list[Face]:
        """Every face, the whole frame searched at full resolution (no person boxes to go by)."""
        self._frames += 1
        self._full_frames += 1
        self._previous_small = []
        return self._full.detect(image)

    def detect_among(self, image: Image, persons: Sequence[Box]) -> list[Face]:
        """Every face, given the persons found in the same frame."""
        image = check_image(image)
        height, width = image.shape[:2]
        self._frames += 1
        scale = min(1.0, self._coarse_side / max(width, height))
        # Native pixels below which the coarse pass misses a face.
        small_px = DETECTABLE_PX / scale
        regions = [r for r in self._regions(persons, small_px, width, height) if r is not None]
        regions = merge_regions(regions)
        area = sum(_area(r) for r in regions)
        if area + scale * scale * width * height >= width * height:
            faces = self._full.detect(image)
            self._full_frames += 1
            self._region_pixels += width * height
        else:
            faces = self._coarse.detect(image) if scale < 1.0 else []
            found: list[Face] = []
            for left, top, right, bottom in regions:
                crop = image[top:bottom, left:right]
                found += [_shifted(f, left, top) for f in self._full.detect(crop)]
            self._region_pixels += area
            faces = merge_faces(faces, found)
        self._previous_small = [f for f in faces if f.h < small_px]
        return faces

    def _regions(
        self, persons: Sequence[Box], small_px: float, width: int, height: int
    ) -> list[Region | None]:
        regions: list[Region | None] = []
        for x, y, w, h in persons:
            if h * FACE_PER_PERSON >= small_px:
                continue  # their face is big enough for the coarse pass
            widen = HEAD_WIDEN * w
            regions.append(
                _clip((x - widen, y - widen, x + w + widen, y + HEAD_SHARE * h), width, height)
            )
        for face in self._previous_small:
            pad_x, pad_y = FOLLOW_MARGIN * face.w, FOLLOW_MARGIN * face.h
            regions.append(
                _clip(
                    (
                        face.x - pad_x,
                        face.y - pad_y,
                        face.x + face.w + pad_x,
                        face.y + face.h + pad_y,
                    ),
                    width,
                    height,
                )
            )
        regions.append(self._sweep_region(width, height))
        return regions

    def _sweep_region(self, width: int, height: int) -> Region:
        """This frame's horizontal band of the sweep, overlapping the next by a small face's
        height so that no face is cut in two by every band."""
        band = math.ceil(height / self._sweep_tiles)
        overlap = MIN_REGION_PX // 4
        index = self._sweep % self._sweep_tiles
        self._sweep += 1
        top = max(0, index * band - overlap)
        return (0, top, width, min(height, (index + 1) * band + overlap))


def detect_faces(
    detector: FaceDetector, image: Image, persons: Sequence[Person] | None
) -> list[Face]:
    """The faces of a frame: searched by need when ``detector`` can and the persons of the
    frame are known (``None``: no person detector ran), else the whole frame."""
    if persons is not None and isinstance(detector, ScheduledFaceDetector):
        return detector.detect_among(image, [(p.x, p.y, p.w, p.h) for p in persons])
    return detector.detect(image)
