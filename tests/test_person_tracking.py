"""The two-stage person tracker: unsure detections keep hidden people's tracks alive but never
open tracks of their own; people passing each other keep their ids; a person missed for a few
frames gets their track back, and one hidden for longer too when their clothes match; what the
masking found is merged into one box per person."""

from __future__ import annotations

import numpy as np
import pytest

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.person_tracking import (
    PersonTracker,
    PersonTrackerConfig,
    tracking_detections,
)
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames
from desktopapp.core.tracking import Box
from desktopapp.core.vision.types import Image, Person
from tests.conftest import VIDEO

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


def test_a_person_hidden_after_their_box_jumped_is_looked_for_where_they_were_heading() -> None:
    # The pipeline's settings. A man walks left at 80 px/s; in the frame before he is hidden his
    # box grows over a neighbour on his right and its foot jumps 16 px back, so his box's last
    # step says he stopped. He comes out 0.6 s later where his walk took him, 64 px from where
    # his box was last seen, and his box no longer overlaps the one his track predicts.
    tracker = PersonTracker(PipelineConfig().person_tracker, (768, 576))
    (track_id,) = tracker.update([_box(400)], 0.0, [0.9]).assignments.values()
    for step in range(1, 9):
        assert tracker.update([_box(400 - 8 * step)], step / 10, [0.9]).assignments == {0: track_id}
    assert tracker.update([_box(328 + 16)], 0.9, [0.9]).assignments == {0: track_id}
    for step in range(10, 15):
        tracker.update([], step / 10, [])
    back = tracker.update([_box(280)], 1.5, [0.9])
    assert back.assignments == {0: track_id}


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
        {"recover_missing_seconds": -1.0},
        {"max_colour_distance": 0.0},
        {"max_colour_distance": 1.5},
        {"colour_smoothing": 0.0},
        {"min_iou": 0.0},
    ],
)
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PersonTrackerConfig(**bad)  # type: ignore[arg-type]


def test_scores_must_match_the_boxes() -> None:
    with pytest.raises(ValueError, match="2 scores for 1 boxes"):
        PersonTracker(CONFIG).update([_box(100)], 0.0, [0.9, 0.8])


# As the pipeline tracks persons: a person lost for up to 4 s may be found again by their clothes.
RECOVERING = PipelineConfig().person_tracker


def _scene(*people: tuple[float, tuple[int, int, int], tuple[int, int, int]]) -> Image:
    """A grey floor with people standing at x: (x, shirt colour, trousers colour), BGR."""
    image = np.full((480, 640, 3), 128, np.uint8)
    for x, shirt, trousers in people:
        left, right = round(x), round(x + 40)
        image[100:150, left:right] = shirt
        image[150:200, left:right] = trousers
    return image


RED, BLUE, DARK = (40, 40, 200), (200, 60, 40), (40, 40, 40)


def _hide_and_return(back_in: tuple[int, int, int], hidden_for: float) -> tuple[int, int]:
    """(track id before, after): a person in a red shirt walks, is hidden for ``hidden_for``
    seconds, and someone in ``back_in`` comes out where they were heading."""
    tracker = PersonTracker(RECOVERING, (640, 480))
    (before,) = tracker.update(
        [_box(200)], 0.0, [0.9], _scene((200, RED, DARK))
    ).assignments.values()
    for step in range(1, 5):
        x = 200 + 4 * step
        tracker.update([_box(x)], step / 10, [0.9], _scene((x, RED, DARK)))
    t = 0.4
    while t < 0.4 + hidden_for - 0.05:
        t = round(t + 0.1, 2)
        tracker.update([], t, [], _scene())
    x = 216 + 40 * hidden_for
    back = tracker.update([_box(x)], t + 0.1, [0.9], _scene((x, back_in, DARK)))
    return before, back.assignments[0]


def test_a_person_hidden_longer_than_a_track_lives_is_found_again_by_their_clothes() -> None:
    before, after = _hide_and_return(RED, 3.0)
    assert after == before
    # Someone in other clothes coming out there is someone new.
    before, after = _hide_and_return(BLUE, 3.0)
    assert after != before
    # Beyond the recovery window, the track has closed: a new person.
    before, after = _hide_and_return(RED, RECOVERING.recover_missing_seconds + 0.5)
    assert after != before


def test_a_track_kept_for_recovery_is_neither_shown_nor_closed_until_its_window_ends() -> None:
    tracker = PersonTracker(RECOVERING, (640, 480))
    for step in range(3):
        tracker.update([_box(200)], step / 10, [0.9], _scene((200, RED, DARK)))
    t = 0.2 + RECOVERING.max_missing_seconds
    assert tracker.update([], t, [], _scene()).closed == []
    assert tracker.active == [] and tracker.lost(t, 10.0) == []
    closed = tracker.update([], 0.2 + RECOVERING.recover_missing_seconds, [], _scene()).closed
    assert [track.hits for track in closed] == [3]
    # Without pictures there are no clothes to go by: the track closes as before.
    blind = PersonTracker(RECOVERING, (640, 480))
    for step in range(3):
        blind.update([_box(200)], step / 10, [0.9])
    assert len(blind.update([], 0.2 + RECOVERING.max_missing_seconds, []).closed) == 1


def _track_at(analyser: FrameAnalyser, timestamp: float, point: tuple[float, float]) -> int:
    """The person track seen at ``timestamp`` whose box holds ``point``."""
    (found,) = [
        t.track_id
        for t in analyser.person_tracker.active
        if t.last_seen == timestamp
        and t.box[0] <= point[0] <= t.box[0] + t.box[2]
        and t.box[1] <= point[1] <= t.box[1] + t.box[3]
    ]
    return found


def test_a_man_hidden_behind_a_passer_by_on_real_footage_keeps_his_track() -> None:
    """vtest.avi, frames 540-580: on the lawn, a blonde woman in a black coat walks in front of
    a man in a red jacket; from frame 554 to 571 the detector finds no box of him (1.9 s, longer
    than a lost track lived before). He comes out where he stood, in the same jacket (found
    again at frame 577 with the default cadence, at 572 with the whole frame searched on the
    full network every frame), and is looked at once he is out, at frame 580."""
    engine = engine_for_mode(VisionConfig(feature_processes=0), Mode.PASSERBY)
    analyser = FrameAnalyser(1, engine, PipelineConfig(Mode.PASSERBY))
    ids: dict[str, int] = {}
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(VIDEO)), max_frames=581):
        if frame.index < 530:
            continue
        analyser.process(frame)
        if frame.index == 550:
            ids["man before"] = _track_at(analyser, frame.timestamp, (195, 440))
            ids["woman"] = _track_at(analyser, frame.timestamp, (260, 440))
        if frame.index == 580:
            ids["man after"] = _track_at(analyser, frame.timestamp, (250, 400))
    assert ids["man after"] == ids["man before"] != ids["woman"]
