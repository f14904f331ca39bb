"""Clothing colours of a person box: the same clothes are near, other clothes far, and a box
outside the picture has none."""

from __future__ import annotations

import numpy as np

from desktopapp.core.appearance import ClothingColours


def _person(shirt: tuple[int, int, int], trousers: tuple[int, int, int]) -> np.ndarray:
    image = np.full((240, 320, 3), 128, np.uint8)
    image[20:60, 100:140] = (200, 180, 150)  # the head: left out
    image[60:130, 100:140] = shirt
    image[130:200, 100:140] = trousers
    return image


BOX = (100.0, 20.0, 40.0, 200.0)


def test_the_same_clothes_are_near_and_other_clothes_far() -> None:
    # An orange shirt over blue trousers (BGR), seen again a little darker.
    orange_blue = ClothingColours.of(_person((40, 120, 200), (200, 60, 40)), BOX)
    again = ClothingColours.of(_person((42, 122, 196), (194, 60, 42)), BOX)
    green_blue = ClothingColours.of(_person((40, 180, 40), (200, 60, 40)), BOX)
    assert orange_blue is not None and again is not None and green_blue is not None
    assert orange_blue.distance(again) < 0.2
    # Another shirt over the same trousers: half the description differs.
    assert orange_blue.distance(green_blue) > 0.4
    assert orange_blue.distance(green_blue) == green_blue.distance(orange_blue)
    # A running mean moves towards what was seen last, and stays a histogram.
    blended = orange_blue.blend(green_blue, 0.5)
    assert orange_blue.distance(blended) < orange_blue.distance(green_blue)
    assert float(blended.upper.sum()) == np.float32(1.0)


def test_a_box_outside_the_picture_has_no_colours() -> None:
    image = _person((40, 40, 200), (200, 60, 40))
    assert ClothingColours.of(image, (400.0, 20.0, 40.0, 200.0)) is None
    # Cut by the border, the part inside still describes the person.
    assert ClothingColours.of(image, (100.0, 20.0, 40.0, 400.0)) is not None
