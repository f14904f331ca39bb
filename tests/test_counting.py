"""Zones (dwell, people per zone, congestion) and counting lines with hysteresis."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from desktopapp.core.counting import (
    CongestionLevel,
    CongestionThresholds,
    CountingLine,
    Crossing,
    Direction,
    DwellConfig,
    LineCounter,
    Zone,
    ZoneDwell,
    ZoneKind,
    congestion_levels,
    count_in_zones,
)
from desktopapp.core.floor import Point, Position, Space
from desktopapp.core.geometry_config import CameraGeometryConfig

SQUARE = ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6))
SHELF = Zone("shelf", ZoneKind.SHELF, SQUARE, Space.IMAGE)
INSIDE = Position((0.4, 0.4))
OUTSIDE = Position((0.8, 0.8))

# Drawn left to right across the picture: walking down the picture is IN.
DOOR = CountingLine("door", (0.2, 0.5), (0.8, 0.5), Space.IMAGE, margin=0.05)


def at(x: float, y: float) -> Position:
    return Position((x, y))


# Zones


def test_zone_contains_by_even_odd_rule() -> None:
    # An L: the notch at the top right is outside.
    ell = Zone(
        "ell",
        "other",  # type: ignore[arg-type]  # settings hand over plain strings
        ((0.1, 0.1), (0.4, 0.1), (0.4, 0.4), (0.8, 0.4), (0.8, 0.8), (0.1, 0.8)),
        "floor",  # type: ignore[arg-type]
    )
    assert ell.kind is ZoneKind.OTHER and ell.space is Space.FLOOR
    assert ell.contains((0.2, 0.2)) and ell.contains((0.7, 0.7))
    assert not ell.contains((0.6, 0.2)) and not ell.contains((0.9, 0.5))


@pytest.mark.parametrize(
    ("name", "polygon", "message"),
    [
        ("", SQUARE, "needs a name"),
        ("a", SQUARE[:2], "at least three corners"),
        ("a", ((0.1, 0.1), (0.5, 0.5), (0.9, 0.9)), "no area"),
        ("a", ((0.2, 0.2), (0.6, 0.6), (0.6, 0.2), (0.2, 0.6)), "crosses itself"),
        ("a", ((20, 20), (60, 20), (60, 60)), "normalised to 0..1"),
    ],
)
def test_bad_zones_are_refused(name: str, polygon: Sequence[Point], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Zone(name, ZoneKind.SHELF, tuple(polygon), Space.IMAGE)
    with pytest.raises(ValueError):
        Zone("a", "fridge", SQUARE, Space.IMAGE)  # type: ignore[arg-type]


def test_people_per_zone_and_congestion() -> None:
    till = Zone("till", ZoneKind.CHECKOUT, ((0.6, 0.6), (1, 0.6), (1, 1), (0.6, 1)), Space.FLOOR)
    people = [INSIDE, INSIDE, at(0.3, 0.3), OUTSIDE, Position((0.9, 0.9), floor=(0.7, 0.7))]
    counts = count_in_zones([SHELF, till], people)
    # Only the one person with a floor point can be in the floor zone.
    assert counts == {"shelf": 3, "till": 1}

    thresholds = CongestionThresholds(medium=2, high=3, full=5)
    assert [thresholds.level(n) for n in range(7)] == [
        CongestionLevel.LOW,
        CongestionLevel.LOW,
        CongestionLevel.MEDIUM,
        CongestionLevel.HIGH,
        CongestionLevel.HIGH,
        CongestionLevel.FULL,
        CongestionLevel.FULL,
    ]
    levels = congestion_levels(counts, thresholds, {"till": CongestionThresholds(1, 2, 3)})
    assert levels == {"shelf": CongestionLevel.HIGH, "till": CongestionLevel.MEDIUM}
    for bad in ((0, 2, 3), (3, 3, 5), (2, 6, 4)):
        with pytest.raises(ValueError, match="must rise"):
            CongestionThresholds(*bad)
    with pytest.raises(ValueError, match="negative"):
        thresholds.level(-1)


# Zone dwell


def feed(dwell: ZoneDwell, track: int, steps: Sequence[tuple[float, Position]]) -> list[float]:
    """Update ``track`` with each (timestamp, position); the times at which a visit ended."""
    ended = []
    for timestamp, position in steps:
        if dwell.update(track, timestamp, position):
            ended.append(timestamp)
    return ended


def test_dwell_per_visit_with_leaving_and_coming_back() -> None:
    dwell = ZoneDwell([SHELF], DwellConfig(exit_grace_seconds=2.0))
    steps = [(0.0, OUTSIDE)]
    steps += [(1.0 + i / 2, INSIDE) for i in range(7)]  # inside 1.0 .. 4.0
    steps += [(4.5 + i / 2, OUTSIDE) for i in range(10)]  # outside 4.5 .. 9.0
    steps += [(10.0 + i / 2, INSIDE) for i in range(5)]  # back inside 10.0 .. 12.0
    # Seen outside 2 s after it was last inside: that visit is over.
    assert feed(dwell, 1, steps) == [6.0]
    assert dwell.totals(1) == {"shelf": pytest.approx(5.0)}
    assert dwell.occupancy() == {"shelf": 1}

    visits = dwell.end_track(1)
    assert [(v.entered, v.exited) for v in visits] == [(1.0, 4.0), (10.0, 12.0)]
    assert all(v.zone == "shelf" and v.kind is ZoneKind.SHELF and v.track_id == 1 for v in visits)
    assert visits[0].seconds == 3.0
    assert dwell.occupancy() == {"shelf": 0}
    assert dwell.totals(1) == {"shelf": 0.0}
    assert dwell.end_track(1) == []


def test_feet_jittering_on_the_edge_and_a_hidden_person_make_one_visit() -> None:
    dwell = ZoneDwell([SHELF], DwellConfig(exit_grace_seconds=1.0))
    edge_in, edge_out = at(0.59, 0.4), at(0.61, 0.4)
    steps = [(i / 10, edge_in if i % 2 else edge_out) for i in range(1, 30)]
    # Hidden behind the shelf for 5 s (no updates at all), then seen inside again.
    steps += [(8.0, INSIDE), (8.5, OUTSIDE)]
    assert feed(dwell, 7, steps) == []
    visits = dwell.end_track(7)
    assert [(v.entered, v.exited) for v in visits] == [(0.1, 8.0)]


def test_short_visits_and_positions_of_another_space() -> None:
    floor_shelf = Zone("floor shelf", ZoneKind.SHELF, SQUARE, Space.FLOOR)
    dwell = ZoneDwell([SHELF, floor_shelf], DwellConfig(exit_grace_seconds=0, min_visit_seconds=1))
    # Walking past the shelf for half a second: not a visit.
    assert feed(dwell, 1, [(0.0, INSIDE), (0.5, INSIDE), (0.6, OUTSIDE)]) == []
    # No floor point (uncalibrated or off the floor): the floor zone hears nothing.
    dwell.update(1, 1.0, INSIDE)
    dwell.update(1, 2.5, INSIDE)
    assert dwell.totals(1) == {"shelf": 1.5, "floor shelf": 0.0}
    assert [v.zone for v in dwell.end_track(1)] == ["shelf"]
    with pytest.raises(ValueError, match="backwards"):
        feed(dwell, 2, [(3.0, INSIDE), (2.0, INSIDE)])
    with pytest.raises(ValueError, match="names must differ"):
        ZoneDwell([SHELF, SHELF])
    with pytest.raises(ValueError, match="exit_grace_seconds"):
        DwellConfig(exit_grace_seconds=-1)


# Counting lines


def walk(
    counter: LineCounter, track: int, points: Sequence[Point], start: float = 0.0
) -> list[Crossing]:
    crossings = []
    for step, point in enumerate(points):
        crossing = counter.update(track, start + step / 10, at(*point))
        if crossing is not None:
            crossings.append(crossing)
    return crossings


def down(x: float, y_from: float, y_to: float, steps: int = 20) -> list[Point]:
    return [(x, y_from + (y_to - y_from) * i / steps) for i in range(steps + 1)]


def test_crossings_in_both_directions() -> None:
    counter = LineCounter(DOOR)
    (crossing,) = walk(counter, 1, down(0.5, 0.3, 0.7))
    assert (crossing.line, crossing.track_id, crossing.direction) == ("door", 1, Direction.IN)
    assert crossing.timestamp == pytest.approx(1.3)
    # Counted when fully out of the band on the far side (y >= 0.55), not on the line.
    (crossing,) = walk(counter, 2, down(0.4, 0.8, 0.2))
    assert crossing.direction is Direction.OUT
    assert (counter.in_count, counter.out_count) == (1, 1)
    # Too fast to be seen in the band: one step from one side to the other still counts.
    assert [c.direction for c in walk(counter, 3, [(0.5, 0.3), (0.5, 0.7)])] == [Direction.IN]


def test_the_direction_follows_the_way_the_line_was_drawn() -> None:
    # Drawn upwards: walking along it, the right hand is the right of the picture.
    upwards = LineCounter(CountingLine("aisle", (0.5, 0.9), (0.5, 0.1), Space.IMAGE))
    assert walk(upwards, 1, [(0.3, 0.5), (0.7, 0.5)])[0].direction is Direction.IN
    assert walk(upwards, 2, [(0.7, 0.5), (0.3, 0.5)])[0].direction is Direction.OUT


def test_jitter_on_the_line_counts_once_or_not_at_all() -> None:
    counter = LineCounter(DOOR)
    jitter = [0.48, 0.52, 0.47, 0.53, 0.49, 0.51, 0.46, 0.54]
    through = [(0.5, y) for y in [0.3, 0.4, *jitter, 0.6, 0.7]]
    assert len(walk(counter, 1, through)) == 1
    # Feet wobbling on the line and going back where they came from: nothing.
    back = [(0.5, y) for y in [0.3, 0.4, *jitter * 3, 0.4, 0.3]]
    assert walk(counter, 2, back) == []
    assert (counter.in_count, counter.out_count) == (1, 0)


def test_an_id_switch_in_the_band_counts_nothing_rather_than_twice() -> None:
    # Track 1 walks into the band and is lost there; the tracker calls the same person track 2
    # from the band on. Neither id was seen fully on both sides: the crossing is not counted.
    counter = LineCounter(DOOR)
    assert walk(counter, 1, down(0.5, 0.3, 0.48, 9)) == []
    counter.forget(1)
    assert walk(counter, 2, down(0.5, 0.52, 0.7, 9), start=1.0) == []
    # The same with the switch just past the line.
    assert walk(counter, 3, down(0.5, 0.3, 0.53, 9)) == []
    assert walk(counter, 4, down(0.5, 0.53, 0.8, 9), start=1.0) == []
    # First seen in the band on the near side: crossing the line is not enough.
    assert walk(counter, 6, down(0.5, 0.47, 0.7, 9)) == []
    # A new id first seen on the far side counts nothing there, but does count when it comes
    # back across.
    assert walk(counter, 5, [(0.5, 0.8), (0.5, 0.7)]) == []
    assert [c.direction for c in walk(counter, 5, down(0.5, 0.7, 0.3), start=1.0)] == [
        Direction.OUT
    ]
    assert (counter.in_count, counter.out_count) == (0, 1)


def test_an_id_switch_after_the_crossing_does_not_count_it_again() -> None:
    counter = LineCounter(DOOR)
    assert len(walk(counter, 1, down(0.5, 0.3, 0.6, 6))) == 1  # counted at y = 0.55
    # Lost and given a new id right after, on the far side or back in the band.
    assert walk(counter, 2, down(0.5, 0.6, 0.8, 4), start=1.0) == []
    # Back over the line within the band, lost, and the new id walks across again: that is the
    # crossing already counted, not a second one.
    assert walk(counter, 3, [(0.5, 0.48), (0.5, 0.52), (0.5, 0.6), (0.5, 0.8)], start=2.0) == []
    assert (counter.in_count, counter.out_count) == (1, 0)


def test_crossing_beyond_the_end_of_the_line_does_not_count() -> None:
    counter = LineCounter(DOOR)
    assert walk(counter, 1, down(0.9, 0.3, 0.7)) == []
    # Diagonally: it meets the line's extension at x = 0.825, past the end at 0.8.
    assert walk(counter, 2, [(0.7, 0.3), (0.95, 0.7)]) == []
    # Track 1 walked round the end; coming back through the doorway is a real crossing.
    assert [c.direction for c in walk(counter, 1, down(0.5, 0.7, 0.3), start=5.0)] == [
        Direction.OUT
    ]


def test_feet_grazing_an_end_count_only_when_the_whole_passage_goes_through() -> None:
    # DOOR ends at x = 0.8. A walker passing just beyond that end, feet jittering: the one step
    # that changes sides lands inside the segment (at x = 0.797), but the way from their last
    # sighting above the band to their first below it meets the line at x = 0.8125.
    counter = LineCounter(DOOR)
    graze = [(0.81, 0.40), (0.81, 0.46), (0.80, 0.498), (0.79, 0.504), (0.81, 0.53), (0.815, 0.60)]
    assert walk(counter, 1, graze) == []
    # The other way round: the passage meets the line inside (x = 0.785), the step across it
    # beyond the end (x = 0.8085). Neither alone is enough.
    around = [(0.74, 0.58), (0.78, 0.515), (0.805, 0.505), (0.812, 0.495), (0.83, 0.42)]
    assert walk(counter, 2, around) == []
    # Through the doorway a hair inside its end: both agree, it counts.
    assert [c.direction for c in walk(counter, 3, down(0.79, 0.3, 0.7))] == [Direction.IN]
    assert (counter.in_count, counter.out_count) == (1, 0)


def test_a_line_on_the_floor_reads_floor_points() -> None:
    counter = LineCounter(CountingLine("floor door", (0.2, 0.5), (0.8, 0.5), Space.FLOOR))
    # The picture point stays put; the floor point crosses.
    assert counter.update(1, 0.0, Position((0.5, 0.1), floor=(0.5, 0.3))) is None
    crossing = counter.update(1, 0.1, Position((0.5, 0.1), floor=(0.5, 0.7)))
    assert crossing is not None and crossing.direction is Direction.IN
    # Without a floor point (no calibration, or off the floor) the track is not seen at all.
    assert counter.update(2, 0.0, Position((0.5, 0.3))) is None
    assert counter.update(2, 0.1, Position((0.5, 0.7))) is None
    assert (counter.in_count, counter.out_count) == (1, 0)


@pytest.mark.parametrize(
    ("start", "end", "margin", "message"),
    [
        ((0.5, 0.5), (0.505, 0.5), 0.02, "at least 1 %"),
        ((0.2, 0.5), (0.8, 0.5), 0.0, "margin"),
        ((0.2, 0.5), (0.8, 0.5), 0.3, "margin"),
        ((20, 50), (80, 50), 0.02, "normalised to 0..1"),
    ],
)
def test_bad_lines_are_refused(start: Point, end: Point, margin: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CountingLine("door", start, end, Space.IMAGE, margin)


def test_time_must_not_go_backwards_per_track() -> None:
    counter = LineCounter(DOOR)
    counter.update(1, 5.0, at(0.5, 0.3))
    counter.update(2, 1.0, at(0.5, 0.3))  # another track has its own clock
    with pytest.raises(ValueError, match="backwards"):
        counter.update(1, 4.0, at(0.5, 0.3))


# Random walks

UNIT = st.floats(0, 1)


@st.composite
def walks(draw: st.DrawFn) -> list[Point]:
    """A person walking between random waypoints, 1 to 12 frames per leg (fast legs jump the
    band in one step), with feet jittering up to 0.04 of the picture around the way."""
    points = [(draw(UNIT), draw(UNIT))]
    for _ in range(draw(st.integers(1, 6))):
        (x0, y0), target, frames = points[-1], (draw(UNIT), draw(UNIT)), draw(st.integers(1, 12))
        for frame in range(1, frames + 1):
            share = frame / frames
            x = x0 + (target[0] - x0) * share + draw(st.floats(-0.04, 0.04))
            y = y0 + (target[1] - y0) * share + draw(st.floats(-0.04, 0.04))
            points.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    return points


WALKS = walks()


# Across the whole picture, so that every change of sides goes through the drawn segment.
WIDE = CountingLine("wide", (0.0, 0.5), (1.0, 0.5), Space.IMAGE, margin=0.05)


def _confirmed_sides(points: Sequence[Point], line: CountingLine) -> list[int]:
    sides = []
    for point in points:
        d = line.signed_distance(point)
        if abs(d) >= line.margin:
            sides.append(1 if d > 0 else -1)
    return sides


@given(WALKS)
def test_net_crossings_match_the_side_a_walk_ends_on(points: list[Point]) -> None:
    counter = LineCounter(WIDE)
    crossings = walk(counter, 1, points)
    sides = _confirmed_sides(points, WIDE)
    expected_net = (sides[-1] - sides[0]) // 2 if sides else 0
    assert counter.in_count - counter.out_count == expected_net
    # One track's counts alternate: it cannot go in twice without coming out in between.
    directions = [c.direction for c in crossings]
    assert all(a is not b for a, b in itertools.pairwise(directions))


@given(WALKS, st.data())
def test_an_id_switch_never_adds_a_crossing_and_loses_at_most_one(
    points: list[Point], data: st.DataObject
) -> None:
    split = data.draw(st.integers(0, len(points)))
    whole = LineCounter(WIDE)
    walk(whole, 1, points)
    switched = LineCounter(WIDE)
    walk(switched, 1, points[:split])
    walk(switched, 2, points[split:], start=split / 10)
    total = whole.in_count + whole.out_count
    assert total - 1 <= switched.in_count + switched.out_count <= total


@given(WALKS)
def test_a_shorter_line_counts_a_subset_of_the_crossings(points: list[Point]) -> None:
    short = CountingLine("short", (0.3, 0.5), (0.7, 0.5), Space.IMAGE, margin=0.05)
    on_short = walk(LineCounter(short), 1, points)
    on_wide = walk(LineCounter(WIDE), 1, points)
    wide_events = {(c.timestamp, c.direction) for c in on_wide}
    assert all((c.timestamp, c.direction) in wide_events for c in on_short)


@given(WALKS)
def test_walks_past_the_end_of_a_line_never_count(points: list[Point]) -> None:
    short = CountingLine("short", (0.3, 0.5), (0.7, 0.5), Space.IMAGE, margin=0.05)
    # The same walks squeezed into x >= 0.72: they cross the line's extension, never the line.
    beside = [(0.72 + 0.28 * x, y) for x, y in points]
    counter = LineCounter(short)
    assert walk(counter, 1, beside) == []


# Settings


def geometry(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "zones": [
            {"name": "Till", "kind": "checkout", "space": "image", "polygon": list(SQUARE)},
            {
                "name": "Shelf A",
                "kind": "shelf",
                "space": "image",
                "polygon": [(0.6, 0.6), (0.9, 0.6), (0.9, 0.9)],
                "congestion": {"medium": 1, "high": 2, "full": 3},
            },
        ],
        "lines": [{"name": "Door", "space": "image", "start": (0.2, 0.5), "end": (0.8, 0.5)}],
        "congestion": {"medium": 4, "high": 8, "full": 12},
    }
    base.update(changes)
    return base


def test_geometry_settings_round_trip_and_build_the_counters() -> None:
    config = CameraGeometryConfig.model_validate(geometry())
    again = CameraGeometryConfig.model_validate_json(config.model_dump_json())
    assert again == config
    assert again.floor_calibration() is None
    zones = again.zone_list()
    assert [z.name for z in zones] == ["Till", "Shelf A"] and zones[0].kind is ZoneKind.CHECKOUT
    (line,) = again.counting_lines()
    assert line == CountingLine("Door", (0.2, 0.5), (0.8, 0.5), Space.IMAGE, 0.02)
    assert again.congestion_thresholds() == {
        "Till": CongestionThresholds(4, 8, 12),
        "Shelf A": CongestionThresholds(1, 2, 3),
    }
    assert again.dwell() == DwellConfig(2.0, 0.0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"unknown": 1}, "Extra inputs"),
        ({"congestion": {"medium": 5, "high": 4, "full": 12}}, "must rise"),
        (
            {"zones": [{"name": "x", "space": "image", "polygon": [(0.2, 0.2), (0.6, 0.6)]}]},
            "at least 3 items",
        ),
        (
            {
                "zones": [
                    {
                        "name": "bow",
                        "space": "image",
                        "polygon": [(0.2, 0.2), (0.6, 0.6), (0.6, 0.2), (0.2, 0.6)],
                    }
                ]
            },
            "crosses itself",
        ),
        (
            {
                "lines": [
                    {"name": "Door", "space": "image", "start": (0.2, 0.5), "end": (0.8, 0.5)},
                    {"name": "Door", "space": "image", "start": (0.2, 0.6), "end": (0.8, 0.6)},
                ]
            },
            "two lines are called 'Door'",
        ),
        (
            {"lines": [{"name": "Door", "space": "floor", "start": (0.2, 0.5), "end": (0.8, 0.5)}]},
            "no floor\\s+calibration",
        ),
    ],
)
def test_bad_geometry_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CameraGeometryConfig.model_validate(geometry(**changes))
