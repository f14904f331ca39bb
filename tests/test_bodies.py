"""Faces attached to the bodies that hold them, and one event per person (core.bodies)."""

from __future__ import annotations

import numpy as np
import pytest

from desktopapp.core.bodies import BodyFaces, Person, fit_cost, merged
from desktopapp.core.counting import Crossing, Direction
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.vision.features import normalise
from desktopapp.core.vision.types import Gender, Vector

BODY_A = (100.0, 100.0, 80.0, 240.0)  # x, y, w, h
BODY_B = (300.0, 100.0, 80.0, 240.0)
FACE_A = (125.0, 110.0, 30.0, 36.0)  # centre (140, 128): the head of BODY_A
FACE_B = (325.0, 110.0, 30.0, 36.0)


def vector(seed: int) -> Vector:
    return normalise(np.random.default_rng(seed).normal(size=128).astype(np.float32))


def body(track_id: int, first: float, last: float, x: float = 0.5) -> TrackClosed:
    return TrackClosed(
        camera_id=1,
        track_id=track_id,
        first_seen=first,
        last_seen=last,
        hits=int((last - first) * 10) + 1,
        feature=None,
        templates=(),
        attributes=None,
        path=((first, x, 0.9), (last, x + 0.1, 0.9)),
        kind="person",
        crossings=(Crossing("door", track_id, first + 0.5, Direction.IN),),
    )


def face(
    track_id: int, first: float, last: float, shots: tuple[tuple[float, Vector], ...] = ()
) -> TrackClosed:
    feature = normalise(np.mean([v for _, v in shots], axis=0)) if shots else None
    return TrackClosed(
        camera_id=1,
        track_id=track_id,
        first_seen=first,
        last_seen=last,
        hits=10,
        feature=feature,
        templates=shots,
        attributes=AttributeSummary(34.0, Gender.FEMALE, 0.9, len(shots)) if shots else None,
        path=((first, 0.2, 0.3),),
    )


def test_a_face_fits_the_head_of_the_body_that_holds_it() -> None:
    assert fit_cost(BODY_A, FACE_A) == pytest.approx(0.0, abs=0.1)
    assert fit_cost(BODY_B, FACE_A) is None, "beside the body"
    low = (125.0, 250.0, 30.0, 36.0)  # at the hips
    assert fit_cost(BODY_A, low) is None
    huge = (60.0, 60.0, 160.0, 160.0)  # a close-up face wider than the body found behind it
    assert fit_cost(BODY_A, huge) is None
    off_centre = (102.0, 150.0, 30.0, 36.0)
    cost = fit_cost(BODY_A, off_centre)
    assert cost is not None and cost > fit_cost(BODY_A, FACE_A)  # type: ignore[operator]


def test_each_face_goes_to_the_body_that_holds_it_one_face_a_body() -> None:
    joiner = BodyFaces()
    joiner.attach({1: BODY_A, 2: BODY_B}, {10: FACE_B, 11: FACE_A})
    joiner.attach({1: BODY_A, 2: BODY_B}, {10: FACE_B, 11: FACE_A, 12: FACE_A})
    joiner.body_closed(body(1, 0.0, 3.0))
    joiner.body_closed(body(2, 0.0, 3.0))
    joiner.face_closed(face(10, 0.0, 3.0))
    joiner.face_closed(face(11, 0.0, 3.0))
    joiner.face_closed(face(12, 0.1, 0.1))
    persons = joiner.settled()
    owned = {p.bodies[0].track_id: [f.track_id for f in p.faces] for p in persons if p.bodies}
    assert owned == {1: [11], 2: [10]}
    # The second face on body 1 found no body of its own: a person of its own, not lost.
    assert [p.faces[0].track_id for p in persons if not p.bodies] == [12]


def test_a_body_keeps_its_face_unless_the_face_clearly_leaves_it() -> None:
    joiner = BodyFaces()
    joiner.attach({1: BODY_A}, {10: FACE_A})
    # Another face fits a little better now (10 slightly off the head, 11 right on it):
    # body 1 keeps the face it had.
    slightly_off = (115.0, 130.0, 30.0, 36.0)
    for _ in range(5):
        joiner.attach({1: BODY_A}, {10: slightly_off, 11: FACE_A})
    assert joiner._face_of == {1: 10}
    # Face 10 walks away from the body (outside its upper part): body 1 takes face 11.
    joiner.attach({1: BODY_A}, {10: (400.0, 110.0, 30.0, 36.0), 11: FACE_A})
    assert joiner._face_of == {1: 11}


def test_the_group_waits_until_all_its_tracks_have_closed() -> None:
    joiner = BodyFaces()
    joiner.attach({1: BODY_A}, {10: FACE_A})
    joiner.body_closed(body(1, 0.0, 3.0))
    assert joiner.settled() == [], "the face is still being tracked: its shots are not all in"
    assert joiner.waiting == 1
    joiner.face_closed(face(10, 0.2, 3.5, ((0.9, vector(1)),)))
    (person,) = joiner.settled()
    assert [b.track_id for b in person.bodies] == [1] and [f.track_id for f in person.faces] == [10]
    assert joiner.waiting == 0 and joiner.settled() == []


def test_tracks_never_attached_are_persons_of_their_own_at_once() -> None:
    joiner = BodyFaces()
    alone = body(1, 0.0, 2.0)
    close_up = face(5, 1.0, 2.0)
    joiner.body_closed(alone)
    joiner.face_closed(close_up)
    assert joiner.settled() == [Person((alone,), ()), Person((), (close_up,))]


def test_a_body_found_again_is_one_person_with_one_path() -> None:
    """The person tracker lost the person and started a new track; the face track went on:
    the two body tracks are one person, one event, with both paths."""
    joiner = BodyFaces(threshold=0.9)
    joiner.attach({1: BODY_A}, {10: FACE_A})
    joiner.attach({2: BODY_A}, {10: FACE_A})
    joiner.attach({2: BODY_A}, {10: FACE_A})
    first, second = body(1, 0.0, 2.0, x=0.2), body(2, 2.4, 5.0, x=0.5)
    joiner.body_closed(first)
    joiner.body_closed(second)
    shots = ((0.8, vector(3)), (0.7, vector(3)))
    joiner.face_closed(face(10, 0.1, 5.0, shots))
    (person,) = joiner.settled()
    event = merged(person, best_shots=3)
    assert event.kind == "person" and event.track_id == 1
    assert event.path == first.path + second.path
    assert (event.first_seen, event.last_seen) == (0.0, 5.0)
    assert [c.track_id for c in event.crossings] == [1, 2]
    assert event.templates == shots
    assert event.feature is not None and float(event.feature @ vector(3)) == pytest.approx(1.0)
    assert event.attributes is not None and event.attributes.gender is Gender.FEMALE


def test_two_people_side_by_side_are_never_joined() -> None:
    """Two bodies seen at once that swapped faces are two people, each with the face held
    longest."""
    joiner = BodyFaces(threshold=0.9)
    for _ in range(6):
        joiner.attach({1: BODY_A, 2: BODY_B}, {10: FACE_A, 11: FACE_B})
    joiner.attach({1: BODY_A, 2: BODY_B}, {10: FACE_B, 11: FACE_A})  # the faces cross over
    joiner.body_closed(body(1, 0.0, 3.0))
    joiner.body_closed(body(2, 0.0, 3.0))
    joiner.face_closed(face(10, 0.0, 3.0, ((0.9, vector(1)),)))
    joiner.face_closed(face(11, 0.0, 3.0, ((0.9, vector(2)),)))
    persons = joiner.settled()
    owned = {p.bodies[0].track_id: [f.track_id for f in p.faces] for p in persons}
    assert owned == {1: [10], 2: [11]}


def test_faces_of_two_people_on_one_body_do_not_make_one_identity() -> None:
    """A body track that switched people holds two faces whose features differ: the one held
    longest is the body's, the other stays a person of its own."""
    joiner = BodyFaces(threshold=0.9)
    for _ in range(5):
        joiner.attach({1: BODY_A}, {10: FACE_A})
    for _ in range(3):
        joiner.attach({1: BODY_A}, {11: FACE_A})
    joiner.body_closed(body(1, 0.0, 3.0))
    joiner.face_closed(face(10, 0.0, 1.5, ((0.9, vector(1)),)))
    joiner.face_closed(face(11, 1.6, 3.0, ((0.9, vector(2)),)))
    persons = joiner.settled()
    assert [([b.track_id for b in p.bodies], [f.track_id for f in p.faces]) for p in persons] == [
        ([1], [10]),
        ([], [11]),
    ]


def test_one_persons_faces_give_the_best_shots_of_them_all() -> None:
    joiner = BodyFaces(threshold=0.5)
    for _ in range(4):
        joiner.attach({1: BODY_A}, {10: FACE_A})
    for _ in range(2):
        joiner.attach({1: BODY_A}, {11: FACE_A})
    joiner.body_closed(body(1, 0.0, 3.0))
    same = vector(7)
    joiner.face_closed(face(10, 0.0, 1.5, ((0.6, same), (0.5, same))))
    joiner.face_closed(face(11, 1.6, 3.0, ((0.9, same), (0.4, same))))
    (person,) = joiner.settled()
    event = merged(person, best_shots=3)
    assert [q for q, _ in event.templates] == [0.9, 0.6, 0.5]
    assert event.attributes is not None and event.attributes.samples == 2


def test_a_lone_face_stays_the_face_event_it_was() -> None:
    close_up = face(5, 1.0, 2.0, ((0.9, vector(1)),))
    assert merged(Person((), (close_up,)), best_shots=3) is close_up


def test_a_box_that_starts_at_the_shoulders_still_holds_the_face_over_its_top() -> None:
    shoulders = (100.0, 140.0, 80.0, 240.0)  # the head sticks out above the box
    assert fit_cost(shoulders, FACE_A) is not None
    assert fit_cost(shoulders, (125.0, 40.0, 30.0, 36.0)) is None, "a face well above it"


def test_a_second_box_on_a_person_with_a_face_is_no_person_of_its_own() -> None:
    """The detector put two boxes on one man of t1.jpg (IoU 0.53): the one that never held a
    face gives no visit. A faceless body beside the other is a person."""
    duplicate = (110.0, 110.0, 80.0, 240.0)
    joiner = BodyFaces()
    for _ in range(10):
        joiner.attach({1: BODY_A, 2: duplicate, 3: BODY_B}, {10: FACE_A})
    for track_id in (1, 2, 3):
        joiner.body_closed(body(track_id, 0.0, 1.0))
    joiner.face_closed(face(10, 0.0, 1.0))
    persons = joiner.settled()
    assert [[b.track_id for b in p.bodies] for p in persons] == [[1], [3]]
    assert [f.track_id for f in persons[0].faces] == [10]
