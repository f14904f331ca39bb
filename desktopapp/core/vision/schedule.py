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
* one frame in ``sweep_every`` (the sweep) is searched whole at full resolution instead, so a
  small face outside any person box is found within ``sweep_every`` frames (once found, it is
  followed in every frame).

A face found by the coarse pass has coarse landmarks, which move its feature vector (the
matching threshold was calibrated on the whole-frame search at ``full_side``). A face about to
be embedded is therefore found again (``refine_face``) in a small crop around it, at the scale
the whole-frame search would have seen it: a few shots per person pay for that, not every frame.

Without person boxes (a mode that runs no person detector) ``detect`` searches the whole frame
at ``full_side`` as before. bench/pipeline.py reports the faces found against the full
detector's on the same frames.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
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
# A person's own face: its centre in the middle of the box (not within this share of a side),
# its width between these shares of the box's (upper bodies near the camera: 0.2 to 0.6).
OWN_FACE_SIDE = 0.2
OWN_FACE_MIN = 0.15
OWN_FACE_MAX = 0.65
# Context around a previous small face (its own size, each side) where it is looked for again.
FOLLOW_MARGIN = 1.0
# The detector needs some context around a face; a region is at least this big.
MIN_REGION_PX = 64
# Overlapping faces from two passes: the same face.
SAME_FACE_IOU = 0.4
# A box this much inside another is the same face, cut by a search region's edge; of two boxes
# of one face, one with less than PART_OF_FACE of the other's area is the cut one (a band of the
# sweep cut a forehead off a face the coarse pass saw whole, with a higher score).
SAME_FACE_INSIDE = 0.6
PART_OF_FACE = 0.8
# A face found again for its landmarks: its own size of context each side, the crop starting
# on a multiple of the network's largest stride. On the test faces this gives the whole-frame
# search's landmarks to within one detector pixel (half a face each side: up to 3.4 px off).
REFINE_MARGIN = 1.0
REFINE_GRID = 32
# The sweep searches the whole frame at full resolution in one frame of this many, in place of
# that frame's coarse pass and regions; it only finds a small face no person box and no earlier
# frame pointed to, which is then followed in every frame. The first frame of a stream is a
# sweep (``start_stream``): a photo has no later frame for the sweep to come round in (with one
# schedule shared by a folder of photos, messi5.jpg fell on a frame without it and lost its
# identity). It was a band of a sixth of the frame in one frame of three, which also found such
# a face within 18 frames; but yuface's cost grows with the input rounded up to 32 px each way,
# and six bands with their overlap came to 768 rows a round (~29 ms of CPU at 640x480, ~3.2 ms
# a frame), the whole frame to 480 (~42 ms, less the coarse pass and regions it replaces:
# ~1.6 ms a frame), and no face is cut by a band's edge (docs/decisions.md, issue 15).
SWEEP_EVERY = 18


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


def _same(a: Face, b: Face) -> bool:
    """Whether two boxes from two passes are one face: they overlap enough, or most of the
    smaller lies in the larger (a face cut by a region's edge is found there in part)."""
    left, top = max(a.x, b.x), max(a.y, b.y)
    right, bottom = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    return _iou(a, b) >= SAME_FACE_IOU or inter >= SAME_FACE_INSIDE * min(a.area, b.area)


def _better(face: Face, kept: Face) -> bool:
    """Whether ``face`` should replace ``kept``, the same face found by another pass: a
    clearly smaller box is a part of the face, else the higher score wins."""
    if face.area < PART_OF_FACE * kept.area:
        return False
    if kept.area < PART_OF_FACE * face.area:
        return True
    return face.score > kept.score


def merge_faces(first: Sequence[Face], second: Sequence[Face]) -> list[Face]:
    """Both lists' faces, a face seen by both once (see _same and _better), best first."""
    merged = list(first)
    for face in second:
        same = [i for i, kept in enumerate(merged) if _same(face, kept)]
        if not same:
            merged.append(face)
        elif all(_better(face, merged[i]) for i in same):
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


def _own_face(face: Face, person: Box) -> bool:
    """Whether ``face`` is where the face of ``person`` would be: in the middle of the top of
    its box and of a size a body has (not the face of someone nearer, in front of them)."""
    x, y, w, h = person
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    centred = x + OWN_FACE_SIDE * w <= cx <= x + (1 - OWN_FACE_SIDE) * w
    return centred and y <= cy <= y + HEAD_SHARE * h and OWN_FACE_MIN <= face.w / w <= OWN_FACE_MAX


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
    it remembers the previous frame's small faces and when its sweep is."""

    def __init__(
        self,
        coarse: FaceDetector,
        full: FaceDetector,
        *,
        coarse_side: int,
        full_side: int = 0,
        sweep_every: int = SWEEP_EVERY,
    ):
        if coarse_side < 64 or sweep_every < 1:
            raise ValueError("coarse_side must be at least 64 and sweep_every at least 1")
        self.info: ModelInfo = full.info
        self._coarse = coarse
        self._full = full
        self._coarse_side = coarse_side
        # The size the full detector shrinks a whole frame to (0: it never shrinks).
        self._full_side = full_side
        self._sweep_every = sweep_every
        self._searches = 0
        self._previous_small: list[Face] = []
        self._frames = 0
        self._region_pixels = 0
        self._full_frames = 0

    @property
    def stats(self) -> ScheduleStats:
        return ScheduleStats(self._frames, self._region_pixels, self._full_frames)

    def start_stream(self) -> None:
        """A new video or photo follows: nothing of the last one's schedule carries over, and
        its first frame is searched whole at full resolution."""
        self._searches = 0
        self._previous_small = []

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
        sweep = self._searches % self._sweep_every == 0
        self._searches += 1
        if scale >= 1.0:
            # The frame is no larger than the coarse pass's: one search at full resolution.
            faces = self._searched_whole(image)
        elif sweep:
            faces = self._searched_whole(image)
            # Where the full detector shrinks the frame, head regions still see finer.
            if self._full_side and self._full_side < max(width, height):
                faces = self._regions_searched(image, faces, persons, small_px, sweep=True)
        else:
            faces = self._regions_searched(
                image, self._coarse.detect(image), persons, small_px, sweep=False
            )
        self._previous_small = [f for f in faces if f.h < small_px]
        return faces

    def _regions_searched(
        self,
        image: Image,
        faces: list[Face],
        persons: Sequence[Box],
        small_px: float,
        *,
        sweep: bool,
    ) -> list[Face]:
        """``faces`` (the coarse pass's, or the sweep's whole frame) with those found at full
        resolution in the head regions of the persons whose faces ``faces`` lacks and around
        the previous frame's small faces; the whole frame searched where these come to more.

        A person whose own face the coarse pass found needs no closer look: a box around an
        upper body (a person close to the camera, or cut by the frame) is shorter than
        FACE_PER_PERSON assumes of a standing person, so their face is larger. Only a face the
        coarse pass sees reliably counts (smaller ones are often misplaced). Decided after the
        coarse pass, not before: on six people of an entrance (faces 60-77 px, bodies cut by
        the frame) the head regions of all persons came to more than the frame in one frame of
        eight, searched whole at full resolution (~35 ms), and with their own faces seen what
        is left is a fraction."""
        height, width = image.shape[:2]
        heads = self._heads(persons, small_px, width, height)
        seen = [f for f in faces if f.h >= small_px]
        kept = [r for p, r in heads if not any(_own_face(f, p) for f in seen)]
        regions = merge_regions(kept + self._followed(width, height))
        area = sum(_area(r) for r in regions)
        if area >= width * height:
            return faces if sweep else self._searched_whole(image)
        found: list[Face] = []
        for left, top, right, bottom in regions:
            crop = image[top:bottom, left:right]
            found += [_shifted(f, left, top) for f in self._full.detect(crop)]
        self._region_pixels += area
        return merge_faces(faces, found)

    def _searched_whole(self, image: Image) -> list[Face]:
        """The whole frame searched at full resolution: the sweep, or where regions would cost
        more."""
        height, width = image.shape[:2]
        self._full_frames += 1
        self._region_pixels += width * height
        return self._full.detect(image)

    def refine(self, image: Image, face: Face) -> Face:
        """``face`` with the box and landmarks the whole-frame search at ``full_side`` gives it
        (see the module docstring); ``face`` itself when it came from a full-resolution search
        or is not found again."""
        height, width = image.shape[:2]
        scale = min(1.0, self._coarse_side / max(width, height))
        if scale >= 1.0 or face.h < DETECTABLE_PX / scale:
            return face  # found at full resolution already
        factor = min(1.0, self._full_side / max(width, height)) if self._full_side else 1.0
        if factor < 1.0:
            image = cast(
                Image, cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            )
        small = face.scaled(factor)
        pad_x, pad_y = REFINE_MARGIN * small.w, REFINE_MARGIN * small.h
        # The crop starts on the network's coarsest grid, so the face falls on the same anchors
        # as in the whole frame.
        left = max(0, int(small.x - pad_x) // REFINE_GRID * REFINE_GRID)
        top = max(0, int(small.y - pad_y) // REFINE_GRID * REFINE_GRID)
        right = min(image.shape[1], math.ceil(small.x + small.w + pad_x))
        bottom = min(image.shape[0], math.ceil(small.y + small.h + pad_y))
        if right - left < MIN_REGION_PX or bottom - top < MIN_REGION_PX:
            return face
        crop = image[top:bottom, left:right]
        found = [_shifted(f, left, top).scaled(1.0 / factor) for f in self._full.detect(crop)]
        best = max(found, key=lambda f: _iou(f, face), default=None)
        return best if best is not None and _same(best, face) else face

    def _heads(
        self, persons: Sequence[Box], small_px: float, width: int, height: int
    ) -> list[tuple[Box, Region]]:
        """The persons too small for the coarse pass to see their face, each with its head
        region."""
        regions: list[tuple[Box, Region]] = []
        for x, y, w, h in persons:
            if h * FACE_PER_PERSON >= small_px:
                continue  # their face is big enough for the coarse pass
            widen = HEAD_WIDEN * w
            region = _clip((x - widen, y - widen, x + w + widen, y + HEAD_SHARE * h), width, height)
            if region is not None:
                regions.append(((x, y, w, h), region))
        return regions

    def _followed(self, width: int, height: int) -> list[Region]:
        """The regions around the previous frame's small faces."""
        regions: list[Region] = []
        for face in self._previous_small:
            pad_x, pad_y = FOLLOW_MARGIN * face.w, FOLLOW_MARGIN * face.h
            region = _clip(
                (face.x - pad_x, face.y - pad_y, face.x + face.w + pad_x, face.y + face.h + pad_y),
                width,
                height,
            )
            if region is not None:
                regions.append(region)
        return regions


def detect_faces(
    detector: FaceDetector, image: Image, persons: Sequence[Person] | None
) -> list[Face]:
    """The faces of a frame: searched by need when ``detector`` can and the persons of the
    frame are known (``None``: no person detector ran), else the whole frame."""
    if persons is not None and isinstance(detector, ScheduledFaceDetector):
        return detector.detect_among(image, [(p.x, p.y, p.w, p.h) for p in persons])
    return detector.detect(image)


def start_stream(detector: FaceDetector | None) -> None:
    """Tell a search by need that a new video or photo begins (ScheduledFaceDetector)."""
    if isinstance(detector, ScheduledFaceDetector):
        detector.start_stream()


def refine_face(detector: FaceDetector | None, image: Image, face: Face) -> Face:
    """``face`` as the whole-frame search would have found it, for a feature or an estimate:
    only a search by need changes anything (ScheduledFaceDetector.refine)."""
    if isinstance(detector, ScheduledFaceDetector):
        return detector.refine(image, face)
    return face
