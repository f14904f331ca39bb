"""Masking: faces really become unrecognisable, and nothing else in the picture changes."""

from __future__ import annotations

import numpy as np
import pytest

from desktopapp.core.images import read_image
from desktopapp.core.privacy import (
    BORDER_SNAP,
    SILHOUETTE_FIGURE,
    SILHOUETTE_GROUND,
    SOLID_GREY,
    MaskStyle,
    mask_frame,
)
from desktopapp.core.tracking import Box
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import FaceDetector, Image, Role
from tests.conftest import FACES


@pytest.fixture(scope="module")
def detector(registry: ModelRegistry) -> FaceDetector:
    engine = VisionEngine.load(registry, [Role.FACE_DETECTION])
    assert engine.detector is not None
    return engine.detector


def face_boxes(detector: FaceDetector, image: Image) -> list[Box]:
    return [(f.x, f.y, f.w, f.h) for f in detector.detect(image)]


def noise(height: int = 480, width: int = 640) -> Image:
    return np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)


def outside(shape: tuple[int, ...], box: Box, margin: float) -> np.ndarray:
    """True for pixels more than one pixel away from ``box`` grown by ``margin``, a side near
    the border (BORDER_SNAP) reaching the border."""
    x, y, w, h = box
    height, width = shape[:2]
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    snap_x = margin * w + BORDER_SNAP * min(w, h)
    snap_y = margin * h + BORDER_SNAP * min(w, h)
    left = -1 if x < snap_x else x - margin * w
    right = width if x + w > width - snap_x else x + w + margin * w
    top = -1 if y < snap_y else y - margin * h
    bottom = height if y + h > height - snap_y else y + h + margin * h
    far_x = (cols < left - 1) | (cols > right + 1)
    far_y = (rows < top - 1) | (rows > bottom + 1)
    return np.asarray(far_x | far_y)


def far_from_all(image: Image, boxes: list[Box]) -> np.ndarray:
    return np.asarray(np.logical_and.reduce([outside(image.shape, b, 0.25) for b in boxes]))


@pytest.mark.parametrize("style", list(MaskStyle))
def test_a_masked_face_is_obscured_and_no_longer_found(
    detector: FaceDetector, style: MaskStyle
) -> None:
    image = read_image(FACES / "obama.jpg")
    before = image.copy()
    (box,) = face_boxes(detector, image)

    masked = mask_frame(image, [box], style=style)

    np.testing.assert_array_equal(image, before)  # the source frame is untouched
    assert detector.detect(masked) == []
    x, y, w, h = (round(v) for v in box)
    diff = np.abs(masked[y : y + h, x : x + w].astype(int) - image[y : y + h, x : x + w])
    assert diff.mean() > 20
    far = far_from_all(image, [box])
    np.testing.assert_array_equal(masked[far], image[far])


@pytest.mark.parametrize("style", list(MaskStyle))
def test_every_face_of_a_group_is_no_longer_found(detector: FaceDetector, style: MaskStyle) -> None:
    # Six faces of ~100 px: with eight blocks across, the detector still found three of them.
    image = read_image(FACES / "t1.jpg")
    boxes = face_boxes(detector, image)
    assert len(boxes) == 6

    masked = mask_frame(image, boxes, style=style)

    assert detector.detect(masked) == []
    far = far_from_all(image, boxes)
    np.testing.assert_array_equal(masked[far], image[far])


def test_pixelate_leaves_about_six_blocks_across_a_face() -> None:
    image = noise()
    box = (200.0, 100.0, 120.0, 160.0)
    masked = mask_frame(image, [box], margin=0.0)
    row = masked[180, 200:320].astype(int)
    runs = 1 + int(np.count_nonzero(np.any(row[1:] != row[:-1], axis=1)))
    assert 5 <= runs <= 7


def test_blur_is_smooth() -> None:
    image = noise()
    box = (200.0, 100.0, 120.0, 160.0)
    masked = mask_frame(image, [box], style=MaskStyle.BLUR, margin=0.0)
    region = masked[100:260, 200:320].astype(int)
    # Noise has neighbour differences of ~85 on average; a strong blur leaves almost none.
    assert np.abs(np.diff(region, axis=1)).mean() < 3
    assert np.abs(np.diff(region, axis=0)).mean() < 3


def test_solid_is_grey_over_the_grown_box() -> None:
    image = noise()
    masked = mask_frame(image, [(100.0, 100.0, 40.0, 80.0)], style=MaskStyle.SOLID, margin=0.25)
    assert (masked[80:200, 90:150] == SOLID_GREY).all()
    assert not (masked[79, 90:150] == SOLID_GREY).all(axis=-1).any()
    assert not (masked[80:200, 150] == SOLID_GREY).all(axis=-1).any()


@pytest.mark.parametrize("style", list(MaskStyle))
def test_polygons_in_normalised_coordinates(style: MaskStyle) -> None:
    image = noise(200, 400)
    # A right triangle over the left half: corners (0, 0), (200, 0), (0, 200) in pixels.
    triangle = [(0.0, 0.0), (0.5, 0.0), (0.0, 1.0)]
    masked = mask_frame(image, [], [triangle], style=style)

    changed = np.any(masked != image, axis=-1)
    rows, cols = np.mgrid[0:200, 0:400]
    well_inside = cols + rows < 190
    well_outside = cols + rows > 210
    assert changed[well_inside].mean() > 0.95
    assert not changed[well_outside].any()  # includes the other half of the bounding box
    if style is MaskStyle.SOLID:
        assert (masked[well_inside] == SOLID_GREY).all()


def test_a_zone_covering_the_whole_frame() -> None:
    image = noise()
    whole = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    masked = mask_frame(image, [], [whole], style=MaskStyle.SOLID)
    assert (masked == SOLID_GREY).all()


def test_boxes_partly_or_wholly_outside_are_clipped() -> None:
    image = noise()
    boxes = [(-50.0, -40.0, 100.0, 100.0), (600.0, 420.0, 200.0, 200.0), (900.0, 10.0, 50.0, 50.0)]
    masked = mask_frame(image, boxes, style=MaskStyle.SOLID)
    assert masked.shape == image.shape
    assert (masked[0:85, 0:75] == SOLID_GREY).all()
    assert (masked[370:, 550:] == SOLID_GREY).all()
    assert np.array_equal(masked[100:350, 100:500], image[100:350, 100:500])
    # Wholly outside: nothing to hide, nothing changes.
    np.testing.assert_array_equal(mask_frame(image, [(-500.0, -500.0, 10.0, 10.0)]), image)


def test_nothing_to_mask_returns_an_equal_copy() -> None:
    image = noise()
    masked = mask_frame(image, [])
    np.testing.assert_array_equal(masked, image)
    assert not np.shares_memory(masked, image)


def test_grey_images_work() -> None:
    grey = noise()[:, :, 0].copy()
    masked = mask_frame(grey, [(10.0, 10.0, 50.0, 50.0)], style=MaskStyle.BLUR)
    assert masked.shape == grey.shape
    assert not np.array_equal(masked[10:60, 10:60], grey[10:60, 10:60])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"boxes": [(0.0, 0.0, 0.0, 5.0)]}, "positive width"),
        ({"boxes": [], "polygons": [[(0.0, 0.0), (1.0, 1.0)]]}, "three"),
        ({"boxes": [], "polygons": [[(0.0, 0.0), (1.0, np.nan), (0.0, 1.0)]]}, "finite"),
        ({"boxes": [], "margin": -0.1}, "margin"),
        ({"boxes": [], "person_margin": -0.1}, "margin"),
        ({"boxes": [], "style": "smudge"}, "smudge"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mask_frame(noise(), **kwargs)  # type: ignore[arg-type]


def test_float_images_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        mask_frame(np.zeros((10, 10, 3), dtype=np.float32), [])


def test_a_box_near_the_border_is_extended_to_it() -> None:
    """A face cut by the border: the detector's box stops short of the edge, the mask does not."""
    image = noise()
    near_left = (10.0, 200.0, 60.0, 60.0)  # 10 px from the left edge
    masked = mask_frame(image, [near_left], style=MaskStyle.SOLID)
    assert (masked[185:275, 0:85] == SOLID_GREY).all()
    well_inside = (300.0, 200.0, 60.0, 60.0)
    masked = mask_frame(image, [well_inside], style=MaskStyle.SOLID)
    assert not (masked[185:275, 0:270] == SOLID_GREY).all(axis=-1).any()


def test_persons_get_their_own_margin_and_faces_are_masked_on_top() -> None:
    image = noise()
    person = (200.0, 100.0, 100.0, 300.0)
    masked = mask_frame(image, [], persons=[person], style=MaskStyle.SOLID)
    assert (masked[70:430, 190:310] == SOLID_GREY).all()
    assert np.array_equal(masked[:, 320:], image[:, 320:])
    assert np.array_equal(masked[:60], image[:60])


@pytest.mark.parametrize("whole_person", [True, False])
def test_silhouette_is_a_flat_pictogram(whole_person: bool) -> None:
    image = noise()
    box = (200.0, 60.0, 120.0, 360.0) if whole_person else (250.0, 150.0, 100.0, 120.0)
    boxes, persons = ([], [box]) if whole_person else ([box], [])
    masked = mask_frame(image, boxes, style=MaskStyle.SILHOUETTE, persons=persons)
    x, y, w, h = (round(v) for v in box)
    inside = masked[y : y + h, x : x + w].reshape(-1, 3)
    colours = {tuple(int(c) for c in pixel) for pixel in np.unique(inside, axis=0)}
    # Two flat colours (and the anti-aliasing-free edge between them): no picture at all.
    assert colours == {SILHOUETTE_GROUND, SILHOUETTE_FIGURE}
    figure = np.all(masked[y : y + h, x : x + w] == SILHOUETTE_FIGURE, axis=-1)
    assert 0.15 < figure.mean() < 0.8


def test_a_person_inside_another_persons_mask_is_masked_once_by_the_larger() -> None:
    """Motion, held tracks and the detectors' second look give many boxes inside others: the
    inner ones are hidden by the outer mask (its coarser blocks) and not masked again, while
    boxes that only overlap are each masked."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    outer = (40.0, 30.0, 120.0, 180.0)
    inner = (60.0, 50.0, 50.0, 90.0)
    alone = mask_frame(image, [], persons=[outer])
    for persons in ([inner, outer], [outer, inner], [outer, outer, inner]):
        assert np.array_equal(mask_frame(image, [], persons=persons), alone)
    beside = (150.0, 30.0, 100.0, 180.0)
    both = mask_frame(image, [], persons=[outer, beside])
    assert not np.array_equal(both, alone)
    assert not np.array_equal(both, mask_frame(image, [], persons=[beside]))
