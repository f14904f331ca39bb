"""G-08 requests from the public on real faces, real models and real SQLite files: find,
disclose, erase, opt out, withdraw; each step audited (G-09), no byte of an erased feature left
(G-14), no picture written (G-03), and a running recorder that survives the erasure."""

from __future__ import annotations

import dataclasses
import socket
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from desktopapp.core.matching import Gallery
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.requests import (
    OPT_OUT_EXPIRY,
    NoFaceError,
    PublicRequests,
    RequestError,
    probe_from_image,
    probe_from_source,
)
from desktopapp.core.sources import Frame, SourceError, parse_source
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy, reapply_policy, sweep
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.tracking import TrackerConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image, Vector
from desktopapp.core.visits import CUSTOMER, DO_NOT_TRACK, Recorded, RecorderConfig, VisitRecorder
from tests.conftest import FACES
from tests.streams import MjpegServer
from tests.test_no_image_storage import _WATCH, _allowed, _new_image_files
from tests.test_notice import COMPLETE
from tests.test_retention_purge import raw_bytes

pytestmark = pytest.mark.timeout(300)

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY = 86_400.0
POLICY = RetentionPolicy(days=30)
ENROLLED = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg"]
PROBE = "obama_partial_face2.jpg"  # never enrolled: the person brings a new picture
OTHERS = ["astronaut.png", "messi5.jpg", "Tom_Hanks_54745.png"]
ADMIN = "admin"


@pytest.fixture(scope="module")
def sightings(engine: VisionEngine, face_image: dict[str, Image]) -> dict[str, TrackClosed]:
    """Each test picture as the track the pipeline makes of it, at time 0."""
    tracks = {}
    for name in [*ENROLLED, *OTHERS, PROBE, "biden.jpg"]:
        analyser = FrameAnalyser(1, engine, PipelineConfig(tracker=TrackerConfig(min_hits=1)))
        # process() zero-fills the frame, and the fixture's pictures are shared.
        frame = Frame(face_image[name].copy(), 0, 0.0, time.monotonic())
        closed = analyser.process(frame)[1] + analyser.finish(1.0)
        assert len(closed) == 1 and closed[0].feature is not None, name
        tracks[name] = closed[0]
    return tracks


def _on_day(event: TrackClosed, day: int) -> TrackClosed:
    shift = day * DAY
    return dataclasses.replace(
        event,
        first_seen=event.first_seen + shift,
        last_seen=event.last_seen + shift,
        path=tuple((t + shift, x, y) for t, x, y in event.path),
    )


def _recorder(data: Path, engine: VisionEngine, store: str = "Shibuya") -> VisitRecorder:
    embedder = engine.embedder
    assert embedder is not None
    return VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator="Op",
            store=store,
            mode=Mode.REPEAT,
            retention=POLICY,
            model=embedder.info.model_id,
            threshold=embedder.threshold,
            dim=embedder.dim,
        ),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )


def _requests(data: Path, db: sqlite_utils.Database, engine: VisionEngine) -> PublicRequests:
    """On a connection of its own (``db``), as the GUI's would be."""
    embedder = engine.embedder
    assert embedder is not None
    return PublicRequests(
        db,
        Cipher(load_key(data)),
        AuditLog(db),
        threshold=embedder.threshold,
        dim=embedder.dim,
        model=embedder.info.model_id,
        clock=lambda: BASE + timedelta(days=40),
    )


@dataclass
class Shop:
    data: Path
    db: sqlite_utils.Database  # the requests' connection
    recorder: VisitRecorder
    requests: PublicRequests
    obama: str
    visits: list[Recorded]  # obama's, in order
    events: list[TrackClosed]  # obama's, in order


@pytest.fixture
def shop(tmp_path: Path, engine: VisionEngine, sightings: dict[str, TrackClosed]) -> Iterator[Shop]:
    """Obama came four times, one day apart; three other people once each."""
    data = tmp_path / "data"
    recorder = _recorder(data, engine)
    events = [_on_day(sightings[name], day) for day, name in enumerate(ENROLLED)]
    visits = [recorder.record(event) for event in events]
    for day, name in enumerate(OTHERS, start=len(ENROLLED)):
        assert recorder.record(_on_day(sightings[name], day)).new_visitor
    obama = {v.visitor_id for v in visits}
    assert len(obama) == 1 and [v.is_repeat for v in visits] == [False, True, True, True]
    db = open_database(data)
    yield Shop(
        data, db, recorder, _requests(data, db, engine), visits[0].visitor_id or "", visits, events
    )
    recorder.store.db.close()
    db.close()


def _count(db: sqlite_utils.Database, sql: str, *args: object) -> int:
    return int(db.execute(sql, args).fetchone()[0])


def _personal_rows(db: sqlite_utils.Database, visitor_id: str, visit_ids: list[int]) -> int:
    marks = ",".join("?" * len(visit_ids)) or "NULL"
    return (
        _count(db, "SELECT COUNT(*) FROM visitor WHERE id = ?", visitor_id)
        + _count(db, "SELECT COUNT(*) FROM template WHERE visitor_id = ?", visitor_id)
        + _count(db, "SELECT COUNT(*) FROM visit WHERE visitor_id = ?", visitor_id)
        + _count(db, f"SELECT COUNT(*) FROM path_point WHERE visit_id IN ({marks})", *visit_ids)
    )


def _actions(db: sqlite_utils.Database) -> list[str]:
    return [entry.action for entry in AuditLog(db).entries()]


def _most_recorded(values: list[str | None]) -> str | None:
    """The value most visits recorded, the latest on a tie (worked out here, not by SQL)."""
    held = [v for v in values if v is not None]
    if not held:
        return None
    return max(
        set(held), key=lambda v: (held.count(v), max(i for i, x in enumerate(held) if x == v))
    )


def _probe(engine: VisionEngine, face_image: dict[str, Image], name: str) -> Vector:
    return probe_from_image(engine, face_image[name].copy())


def test_find_discloses_exactly_what_is_held_about_the_person(
    shop: Shop, engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    records = shop.requests.find(_probe(engine, face_image, PROBE), actor=ADMIN)

    assert [r.visitor_id for r in records] == [shop.obama]
    held = records[0]
    assert held.kind == CUSTOMER
    assert engine.embedder is not None and held.score >= engine.embedder.threshold
    assert held.visit_count == len(ENROLLED)
    first, last = shop.events[0], shop.events[-1]
    assert held.first_visit == BASE + timedelta(seconds=first.first_seen)
    assert held.last_visit == BASE + timedelta(seconds=last.first_seen)
    assert held.stores == ("Shibuya",)
    assert held.age_band == _most_recorded([v.age_band for v in shop.visits])
    assert held.gender == _most_recorded([v.gender for v in shop.visits])
    assert held.templates == _count(
        shop.db, "SELECT COUNT(*) FROM template WHERE visitor_id = ?", shop.obama
    )
    assert 1 <= held.templates <= 5
    assert held.path_points == sum(len(e.path) for e in shop.events) > 0
    assert held.expires_at == held.first_visit + timedelta(days=POLICY.days)

    assert shop.requests.find(_probe(engine, face_image, "biden.jpg"), actor=ADMIN) == []

    entries = AuditLog(shop.db).entries()
    assert [(e.actor, e.action, e.details) for e in entries] == [
        (ADMIN, "request.search", {"matches": 1, "visitors": [shop.obama]}),
        (ADMIN, "request.search", {"matches": 0, "visitors": []}),
    ]
    assert AuditLog(shop.db).verify().ok


def test_erasure_leaves_no_byte_of_the_person_and_keeps_the_statistics(
    shop: Shop, engine: VisionEngine, face_image: dict[str, Image], tmp_path: Path
) -> None:
    db, cipher = shop.db, Cipher(load_key(shop.data))
    sealed = [
        bytes(blob)
        for (blob,) in db.execute(
            "SELECT feature_enc FROM template WHERE visitor_id = ?", [shop.obama]
        )
    ]
    plain = [cipher.decrypt(blob, f"template:{shop.obama}".encode()) for blob in sealed]
    assert sealed and all(blob in raw_bytes(shop.data) for blob in sealed)
    visit_ids = [
        r[0] for r in db.execute("SELECT id FROM visit WHERE visitor_id = ?", [shop.obama])
    ]
    dwell = sum(
        r[0]
        for r in db.execute("SELECT dwell_seconds FROM visit WHERE visitor_id = ?", [shop.obama])
    )
    path_points = _count(
        db, f"SELECT COUNT(*) FROM path_point WHERE visit_id IN ({','.join('?' * 4)})", *visit_ids
    )
    started = time.time() - 1
    _WATCH.opened.clear()
    _WATCH.active = True
    try:
        probe = _probe(engine, face_image, PROBE)
        [held] = shop.requests.find(probe, actor=ADMIN)
        result = shop.requests.erase(held.visitor_id, actor=ADMIN)
    finally:
        _WATCH.active = False

    assert (result.visitor_id, result.visits, result.templates) == (shop.obama, 4, len(sealed))
    assert (result.path_points, result.opted_out) == (path_points, False)
    assert _personal_rows(db, shop.obama, visit_ids) == 0
    assert _count(db, "SELECT COUNT(*) FROM visitor") == len(OTHERS)
    on_disk = raw_bytes(shop.data)
    for secret in sealed + plain:
        assert secret not in on_disk
    assert (shop.data / "raiten.db-wal").stat().st_size == 0
    # The anonymous counts stay: the four visits, their hours and their time in the shop.
    assert _count(db, "SELECT SUM(visits) FROM stat_visit_hour") == 4
    assert _count(db, "SELECT COUNT(*) FROM stat_visit_hour") == 4
    stat_dwell = db.execute("SELECT SUM(dwell_seconds) FROM stat_visit_hour").fetchone()[0]
    assert stat_dwell == pytest.approx(dwell)
    # No picture and no other file: nothing but the database was written. (The shared system
    # temp folder is not scanned: other programs write pictures there; the hook sees ours.)
    assert [p for p in _WATCH.opened if not _allowed(p, shop.data)] == []
    assert _new_image_files([tmp_path], started) == []

    assert shop.requests.find(probe, actor=ADMIN) == []
    with pytest.raises(RequestError, match="no visitor"):
        shop.requests.erase(shop.obama, actor=ADMIN)
    entries = AuditLog(db).entries()
    assert [e.action for e in entries] == ["request.search", "request.erase", "request.search"]
    assert entries[1].details == {
        "visitor": shop.obama,
        "visits": 4,
        "templates": len(sealed),
        "path_points": path_points,
    }
    assert AuditLog(db).verify().ok


def test_opt_out_stops_new_records_until_withdrawn(
    shop: Shop,
    engine: VisionEngine,
    face_image: dict[str, Image],
    sightings: dict[str, TrackClosed],
) -> None:
    db, requests, recorder = shop.db, shop.requests, shop.recorder
    probe = _probe(engine, face_image, PROBE)
    requests.erase(shop.obama, actor=ADMIN)
    opt_out = requests.opt_out(probe, actor=ADMIN, store="Shibuya").visitor_id
    assert _actions(db) == ["request.erase", "request.opt_out"]
    (blob,) = db.execute(
        "SELECT feature_enc FROM template WHERE visitor_id = ?", [opt_out]
    ).fetchone()
    plain = Cipher(load_key(shop.data)).decrypt(bytes(blob), f"template:{opt_out}".encode())
    assert np.allclose(np.frombuffer(plain, np.float32), probe)

    [held] = requests.find(probe, actor=ADMIN)
    assert (held.visitor_id, held.kind, held.visit_count, held.templates) == (
        opt_out,
        DO_NOT_TRACK,
        0,
        1,
    )
    assert (held.first_visit, held.last_visit, held.stores) == (None, None, ())
    assert held.expires_at == OPT_OUT_EXPIRY

    recorder.reload_galleries()
    visits_before = _count(db, "SELECT COUNT(*) FROM visit")
    for day, name in enumerate(ENROLLED, start=10):
        assert recorder.record(_on_day(sightings[name], day)).outcome == "suppressed"
    assert _count(db, "SELECT COUNT(*) FROM visit") == visits_before
    assert _count(db, "SELECT COUNT(*) FROM visitor WHERE kind = ?", CUSTOMER) == len(OTHERS)
    customer = recorder.record(_on_day(sightings["biden.jpg"], 20))
    assert customer.new_visitor  # everybody else still counts
    with pytest.raises(RequestError, match="not an opt-out"):
        requests.withdraw_opt_out(customer.visitor_id or "", actor=ADMIN)

    # Retention never ends an opt-out: not by re-applying the policy, not ten years on.
    reapply_policy(db, POLICY)
    sweep(db, POLICY, BASE + timedelta(days=3650))
    assert _count(db, "SELECT COUNT(*) FROM visitor") == 1
    assert _count(db, "SELECT COUNT(*) FROM visitor WHERE id = ?", opt_out) == 1

    requests.withdraw_opt_out(opt_out, actor=ADMIN)
    assert _personal_rows(db, opt_out, []) == 0
    assert bytes(blob) not in raw_bytes(shop.data) and plain not in raw_bytes(shop.data)
    with pytest.raises(RequestError, match="no visitor"):
        requests.withdraw_opt_out(opt_out, actor=ADMIN)
    recorder.reload_galleries()
    again = recorder.record(_on_day(sightings["obama.jpg"], 30))
    assert again.outcome == "visit" and again.new_visitor

    assert _actions(db) == [
        "request.erase",
        "request.opt_out",
        "request.search",
        "request.opt_out_withdrawn",
    ]
    assert AuditLog(db).verify().ok


def test_an_opt_out_before_any_visit_holds_in_every_store(
    tmp_path: Path,
    engine: VisionEngine,
    face_image: dict[str, Image],
    sightings: dict[str, TrackClosed],
) -> None:
    data = tmp_path / "data"
    db = open_database(data)
    requests = _requests(data, db, engine)
    probe = _probe(engine, face_image, PROBE)
    with pytest.raises(RequestError, match="complete the notice"):
        requests.opt_out(probe, actor=ADMIN)
    profile = NoticeProfile.model_validate(tomllib.loads(COMPLETE))
    NoticeStore(db).save(profile)

    opt_out = requests.opt_out(probe, actor=ADMIN).visitor_id

    row = db.execute(
        "SELECT o.name, s.name, v.kind FROM visitor v JOIN store s ON s.id = v.home_store_id "
        "JOIN operator o ON o.id = v.operator_id WHERE v.id = ?",
        [opt_out],
    ).fetchone()
    assert row == (profile.operator, profile.store, DO_NOT_TRACK)
    # A recorder of the same operator in another store, started afterwards.
    embedder = engine.embedder
    assert embedder is not None
    recorder = VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator=profile.operator,
            store="梅田店",
            mode=Mode.REPEAT,
            retention=POLICY,
            model=embedder.info.model_id,
            threshold=embedder.threshold,
            dim=embedder.dim,
        ),
    )
    assert recorder.record(sightings["obama.jpg"]).outcome == "suppressed"
    assert _count(db, "SELECT COUNT(*) FROM visit") == 0
    assert _actions(db) == ["request.opt_out"]


def test_the_counter_search_shows_look_alikes_the_open_set_decision_rejects() -> None:
    """No margin at the counter: two close candidates are both shown, best first."""
    rng = np.random.default_rng(7)
    person = rng.normal(size=128).astype(np.float32)
    person /= np.linalg.norm(person)
    gallery = Gallery(128, threshold=0.9, margin=0.02)
    for name, noise in (("a", 0.20), ("b", 0.22), ("c", 5.0)):
        template = person + noise * rng.normal(size=128).astype(np.float32) / np.sqrt(128)
        gallery.add(name, template / np.linalg.norm(template), 1.0)
    assert gallery.search(person).visitor_id is None  # within the margin: "new"
    found = gallery.scores_at_least(person, 0.9)
    assert [name for name, _ in found] == ["a", "b"]
    assert found[0][1] >= found[1][1] >= 0.9


def test_a_running_recorder_survives_the_erasure_of_a_visitor(
    shop: Shop, sightings: dict[str, TrackClosed]
) -> None:
    """The recorder's in-memory gallery still holds obama after another connection erased
    him; his next track must become a new visitor, not an AssertionError."""
    shop.requests.erase(shop.obama, actor=ADMIN)

    again = shop.recorder.record(_on_day(sightings["obama.jpg"], 10))

    assert (again.outcome, again.new_visitor, again.is_repeat) == ("visit", True, False)
    assert again.visitor_id != shop.obama
    assert shop.recorder.galleries[CUSTOMER].templates_of(shop.obama) == []
    later = shop.recorder.record(_on_day(sightings["obama2.jpg"], 11))
    assert later.visitor_id == again.visitor_id and later.is_repeat


def test_a_picture_without_a_face_gives_a_plain_no_face_error(engine: VisionEngine) -> None:
    grey = np.full((480, 640, 3), 128, np.uint8)
    with pytest.raises(NoFaceError, match=r"^No face was found in the picture\."):
        probe_from_image(engine, grey)


def test_a_probe_from_an_mjpeg_camera_matches_the_picture(
    engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    server = MjpegServer(FACES / "obama.jpg", fps=10)
    server.start()
    try:
        feature = probe_from_source(engine, parse_source(server.url), timeout=10)
    finally:
        server.stop()
    # The stream re-encodes the picture as JPEG: close, not identical.
    assert float(feature @ _probe(engine, face_image, "obama.jpg")) > 0.98


def test_a_probe_from_a_file_matches_the_picture(
    engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    feature = probe_from_source(engine, parse_source(str(FACES / "obama2.jpg")))
    # FFmpeg decodes the file, with its own colour conversion: close, not identical.
    assert float(feature @ _probe(engine, face_image, "obama2.jpg")) > 0.99


def test_a_camera_showing_nobody_gives_no_face_error(engine: VisionEngine) -> None:
    # The demo shop is empty for its first three seconds (45 frames).
    with pytest.raises(NoFaceError, match="No face was found in 15 pictures"):
        probe_from_source(engine, parse_source("demo"), attempts=15)


def test_an_unreachable_camera_fails_promptly_with_a_plain_error(engine: VisionEngine) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused = f"http://user:secret@127.0.0.1:{closed.getsockname()[1]}/stream"
    closed.close()
    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        for url in (refused, f"http://127.0.0.1:{silent.getsockname()[1]}/stream"):
            started = time.monotonic()
            with pytest.raises(SourceError, match="Cannot connect") as caught:
                probe_from_source(engine, parse_source(url), timeout=2)
            assert time.monotonic() - started < 6
            assert "secret" not in str(caught.value)
    finally:
        silent.close()
