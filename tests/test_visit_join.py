"""One visit across the store's cameras (issue 18, point 2): tracks of the other cameras join
the visit that began at the entrance by where and when they are on the calibrated floor plan.

The footage test builds two overlapping camera views from real pictures: a pedestrian cut out
of testdata/video/vtest.avi walks across the video's own empty scene (the median of its
frames), and each camera sees one part of it. Both views run through real FrameAnalysers
(the person detector, the tracker) and the real recorder on a SQLite file.
"""

from __future__ import annotations

import itertools
import logging
import math
import sqlite3
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import ASSUMED_PLAN_SIZE_M, Settings
from desktopapp.core.counting import Zone, ZoneKind
from desktopapp.core.floor import FloorCalibration, Space
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.pos import import_pos_csv, set_register_camera
from desktopapp.core.services.recording import visit_writer
from desktopapp.core.session import Session
from desktopapp.core.sources import Frame, SourceKind, SourceSpec
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import DB_FILE, StoreError, open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.visit_join import HOLD_S, VisitJoiner
from desktopapp.core.visits import STAFF, Recorded, RecorderConfig, VisitRecorder
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import create_main_window
from desktopapp.ui.camera_dialog import CameraDialog
from tests.conftest import VIDEO
from tests.test_notice import COMPLETE

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SCENE_WIDTH = 768  # vtest.avi's frames
VIEW_WIDTH = 448
# Where each camera's view starts in the scene: the door camera sees its left part, the aisle
# camera its right part, and both the 128 pixels in between.
DOOR_X, AISLE_X = 0, 320
DEMO = SourceSpec(SourceKind.DEMO, "demo")
ADMIN = Session("tester", Role.ADMIN)


def view_calibration(x0: int) -> FloorCalibration:
    """A view's floor calibration: the scene across is the floor plan."""
    left, right = x0 / SCENE_WIDTH, (x0 + VIEW_WIDTH) / SCENE_WIDTH
    return FloorCalibration(
        ((0, 0), (1, 0), (1, 1), (0, 1)), ((left, 0), (right, 0), (right, 1), (left, 1))
    )


@dataclass
class Store:
    joiner: VisitJoiner
    door: int
    aisle: int
    back: int  # not calibrated

    @property
    def conn(self):  # type: ignore[no-untyped-def]
        return self.joiner.recorder.store.db.conn

    def visits(self) -> list[tuple[int, str, str]]:
        return self.conn.execute(
            "SELECT id, started_at, ended_at FROM visit ORDER BY id"
        ).fetchall()

    def path(self, visit_id: int) -> list[tuple[int, float, float, float]]:
        """(camera, seconds, floor x, floor y) of a visit's path, in time order."""
        return [
            (c, (datetime.fromisoformat(at) - BASE).total_seconds(), fx, fy)
            for c, at, fx, fy in self.conn.execute(
                "SELECT camera_id, at, floor_x, floor_y FROM path_point WHERE visit_id = ? "
                "ORDER BY at, camera_id",
                (visit_id,),
            )
        ]


def open_store(data: Path, mode: Mode = Mode.ACTIVITY, aisle_zones: tuple[Zone, ...] = ()) -> Store:
    db = open_database(data)
    cameras = CameraStore(db, Cipher(load_key(data)))
    door = cameras.add(
        Camera("Door", DEMO, calibration=view_calibration(DOOR_X), entrance=True)
    ).camera_id
    aisle = cameras.add(
        Camera("Aisle", DEMO, calibration=view_calibration(AISLE_X), zones=aisle_zones)
    ).camera_id
    back = cameras.add(Camera("Back", DEMO)).camera_id
    assert door is not None and aisle is not None and back is not None
    recorder = VisitRecorder(
        VisitStore(db, Cipher(load_key(data))),
        RecorderConfig(operator="Op", store="Shibuya", mode=mode, retention=RetentionPolicy(30)),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )
    return Store(VisitJoiner(recorder), door, aisle, back)


# The footage


def _scene_parts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """vtest.avi's empty scene, and one pedestrian cut out of a frame of it with its mask."""
    capture = cv2.VideoCapture(str(VIDEO))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if capture.get(cv2.CAP_PROP_POS_FRAMES) % 8 == 1:
            frames.append(frame)
    capture.release()
    # The people walk on: what stays in most frames is the scene.
    empty = np.median(np.stack(frames), axis=0).astype(np.uint8)
    # A man in a red jacket walking right, at (565, 237) 41x96 in frame 40 (the person
    # detector's box, widened a little upwards and downwards).
    x, y, w, h = 565, 231, 41, 108
    source = frames[5]
    cut = source[y : y + h, x : x + w]
    differs = np.abs(cut.astype(int) - empty[y : y + h, x : x + w].astype(int)).max(axis=2) > 25
    mask = cv2.morphologyEx(differs.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    scale = 1.4  # nearer to the cameras than where he was filmed
    cut = cv2.resize(cut, None, fx=scale, fy=scale)
    mask = cv2.resize(mask, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return empty, cut, mask.astype(bool)


def walk_footage(
    views: dict[int, int], frames: int = 110
) -> Iterator[tuple[float, dict[int, np.ndarray]]]:
    """(time, {camera: picture}) at 10 frames a second while the man walks left to right
    across the scene, each camera seeing the scene from its ``views`` offset."""
    empty, cut, mask = _scene_parts()
    height, width = mask.shape
    for k in range(frames):
        scene = empty.copy()
        foot_x, foot_y = 40 + 6 * k, int(300 + 0.3 * k)
        left, top = foot_x - width // 2, foot_y - height
        np.copyto(scene[top : top + height, left : left + width], cut, where=mask[:, :, None])
        yield (
            k / 10,
            {
                camera: np.ascontiguousarray(scene[:, x0 : x0 + VIEW_WIDTH])
                for camera, x0 in views.items()
            },
        )


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> list[TrackClosed]:
    """The tracks the door and aisle cameras' analysers close, in the order they close."""
    store = open_store(tmp_path_factory.mktemp("ids"))
    door, aisle = store.door, store.aisle  # the ids a fresh database gives the two cameras
    engine = engine_for_mode(Settings().vision, Mode.ACTIVITY)
    analysers = {
        camera: FrameAnalyser(
            camera, engine, PipelineConfig(mode=Mode.ACTIVITY, calibration=view_calibration(x0))
        )
        for camera, x0 in ((door, DOOR_X), (aisle, AISLE_X))
    }
    closed: list[TrackClosed] = []
    last = 0.0
    for index, (t, pictures) in enumerate(walk_footage({door: DOOR_X, aisle: AISLE_X})):
        for camera, picture in pictures.items():
            closed += analysers[camera].process(Frame(picture, index, t, t))[1]
        last = t
    for analyser in analysers.values():
        closed += analyser.finish(last + 1.5)
    return closed


def test_one_person_walking_across_two_overlapping_cameras_is_one_visit(
    walked: list[TrackClosed], tmp_path: Path
) -> None:
    store = open_store(tmp_path)
    cameras = [e.camera_id for e in walked]
    assert cameras == [store.door, store.aisle], "one track on each camera, door first"
    door, aisle = walked
    assert aisle.first_seen < door.last_seen, "both cameras saw him at once"
    outcomes = [store.joiner.record(e) for e in walked]
    assert [o.outcome if o else None for o in outcomes] == ["visit", "joined"]
    assert store.joiner.flush() == []
    ((visit_id, started, ended),) = store.visits()
    assert outcomes[1] is not None and outcomes[1].visit_id == visit_id
    assert datetime.fromisoformat(started) == BASE + timedelta(seconds=door.first_seen)
    assert datetime.fromisoformat(ended) == BASE + timedelta(seconds=aisle.last_seen)
    path = store.path(visit_id)
    assert {c for c, *_ in path} == {store.door, store.aisle}
    assert all(fx is not None for *_, fx, _fy in path), "every point on the floor plan"
    # One continuous path: from the left of the plan to the right, always onwards, with no
    # step longer than a walk of a second and a half.
    xs = [fx for *_, fx, _fy in path]
    assert xs[0] < 0.15 and xs[-1] > 0.75
    for (_c0, t0, x0, y0), (_c1, t1, x1, y1) in itertools.pairwise(path):
        assert t1 - t0 <= 1.5
        assert x1 >= x0 - 0.02, "never back: the two cameras place him in the same spot"
        assert math.dist((x0, y0), (x1, y1)) * ASSUMED_PLAN_SIZE_M[0] <= 1.5 * 3.0


def test_distances_on_the_plan_are_in_the_metres_the_operator_gave(
    walked: list[TrackClosed], tmp_path: Path
) -> None:
    """The same two tracks on a plan said to be ten times as large: the two cameras now place
    him metres apart, which is two people, not one seen twice."""
    store = open_store(tmp_path)
    size: list[tuple[float, float] | None] = [(200.0, 200.0)]
    joiner = VisitJoiner(store.joiner.recorder, lambda: size[0])
    for event in walked:
        joiner.record(event)
    assert [o.outcome for o in joiner.flush()] == ["visit"]
    assert len(store.visits()) == 2
    # Set back to the store's real size while running: the next person is joined again.
    size[0] = (20.0, 20.0)
    for event in walked:
        later = [(t + 60, x, y) for t, x, y in event.path]
        joiner.record(
            replace(
                event,
                first_seen=event.first_seen + 60,
                path=tuple(later),
                last_seen=event.last_seen + 60,
            )
        )
    assert joiner.flush() == []
    assert len(store.visits()) == 3


def test_a_track_that_closes_before_the_entrance_track_waits_for_its_visit(
    walked: list[TrackClosed], tmp_path: Path
) -> None:
    store = open_store(tmp_path)
    door, aisle = walked
    assert store.joiner.record(aisle) is None, "no visit to join yet: held"
    assert store.visits() == []
    assert store.joiner.record(door).outcome == "visit"  # type: ignore[union-attr]
    ((visit_id, _s, _e),) = store.visits()
    assert {c for c, *_ in store.path(visit_id)} == {store.door, store.aisle}
    assert store.joiner.flush() == []


# Tracks of the store's cameras as walks on the floor plan


def walk(
    camera: int, x0: int, span: tuple[float, float], plan: tuple[float, float], y: float = 0.55
) -> TrackClosed:
    """A person track of ``camera`` (its view at ``x0`` of the scene) from time ``span[0]`` to
    ``span[1]``, walking from plan x ``plan[0]`` to ``plan[1]`` at plan height ``y``, with a
    path point a second as the pipeline keeps them."""
    (start, end), (plan_from, plan_to) = span, plan
    calibration = view_calibration(x0)
    path = []
    steps = max(1, round(end - start))
    for i in range(steps + 1):
        f = i / steps
        point = calibration.to_image((plan_from + f * (plan_to - plan_from), y))
        assert point is not None
        path.append((start + f * (end - start), *point))
    return TrackClosed(
        camera_id=camera,
        track_id=int(start * 10) + camera,
        first_seen=start,
        last_seen=end,
        hits=int((end - start) * 10),
        feature=None,
        templates=(),
        attributes=None,
        path=tuple(path),
        kind="person",
    )


def test_a_person_handed_over_to_the_next_camera_keeps_one_visit_its_zone_and_purchase(
    tmp_path: Path,
) -> None:
    # The aisle camera's checkout, drawn on the floor plan.
    till = Zone(
        "Till", ZoneKind.CHECKOUT, ((0.7, 0.4), (0.9, 0.4), (0.9, 0.7), (0.7, 0.7)), Space.FLOOR
    )
    store = open_store(tmp_path, aisle_zones=(till,))
    entered = store.joiner.record(walk(store.door, DOOR_X, (0, 5), (0.05, 0.3)))
    assert entered is not None and entered.outcome == "visit"
    # Out of the door camera's view at 0.3, into the aisle camera's at 0.6 four seconds later
    # (4.8 m in 4 s), then 20 s at the till.
    aisle = store.joiner.record(walk(store.aisle, AISLE_X, (9, 40), (0.6, 0.8)))
    assert aisle is not None and (aisle.outcome, aisle.visit_id) == ("joined", entered.visit_id)
    ((visit_id, started, ended),) = store.visits()
    assert (started, ended) == ((BASE).isoformat(), (BASE + timedelta(seconds=40)).isoformat())
    dwell = store.conn.execute(
        "SELECT camera_id, zone, seconds FROM zone_dwell WHERE visit_id = ?", (visit_id,)
    ).fetchall()
    assert [(c, z) for c, z, _s in dwell] == [(store.aisle, "Till")] and dwell[0][2] > 10
    # A purchase at the aisle camera's register links to the visit that began at the door.
    db = store.joiner.recorder.store.db
    set_register_camera(db, "Shibuya", "1", store.aisle)
    sales = tmp_path / "sales.csv"
    sales.write_text("日時,レジ,金額\n2026-11-01 09:00:35,1,500\n", encoding="utf-8")
    result = import_pos_csv(db, sales, store="Shibuya", tz=UTC, actor="t", audit=AuditLog(db))
    assert result.linked == 1
    assert store.conn.execute("SELECT visit_id FROM purchase").fetchone()[0] == visit_id


def test_another_person_on_the_other_camera_is_not_joined(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    first = store.joiner.record(walk(store.door, DOOR_X, (0, 8), (0.05, 0.55)))
    assert first is not None and first.visit_id is not None
    # The aisle camera sees, while the door camera sees the first person at 0.45..0.55: him
    # there, and someone else at its far end; the far one waits for a visit of their own.
    assert store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.9, 0.95))) is None
    near = store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7)))
    assert near is not None and (near.outcome, near.visit_id) == ("joined", first.visit_id)
    # A second track of the aisle camera at the same time and place cannot be him as well.
    assert store.joiner.record(walk(store.aisle, AISLE_X, (7, 12), (0.5, 0.7), y=0.6)) is None
    # A minute later at the place he was last seen: someone else.
    later = walk(store.aisle, AISLE_X, (72, 80), (0.7, 0.8))
    recorded = store.joiner.record(later)
    assert recorded is None
    # Held tracks become visits of their own once no entrance track can claim them.
    assert len(store.visits()) == 3, "the two held ones were released by the later track"
    assert [r.outcome for r in store.joiner.flush()] == ["visit"]
    assert len(store.visits()) == 4
    joined_cameras = store.conn.execute(
        "SELECT DISTINCT camera_id FROM path_point WHERE visit_id = ?", (first.visit_id,)
    ).fetchall()
    assert sorted(c for (c,) in joined_cameras) == sorted([store.door, store.aisle])


def test_held_tracks_wait_no_longer_than_the_hold(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store.joiner.record(walk(store.aisle, AISLE_X, (0, 5), (0.6, 0.8))) is None
    assert store.joiner.record(walk(store.door, DOOR_X, (5 + HOLD_S - 1, 5 + HOLD_S), (0.1, 0.2)))
    assert len(store.visits()) == 1, "the aisle track still waits"
    assert store.joiner.record(walk(store.door, DOOR_X, (6 + HOLD_S, 8 + HOLD_S), (0.1, 0.2)))
    assert len(store.visits()) == 3


def test_uncalibrated_cameras_are_not_joined_and_the_log_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(tmp_path)
    caplog.set_level(logging.WARNING, logger="desktopapp.core.visit_join")
    assert store.joiner.record(walk(store.door, DOOR_X, (0, 8), (0.05, 0.55))) is not None
    # The back camera has no floor calibration: the picture points mean nothing on the plan.
    for start in (3, 6):
        back = walk(store.back, DOOR_X, (start, start + 4), (0.3, 0.5))
        recorded = store.joiner.record(back)
        assert recorded is not None and recorded.outcome == "visit"
    assert len(store.visits()) == 3
    told = [r.getMessage() for r in caplog.records if "no floor calibration" in r.getMessage()]
    assert told == [
        f"camera {store.back} has no floor calibration: its tracks cannot be joined to visits, "
        "each becomes a visit of its own"
    ]


def test_without_an_entrance_camera_every_track_is_its_own_visit(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.conn.execute("UPDATE camera SET entrance = 0")
    store.conn.commit()
    store.joiner.record(walk(store.door, DOOR_X, (0, 8), (0.05, 0.55)))
    recorded = store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7)))
    assert recorded is not None and recorded.outcome == "visit"
    assert len(store.visits()) == 2


def test_a_suppressed_entrance_visit_takes_its_joined_tracks_with_it(tmp_path: Path) -> None:
    """An employee who consented to be left out is left out on every camera."""
    store = open_store(tmp_path, Mode.REPEAT)
    recorder = store.joiner.recorder
    face = _face(3)
    recorder.galleries[STAFF].add("staff-1", face, 1.0)
    entering = walk(store.door, DOOR_X, (0, 8), (0.05, 0.55))
    staff = replace(entering, feature=face, templates=((0.9, face),), kind="face")
    assert store.joiner.record(staff).outcome == "suppressed"  # type: ignore[union-attr]
    followed = store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7)))
    assert followed is not None and followed.outcome == "suppressed"
    assert store.joiner.flush() == []
    assert store.visits() == []


def test_the_apps_visit_writer_joins_the_cameras(tmp_path: Path) -> None:
    """The writer the main window records through (core.services.recording) joins: a face at
    the door makes a visit (attribute mode: no feature model to load), and the aisle camera's
    person track joins it."""
    store = open_store(tmp_path)
    db = store.joiner.recorder.store.db
    NoticeStore(db).save(
        NoticeProfile.model_validate(tomllib.loads(COMPLETE) | {"mode": "attributes"})
    )
    now = datetime.now(UTC).timestamp()
    door = replace(walk(store.door, DOOR_X, (now, now + 8), (0.05, 0.55)), kind="face")
    aisle = walk(store.aisle, AISLE_X, (now + 6, now + 12), (0.48, 0.7))
    writer = visit_writer(tmp_path, Settings().vision)
    try:
        outcomes = [writer.submit(lambda j, e=e: j.record(e)).result(60) for e in (door, aisle)]
        assert writer.submit(lambda j: j.flush()).result(60) == []
    finally:
        writer.close()
    assert [o.outcome for o in outcomes if o is not None] == ["visit", "joined"]
    ((visit_id, _s, _e),) = store.visits()
    assert {c for c, *_ in store.path(visit_id)} == {store.door, store.aisle}


def test_a_join_the_database_refuses_records_nothing_twice(tmp_path: Path) -> None:
    """The aisle track closes first and waits; when the door track's visit appears, another
    program holds the database: the visit is recorded once, and the aisle track joins it
    when it is released."""
    store = open_store(tmp_path)
    store.conn.execute("PRAGMA busy_timeout = 50")
    assert store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7))) is None
    recorder = store.joiner.recorder
    joins = recorder.join
    other = sqlite3.connect(tmp_path / DB_FILE, isolation_level=None)

    def locked_join(visit_id: int | None, event: TrackClosed) -> Recorded | None:
        other.execute("BEGIN IMMEDIATE")  # another program writes meanwhile
        return joins(visit_id, event)

    recorder.join = locked_join  # type: ignore[method-assign]
    entered = store.joiner.record(walk(store.door, DOOR_X, (0, 8), (0.05, 0.55)))
    assert entered is not None and entered.outcome == "visit"
    with pytest.raises((StoreError, sqlite3.OperationalError)):
        joins(None, walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7)))  # still held by the other
    other.execute("ROLLBACK")
    other.close()
    recorder.join = joins  # type: ignore[method-assign]
    assert len(store.visits()) == 1
    (released,) = store.joiner.flush()
    assert (released.outcome, released.visit_id) == ("joined", entered.visit_id)
    assert len(store.visits()) == 1


def _face(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def test_a_face_of_another_visitor_outweighs_the_floor(tmp_path: Path) -> None:
    store = open_store(tmp_path, Mode.REPEAT)
    known, newcomer = _face(4), _face(5)
    earlier = walk(store.door, DOOR_X, (-300, -290), (0.05, 0.2))
    regular = store.joiner.record(
        replace(earlier, feature=known, templates=((0.9, known),), kind="face")
    )
    assert regular is not None and regular.visitor_id is not None
    entering = walk(store.door, DOOR_X, (0, 8), (0.05, 0.55))
    visit = store.joiner.record(
        replace(entering, feature=newcomer, templates=((0.9, newcomer),), kind="face")
    )
    assert visit is not None and visit.new_visitor and visit.visitor_id != regular.visitor_id
    # The aisle camera sees the regular's face where the newcomer walks: not the newcomer's.
    aisle = walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7))
    seen = replace(aisle, feature=known, templates=((0.9, known),), kind="face")
    assert store.joiner.record(seen) is None
    (released,) = store.joiner.flush()
    assert (released.outcome, released.visitor_id) == ("merged", regular.visitor_id)
    newcomers_cameras = store.conn.execute(
        "SELECT DISTINCT camera_id FROM path_point WHERE visit_id = ?", (visit.visit_id,)
    ).fetchall()
    assert newcomers_cameras == [(store.door,)]


def test_a_visit_erased_while_in_progress_is_joined_no_more(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    entered = store.joiner.record(walk(store.door, DOOR_X, (0, 8), (0.05, 0.55)))
    assert entered is not None
    store.conn.execute("DELETE FROM visit WHERE id = ?", (entered.visit_id,))
    store.conn.commit()
    assert store.joiner.record(walk(store.aisle, AISLE_X, (6, 12), (0.48, 0.7))) is None
    assert [r.outcome for r in store.joiner.flush()] == ["visit"]
    assert len(store.visits()) == 1


# The entrance flag


def test_the_entrance_flag_is_stored_and_an_only_camera_becomes_the_entrance(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path)
    cameras = CameraStore(db, Cipher(load_key(tmp_path)))
    only = cameras.add(Camera("Door", DEMO))
    assert not only.entrance
    assert cameras.update(Camera("Door", DEMO, entrance=True, camera_id=only.camera_id)).entrance
    # A database from before the flag: its one camera watches the entrance.
    db.conn.execute("ALTER TABLE camera DROP COLUMN entrance")
    db.conn.execute("PRAGMA user_version = 8")
    db.conn.commit()
    db.conn.close()
    reopened = CameraStore(open_database(tmp_path), Cipher(load_key(tmp_path)))
    assert [c.entrance for c in reopened.all()] == [True]


@pytest.mark.gui
def test_the_entrance_is_ticked_in_the_camera_dialog(qtbot: QtBot) -> None:
    aisle = Camera("Aisle", DEMO, camera_id=4)
    dialog = CameraDialog(Settings().vision, aisle, None)
    qtbot.addWidget(dialog)
    dialog.show()
    box = dialog.entrance_box
    assert not box.isChecked()
    assert "no floor calibration" in dialog.join_note.text()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked() and "starts a visit" in dialog.join_note.text()
    assert "Without a floor calibration" in dialog.join_note.text()
    dialog.accept()
    assert dialog.result_camera is not None and dialog.result_camera.entrance
    # The store's first camera watches the entrance unless the operator unticks it.
    first = CameraDialog(Settings().vision, None, None, entrance_default=True)
    qtbot.addWidget(first)
    assert first.entrance_box.isChecked()


@pytest.mark.gui
def test_the_camera_list_shows_which_cameras_watch_the_entrance(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path, Settings())
    workspace.save_camera(Camera("Door", DEMO, entrance=True))
    workspace.save_camera(Camera("Aisle", DEMO))
    workspace.close()
    window = create_main_window(qapp, tmp_path, session=ADMIN, start_cameras=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: len(window.camera_grid.tiles) == 2, timeout=30_000)
    labels = {tile.name: tile._label for tile in window.camera_grid.tiles.values()}
    assert labels == {"Door": "Entrance", "Aisle": ""}
    assert [a.text() for a in window.edit_menu.actions()] == ["Door (entrance)", "Aisle"]
    window.close()
