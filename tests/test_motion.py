"""The motion backstop of masking: what moves in a fixed camera's picture is found, a still
picture yields nothing once learnt, and a new picture size starts afresh."""

from __future__ import annotations

import numpy as np

from desktopapp.core.motion import MotionMasks
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames
from tests.conftest import VIDEO


def test_walkers_are_found_and_the_first_frame_is_all_new() -> None:
    motion = MotionMasks()
    frames = [f.image for f in iter_frames(SourceSpec(SourceKind.FILE, str(VIDEO)), max_frames=20)]
    assert motion.boxes(frames[0]) == [(0.0, 0.0, 768.0, 576.0)]
    found = [motion.boxes(image) for image in frames[1:]]
    assert all(2 <= len(boxes) <= 12 for boxes in found[2:])  # 3-5 people walk in these frames
    for boxes in found:
        for x, y, w, h in boxes:
            assert x >= 0 and y >= 0 and x + w <= 768 + 1e-6 and y + h <= 576 + 1e-6
            assert w * h < 768 * 576 / 10  # a person's region, not the whole picture


def test_a_still_picture_has_nothing_moving_and_a_new_size_starts_afresh() -> None:
    rng = np.random.default_rng(1)
    still = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    motion = MotionMasks()
    for _ in range(5):
        boxes = motion.boxes(still)
    assert boxes == []
    larger = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert motion.boxes(larger) == [(0.0, 0.0, 640.0, 480.0)]
