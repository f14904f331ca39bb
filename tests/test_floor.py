"""Picture-to-floor-plan calibration on a known synthetic homography, and 1 Hz floor paths."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from desktopapp.core.floor import FloorCalibration, Point, Position, foot_point
from desktopapp.core.geometry_config import CalibrationConfig

# A camera looking down a floor: the near edge of a rectangle on the floor is wide at the
# bottom of the picture, the far edge narrow higher up; the floor's horizon is at y = 0.3.
PICTURE = ((0.2, 0.9), (0.8, 0.9), (0.55, 0.4), (0.45, 0.4))
PLAN = ((0.3, 0.8), (0.6, 0.8), (0.6, 0.3), (0.3, 0.3))


def solve_homography(picture: tuple[Point, ...], plan: tuple[Point, ...]) -> np.ndarray:
    """The exact homography through four pairs (h33 = 1), in float64 and without OpenCV."""
    rows, values = [], []
    for (x, y), (u, v) in zip(picture, plan, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return np.append(np.linalg.solve(np.array(rows), np.array(values)), 1.0).reshape(3, 3)


TRUE_H = solve_homography(PICTURE, PLAN)
# cv2.findHomography works in float32: 1e-6 of the picture is a thousandth of a pixel.
TOL = 1e-6
# More floor spots seen by the camera, inside the rectangle.
EXTRA = ((0.5, 0.65), (0.35, 0.75), (0.62, 0.55), (0.5, 0.45))


def true_floor(point: Point) -> Point:
    x, y, w = TRUE_H @ (point[0], point[1], 1.0)
    return (float(x / w), float(y / w))


def inside_view(count: int, seed: int = 1) -> list[Point]:
    """Picture points on the visible floor (below the horizon) whose plan points are in 0..1."""
    rng = np.random.default_rng(seed)
    points: list[Point] = []
    while len(points) < count:
        p = (float(rng.uniform(0.05, 0.95)), float(rng.uniform(0.45, 0.95)))
        if all(0 <= v <= 1 for v in true_floor(p)):
            points.append(p)
    return points


def test_four_pairs_recover_the_homography_both_ways() -> None:
    calibration = FloorCalibration(PICTURE, PLAN)
    assert calibration.max_error < TOL and calibration.rms_error < TOL
    for point in inside_view(50):
        floor = calibration.to_floor(point)
        assert floor is not None
        assert math.dist(floor, true_floor(point)) < TOL
        back = calibration.to_image(floor)
        assert back is not None and math.dist(back, point) < TOL
    assert np.allclose(calibration.homography / calibration.homography[2, 2], TRUE_H / TRUE_H[2, 2])


def test_more_pairs_are_fitted_by_least_squares_and_their_errors_reported() -> None:
    picture = [*PICTURE, *EXTRA]
    exact = FloorCalibration(tuple(picture), tuple(true_floor(p) for p in picture))
    assert len(exact.point_errors) == 8 and exact.max_error < TOL

    # One click 0.05 off on the plan: the fit spreads it, and that pair shows the largest error.
    plan = [true_floor(p) for p in picture]
    plan[5] = (plan[5][0] + 0.05, plan[5][1])
    noisy = FloorCalibration(tuple(picture), tuple(plan))
    assert 0.005 < noisy.rms_error < noisy.max_error < 0.05
    assert noisy.point_errors.index(noisy.max_error) == 5


def test_a_point_beyond_the_floors_horizon_maps_nowhere() -> None:
    calibration = FloorCalibration(PICTURE, PLAN)
    assert calibration.to_floor((0.5, 0.1)) is None  # above the horizon: a wall, not the floor
    assert calibration.to_floor((0.5, 0.35)) is not None  # far away, but on the floor
    with pytest.raises(ValueError, match="finite"):
        calibration.to_floor((math.nan, 0.5))


def test_the_foot_point_is_the_bottom_centre_of_the_box() -> None:
    assert foot_point((100, 100, 40, 200), (640, 480)) == (120 / 640, 300 / 480)
    # Cut off by the bottom of the frame: the feet are at the edge at least.
    assert foot_point((600, 400, 80, 200), (640, 480)) == (1.0, 1.0)
    calibration = FloorCalibration(PICTURE, PLAN)
    box = (0.5 * 640 - 20, 0.8 * 480 - 150, 40, 150)
    floor = calibration.box_to_floor(box, (640, 480))
    assert floor is not None and math.dist(floor, true_floor((0.5, 0.8))) < TOL
    position = Position.of_box(box, (640, 480), calibration)
    assert position.image == (0.5, 0.8) and position.floor == floor
    assert Position.of_box(box, (640, 480)).floor is None
    with pytest.raises(ValueError, match="frame size"):
        foot_point((0, 0, 10, 10), (0, 480))


def test_the_calibration_survives_json() -> None:
    calibration = FloorCalibration(PICTURE, PLAN)
    data = json.loads(json.dumps(calibration.to_dict()))
    again = FloorCalibration.from_dict(data)
    assert again == calibration
    assert np.allclose(again.homography, calibration.homography)
    with pytest.raises(ValueError, match="exactly 'image_points' and 'floor_points'"):
        FloorCalibration.from_dict({**data, "matrix": [1, 2, 3]})
    with pytest.raises(ValueError, match="list of"):
        FloorCalibration.from_dict({"image_points": "0,0", "floor_points": data["floor_points"]})


@pytest.mark.parametrize(
    ("picture", "plan", "message"),
    [
        (PICTURE[:3], PLAN[:3], "at least 4 point pairs"),
        (PICTURE, PLAN[:3], "got 4 picture points and 3 floor-plan points"),
        (((320, 240), *PICTURE[1:]), PLAN, "normalised to 0..1"),
        (((math.inf, 0.5), *PICTURE[1:]), PLAN, "normalised to 0..1"),
        (
            ((0.1, 0.5), (0.3, 0.5), (0.6, 0.5), (0.9, 0.5)),
            PLAN,
            "the picture points lie \\(almost\\) on one line",
        ),
        (
            PICTURE,
            ((0.3, 0.8), (0.3, 0.8), (0.6, 0.3), (0.3, 0.3)),
            "floor-plan points 1 and 2 are \\(almost\\) the same place",
        ),
        (
            ((0.2, 0.9), (0.5, 0.9), (0.8, 0.9), (0.5, 0.4)),
            PLAN,
            "picture points 1, 2 and 3 lie \\(almost\\) on one line",
        ),
        (
            # Clicked in a different order on the plan: the last two corners swapped.
            PICTURE,
            (PLAN[0], PLAN[1], PLAN[3], PLAN[2]),
            "not in the same order",
        ),
    ],
)
def test_pairs_that_cannot_fix_a_mapping_are_refused_with_a_reason(
    picture: tuple[Point, ...], plan: tuple[Point, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FloorCalibration(picture, plan)


def test_many_pairs_need_four_spread_ones() -> None:
    # Five pairs, four of them on one line on the picture: no four pairs fix a homography.
    picture = ((0.1, 0.9), (0.3, 0.9), (0.5, 0.9), (0.7, 0.9), (0.5, 0.5))
    plan = ((0.1, 0.9), (0.3, 0.9), (0.5, 0.9), (0.7, 0.9), (0.5, 0.2))
    with pytest.raises(ValueError, match="no four of the 5 point pairs"):
        FloorCalibration(picture, plan)


def test_calibration_settings_are_checked_by_the_same_rules() -> None:
    config = CalibrationConfig(image_points=list(PICTURE), floor_points=list(PLAN))
    again = CalibrationConfig.model_validate_json(config.model_dump_json())
    assert again.build() == FloorCalibration(PICTURE, PLAN)
    with pytest.raises(ValidationError, match="on one line"):
        CalibrationConfig(
            image_points=[(0.2, 0.9), (0.5, 0.9), (0.8, 0.9), (0.5, 0.4)], floor_points=list(PLAN)
        )
    with pytest.raises(ValidationError, match="Extra inputs"):
        CalibrationConfig.model_validate(
            {"image_points": PICTURE, "floor_points": PLAN, "homography": [1]}
        )
