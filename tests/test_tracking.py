"""The tracker on synthetic walkers at 10 fps, and the best-shot buffer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Set
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktopapp.core.tracking import BestShots, Box, Tracker, TrackerConfig, iou_matrix

FPS = 10.0


@dataclass(frozen=True)
class Walker:
    """A person box moving at a constant pixel velocity, visible between two frame numbers."""

    name: str
    start: tuple[float, float]
    velocity: tuple[float, float]  # pixels per frame
    first: int = 0
    last: int = 10**9
    size: tuple[float, float] = (60.0, 140.0)

    def box(self, frame: int) -> Box | None:
        if not self.first <= frame <= self.last:
            return None
        steps = frame - self.first
        x = self.start[0] + self.velocity[0] * steps
        y = self.start[1] + self.velocity[1] * steps
        return (x, y, *self.size)


def run(
    tracker: Tracker,
    walkers: list[Walker],
    frames: int,
    hidden: Set[tuple[str, int]] = frozenset(),
) -> tuple[dict[str, set[int]], dict[int, float]]:
    """Feed every walker's box per frame (order varying); the ids each got, and close times."""
    ids: dict[str, set[int]] = {w.name: set() for w in walkers}
    closed_at: dict[int, float] = {}
    for frame in range(frames):
        timestamp = frame / FPS
        seen = [
            (w.name, box)
            for w in walkers
            if (box := w.box(frame)) is not None and (w.name, frame) not in hidden
        ]
        if frame % 2:
            seen.reverse()  # the detector's order is no identity
        update = tracker.update([box for _, box in seen], timestamp)
        assert sorted(update.assignments) == list(range(len(seen)))
        for index, (name, _) in enumerate(seen):
            ids[name].add(update.assignments[index])
        for track in update.closed:
            closed_at[track.track_id] = timestamp
    return ids, closed_at


def test_crossing_walkers_keep_their_ids() -> None:
    # Opposite directions at different speeds, overlapping for several frames; while the
    # boxes overlap most, the slower walker is hidden behind the faster one.
    fast = Walker("fast", (20, 200), (25, 0))
    slow = Walker("slow", (560, 215), (-15, 0))
    hidden = set()
    for frame in range(40):
        fast_box, slow_box = fast.box(frame), slow.box(frame)
        assert fast_box is not None and slow_box is not None
        if abs(fast_box[0] - slow_box[0]) < 30:
            hidden.add(("slow", frame))
    assert hidden, "the scenario must contain an occlusion"

    ids, _ = run(Tracker(), [fast, slow], 40, hidden)

    assert len(ids["fast"]) == 1
    assert len(ids["slow"]) == 1
    assert ids["fast"] != ids["slow"]


def test_walkers_crossing_without_occlusion_keep_their_ids() -> None:
    walkers = [
        Walker("a", (0, 100), (30, 8)),
        Walker("b", (600, 120), (-20, 6)),
        Walker("c", (300, 400), (2, -12)),
    ]
    ids, _ = run(Tracker(), walkers, 30)
    assert all(len(found) == 1 for found in ids.values())
    assert len(set().union(*ids.values())) == 3


def test_leaving_closes_after_max_missing_and_a_newcomer_gets_a_new_id() -> None:
    config = TrackerConfig(max_missing_seconds=2.0)
    leaver = Walker("leaver", (100, 100), (10, 0), last=19)  # last seen at 1.9 s
    stayer = Walker("stayer", (300, 300), (0, 0))
    newcomer = Walker("newcomer", (105, 100), (10, 0), first=45)  # where the leaver was

    tracker = Tracker(config)
    ids, closed_at = run(tracker, [leaver, stayer, newcomer], 60)

    (leaver_id,) = ids["leaver"]
    (newcomer_id,) = ids["newcomer"]
    assert newcomer_id > leaver_id
    assert len(ids["stayer"]) == 1
    # Closed at the first frame at least max_missing_seconds after the last sighting.
    assert 1.9 + 2.0 - 1e-9 <= closed_at[leaver_id] <= 1.9 + 2.0 + 1 / FPS + 1e-9
    assert set(closed_at) == {leaver_id}
    assert {t.track_id for t in tracker.active} == ids["stayer"] | ids["newcomer"]

    ended = tracker.close_all(6.0)
    assert {t.track_id for t in ended} == ids["stayer"] | ids["newcomer"]
    assert tracker.active == []


def test_short_missing_spell_keeps_the_track() -> None:
    walker = Walker("w", (100, 100), (12, 0))
    hidden = {("w", frame) for frame in range(10, 25)}  # 1.5 s unseen, below 2 s
    ids, closed_at = run(Tracker(), [walker], 40, hidden)
    assert len(ids["w"]) == 1
    assert closed_at == {}


def test_one_frame_noise_is_discarded_not_closed() -> None:
    tracker = Tracker(TrackerConfig(min_hits=2))
    walker = Walker("w", (100, 100), (5, 0))
    discarded = 0
    closed = []
    for frame in range(40):
        boxes = [walker.box(frame)]
        if frame == 3:
            boxes.append((500.0, 50.0, 30.0, 30.0))  # a one-frame false detection
        update = tracker.update([b for b in boxes if b is not None], frame / FPS)
        discarded += update.discarded
        closed += update.closed
    assert discarded == 1
    assert closed == []
    # The same rule at the end of the stream: a one-hit track is dropped by close_all.
    tracker.update([(400.0, 400.0, 20.0, 20.0)], 4.0)
    ended = tracker.close_all(4.0)
    assert [t.hits for t in ended] == [40]


def test_path_is_coarse_and_normalised() -> None:
    width, height = 640, 480
    tracker = Tracker(TrackerConfig(path_interval_seconds=1.0), frame_size=(width, height))
    walker = Walker("w", (0, 100), (10, 3))
    for frame in range(55):  # 5.4 s at 10 fps
        box = walker.box(frame)
        assert box is not None
        tracker.update([box], frame / FPS)
    (track,) = tracker.close_all(5.4)

    assert track.hits == 55
    assert track.first_seen == 0.0
    assert track.last_seen == pytest.approx(5.4)
    times = [p[0] for p in track.path]
    assert len(track.path) <= math.floor(5.4) + 1
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times))
    assert all(0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 for _, x, y in track.path)
    t0, x0, y0 = track.path[0]
    assert (t0, x0, y0) == (0.0, 30 / width, 170 / height)


def test_path_follows_a_new_frame_size_and_stays_in_range() -> None:
    tracker = Tracker(frame_size=(640, 480))
    tracker.update([(600.0, 400.0, 100.0, 100.0)], 0.0)  # centre beyond the right edge
    tracker.set_frame_size((1280, 960))
    tracker.update([(600.0, 400.0, 100.0, 100.0)], 1.0)
    (track,) = tracker.active
    assert track.path == [(0.0, 1.0, 450 / 480), (1.0, 650 / 1280, 450 / 960)]
    with pytest.raises(ValueError, match="frame size"):
        tracker.set_frame_size((0, 480))


def test_timestamps_must_not_go_backwards() -> None:
    tracker = Tracker()
    tracker.update([(0.0, 0.0, 10.0, 10.0)], 1.0)
    tracker.update([(0.0, 0.0, 10.0, 10.0)], 1.0)  # the same time again is fine
    with pytest.raises(ValueError, match="backwards"):
        tracker.update([], 0.5)
    with pytest.raises(ValueError, match="backwards"):
        tracker.close_all(0.9)
    with pytest.raises(ValueError, match="finite"):
        tracker.update([], math.nan)


@pytest.mark.parametrize(
    "box", [(0.0, 0.0, 0.0, 10.0), (0.0, 0.0, 10.0, -1.0), (math.nan, 0.0, 1.0, 1.0)]
)
def test_invalid_boxes_are_refused(box: Box) -> None:
    with pytest.raises(ValueError, match="box"):
        Tracker().update([box], 0.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_iou", 0.0),
        ("min_iou", 1.5),
        ("max_missing_seconds", 0.0),
        ("max_missing_seconds", math.inf),
        ("min_hits", 0),
        ("path_interval_seconds", -1.0),
    ],
)
def test_config_is_validated(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        TrackerConfig(**{field: value})  # type: ignore[arg-type]


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10], [100, 100, 10, 10]], dtype=np.float64)
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10], [50, 50, 5, 5]], dtype=np.float64)
    expected = np.array([[50 / 150, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(iou_matrix(a, b), expected)


boxes_strategy = st.tuples(
    st.floats(-100, 700),
    st.floats(-100, 500),
    st.floats(1, 200),
    st.floats(1, 200),
)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 3), st.lists(boxes_strategy, max_size=8)),
        max_size=25,
    )
)
def test_every_detection_gets_exactly_one_unique_track(
    frames: list[tuple[float, list[Box]]],
) -> None:
    tracker = Tracker(TrackerConfig(max_missing_seconds=1.0))
    timestamp = 0.0
    seen_ids: set[int] = set()
    for step, boxes in frames:
        timestamp += step
        update = tracker.update(boxes, timestamp)
        assert sorted(update.assignments) == list(range(len(boxes)))
        assigned = list(update.assignments.values())
        assert len(set(assigned)) == len(assigned)
        active = {t.track_id for t in tracker.active}
        assert set(assigned) <= active
        assert not active & {t.track_id for t in update.closed}
        new = set(assigned) - seen_ids
        assert all(i > max(seen_ids, default=0) for i in new)
        seen_ids |= new
    assert {t.track_id for t in tracker.close_all(timestamp)} <= seen_ids


# --- best shots -----------------------------------------------------------------------------


def test_best_shots_fill_up_to_k_spaced_in_time() -> None:
    shots: BestShots[str] = BestShots(k=3, min_gain=0.05, min_interval=0.3)
    assert not shots.wants(0.0, 0.0)  # no quality at all: never worth a feature
    assert shots.offer(0.5, 0.0, "a") is None
    assert not shots.wants(0.9, 0.1)  # too soon after the last accepted shot
    assert shots.offer(0.9, 0.1, "too soon") is None
    assert shots.offer(0.4, 0.3, "b") is None
    assert shots.offer(0.6, 0.6, "c") is None
    assert shots.items == [(0.6, "c"), (0.5, "a"), (0.4, "b")]


def test_best_shots_too_soon_is_when_no_quality_is_wanted() -> None:
    """The pipeline skips a face's quality when ``too_soon``: it must refuse exactly what
    ``wants`` refuses whatever the quality."""
    shots: BestShots[str] = BestShots(k=2, min_gain=0.05, min_interval=0.3)
    assert not shots.too_soon(0.0)
    shots.offer(0.5, 0.0, "a")
    for timestamp in (0.0, 0.1, 0.29):
        assert shots.too_soon(timestamp)
        assert not any(shots.wants(q, timestamp) for q in (0.01, 0.5, 1.0))
    assert not shots.too_soon(0.3)
    assert shots.wants(1.0, 0.3)


def test_best_shots_evict_the_worst_only_for_a_clear_gain() -> None:
    shots: BestShots[str] = BestShots(k=3, min_gain=0.05, min_interval=0.3)
    for i, quality in enumerate((0.5, 0.4, 0.6)):
        shots.offer(quality, i * 1.0, f"shot{i}")
    assert not shots.wants(0.44, 10.0)  # better than the worst (0.4), but not by min_gain
    assert shots.offer(0.44, 10.0, "small gain") is None
    assert shots.wants(0.46, 10.0)
    assert shots.offer(0.46, 10.0, "d") == "shot1"
    assert not shots.wants(0.99, 10.2)  # min_interval holds when full too
    assert shots.offer(0.99, 10.3, "e") == "d"
    assert shots.items == [(0.99, "e"), (0.6, "shot2"), (0.5, "shot0")]


def test_equal_quality_keeps_the_earlier_shot_first() -> None:
    shots: BestShots[int] = BestShots(k=2, min_interval=0.0)
    shots.offer(0.5, 0.0, 1)
    shots.offer(0.5, 1.0, 2)
    assert shots.items == [(0.5, 1), (0.5, 2)]


@pytest.mark.parametrize(
    "qualities",
    [
        [0.5 + 0.3 * math.sin(2 * math.pi * i / 100) for i in range(100)],
        list(np.clip(0.5 + np.cumsum(np.random.default_rng(7).normal(0, 0.02, 100)), 0, 1)),
        list(np.clip(0.6 + np.random.default_rng(8).normal(0, 0.08, 100), 0, 1)),
    ],
    ids=["wave", "random-walk", "jitter"],
)
def test_best_shots_rarely_want_a_frame(qualities: list[float]) -> None:
    shots: BestShots[int] = BestShots()
    wanted = 0
    for frame, quality in enumerate(qualities):
        if shots.wants(quality, frame / FPS):
            wanted += 1
            shots.offer(quality, frame / FPS, frame)
    assert wanted <= 15
    assert len(shots.items) == 3
    assert shots.items[0][0] >= max(qualities) - 0.1


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"min_gain": -0.1}, {"min_interval": -1.0}, {"min_gain": math.nan}]
)
def test_best_shots_settings_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        BestShots(**kwargs)  # type: ignore[arg-type]


def test_a_lost_track_is_predicted_onwards_for_the_hold_time_only() -> None:
    """The pipeline keeps masking where a missed person should be: the track's last box moved
    on by its velocity, for ``within`` seconds after the last detection, never longer."""
    tracker = Tracker(TrackerConfig(max_missing_seconds=2.0))
    for step in range(5):
        tracker.update([(100.0 + 10 * step, 50.0, 40.0, 80.0)], step * 0.1)
    assert tracker.lost(0.4, within=1.0) == []  # seen just now: not lost
    for step in range(5, 15):
        timestamp = step * 0.1
        tracker.update([], timestamp)
        lost = tracker.lost(timestamp, within=1.0)
        if timestamp - 0.4 < 1.0 - 1e-9:
            (track,) = lost
            x, y, w, h = track.predicted_box(timestamp)
            # 10 px per 0.1 s to the right, as before it was lost.
            assert x == pytest.approx(140.0 + 100 * (timestamp - 0.4))
            assert (y, w, h) == (50.0, 40.0, 80.0)
        else:
            assert lost == []
    assert len(tracker.active) == 1  # still open: holding the mask ends before the track does
