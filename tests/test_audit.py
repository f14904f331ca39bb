"""G-09: the audit log is append-only and hash-chained; tampering with the file is detected."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from desktopapp.core.store.audit import GENESIS, AuditLog
from desktopapp.core.store.db import DB_FILE, open_database

START = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


def stepping_clock(step: timedelta = timedelta(minutes=1)) -> Callable[[], datetime]:
    """A fixed clock: START, START + step, ... so hashes are reproducible."""
    ticks = iter(range(1_000_000))
    return lambda: START + step * next(ticks)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path)
    yield database
    database.conn.close()


@pytest.fixture
def audit(db: sqlite_utils.Database) -> AuditLog:
    return AuditLog(db, clock=stepping_clock())


@pytest.fixture
def five(audit: AuditLog) -> AuditLog:
    """A log of five entries, 1..5."""
    for n in range(1, 6):
        audit.append("admin", f"action-{n}", {"n": n})
    assert audit.verify().ok
    return audit


def attack(data_dir: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Edit the file with plain sqlite3, as someone with the file but not the app would."""
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        triggers = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
        ).fetchall()
        assert triggers, "the append-only triggers are missing"
        for (name,) in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.commit()
    finally:
        conn.close()


def reference_hash(*fields: Any) -> str:
    """The documented hash of (id, at, actor, action, details, prev_hash), computed
    independently of the implementation."""
    payload = json.dumps(
        list(fields),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_each_append_adds_one_entry_to_an_unbroken_chain(audit: AuditLog) -> None:
    assert audit.verify().ok
    assert audit.verify().entries == 0
    made = []
    for n in range(1, 4):
        made.append(audit.append("admin", "settings.change", {"key": "threshold", "to": n}))
        assert len(audit.entries()) == n
    assert [e.entry_id for e in made] == [1, 2, 3]
    assert made[0].prev_hash == GENESIS
    assert [e.prev_hash for e in made[1:]] == [e.hash for e in made[:-1]]
    assert len({e.hash for e in made}) == 3
    assert audit.entries() == made
    result = audit.verify()
    assert (result.ok, result.entries, result.first_bad_id, result.problem) == (True, 3, None, "")


def test_hashes_are_reproducible_with_a_fixed_clock(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        database = open_database(tmp_path / name)
        log = AuditLog(database, clock=stepping_clock())
        runs.append([log.append("cli:mika", "export", {"rows": n}).hash for n in range(3)])
        database.conn.close()
    assert runs[0] == runs[1]
    first_at = START.isoformat(timespec="microseconds")
    assert runs[0][0] == reference_hash(1, first_at, "cli:mika", "export", {"rows": 0}, GENESIS)


def test_append_records_the_head_in_the_setting_table(
    db: sqlite_utils.Database, five: AuditLog
) -> None:
    head = json.loads(
        db.execute("SELECT value_json FROM setting WHERE key = 'audit.head'").fetchone()[0]
    )
    assert head == {"count": 5, "hash": five.entries()[-1].hash}


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "mallory"),
        ("action", "nothing.happened"),
        ("details_json", '{"n":99}'),
        ("details_json", '{"n": 3}'),  # same meaning, different bytes
        ("at", "2020-01-01T00:00:00.000000+00:00"),
        ("prev_hash", GENESIS),
        ("hash", "f" * 64),
    ],
)
def test_an_edited_row_is_named(tmp_path: Path, five: AuditLog, column: str, value: str) -> None:
    attack(tmp_path, (f"UPDATE audit SET {column} = ? WHERE id = 3", (value,)))
    result = five.verify()
    assert not result.ok
    assert result.first_bad_id == 3
    assert result.problem == "entry 3 was altered"
    assert result.entries == 5


def test_a_row_deleted_from_the_middle_shows_as_a_gap(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit WHERE id = 3", ()))
    result = five.verify()
    assert (result.ok, result.first_bad_id, result.entries) == (False, 3, 4)
    assert result.problem == "entry 3 is missing (ids jump from 2 to 4)"


def test_deleting_the_first_rows_is_detected(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit WHERE id <= 2", ()))
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 1)
    assert result.problem == "entries 1 to 2 are missing (the log starts at 3)"


def test_deleting_the_last_row_is_caught_by_the_head(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit WHERE id = 5", ()))
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 5)
    assert (
        result.problem == "entry 5 is missing (the log ends at entry 4 but 5 entries were written)"
    )


def test_truncating_the_tail_is_caught_by_the_head(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit WHERE id >= 3", ()))
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert result.problem.startswith("entries 3 to 5 are missing")


def test_emptying_the_log_is_caught_by_the_head(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit", ()))
    result = five.verify()
    assert (result.ok, result.first_bad_id, result.entries) == (False, 1, 0)


def test_a_later_append_does_not_hide_a_deleted_tail(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM audit WHERE id = 5", ()))
    entry = five.append("admin", "login")
    assert entry.entry_id == 6
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 5)
    assert result.problem == "entry 5 is missing (ids jump from 4 to 6)"


def test_swapped_details_are_detected(tmp_path: Path, five: AuditLog) -> None:
    attack(
        tmp_path,
        ("UPDATE audit SET details_json = '{\"n\":4}' WHERE id = 2", ()),
        ("UPDATE audit SET details_json = '{\"n\":2}' WHERE id = 4", ()),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id, result.problem) == (False, 2, "entry 2 was altered")


def test_reordered_rows_are_detected(tmp_path: Path, five: AuditLog) -> None:
    # Move entry 2 to the end and renumber it, as if it had happened last.
    attack(
        tmp_path,
        ("UPDATE audit SET id = 99 WHERE id = 2", ()),
        ("UPDATE audit SET id = 2 WHERE id = 4", ()),
        ("UPDATE audit SET id = 4 WHERE id = 99", ()),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 2)


def test_a_forged_row_with_a_wrong_link_is_detected(tmp_path: Path, five: AuditLog) -> None:
    original = five.entries()[2]
    at = original.at.isoformat(timespec="microseconds")
    wrong_prev = five.entries()[0].hash
    forged = reference_hash(3, at, "mallory", "purge", {}, wrong_prev)
    attack(
        tmp_path,
        ("DELETE FROM audit WHERE id = 3", ()),
        (
            "INSERT INTO audit VALUES (3, ?, 'mallory', 'purge', '{}', ?, ?)",
            (at, wrong_prev, forged),
        ),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert result.problem == "entry 3 does not follow entry 2 (chain broken)"


def test_a_forged_row_with_the_right_link_breaks_the_next(tmp_path: Path, five: AuditLog) -> None:
    entries = five.entries()
    at = entries[2].at.isoformat(timespec="microseconds")
    forged = reference_hash(3, at, "mallory", "purge", {}, entries[1].hash)
    attack(
        tmp_path,
        ("DELETE FROM audit WHERE id = 3", ()),
        (
            "INSERT INTO audit VALUES (3, ?, 'mallory', 'purge', '{}', ?, ?)",
            (at, entries[1].hash, forged),
        ),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert result.problem == "entry 4 does not follow entry 3 (chain broken)"


def test_a_rewritten_last_row_is_caught_by_the_head(tmp_path: Path, five: AuditLog) -> None:
    entries = five.entries()
    at = entries[4].at.isoformat(timespec="microseconds")
    forged = reference_hash(5, at, "mallory", "login", {}, entries[3].hash)
    attack(
        tmp_path,
        (
            "UPDATE audit SET actor = 'mallory', action = 'login', details_json = '{}', "
            "hash = ? WHERE id = 5",
            (forged,),
        ),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 5)
    assert result.problem == "entry 5 was replaced (it does not match the log's head)"


def test_a_row_appended_behind_the_logs_back_is_detected(tmp_path: Path, five: AuditLog) -> None:
    last = five.entries()[-1]
    at = (last.at + timedelta(minutes=1)).isoformat(timespec="microseconds")
    forged = reference_hash(6, at, "admin", "login", {}, last.hash)
    attack(
        tmp_path,
        ("INSERT INTO audit VALUES (6, ?, 'admin', 'login', '{}', ?, ?)", (at, last.hash, forged)),
    )
    result = five.verify()
    assert (result.ok, result.first_bad_id) == (False, 6)
    assert (
        result.problem
        == "entry 6 was added outside the audit log (only 5 entries were written through it)"
    )


def test_a_deleted_head_is_detected(tmp_path: Path, five: AuditLog) -> None:
    attack(tmp_path, ("DELETE FROM setting WHERE key = 'audit.head'", ()))
    result = five.verify()
    assert not result.ok
    assert result.problem == "the audit log's head record is missing"


def test_triggers_stop_updates_and_deletes(db: sqlite_utils.Database, five: AuditLog) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only: entries cannot be changed"):
        db.table("audit").update(2, {"actor": "mallory"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only: entries cannot be deleted"):
        db.table("audit").delete(2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.table("audit").delete_where()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"), db.conn:
        db.conn.execute("UPDATE audit SET details_json = '{}'")
    assert five.verify().ok
    assert len(five.entries()) == 5


def test_triggers_are_created_idempotently_and_guard_other_connections(
    tmp_path: Path, five: AuditLog, db: sqlite_utils.Database
) -> None:
    AuditLog(db)  # a second instance on the same file must not fail
    conn = sqlite3.connect(tmp_path / DB_FILE)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit WHERE id = 5")
    finally:
        conn.close()
    assert five.verify().ok


def test_bytes_in_details_are_refused(audit: AuditLog) -> None:
    for details in (
        {"feature": b"\x00\x01"},
        {"nested": [{"feature": bytearray(b"\x02")}]},
        {"view": memoryview(b"abc")},
    ):
        with pytest.raises(ValueError, match="cannot hold bytes"):
            audit.append("admin", "export", details)
    assert audit.entries() == []


@pytest.mark.parametrize(
    "details",
    [
        {"when": datetime(2025, 1, 1, tzinfo=UTC)},
        {"ids": {1, 2}},
        {"x": float("nan")},
        {(1, 2): "tuple key"},
        {1: "a", "b": 2},  # keys JSON cannot sort together
    ],
)
def test_non_serialisable_details_are_refused(audit: AuditLog, details: dict[Any, Any]) -> None:
    with pytest.raises(ValueError):
        audit.append("admin", "export", details)
    assert audit.entries() == []
    assert audit.verify().ok


def test_details_are_stored_as_json_reads_them_back(audit: AuditLog) -> None:
    details: dict[str, Any] = {"range": (1, 2), "by_camera": {7: "int key", 10: "sorted apart"}}
    entry = audit.append("admin", "export", details)
    assert entry.details == {"range": [1, 2], "by_camera": {"7": "int key", "10": "sorted apart"}}
    assert audit.entries()[0].details == entry.details
    assert audit.verify().ok


@pytest.mark.parametrize("bad", ["", "   ", "x" * 201])
def test_actor_and_action_must_be_short_and_non_empty(audit: AuditLog, bad: str) -> None:
    with pytest.raises(ValueError, match="actor"):
        audit.append(bad, "login")
    with pytest.raises(ValueError, match="action"):
        audit.append("admin", bad)
    assert audit.append("a" * 200, "b" * 200).entry_id == 1


def test_append_refuses_to_join_an_open_transaction(db: sqlite_utils.Database) -> None:
    audit = AuditLog(db)
    db.conn.execute("INSERT INTO setting (key, value_json) VALUES ('x', '1')")
    assert db.conn.in_transaction
    with pytest.raises(RuntimeError, match="commit"):
        audit.append("admin", "login")
    db.conn.rollback()
    assert audit.entries() == []


def test_concurrent_writers_keep_one_chain(tmp_path: Path, db: sqlite_utils.Database) -> None:
    per_thread = 40
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(name: str) -> None:
        own = open_database(tmp_path)  # each thread its own connection to the same file
        try:
            log = AuditLog(own)
            barrier.wait()
            for n in range(per_thread):
                log.append(name, "login", {"n": n})
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            own.conn.close()

    threads = [threading.Thread(target=writer, args=(f"user{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=25)
    assert not errors
    audit = AuditLog(db)
    entries = audit.entries()
    assert [e.entry_id for e in entries] == list(range(1, 2 * per_thread + 1))
    assert {e.actor for e in entries} == {"user0", "user1"}
    result = audit.verify()
    assert (result.ok, result.entries) == (True, 2 * per_thread)


def test_entries_filter_by_actor_action_and_time(db: sqlite_utils.Database) -> None:
    audit = AuditLog(db, clock=stepping_clock(timedelta(hours=1)))
    audit.append("admin", "login")  # 09:00
    audit.append("mika", "login")  # 10:00
    audit.append("admin", "export", {"rows": 10})  # 11:00
    audit.append("mika", "purge")  # 12:00
    assert [e.entry_id for e in audit.entries(actor="mika")] == [2, 4]
    assert [e.entry_id for e in audit.entries(action="login")] == [1, 2]
    assert [e.entry_id for e in audit.entries(actor="admin", action="export")] == [3]
    since, until = START + timedelta(hours=1), START + timedelta(hours=3)
    assert [e.entry_id for e in audit.entries(since=since, until=until)] == [2, 3]
    # Another timezone names the same instant.
    jst = timezone(timedelta(hours=9))
    assert [e.entry_id for e in audit.entries(since=since.astimezone(jst))] == [2, 3, 4]
    assert [e.entry_id for e in audit.entries(limit=2)] == [1, 2]
    assert audit.entries(actor="nobody") == []
    assert audit.entries()[0].at == START
    with pytest.raises(ValueError, match="timezone"):
        audit.entries(since=datetime(2025, 4, 1, 10, 0))


def test_japanese_details_round_trip(tmp_path: Path, audit: AuditLog) -> None:
    details = {"メモ": "店内カメラの設定を変更しました", "店舗": ["渋谷店", {"階": "２階"}]}
    entry = audit.append("管理者", "通知.変更", details)
    assert audit.entries()[0].details == details
    assert audit.entries(actor="管理者")[0] == entry
    assert audit.verify().ok
    conn = sqlite3.connect(tmp_path / DB_FILE)
    try:
        stored = conn.execute("SELECT details_json FROM audit").fetchone()[0]
    finally:
        conn.close()
    assert "店内カメラ" in stored  # readable in the file, not \\u escapes
