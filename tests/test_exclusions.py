"""Opt-outs and staff on real faces and real models (issue 16.7): exclusion decides by the
threshold alone, a second opt-out of one person joins the first, consenting staff are enrolled,
left out of every statistic and withdrawn, and a purge keeps both unless told otherwise."""

from __future__ import annotations

import json
import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest

from desktopapp.cli import main
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pipeline import TrackClosed
from desktopapp.core.requests import RequestError
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.staff import StaffRegister
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image
from desktopapp.core.visits import CUSTOMER, DO_NOT_TRACK, STAFF
from tests.conftest import FACES
from tests.streams import MjpegServer
from tests.test_notice import COMPLETE
from tests.test_public_requests import (  # noqa: F401 - fixtures
    ADMIN,
    BASE,
    ENROLLED,
    OTHERS,
    PROBE,
    Shop,
    _count,
    _on_day,
    _probe,
    _recorder,
    shop,
    sightings,
)
from tests.test_retention_purge import raw_bytes

pytestmark = pytest.mark.timeout(300)

EMPLOYEE = "biden.jpg"


def _staff(made: Shop) -> StaffRegister:
    """The shop's register, with a notice in force naming its store (staff belong to it)."""
    profile = NoticeProfile.model_validate(tomllib.loads(COMPLETE))
    NoticeStore(made.db).save(profile.model_copy(update={"store": "Shibuya"}))
    return StaffRegister(made.db, made.requests, AuditLog(made.db), clock=lambda: BASE)


def test_two_opt_out_records_of_one_person_do_not_cancel_each_other(
    tmp_path: Path,
    engine: VisionEngine,
    face_image: dict[str, Image],
    sightings: dict[str, TrackClosed],  # noqa: F811
) -> None:
    """Two do-not-track records scoring alike (one person opted out twice, as the counter
    allowed before, or two look-alikes who both opted out): under the margin rule neither
    matched and the person was recorded as a customer."""
    data = tmp_path / "data"
    recorder = _recorder(data, engine)
    probe = _probe(engine, face_image, PROBE)
    with recorder.store.db.conn:
        operator_id, store_id = recorder.operator_id, recorder.store_id
        for visitor_id in ("dnt-1", "dnt-2"):
            recorder.store.add_visitor(
                visitor_id,
                operator_id=operator_id,
                store_id=store_id,
                kind=DO_NOT_TRACK,
                seen=BASE,
                expires_at=BASE + timedelta(days=36500),
            )
            recorder.store.replace_templates(
                visitor_id, recorder.config.model, [(1.0, probe)], BASE
            )
    recorder.reload_galleries()
    for day, name in enumerate(ENROLLED):
        assert recorder.record(_on_day(sightings[name], day)).outcome == "suppressed", name
    assert recorder.record(_on_day(sightings["messi5.jpg"], 9)).new_visitor
    conn = recorder.store.db.conn
    assert conn.execute("SELECT COUNT(*) FROM visitor WHERE kind = ?", [CUSTOMER]).fetchone() == (
        1,
    )


def test_a_second_opt_out_of_the_same_person_joins_the_first(
    shop: Shop,  # noqa: F811
    engine: VisionEngine,
    face_image: dict[str, Image],
) -> None:
    shop.requests.erase(shop.obama, actor=ADMIN)
    first = shop.requests.opt_out(_probe(engine, face_image, PROBE), actor=ADMIN, store="Shibuya")
    again = shop.requests.opt_out(
        _probe(engine, face_image, "obama.jpg"), actor=ADMIN, store="Shibuya"
    )
    assert not first.merged and again.merged
    assert again.visitor_id == first.visitor_id
    assert _count(shop.db, "SELECT COUNT(*) FROM visitor WHERE kind = ?", DO_NOT_TRACK) == 1
    assert (
        _count(shop.db, "SELECT COUNT(*) FROM template WHERE visitor_id = ?", first.visitor_id) == 2
    )
    # Somebody else's opt-out is a new record.
    other = shop.requests.opt_out(
        _probe(engine, face_image, "messi5.jpg"), actor=ADMIN, store="Shibuya"
    )
    assert not other.merged and other.visitor_id != first.visitor_id
    details = [e.details for e in AuditLog(shop.db).entries() if e.action == "request.opt_out"]
    assert [d["merged"] for d in details] == [False, True, False]
    # The counter shows the person as opted out once.
    held = shop.requests.find(_probe(engine, face_image, "obama2.jpg"), actor=ADMIN)
    assert [(h.visitor_id, h.kind) for h in held] == [(first.visitor_id, DO_NOT_TRACK)]


def test_staff_are_enrolled_with_consent_left_out_and_withdrawn(
    shop: Shop,  # noqa: F811
    engine: VisionEngine,
    face_image: dict[str, Image],
    sightings: dict[str, TrackClosed],  # noqa: F811
) -> None:
    staff = _staff(shop)
    with pytest.raises(RequestError, match="future"):
        staff.enrol(
            _probe(engine, face_image, EMPLOYEE),
            consented_on=date.today() + timedelta(days=2),
            actor=ADMIN,
        )
    consented = date(2026, 10, 30)
    enrolment = staff.enrol(
        _probe(engine, face_image, EMPLOYEE), consented_on=consented, actor=ADMIN
    )
    member = enrolment.member
    assert not enrolment.merged
    assert (member.number, member.consented_on, member.recorded_by, member.templates) == (
        1,
        consented,
        ADMIN,
        1,
    )
    assert member.recorded_at == BASE
    # The same employee again: one staff member with a second capture, not staff 2.
    again = staff.enrol(_probe(engine, face_image, EMPLOYEE), consented_on=consented, actor=ADMIN)
    assert again.merged and again.member.number == 1 and again.member.templates == 2
    other = staff.enrol(
        _probe(engine, face_image, "messi5.jpg"), consented_on=consented, actor=ADMIN
    )
    assert other.member.number == 2
    assert [m.number for m in staff.members()] == [1, 2]

    shop.recorder.reload_galleries()
    visits = _count(shop.db, "SELECT COUNT(*) FROM visit")
    assert shop.recorder.record(_on_day(sightings[EMPLOYEE], 20)).outcome == "suppressed"
    assert _count(shop.db, "SELECT COUNT(*) FROM visit") == visits

    sealed = [
        bytes(blob)
        for (blob,) in shop.db.execute(
            "SELECT feature_enc FROM template WHERE visitor_id = ?", [member.visitor_id]
        )
    ]
    removed = staff.remove(1, actor=ADMIN)
    assert removed.visitor_id == member.visitor_id
    assert [m.number for m in staff.members()] == [2]
    assert _count(shop.db, "SELECT COUNT(*) FROM visitor WHERE id = ?", member.visitor_id) == 0
    on_disk = raw_bytes(shop.data)
    assert all(blob not in on_disk for blob in sealed)
    with pytest.raises(RequestError, match="no staff member number 1"):
        staff.remove(1, actor=ADMIN)
    shop.recorder.reload_galleries()
    assert shop.recorder.record(_on_day(sightings[EMPLOYEE], 21)).new_visitor
    entries = [(e.action, e.details) for e in AuditLog(shop.db).entries()]
    assert [a for a, _ in entries if a.startswith("staff.")] == [
        "staff.add",
        "staff.add",
        "staff.add",
        "staff.remove",
    ]
    assert entries[0][1] == {
        "visitor": member.visitor_id,
        "number": 1,
        "consented_on": "2026-10-30",
        "merged": False,
    }
    assert AuditLog(shop.db).verify().ok


def test_purge_keeps_opt_outs_and_staff_unless_told(
    shop: Shop,  # noqa: F811
    engine: VisionEngine,
    face_image: dict[str, Image],
    sightings: dict[str, TrackClosed],  # noqa: F811
) -> None:
    opt_out = shop.requests.opt_out(_probe(engine, face_image, PROBE), actor=ADMIN, store="Shibuya")
    _staff(shop).enrol(_probe(engine, face_image, EMPLOYEE), consented_on=BASE.date(), actor=ADMIN)
    shop.recorder.store.db.close()

    result = purge_personal_data(shop.db, keep_statistics=True)
    assert result.exclusions_kept == 2
    assert result.visitors == 1 + len(OTHERS)  # obama and the three others
    kinds = shop.db.execute("SELECT kind FROM visitor ORDER BY kind").fetchall()
    assert kinds == [(DO_NOT_TRACK,), (STAFF,)]
    assert _count(shop.db, "SELECT COUNT(*) FROM template") == 2
    assert _count(shop.db, "SELECT COUNT(*) FROM staff_consent") == 1
    assert _count(shop.db, "SELECT COUNT(*) FROM visit") == 0
    assert shop.db.execute("PRAGMA foreign_key_check").fetchall() == []
    # A recorder started after the purge still leaves both out.
    recorder = _recorder(shop.data, engine)
    assert recorder.record(_on_day(sightings["obama.jpg"], 30)).outcome == "suppressed"
    assert recorder.record(_on_day(sightings[EMPLOYEE], 30)).outcome == "suppressed"
    recorder.store.db.close()

    sealed = [bytes(blob) for (blob,) in shop.db.execute("SELECT feature_enc FROM template")]
    everything = purge_personal_data(shop.db, keep_statistics=True, include_exclusions=True)
    assert everything.exclusions_kept == 0 and everything.visitors == 2
    assert _count(shop.db, "SELECT COUNT(*) FROM visitor") == 0
    assert _count(shop.db, "SELECT COUNT(*) FROM staff_consent") == 0
    assert len(sealed) == 2 and all(blob not in raw_bytes(shop.data) for blob in sealed)
    assert _count(shop.db, "SELECT COUNT(*) FROM visitor WHERE id = ?", opt_out.visitor_id) == 0


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_staff_and_purge_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path)
    db = open_database(tmp_path)
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))
    db.conn.close()
    picture = str(FACES / EMPLOYEE)

    code, _out, err = _cli(capsys, "staff", "add", picture, "--data-dir", data)
    assert code == 2 and "consent" in err and len(err.strip().splitlines()) == 1
    code, _out, err = _cli(capsys, "staff", "add", "--data-dir", data, "--consented")
    assert code == 2 and "picture" in err

    code, out, _err = _cli(
        capsys, "staff", "add", picture, "--consented", "--consented-on", "2026-11-02",
        "--data-dir", data, "--json",
    )  # fmt: skip
    assert code == 0
    added = json.loads(out)
    assert (added["number"], added["consented_on"], added["merged"]) == (1, "2026-11-02", False)
    assert added["recorded_by"].startswith("cli:")

    # From a camera: an MJPEG camera showing the same employee joins their record.
    server = MjpegServer(FACES / EMPLOYEE, fps=10)
    server.start()
    try:
        db = open_database(tmp_path)
        camera = CameraStore(db, Cipher(load_key(tmp_path))).add(
            Camera(name="Back office", source=SourceSpec(SourceKind.HTTP, server.url))
        )
        db.conn.close()
        code, out, err = _cli(
            capsys, "staff", "add", "--camera", str(camera.camera_id), "--consented",
            "--data-dir", data, "--json",
        )  # fmt: skip
    finally:
        server.stop()
    assert code == 0, err
    assert json.loads(out)["merged"] is True and json.loads(out)["number"] == 1

    code, out, _err = _cli(capsys, "staff", "list", "--data-dir", data, "--json")
    [listed] = json.loads(out)["staff"]
    assert (listed["number"], listed["captures"]) == (1, 2)

    code, out, _err = _cli(capsys, "purge", "--yes", "--data-dir", data, "--json")
    assert code == 0 and json.loads(out)["exclusions_kept"] == 1
    code, out, _err = _cli(capsys, "staff", "list", "--data-dir", data)
    assert "staff 1" in out

    code, _out, err = _cli(capsys, "staff", "remove", "7", "--data-dir", data)
    assert code == 2 and "no staff member number 7" in err
    code, out, _err = _cli(capsys, "staff", "remove", "1", "--data-dir", data)
    assert code == 0 and "staff 1 removed" in out
    code, out, _err = _cli(capsys, "staff", "list", "--data-dir", data)
    assert out.strip() == "no staff enrolled"

    _cli(capsys, "staff", "add", picture, "--consented", "--data-dir", data)
    code, out, _err = _cli(
        capsys, "purge", "--yes", "--include-exclusions", "--data-dir", data, "--json"
    )
    assert code == 0 and json.loads(out)["exclusions_kept"] == 0
    db = open_database(tmp_path)
    purges = [e.details for e in AuditLog(db).entries() if e.action == "purge"]
    assert [p["include_exclusions"] for p in purges] == [False, True]
    assert _count(db, "SELECT COUNT(*) FROM visitor") == 0
    actions = [e.action for e in AuditLog(db).entries()]
    assert actions.count("staff.add") == 3 and actions.count("staff.remove") == 1
    db.conn.close()
