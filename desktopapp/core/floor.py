"""Where a person stands: the foot point on the camera picture, mapped onto the floor plan.

Every point an operator draws (calibration points, zone corners, line ends) is normalised to
0..1 across the picture it was drawn on, like the privacy polygons and track paths: ``IMAGE``
points across the camera frame, ``FLOOR`` points across the floor plan picture. A camera
resolution change or a rescaled plan drawing then moves nothing, and floor points of every
camera fall on the same plan. Distances in either space (the hysteresis band of a counting line)
are in these units, so they are slightly anisotropic on a non-square picture; a margin is a
few per cent of the picture, where that does not matter.

The floor plan is flat and the camera a pinhole, so picture and plan are related by a
homography, fitted from 4+ point pairs the operator marks on both (``FloorCalibration``). A
person stands where their box touches the floor: its bottom centre (``foot_point``).

Paths are kept coarse on purpose (DESIGN "A frame's life"): the pipeline keeps about one
picture point a second of a track, and the store places each on the plan with its camera's
calibration when it is recorded (``desktopapp.core.store.zones``).
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.tracking import Box, check_box

log = logging.getLogger(__name__)

Point = tuple[float, float]
"""x, y normalised to 0..1 across the picture the point belongs to."""


class Space(enum.StrEnum):
    """Which picture a drawn point belongs to."""

    IMAGE = "image"  # the camera frame: works without calibration (passer-by cameras)
    FLOOR = "floor"  # the floor plan: needs the camera's FloorCalibration


MIN_PAIRS = 4
# Plenty for any floor, and it keeps the search for four well-spread pairs (C(16, 4) = 1820
# subsets) instant.
MAX_PAIRS = 16
# Three points whose triangle is flatter than this fraction of the points' spread count as one
# line, and two points closer than it as one place: a homography through them would swing
# wildly with a click's error (a pixel or two in a 640-pixel picture is 0.3 %).
FLATNESS = 0.02


def normalised_points(raw: Iterable[Sequence[float]], what: str) -> tuple[Point, ...]:
    """``raw`` as (x, y) tuples, or ValueError unless each is two finite numbers in 0..1."""
    points: list[Point] = []
    for item in raw:
        if (
            not isinstance(item, Sequence)
            or isinstance(item, str)
            or len(item) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)
            or not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in item)
        ):
            raise ValueError(
                f"{what} must be (x, y) pairs normalised to 0..1 of the picture, got {item!r}"
            )
        points.append((float(item[0]), float(item[1])))
    return tuple(points)


def plan_size_m(width_m: float, pixels: tuple[int, int]) -> tuple[float, float]:
    """A floor plan's width and depth in metres, given its width and its picture's size in
    pixels (width, height): the depth follows from the picture's proportions."""
    width, height = pixels
    return (width_m, round(width_m * height / width, 2))


def foot_point(box: Box, frame_size: tuple[int, int]) -> Point:
    """Where a person box stands: its bottom centre, normalised by the frame size.

    Clipped to 0..1: a box cut off by the frame edge stands at the edge at least, and that is
    the best estimate there is of its feet.
    """
    check_box(box)
    width, height = frame_size
    if width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive, got {width}x{height}")
    x, y, w, h = box
    return (_unit((x + w / 2) / width), _unit((y + h) / height))


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Position:
    """Where one person stands in one frame, in each space it is known in."""

    image: Point
    # None without a calibration, or where the picture point cannot be on the floor.
    floor: Point | None = None

    def __post_init__(self) -> None:
        for point in (self.image, self.floor):
            if point is not None and not (
                isinstance(point, tuple)
                and len(point) == 2
                and all(isinstance(v, int | float) and math.isfinite(v) for v in point)
            ):
                raise ValueError(f"a position is two finite numbers, got {point!r}")

    @classmethod
    def of_box(
        cls,
        box: Box,
        frame_size: tuple[int, int],
        calibration: FloorCalibration | None = None,
    ) -> Position:
        image = foot_point(box, frame_size)
        return cls(image, calibration.to_floor(image) if calibration is not None else None)

    def in_space(self, space: Space) -> Point | None:
        return self.image if space is Space.IMAGE else self.floor


@dataclass(frozen=True, slots=True)
class FloorCalibration:
    """The homography from a camera's picture to the floor plan, fitted from marked pairs.

    ``image_points[i]`` on the picture is the same spot of the floor as ``floor_points[i]`` on
    the plan. Construction refuses pairs that cannot fix a mapping (too few, bunched, on one
    line, or marked in a different order on the two pictures) with a sentence that says which.
    With more than four pairs the fit is least squares over all of them (not RANSAC: with a
    handful of careful clicks a wrong one should show as a large error to fix, not be dropped
    silently); ``point_errors`` says how far each plan point is from where its picture point
    maps, in plan units.
    """

    image_points: tuple[Point, ...]
    floor_points: tuple[Point, ...]
    point_errors: tuple[float, ...] = field(init=False, compare=False)
    _forward: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _inverse: tuple[float, ...] = field(init=False, repr=False, compare=False)
    # The sign of the homogeneous w at the marked points: a point whose w has the other sign
    # lies beyond the floor's horizon on the picture (a wall, the sky), not on the floor.
    _sign: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        image = normalised_points(self.image_points, "picture points")
        floor = normalised_points(self.floor_points, "floor-plan points")
        object.__setattr__(self, "image_points", image)
        object.__setattr__(self, "floor_points", floor)
        if len(image) != len(floor):
            raise ValueError(
                f"every picture point needs its floor-plan point: got {len(image)} picture "
                f"points and {len(floor)} floor-plan points"
            )
        if len(image) < MIN_PAIRS:
            raise ValueError(
                f"at least {MIN_PAIRS} point pairs are needed to map the picture onto the floor "
                f"plan, got {len(image)}"
            )
        if len(image) > MAX_PAIRS:
            raise ValueError(f"at most {MAX_PAIRS} point pairs, got {len(image)}")
        _check_spread(image, "picture")
        _check_spread(floor, "floor-plan")
        _check_general_position(image, floor)

        src = np.asarray(image, dtype=np.float64)
        dst = np.asarray(floor, dtype=np.float64)
        # Method 0: plain least squares over every pair (see the class docstring).
        found, _ = cv2.findHomography(src, dst, 0)
        if found is None or not np.isfinite(found).all():
            raise ValueError("these point pairs do not fix a mapping onto the floor plan")
        forward = np.asarray(found, dtype=np.float64)
        singular = np.linalg.svd(forward, compute_uv=False)
        if singular[-1] <= 1e-9 * singular[0]:
            raise ValueError("these point pairs map the picture onto a line, not onto the floor")
        w = src @ forward[2, :2] + forward[2, 2]
        if not ((w > 0).all() or (w < 0).all()):
            # Only a fold puts the floor's horizon between marked floor points, and a fold
            # comes from points marked in a different order on the two pictures.
            raise ValueError(
                "the floor-plan points are not in the same order as the picture points (the "
                "mapping would fold the floor over itself); mark them in the same order"
            )
        inverse = np.linalg.inv(forward)
        object.__setattr__(self, "_forward", tuple(float(v) for v in forward.ravel()))
        object.__setattr__(self, "_inverse", tuple(float(v) for v in inverse.ravel()))
        object.__setattr__(self, "_sign", 1.0 if w[0] > 0 else -1.0)
        errors = []
        for source, target in zip(image, floor, strict=True):
            mapped = self.to_floor(source)
            assert mapped is not None  # every marked point was checked to be on the floor
            errors.append(math.dist(mapped, target))
        object.__setattr__(self, "point_errors", tuple(errors))
        log.debug(
            "floor calibration from %d pairs, reprojection error max %.4f", len(image), max(errors)
        )

    @property
    def rms_error(self) -> float:
        """Root mean square of ``point_errors``; about 0 with exactly four pairs, which fit
        exactly (OpenCV fits in float32: about 1e-7 of the plan)."""
        return math.sqrt(sum(e * e for e in self.point_errors) / len(self.point_errors))

    @property
    def max_error(self) -> float:
        return max(self.point_errors)

    def leave_one_out_errors(self) -> tuple[float, ...] | None:
        """How far each plan point is from where a fit of all the *other* pairs maps its
        picture point: what a wrong click shows as. NaN for a point whose others fix no
        mapping (a wrong click among them can fold or flatten it). None with exactly four
        pairs, which fit any four clicks exactly, so their errors are zero and say nothing,
        and when no point can be checked at all."""
        count = len(self.image_points)
        if count <= MIN_PAIRS:
            return None
        errors = []
        for left_out in range(count):
            others = [i for i in range(count) if i != left_out]
            try:
                fit = FloorCalibration(
                    tuple(self.image_points[i] for i in others),
                    tuple(self.floor_points[i] for i in others),
                )
            except ValueError:
                errors.append(math.nan)
                continue
            mapped = fit.to_floor(self.image_points[left_out])
            errors.append(
                math.nan if mapped is None else math.dist(mapped, self.floor_points[left_out])
            )
        return None if all(math.isnan(e) for e in errors) else tuple(errors)

    @property
    def homography(self) -> NDArray[np.float64]:
        """The 3x3 matrix from normalised picture to normalised plan coordinates (a copy)."""
        return np.array(self._forward, dtype=np.float64).reshape(3, 3)

    def to_floor(self, point: Point) -> Point | None:
        """The plan point under picture point ``point``; None where it cannot be on the floor."""
        return _project(self._forward, self._sign, point)

    def to_image(self, point: Point) -> Point | None:
        """The picture point showing plan point ``point`` (e.g. to draw a floor zone on the
        camera view); None where the camera cannot see that part of the floor plane."""
        # w of the inverse is 1 / w of the forward mapping, so it has the same sign.
        return _project(self._inverse, self._sign, point)

    def box_to_floor(self, box: Box, frame_size: tuple[int, int]) -> Point | None:
        """Where on the plan the person in ``box`` (pixels of a ``frame_size`` frame) stands."""
        return self.to_floor(foot_point(box, frame_size))

    def to_dict(self) -> dict[str, list[list[float]]]:
        """JSON-safe; the homography is not stored but refitted (and rechecked) on load."""
        return {
            "image_points": [list(p) for p in self.image_points],
            "floor_points": [list(p) for p in self.floor_points],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FloorCalibration:
        if set(data) != {"image_points", "floor_points"}:
            raise ValueError(
                "a floor calibration holds exactly 'image_points' and 'floor_points', "
                f"got {sorted(data)}"
            )
        pairs = []
        for key in ("image_points", "floor_points"):
            value = data[key]
            if not isinstance(value, list | tuple) or not all(
                isinstance(p, list | tuple) for p in value
            ):
                raise ValueError(f"'{key}' must be a list of [x, y] pairs")
            pairs.append(normalised_points(value, key.replace("_", " ")))
        return cls(pairs[0], pairs[1])


def _project(matrix: tuple[float, ...], sign: float, point: Point) -> Point | None:
    # Plain floats: one point per person per frame, where building numpy arrays costs more than
    # the arithmetic.
    x, y = point
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(f"a point is two finite numbers, got {point!r}")
    h = matrix
    w = h[6] * x + h[7] * y + h[8]
    if w * sign <= 1e-12:
        return None
    return ((h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w)


def _flat(a: Point, b: Point, c: Point, spread: float) -> bool:
    """Whether triangle abc is flatter than FLATNESS x ``spread`` (height over its longest
    side)."""
    longest = max(math.dist(a, b), math.dist(a, c), math.dist(b, c))
    if longest == 0:
        return True
    area2 = abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
    return area2 / longest < FLATNESS * spread


def _spread(points: Sequence[Point]) -> float:
    return max(math.dist(a, b) for a, b in itertools.combinations(points, 2))


def _check_spread(points: Sequence[Point], picture: str) -> None:
    """No two points in one place and not all of them on one line."""
    spread = _spread(points)
    for (i, a), (j, b) in itertools.combinations(enumerate(points, 1), 2):
        if math.dist(a, b) <= FLATNESS * spread:
            raise ValueError(
                f"{picture} points {i} and {j} are (almost) the same place; mark points spread "
                "over the floor"
            )
    # The farthest pair spans any line the points could (almost) lie on.
    a, b = max(itertools.combinations(points, 2), key=lambda pair: math.dist(*pair))
    if all(_flat(a, b, c, spread) for c in points):
        raise ValueError(
            f"the {picture} points lie (almost) on one line; mark points spread over the floor, "
            "e.g. the corners of a large rectangle on it"
        )


def _check_general_position(image: Sequence[Point], floor: Sequence[Point]) -> None:
    """Some four pairs must have no three points on one line, on the picture and on the plan:
    only four such pairs fix a homography."""
    spreads = (_spread(image), _spread(floor))
    for subset in itertools.combinations(range(len(image)), 4):
        if not any(
            _flat(points[i], points[j], points[k], spread)
            for points, spread in zip((image, floor), spreads, strict=True)
            for i, j, k in itertools.combinations(subset, 3)
        ):
            return
    if len(image) == MIN_PAIRS:
        for picture, points, spread in zip(
            ("picture", "floor-plan"), (image, floor), spreads, strict=True
        ):
            for i, j, k in itertools.combinations(range(4), 3):
                if _flat(points[i], points[j], points[k], spread):
                    raise ValueError(
                        f"{picture} points {i + 1}, {j + 1} and {k + 1} lie (almost) on one "
                        "line; four points with no three in a line are needed, e.g. the corners "
                        "of a large rectangle on the floor"
                    )
    raise ValueError(
        f"no four of the {len(image)} point pairs are spread out enough: at least four with no "
        "three in a line are needed on both the picture and the floor plan"
    )
