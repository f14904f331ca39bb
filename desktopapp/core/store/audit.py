"""The audit log (G-09): an append-only, hash-chained record of who did what.

Logins, settings and notice changes, exports, purges, deletions and retention
sweeps each add one entry. It is separate from debug logging, and it never holds feature data
or pictures: details that contain bytes are refused.

How tampering is caught
-----------------------
Every entry stores the SHA-256 of a canonical serialisation of its id, time, actor, action,
details and the previous entry's hash (``GENESIS`` for the first). Ids are assigned here as the
previous id + 1 and are part of the hash, so ``verify`` detects an edited column, a row deleted
from the middle (a gap in the ids), reordered rows and a forged row slipped in between.

A hash chain alone cannot notice that its *last* entries were deleted: the shorter chain is
still valid. So each append also records the log's head (entry count and latest hash) in the
``setting`` table, in the same transaction, and ``verify`` compares the chain's end with it.
``append`` chains new entries onto that head rather than onto the last row it finds, so a
deleted tail stays visible as a gap instead of being papered over by the next entry.

Out of scope: anyone who can write the file can recompute every hash (SHA-256 has no secret)
and rewrite the head as well; catching that would need an anchor outside the database.

The SQLite triggers created here make ``audit`` rows impossible to UPDATE or DELETE through
any connection, so the app cannot alter history by mistake (purge and retention code must
never touch this table). A determined attacker can drop the triggers; the chain is what
catches that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import sqlite_utils

from desktopapp.core.store.db import immediate_transaction

log = logging.getLogger(__name__)

GENESIS = "0" * 64
HEAD_KEY = "audit.head"
MAX_NAME_LENGTH = 200

# SQLite syntax: the PostgreSQL backend needs its own equivalent of these guards.
_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END""",
)
_COLUMNS = "id, at, actor, action, details_json, prev_hash, hash"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    entry_id: int
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditVerification:
    ok: bool
    entries: int
    first_bad_id: int | None
    problem: str


class AuditLog:
    """Appends to, reads and verifies the ``audit`` table of one connection.

    Like the rest of the store, one connection belongs to one thread; several threads or
    processes each with their own connection may append concurrently.
    """

    def __init__(
        self, db: sqlite_utils.Database, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._conn: sqlite3.Connection = db.conn
        self._clock = clock
        for statement in _TRIGGERS:
            self._conn.execute(statement)

    def append(
        self, actor: str, action: str, details: Mapping[str, Any] | None = None
    ) -> AuditEntry:
        """Add one entry. ValueError for a bad actor, action or details."""
        _check_name("actor", actor)
        _check_name("action", action)
        details_json, stored_details = _normalise(details)
        at = _iso(self._clock())
        if self._conn.in_transaction:
            # BEGIN IMMEDIATE below would fail with a cryptic error; joining the caller's
            # transaction would tie the audit entry to work that may still be rolled back.
            raise RuntimeError("commit the open transaction before appending to the audit log")
        # IMMEDIATE takes the write lock before the last hash is read, so two writers cannot
        # both chain onto the same entry and fork the log.
        with immediate_transaction(self._conn):
            entry_id, prev_hash = self._next_link()
            digest = _entry_hash(
                entry_id=entry_id,
                at=at,
                actor=actor,
                action=action,
                details=stored_details,
                prev_hash=prev_hash,
            )
            self._conn.execute(
                f"INSERT INTO audit ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (entry_id, at, actor, action, details_json, prev_hash, digest),
            )
            self._conn.execute(
                "INSERT INTO setting (key, value_json) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json",
                (HEAD_KEY, _canonical({"count": entry_id, "hash": digest})),
            )
        log.debug("audit entry %d appended: %s", entry_id, action)
        return AuditEntry(
            entry_id, datetime.fromisoformat(at), actor, action, stored_details, prev_hash, digest
        )

    def _next_link(self) -> tuple[int, str]:
        """The id and prev_hash for the next entry; called inside the write transaction."""
        row = self._conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        last_id, last_hash = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        try:
            head = _read_head(self._conn)
        except ValueError:
            log.warning("the audit log's head record is unreadable; chaining onto the last row")
            return last_id + 1, last_hash
        if head is None:
            if last_id:
                log.warning("the audit log's head record is missing; chaining onto the last row")
            return last_id + 1, last_hash
        count, head_hash = head
        if (count, head_hash) != (last_id, last_hash):
            # Follow the head, not the table: a deleted tail then shows as a gap and a forged
            # tail as a broken link, instead of being sealed in by this entry.
            log.warning("the audit log does not end where its head says; verify will report it")
        return max(count, last_id) + 1, head_hash

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Matching entries, oldest first: since <= at < until; limit keeps the oldest."""
        clauses: list[str] = []
        params: list[object] = []
        # The stored times share one fixed-width UTC format, so text order is time order.
        if since is not None:
            clauses.append("at >= ?")
            params.append(_iso(since))
        if until is not None:
            clauses.append("at < ?")
            params.append(_iso(until))
        if actor is not None:
            clauses.append("actor = ?")
            params.append(actor)
        if action is not None:
            clauses.append("action = ?")
            params.append(action)
        sql = f"SELECT {_COLUMNS} FROM audit"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        if limit is not None:
            if limit < 0:
                raise ValueError("limit cannot be negative")
            sql += " LIMIT ?"
            params.append(limit)
        return [
            AuditEntry(
                entry_id=row[0],
                at=datetime.fromisoformat(row[1]),
                actor=row[2],
                action=row[3],
                details=json.loads(row[4]),
                prev_hash=row[5],
                hash=row[6],
            )
            for row in self._conn.execute(sql, params)
        ]

    def verify(self) -> AuditVerification:
        """Check every entry and the recorded head; reports the first problem found."""
        own_transaction = not self._conn.in_transaction
        if own_transaction:
            # One snapshot for the rows and the head: an append landing between the two reads
            # would otherwise look like tampering.
            self._conn.execute("BEGIN")
        try:
            result = self._verify()
        finally:
            if own_transaction:
                self._conn.rollback()
        if not result.ok:
            log.warning("audit log verification failed: %s", result.problem)
        return result

    def _verify(self) -> AuditVerification:
        total = int(self._conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

        def failed(first_bad_id: int | None, problem: str) -> AuditVerification:
            return AuditVerification(False, total, first_bad_id, problem)

        last_id, expected_prev = 0, GENESIS
        for row in self._conn.execute(f"SELECT {_COLUMNS} FROM audit ORDER BY id"):
            entry_id, prev_hash, digest = row[0], row[5], row[6]
            if entry_id > last_id + 1:
                return failed(last_id + 1, _gap(last_id, entry_id))
            if entry_id < 1:
                return failed(entry_id, f"entry {entry_id} was inserted outside the audit log")
            if not _intact(row):
                return failed(entry_id, f"entry {entry_id} was altered")
            if prev_hash != expected_prev:
                after = f"entry {last_id}" if last_id else "the start of the log"
                return failed(entry_id, f"entry {entry_id} does not follow {after} (chain broken)")
            last_id, expected_prev = entry_id, digest

        try:
            head = _read_head(self._conn)
        except ValueError:
            return failed(None, "the audit log's head record is unreadable")
        if head is None:
            if last_id:
                return failed(None, "the audit log's head record is missing")
            return AuditVerification(True, total, None, "")
        count, head_hash = head
        if count > last_id:
            return failed(last_id + 1, _truncated(last_id, count))
        if count < last_id:
            return failed(
                count + 1,
                f"entry {count + 1} was added outside the audit log "
                f"(only {count} entries were written through it)",
            )
        if head_hash != expected_prev:
            return failed(
                last_id, f"entry {last_id} was replaced (it does not match the log's head)"
            )
        return AuditVerification(True, total, None, "")


def _check_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"the audit {what} cannot be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"the audit {what} can be at most {MAX_NAME_LENGTH} characters")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        # A naive time would silently be taken as local time and shift the record.
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _refuse(value: object) -> NoReturn:
    """json.dumps' fallback for types it cannot write."""
    if isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(
            "audit details cannot hold bytes: feature data and pictures never go into the audit log"
        )
    raise ValueError(f"audit details must be JSON-serialisable, not {type(value).__name__}")


def _canonical(value: object) -> str:
    # allow_nan=False: NaN is not JSON, and NaN != NaN would make equal details hash apart.
    return json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
        default=_refuse,
    )


def _normalise(details: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The details as stored (canonical JSON) and as read back."""
    if details is None:
        details = {}
    if not isinstance(details, Mapping):
        raise ValueError("audit details must be a mapping")
    try:
        text = _canonical(dict(details))
    except TypeError as exc:  # e.g. keys that JSON cannot hold or sort
        raise ValueError(f"audit details must be JSON-serialisable: {exc}") from exc
    # Hash what verify will read back: JSON turns tuples into lists and int keys into strings.
    parsed: dict[str, Any] = json.loads(text)
    return _canonical(parsed), parsed


def _entry_hash(
    *, entry_id: int, at: str, actor: str, action: str, details: Any, prev_hash: str
) -> str:
    payload = _canonical([entry_id, at, actor, action, details, prev_hash])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _intact(row: tuple[Any, ...]) -> bool:
    """Whether a stored row still matches its own hash, byte for byte."""
    entry_id, at, actor, action, details_json, prev_hash, digest = row
    try:
        details = json.loads(details_json)
        # The canonical check catches edits to details_json that keep its meaning.
        recomputed = _entry_hash(
            entry_id=entry_id,
            at=at,
            actor=actor,
            action=action,
            details=details,
            prev_hash=prev_hash,
        )
        return bool(_canonical(details) == details_json and digest == recomputed)
    except (TypeError, ValueError):  # a column rewritten with something that is not JSON/text
        return False


def _read_head(conn: sqlite3.Connection) -> tuple[int, str] | None:
    """The recorded (count, hash), None if never written; ValueError if malformed."""
    row = conn.execute("SELECT value_json FROM setting WHERE key = ?", (HEAD_KEY,)).fetchone()
    if row is None:
        return None
    try:
        value = json.loads(row[0])
        count, digest = value["count"], value["hash"]
    except (TypeError, KeyError) as exc:
        raise ValueError("malformed audit head") from exc
    if not isinstance(count, int) or count < 1 or not isinstance(digest, str):
        raise ValueError("malformed audit head")
    return count, digest


def _gap(last_id: int, entry_id: int) -> str:
    jump = f"ids jump from {last_id} to {entry_id}" if last_id else f"the log starts at {entry_id}"
    first, last = last_id + 1, entry_id - 1
    if first == last:
        return f"entry {first} is missing ({jump})"
    return f"entries {first} to {last} are missing ({jump})"


def _truncated(last_id: int, count: int) -> str:
    written = f"the log ends at entry {last_id} but {count} entries were written"
    if last_id + 1 == count:
        return f"entry {count} is missing ({written})"
    return f"entries {last_id + 1} to {count} are missing ({written})"
