"""One person, one face track, one visit: faces found again after missed detections, and brief
faces no body held counted rather than made visits (issue 18; issue 16 point 1, no silent loss).
"""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest

from desktopapp.core.face_tracking import FaceRecovery, FaceTracker
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames
from desktopapp.core.tracking import Box, Tracker
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.visits import MIN_BODILESS_FACE_VISIT_S
from tests.conftest import TESTDATA, closed_tracks
from tests.recorders import repeat_recorder

CROWD = TESTDATA / "video" / "crowd.mp4"
GROUND_TRUTH = Path(__file__).parent / "ground_truth" / "crowd_people.toml"
FPS = 24.0


def feed(tracker: Tracker, boxes: list[Box | None]) -> list[int]:
    """The track id each frame's one box got (None: the detector missed the face)."""
    ids = []
    for frame, box in enumerate(boxes):
        update = tracker.update([box] if box else [], frame / FPS)
        ids += [update.assignments[0]] if box else []
    return ids


def jittery_then_missed(missed: int) -> list[Box | None]:
    """A 40 px face standing still whose box jitters down 6 px on the last frame before it is
    missed: a speed of 144 px/s that its track predicts on over the gap."""
    still: list[Box | None] = [(300.0, 200.0, 40.0, 48.0)] * 10
    return [*still, (300.0, 206.0, 40.0, 48.0), *[None] * missed, (301.0, 203.0, 40.0, 48.0)]


def test_a_face_missed_for_a_few_frames_stays_one_track() -> None:
    # 8 frames (a third of a second) missed: the jitter carries the predicted box 48 px down,
    # past the face; the plain tracker opens a new track when it comes back.
    boxes = jittery_then_missed(8)
    assert len(set(feed(Tracker(), boxes))) == 2
    tracker = FaceTracker()
    assert len(set(feed(tracker, boxes))) == 1
    assert tracker.recovered == 1


def test_a_face_missed_longer_than_the_recovery_window_is_a_new_track() -> None:
    # Half a second is the longest gap bridged by nearness: in a crowd a face hidden for
    # longer often comes back as someone else's face at the same place.
    assert len(set(feed(FaceTracker(), jittery_then_missed(round(0.6 * FPS))))) == 2


def test_a_face_of_another_size_or_place_is_not_taken_for_the_lost_one() -> None:
    lost = jittery_then_missed(8)[:-1]
    larger = feed(FaceTracker(), [*lost, (296.0, 196.0, 64.0, 77.0)])
    aside = feed(FaceTracker(), [*lost, (335.0, 206.0, 40.0, 48.0)])
    assert len(set(larger)) == 2 and len(set(aside)) == 2


def test_faces_lost_side_by_side_come_back_each_to_its_own_track() -> None:
    tracker = FaceTracker()
    left, right = (300.0, 200.0, 40.0, 48.0), (330.0, 200.0, 40.0, 48.0)
    for frame in range(10):
        tracker.update([left, right], frame / FPS)
    last = tracker.update([(300.0, 206.0, 40.0, 48.0), (330.0, 206.0, 40.0, 48.0)], 10 / FPS)
    # Both missed for 8 frames; they come back 12 and 6 px right of where they were, the
    # right one listed first. The left face lies within reach of both tracks.
    update = tracker.update([(336.0, 203.0, 40.0, 48.0), (312.0, 203.0, 40.0, 48.0)], 19 / FPS)
    assert update.assignments == {0: last.assignments[1], 1: last.assignments[0]}
    assert tracker.recovered == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"widths": -0.1},
        {"widths_per_second": float("nan")},
        {"max_size_ratio": 0.9},
        {"max_seconds": float("inf")},
    ],
)
def test_unusable_recovery_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FaceRecovery(**bad)


def face_event(track_id: int, first: float, seconds: float, hits: int) -> TrackClosed:
    return TrackClosed(
        camera_id=1,
        track_id=track_id,
        first_seen=first,
        last_seen=first + seconds,
        hits=hits,
        feature=None,
        templates=(),
        attributes=None,
        path=((first, 0.5, 0.5),),
    )


def test_a_brief_face_no_body_held_is_counted_and_a_photo_or_longer_face_is_a_visit(
    tmp_path: Path,
) -> None:
    recorder = repeat_recorder(tmp_path)
    events = [
        face_event(1, 0.0, MIN_BODILESS_FACE_VISIT_S - 0.1, hits=12),  # a fragment
        face_event(2, 5.0, MIN_BODILESS_FACE_VISIT_S, hits=11),  # a second: a visit
        face_event(3, 9.0, 0.0, hits=1),  # one sighting: a photo
    ]
    assert [recorder.record(e).outcome for e in events] == ["counted", "visit", "visit"]
    conn = recorder.store.db.conn
    # The counted face is one hourly person, not lost; the visits are visits.
    assert conn.execute("SELECT SUM(count) FROM stat_count WHERE what = 'persons'").fetchone() == (
        1,
    )
    assert conn.execute("SELECT COUNT(*) FROM visit").fetchone() == (2,)
    assert conn.execute("SELECT COUNT(*) FROM visitor").fetchone() == (0,)


def crowd_frames(first: int, last: int) -> Iterator[tuple[int, Any]]:
    capture = cv2.VideoCapture(str(CROWD))
    try:
        for number in range(last + 1):
            ok, image = capture.read()
            assert ok, f"crowd.mp4 ended before frame {number}"
            if number >= first:
                yield number, image
    finally:
        capture.release()


def test_a_real_face_missed_for_eight_frames_stays_one_track(
    repeat_engine: VisionEngine,
) -> None:
    """crowd.mp4, frames 380-430: the young woman with long dark hair in front on the left
    (tests/ground_truth/crowd_people.toml) is not detected in frames 406-413 (a third of a
    second). Her box jitters by 5-10 px from frame to frame, a speed the plain tracker carries
    on over such a gap: in the whole video's run it lost her here and she came back as a new
    track (and a second visit). Here, detected from frame 380 on, the plain tracker's
    prediction happens to overlap her by just over its limit; the face tracker must hold her
    either way."""
    analyser = FrameAnalyser(1, repeat_engine, PipelineConfig(mode=Mode.REPEAT))
    faces = FaceTracker()
    seen: dict[int, int] = {}
    for number, image in crowd_frames(380, 430):
        found = analyser.detect(image, number).faces or []
        boxes = [(f.x, f.y, f.w, f.h) for f in found]
        # Her face: left of x 260, below y 280 of the 800x450 picture.
        hers = [i for i, (x, y, _, _) in enumerate(boxes) if x < 260 and y > 280]
        update = faces.update(boxes, number / FPS)
        if hers:
            seen[number] = update.assignments[hers[0]]
    missed = [n for n in range(396, 424) if n not in seen]
    assert missed == list(range(406, 414)), "the footage's gap is where this test expects it"
    assert len(set(seen.values())) == 1


def _hand_count() -> tuple[int, int]:
    """(people surely distinct, most there could be) in crowd.mp4."""
    with GROUND_TRUTH.open("rb") as file:
        people: list[dict[str, Any]] = tomllib.load(file)["person"]
    return len(people), len(people) + sum("uncertain" in p for p in people)


@pytest.mark.timeout(1200)
def test_crowd_visits_stay_near_the_hand_count_and_nobody_is_lost(
    repeat_engine: VisionEngine, tmp_path: Path
) -> None:
    """crowd.mp4 in repeat mode: 20 people by hand (24 with the uncertain ones). Before faces
    were found again and brief faces no body held were counted rather than made visits, 79
    visits were recorded (56 before persons were searched whole in one frame of two), most of
    them pieces of faces of people who had other tracks.

    The bound: every hand-counted person is near the camera long enough to be a visit, so at
    least 0.9 of the sure count (the count's own margin for people it may have split). At most
    half again the most there could be: a visit is a person's body, or a face no body held
    for a second or more, and people hidden behind others are seen by their faces only, in
    pieces that stay several visits when they are more than half a second apart (measured
    28-31 visits, depending on how often persons are searched in the whole frame)."""
    sure, most = _hand_count()
    analyser = FrameAnalyser(1, repeat_engine, PipelineConfig(mode=Mode.REPEAT))
    events = closed_tracks(analyser, iter_frames(SourceSpec(SourceKind.FILE, str(CROWD))))
    assert repeat_engine.embedder is not None
    recorder = repeat_recorder(tmp_path, repeat_engine)
    outcomes = [recorder.record(e).outcome for e in events]
    visits = outcomes.count("visit")
    assert 0.9 * sure <= visits <= 1.5 * most, f"{visits} visits for {sure}-{most} people"
    # No silent loss: every event is a visit, part of one, or counted.
    assert set(outcomes) <= {"visit", "merged", "counted"}
    glimpses = [e for e, o in zip(events, outcomes, strict=True) if _face_glimpse(e, o)]
    assert glimpses, "brief faces no body held are in this footage"
    assert all(
        o == "counted"
        for e, o in zip(events, outcomes, strict=True)
        if e.kind == "face" and e.hits > 1 and _brief(e)
    )
    # Counted means counted: each person event and each face glimpse is one hourly person.
    conn: sqlite3.Connection = recorder.store.db.conn
    (persons,) = conn.execute("SELECT SUM(count) FROM stat_count WHERE what = 'persons'").fetchone()
    assert persons == sum(e.kind == "person" for e in events) + len(glimpses)
    assert isinstance(analyser.tracker, FaceTracker) and analyser.tracker.recovered > 0


def _brief(event: TrackClosed) -> bool:
    return event.last_seen - event.first_seen < MIN_BODILESS_FACE_VISIT_S


def _face_glimpse(event: TrackClosed, outcome: str) -> bool:
    return event.kind == "face" and outcome == "counted"
