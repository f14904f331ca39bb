"""Retention (G-04) and purge (G-14) on real SQLite files, with frozen clocks; the raw bytes
of the file and its WAL are scanned for a known feature (G-11)."""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlite_utils

from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.retention import (
    RetentionPolicy,
    ScrubIncompleteError,
    expiry_for,
    reapply_policy,
    sweep,
)
from desktopapp.core.store.statistics import STAT_TABLES

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
POLICY = RetentionPolicy(days=30)
BEFORE_EXPIRY = T0 + timedelta(days=29)
AFTER_EXPIRY = T0 + timedelta(days=31)
PERSONAL = ("visitor", "template", "visit", "path_point", "zone_dwell")
OTHER = ("operator", "store", "camera", "notice_version", "audit", "setting")


@dataclass
class Gallery:
    """What the fixture wrote, by name: visitor ids and their templates' bytes."""

    data_dir: Path
    db: sqlite_utils.Database
    ids: dict[str, str] = field(default_factory=dict)
    ciphertexts: dict[str, list[bytes]] = field(default_factory=dict)
    plaintexts: dict[str, list[bytes]] = field(default_factory=dict)


def _add_visit(
    conn: sqlite3.Connection,
    store_id: int,
    visitor_id: str | None,
    started: datetime,
    *,
    dwell: float = 600.0,
    age_band: str | None = "30-39",
    gender: str | None = "female",
    is_repeat: int = 0,
) -> None:
    ended = started + timedelta(seconds=dwell)
    visit_id = conn.execute(
        """INSERT INTO visit (store_id, visitor_id, started_at, ended_at, dwell_seconds,
        age_band, gender, is_repeat, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'repeat')""",
        (
            store_id,
            visitor_id,
            started.isoformat(),
            ended.isoformat(),
            dwell,
            age_band,
            gender,
            is_repeat,
        ),
    ).lastrowid
    for minute in (1, 2):
        conn.execute(
            "INSERT INTO path_point (visit_id, camera_id, at, x, y) VALUES (?, 1, ?, ?, ?)",
            (visit_id, (started + timedelta(minutes=minute)).isoformat(), 1.5 * minute, 2.0),
        )


def _add_visitor(
    gallery: Gallery,
    cipher: Cipher,
    name: str,
    *,
    kind: str = "customer",
    visits: list[datetime],
    templates: int,
) -> None:
    conn = gallery.db.conn
    visitor_id = str(uuid.uuid4())
    first, last = min(visits), max(visits)
    conn.execute(
        """INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, last_seen,
        visit_count, expires_at) VALUES (?, 1, 1, ?, ?, ?, ?, ?)""",
        (
            visitor_id,
            kind,
            first.isoformat(),
            last.isoformat(),
            len(visits),
            expiry_for(first, last, POLICY).isoformat(),
        ),
    )
    gallery.ids[name] = visitor_id
    for _ in range(templates):
        plain = np.random.default_rng().standard_normal(128).astype(np.float32).tobytes()
        sealed = cipher.encrypt(plain, b"template")
        conn.execute(
            """INSERT INTO template (visitor_id, model, quality, feature_enc, created_at)
            VALUES (?, 'test', 0.9, ?, ?)""",
            (visitor_id, sealed, first.isoformat()),
        )
        gallery.plaintexts.setdefault(name, []).append(plain)
        gallery.ciphertexts.setdefault(name, []).append(sealed)
    for number, started in enumerate(visits):
        _add_visit(conn, 1 + number % 2, visitor_id, started, is_repeat=int(number > 0))


@pytest.fixture
def gallery(tmp_path: Path) -> Gallery:
    """Two stores; customers A (expires at T0+30d, or T0+50d counted from the last visit),
    B (T0+45d) and C (T0+30d, unknown attributes), staff S and opted-out D (T0+30d), two
    anonymous visits."""
    db = open_database(tmp_path)
    made = Gallery(tmp_path, db)
    cipher = Cipher(secrets.token_bytes(32))
    conn = db.conn
    at = T0.isoformat()
    conn.execute("INSERT INTO operator (id, name, created_at) VALUES (1, 'Op', ?)", (at,))
    for store_id in (1, 2):
        conn.execute(
            "INSERT INTO store (id, operator_id, name, created_at) VALUES (?, 1, ?, ?)",
            (store_id, f"Store {store_id}", at),
        )
    conn.execute(
        """INSERT INTO camera (name, source_kind, location_enc, mask_style, analysis_fps,
        created_at, store_id) VALUES ('Door', 'file', ?, 'pixelate', 10, ?, 1)""",
        (cipher.encrypt(b"/videos/door.mp4", b"camera.location"), at),
    )
    conn.execute(
        """INSERT INTO notice_version (version, created_at, profile_json, sha256)
        VALUES (1, ?, '{}', 'abc')""",
        (at,),
    )
    conn.execute(
        """INSERT INTO audit (at, actor, action, details_json, prev_hash, hash)
        VALUES (?, 'admin', 'login', '{}', '', 'h1')""",
        (at,),
    )
    conn.execute("INSERT INTO setting (key, value_json) VALUES ('retention_days', '30')")
    days = [T0 + timedelta(days=d, minutes=30) for d in (0, 10, 20)]
    _add_visitor(made, cipher, "A", visits=days, templates=2)
    _add_visitor(made, cipher, "B", visits=[T0 + timedelta(days=15)], templates=1)
    _add_visitor(made, cipher, "S", kind="staff", visits=days[:2], templates=1)
    _add_visitor(made, cipher, "C", visits=[T0 + timedelta(hours=3)], templates=3)
    _add_visitor(made, cipher, "D", kind="dnt", visits=[T0 + timedelta(hours=3)], templates=1)
    conn.execute(
        "UPDATE visit SET age_band = NULL, gender = NULL WHERE visitor_id = ?", (made.ids["C"],)
    )
    _add_visit(conn, 1, None, T0, age_band="60+", gender="male")
    _add_visit(conn, 2, None, T0 + timedelta(days=25))
    conn.commit()
    return made


def snapshot(db: sqlite_utils.Database, tables: tuple[str, ...]) -> dict[str, list[Any]]:
    return {t: db.conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


def count(db: sqlite_utils.Database, table: str, where: str = "1", *args: object) -> int:
    return int(db.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", args).fetchone()[0])


def customer_totals(db: sqlite_utils.Database) -> Counter[tuple[object, ...]]:
    """Visits and dwell by (store, UTC hour, age band, gender, repeat), counted in the
    statistics plus the customer visits still held; worked out here, not by the module."""
    totals: Counter[tuple[object, ...]] = Counter()
    for store, hour, age, gender, repeat, visits, dwell in db.conn.execute(
        "SELECT store_id, hour, age_band, gender, is_repeat, visits, dwell_seconds"
        " FROM stat_visit_hour"
    ):
        totals[(store, hour, age, gender, repeat, "visits")] += visits
        totals[(store, hour, age, gender, repeat, "dwell")] += round(dwell)
    for store, started, age, gender, repeat, dwell, kind in db.conn.execute(
        """SELECT v.store_id, v.started_at, v.age_band, v.gender, v.is_repeat, v.dwell_seconds,
        p.kind FROM visit AS v LEFT JOIN visitor AS p ON p.id = v.visitor_id"""
    ):
        if kind in ("staff", "dnt"):
            continue
        key = (store, started[:13], age or "unknown", gender or "unknown", repeat)
        totals[(*key, "visits")] += 1
        totals[(*key, "dwell")] += round(dwell)
    return totals


def raw_bytes(data_dir: Path) -> bytes:
    """The database file and its WAL as they lie on disk."""
    return b"".join(
        (data_dir / name).read_bytes()
        for name in (DB_FILE, DB_FILE + "-wal")
        if (data_dir / name).exists()
    )


def test_policy_and_expiry() -> None:
    first, last = T0, T0 + timedelta(days=20)
    assert expiry_for(first, last, POLICY) == T0 + timedelta(days=30)
    assert expiry_for(first, last, RetentionPolicy(30, "last")) == T0 + timedelta(days=50)
    tokyo = first.astimezone(timezone(timedelta(hours=9)))  # same moment, another zone
    assert expiry_for(tokyo, last, POLICY).isoformat() == "2024-03-31T09:00:00+00:00"
    with pytest.raises(ValueError, match="time zone"):
        expiry_for(first.replace(tzinfo=None), last, POLICY)
    for days in (0, 3651):
        with pytest.raises(ValueError, match="between 1 and 3650"):
            RetentionPolicy(days)
    with pytest.raises(ValueError, match="first or the last"):
        RetentionPolicy(30, "middle")  # type: ignore[arg-type]


def test_nothing_is_deleted_before_expiry(gallery: Gallery) -> None:
    before = snapshot(gallery.db, (*PERSONAL, "stat_visit_hour"))
    result = sweep(gallery.db, POLICY, BEFORE_EXPIRY)
    assert (result.visitors, result.templates, result.visits, result.path_points) == (0, 0, 0, 0)
    assert (result.anonymous_visits, result.folded_visits) == (0, 0)
    assert snapshot(gallery.db, (*PERSONAL, "stat_visit_hour")) == before


def test_expired_visitors_go_and_statistics_survive(gallery: Gallery) -> None:
    db, ids = gallery.db, gallery.ids
    totals = customer_totals(db)
    kept = snapshot(db, OTHER)

    result = sweep(db, POLICY, AFTER_EXPIRY)

    # A (3 visits, 2 templates), S (2, 1), C (1, 3) and D (1, 1) expired; B has not; the
    # anonymous visit of T0 is older than the period, the one of T0+25d is not.
    assert (result.visitors, result.templates, result.visits) == (4, 7, 7)
    assert (result.anonymous_visits, result.path_points) == (1, 16)
    assert result.folded_visits == 5  # A's 3, C's 1, the anonymous 1; never staff or dnt
    assert result.seconds > 0
    for name in ("A", "S", "C", "D"):
        visitor_id = ids[name]
        assert count(db, "visitor", "id = ?", visitor_id) == 0
        assert count(db, "template", "visitor_id = ?", visitor_id) == 0
        assert count(db, "visit", "visitor_id = ?", visitor_id) == 0
    assert count(db, "path_point", "visit_id NOT IN (SELECT id FROM visit)") == 0
    assert count(db, "visitor") == 1
    assert count(db, "template", "visitor_id = ?", ids["B"]) == 1
    assert count(db, "visit", "visitor_id = ?", ids["B"]) == 1
    assert count(db, "visit", "visitor_id IS NULL") == 1
    assert count(db, "path_point") == 2 * 2
    assert customer_totals(db) == totals
    assert db.execute("SELECT SUM(visits) FROM stat_visit_hour").fetchone()[0] == 5
    assert count(db, "stat_visit_hour", "age_band = 'unknown' AND gender = 'unknown'") == 1
    assert snapshot(db, OTHER) == kept
    # A second sweep finds nothing more, and folds nothing twice.
    again = sweep(db, POLICY, AFTER_EXPIRY)
    assert (again.visitors, again.visits, again.folded_visits) == (0, 0, 0)
    assert customer_totals(db) == totals


def test_sweep_without_statistics_folds_nothing(gallery: Gallery) -> None:
    result = sweep(gallery.db, RetentionPolicy(30, to_statistics=False), AFTER_EXPIRY)
    assert (result.visitors, result.visits, result.anonymous_visits) == (4, 7, 1)
    assert result.folded_visits == 0
    assert count(gallery.db, "stat_visit_hour") == 0


def test_reapplied_policy_counted_from_the_last_visit_extends_expiry(gallery: Gallery) -> None:
    db, ids = gallery.db, gallery.ids
    last = RetentionPolicy(30, "last")
    # A's last visit is 20 days after its first; the others came once. S is staff: staff, like
    # opt-outs, last until withdrawn and are never re-dated by a retention period.
    assert reapply_policy(db, last) == 1
    expires = db.execute("SELECT expires_at FROM visitor WHERE id = ?", [ids["A"]]).fetchone()
    assert expires[0] == (T0 + timedelta(days=50, minutes=30)).isoformat()
    assert reapply_policy(db, last) == 0
    a_rows = db.execute("SELECT * FROM visit WHERE visitor_id = ?", [ids["A"]]).fetchall()

    result = sweep(db, last, AFTER_EXPIRY)

    assert result.visitors == 3  # C and D, and S on the expiry it was given
    assert db.execute("SELECT * FROM visit WHERE visitor_id = ?", [ids["A"]]).fetchall() == (a_rows)
    assert count(db, "template", "visitor_id = ?", ids["A"]) == 2
    assert reapply_policy(db, POLICY) == 1  # back to first-seen: A changes again


def test_a_failure_mid_sweep_deletes_nothing(gallery: Gallery) -> None:
    db = gallery.db
    # The last step of the sweep (deleting visitors) fails, after the fold and other deletes.
    db.execute(
        "CREATE TRIGGER fail BEFORE DELETE ON visitor BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    before = snapshot(db, (*PERSONAL, "stat_visit_hour"))
    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        sweep(db, POLICY, AFTER_EXPIRY)
    assert not db.conn.in_transaction
    assert snapshot(db, (*PERSONAL, "stat_visit_hour")) == before


def test_swept_features_leave_no_bytes_in_the_file_or_wal(gallery: Gallery) -> None:
    sealed, plain = gallery.ciphertexts["A"][0], gallery.plaintexts["A"][0]
    assert sealed in raw_bytes(gallery.data_dir)  # the scan can see a template
    assert plain not in raw_bytes(gallery.data_dir)  # only ever stored encrypted

    # Control: the same row deleted on a copy without the secure steps stays readable.
    copy = gallery.data_dir / "plain-delete"
    copy.mkdir()
    for name in (DB_FILE, DB_FILE + "-wal"):
        shutil.copy2(gallery.data_dir / name, copy / name)
    conn = sqlite3.connect(copy / DB_FILE)
    conn.execute("PRAGMA secure_delete=OFF")
    conn.execute("DELETE FROM template WHERE feature_enc = ?", (sealed,))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert sealed in raw_bytes(copy)

    sweep(gallery.db, POLICY, AFTER_EXPIRY)

    on_disk = raw_bytes(gallery.data_dir)
    for name in ("A", "S", "C", "D"):
        for secret in gallery.ciphertexts[name] + gallery.plaintexts[name]:
            assert secret not in on_disk
    assert gallery.ciphertexts["B"][0] in on_disk  # B has not expired
    assert (gallery.data_dir / (DB_FILE + "-wal")).stat().st_size == 0


def test_a_reader_holding_the_wal_is_reported_and_a_later_sweep_finishes(
    gallery: Gallery,
) -> None:
    gallery.db.execute("PRAGMA busy_timeout=50")
    reader = sqlite3.connect(gallery.data_dir / DB_FILE)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM visit").fetchone()
    with pytest.raises(ScrubIncompleteError, match="Close it and run this again"):
        sweep(gallery.db, POLICY, AFTER_EXPIRY)
    assert count(gallery.db, "visitor") == 1  # the deletion itself was committed
    reader.close()

    assert sweep(gallery.db, POLICY, AFTER_EXPIRY).visitors == 0
    on_disk = raw_bytes(gallery.data_dir)
    assert all(s not in on_disk for s in gallery.ciphertexts["A"] + gallery.ciphertexts["C"])


def test_purge_keeping_statistics(gallery: Gallery) -> None:
    db = gallery.db
    sweep(db, POLICY, AFTER_EXPIRY)  # some statistics exist already
    totals = customer_totals(db)
    kept = snapshot(db, OTHER)
    fractions: list[float] = []

    result = purge_personal_data(db, keep_statistics=True, progress=fractions.append)

    assert (result.visitors, result.templates, result.visits, result.path_points) == (1, 1, 2, 4)
    assert result.statistics_rows == 0
    assert all(count(db, t) == 0 for t in PERSONAL)
    assert customer_totals(db) == totals
    assert snapshot(db, OTHER) == kept
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(set(fractions))
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_purge_without_statistics_and_no_feature_bytes_remain(gallery: Gallery) -> None:
    db = gallery.db
    sweep(db, POLICY, AFTER_EXPIRY)
    stat_rows = sum(count(db, table) for table in STAT_TABLES)
    assert count(db, "stat_visit_hour") > 0 and count(db, "stat_dwell") > 0
    kept = snapshot(db, OTHER)

    result = purge_personal_data(db, keep_statistics=False)

    assert result.statistics_rows == stat_rows
    assert all(count(db, t) == 0 for t in (*PERSONAL, *STAT_TABLES))
    assert snapshot(db, OTHER) == kept
    on_disk = raw_bytes(gallery.data_dir)
    secrets_held = [b for name in gallery.ids for b in gallery.ciphertexts[name]]
    secrets_held += [b for name in gallery.ids for b in gallery.plaintexts[name]]
    assert all(secret not in on_disk for secret in secrets_held)
    assert (gallery.data_dir / (DB_FILE + "-wal")).stat().st_size == 0


def test_a_failed_purge_deletes_nothing(gallery: Gallery) -> None:
    db = gallery.db
    db.execute(
        "CREATE TRIGGER fail BEFORE DELETE ON visitor BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    before = snapshot(db, (*PERSONAL, "stat_visit_hour"))
    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        purge_personal_data(db, keep_statistics=True)
    assert snapshot(db, (*PERSONAL, "stat_visit_hour")) == before
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_purge_refuses_to_leave_rows_pointing_at_deleted_data(gallery: Gallery) -> None:
    db = gallery.db
    db.execute("CREATE TABLE remark (id INTEGER PRIMARY KEY, visit_id INTEGER REFERENCES visit)")
    db.execute("INSERT INTO remark (visit_id) SELECT MIN(id) FROM visit")
    db.conn.commit()
    before = snapshot(db, (*PERSONAL, "stat_visit_hour"))
    with pytest.raises(sqlite3.IntegrityError, match="remark"):
        purge_personal_data(db, keep_statistics=True)
    assert snapshot(db, (*PERSONAL, "stat_visit_hour")) == before
