"""Where a tracked person is heading (core.heading): the foot point's velocity over the last
second, which a box that jumps for a frame or two moves far less than the last step."""

from __future__ import annotations

import pytest

from desktopapp.core.heading import Heading, foot_of


def test_the_foot_stands_at_the_middle_of_the_bottom_edge() -> None:
    assert foot_of((100.0, 50.0, 40.0, 100.0)) == (120.0, 150.0)


def test_nothing_seen_predicts_nothing_and_one_sighting_stands_still() -> None:
    heading = Heading()
    assert heading.predicted(1.0) is None
    assert heading.velocity == (0.0, 0.0)
    heading.observe(0.0, (10.0, 20.0))
    assert heading.velocity == (0.0, 0.0)
    assert heading.predicted(0.5) == (10.0, 20.0)


def test_the_velocity_spans_the_last_second_only() -> None:
    heading = Heading()
    # Standing for a second, then walking right at 80 px/s for a second.
    for step in range(11):
        heading.observe(step / 10, (100.0, 300.0))
    for step in range(1, 11):
        heading.observe(1 + step / 10, (100.0 + 8 * step, 300.0))
    # The standing is out of the window: the walk alone sets the pace.
    assert heading.velocity == pytest.approx((80.0, 0.0))
    assert heading.predicted(2.5) == pytest.approx((220.0, 300.0))


def test_one_jumping_box_moves_the_heading_by_a_tenth_of_its_jump() -> None:
    heading = Heading()
    for step in range(10):
        heading.observe(step / 10, (400.0 - 8 * step, 300.0))
    # The box grows over a neighbour on the right: its foot jumps 24 px back.
    heading.observe(1.0, (344.0, 300.0))
    vx, vy = heading.velocity
    assert vx == pytest.approx(-56.0) and vy == 0.0  # the walk itself: -80


def test_time_must_not_go_backwards_and_the_window_must_be_positive() -> None:
    heading = Heading()
    heading.observe(1.0, (0.0, 0.0))
    with pytest.raises(ValueError, match="backwards"):
        heading.observe(0.5, (0.0, 0.0))
    with pytest.raises(ValueError, match="window_seconds"):
        Heading(window_seconds=0.0)
