"""The two-stage person tracker: unsure detections keep hidden people's tracks alive but never
open tracks of their own; people passing each other keep their ids; a person missed for a few
frames gets their track back; what the masking found is merged into one box per person."""

from __future__ import annotations

import pytest

from desktopapp.core.person_tracking import (
    PersonTracker,
    PersonTrackerConfig,
    tracking_detections,
)
from desktopapp.core.tracking import Box
from desktopapp.core.vision.types import Person

CONFIG = PersonTrackerConfig(min_iou=0.15, max_missing_seconds=1.5, anchor="foot")


def _box(x: float, y: float = 100.0) -> Box:
    return (x, y, 40.0, 100.0)


def test_an_unsure_detection_continues_a_track_but_never_opens_one() -> None:
    tracker = PersonTracker(CONFIG, (640, 480))
    first = tracker.update([_box(100)], 0.0, [0.9])
    (track_id,) = first.assignments.values()
    # Half hidden: the score drops below the sure threshold, the box is where the person was.
    hidden = tracker.update([_box(104), _box(400)], 0.1, [0.3, 0.3])
    assert hidden.assignments == {0: track_id}  # the lone unsure box at 400 is nobody yet
    assert len(tracker.active) == 1
    assert tracker.active[0].box == _box(104)
    # Below the low threshold a detection is ignored altogether.
    assert tracker.update([_box(108)], 0.2, [0.1]).assignments == {}


def test_a_second_box_inside_a_tracked_person_opens_no_track() -> None:
    tracker = PersonTracker(CONFIG, (640, 480))
    tracker.update([_box(100)], 0.0, [0.9])
    # The upper body of the same person, found again by another window of the detector.
    twice = tracker.update([_box(102), (104.0, 100.0, 36.0, 50.0)], 0.1, [0.9, 0.8])
    assert list(twice.assignments) == [0] and len(tracker.active) == 1
    # Someone beside them, overlapping a little, is a new person.
    beside = tracker.update([_box(104), _box(130)], 0.2, [0.9, 0.8])
    assert len(set(beside.assignments.values())) == 2


def test_without_scores_every_detection_is_sure() -> None:
    tracker = PersonTracker(CONFIG, (640, 480))
    update = tracker.update([_box(100), _box(300)], 0.0)
    assert sorted(update.assignments) == [0, 1]


def test_two_people_passing_each_other_keep_their_ids() -> None:
    tracker = PersonTracker(CONFIG, (640, 480))
    ids: dict[str, set[int]] = {"left": set(), "right": set()}
    for step in range(30):
        t = step / 10
        walker_left, walker_right = 100 + 12 * step, 460 - 12 * step
        boxes, scores, who = [], [], []
        # One walks nearer the camera than the other: their feet are 30 px apart.
        for name, x, y in (("left", walker_left, 100.0), ("right", walker_right, 130.0)):
            boxes.append(_box(x, y))
            who.append(name)
            # While they overlap the one behind is barely seen, and for two frames not at all.
            behind = name == "right" and abs(walker_left - walker_right) < 60
            gone = name == "right" and abs(walker_left - walker_right) < 20
            scores.append(0.3 if behind else 0.9)
            if gone:
                boxes.pop(), scores.pop(), who.pop()
        update = tracker.update(boxes, t, scores)
        for index, track_id in update.assignments.items():
            ids[who[index]].add(track_id)
    assert len(ids["left"]) == 1 and len(ids["right"]) == 1
    assert ids["left"] != ids["right"]


def test_a_person_missed_for_a_few_frames_gets_their_track_back() -> None:
    tracker = PersonTracker(CONFIG, (640, 480))
    (track_id,) = tracker.update([_box(300)], 0.0, [0.9]).assignments.values()
    tracker.update([_box(297)], 0.1, [0.9])
    # Hidden for most of a second while speeding up: they come out 45 px beyond where their
    # track predicted (x = 270), and their box no longer overlaps the predicted one.
    for step in range(2, 10):
        tracker.update([], step / 10, [])
    back = tracker.update([_box(225)], 1.0, [0.9])
    assert back.assignments == {0: track_id}
    # Someone far from where the lost track was heading is someone new.
    tracker.update([], 1.1, [])
    elsewhere = tracker.update([_box(500)], 1.4, [0.9])
    assert track_id not in elsewhere.assignments.values()


def test_without_recovery_a_person_missed_for_long_is_someone_new() -> None:
    config = PersonTrackerConfig(
        min_iou=0.15, max_missing_seconds=1.5, anchor="foot", recover_widths_per_second=0.0
    )
    tracker = PersonTracker(config, (640, 480))
    (track_id,) = tracker.update([_box(300)], 0.0, [0.9]).assignments.values()
    tracker.update([_box(297)], 0.1, [0.9])
    back = tracker.update([_box(225)], 1.0, [0.9])
    assert back.assignments[0] != track_id


def test_what_the_masking_found_becomes_one_box_per_person() -> None:
    whole = [Person(100, 100, 60, 100, 0.5), Person(300, 100, 40, 100, 0.35)]
    # The square sees the first person again, and the one walking beside them apart.
    square = [Person(102, 98, 40, 104, 0.8), Person(138, 100, 24, 100, 0.6)]
    merged = tracking_detections(whole + square)
    assert [p.score for p in merged] == [0.8, 0.6, 0.35]
    assert tracking_detections([]) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"low_score": 0.6, "high_score": 0.5},
        {"low_score": -0.1},
        {"high_score": 1.5},
        {"low_min_iou": 0.0},
        {"velocity_smoothing": 0.0},
        {"birth_max_inside": 0.0},
        {"recover_widths_per_second": -1.0},
        {"recover_widths_per_second": float("nan")},
        {"min_iou": 0.0},
    ],
)
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PersonTrackerConfig(**bad)  # type: ignore[arg-type]


def test_scores_must_match_the_boxes() -> None:
    with pytest.raises(ValueError, match="2 scores for 1 boxes"):
        PersonTracker(CONFIG).update([_box(100)], 0.0, [0.9, 0.8])
