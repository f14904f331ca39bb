"""Opening the SQLite file and bringing its schema up to date with numbered migrations.

Portable SQL only (no SQLite-only types or upserts in the schema) so that the PostgreSQL
backend for chains of stores can share the migrations' shape.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import sqlite_utils

log = logging.getLogger(__name__)

DB_FILE = "raiten.db"
# The data folder's encrypted backups (core.store.backup); the data key's check looks here too.
BACKUP_DIR = "backups"
# How long a write waits for another connection's write to finish before giving up.
BUSY_TIMEOUT_S = 10.0

# (version, statements). Never edit a released migration: add a new one.
MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            """CREATE TABLE notice_version (
                id INTEGER PRIMARY KEY,
                version INTEGER NOT NULL UNIQUE,
                created_at TEXT NOT NULL,
                profile_json TEXT NOT NULL,
                sha256 TEXT NOT NULL
            )""",
            """CREATE TABLE camera (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                source_kind TEXT NOT NULL,
                location_enc BLOB NOT NULL,
                loop_file INTEGER NOT NULL DEFAULT 1,
                mask_style TEXT NOT NULL,
                polygons_json TEXT NOT NULL DEFAULT '[]',
                analysis_fps REAL NOT NULL,
                enabled INTEGER NOT NULL DEFAULT 1,
                created_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            # One database belongs to one operator (G-06); stores of that operator may share
            # the gallery when share_gallery is on.
            """CREATE TABLE operator (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                share_gallery INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE store (
                id INTEGER PRIMARY KEY,
                operator_id INTEGER NOT NULL REFERENCES operator(id),
                name TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
            "ALTER TABLE camera ADD COLUMN store_id INTEGER REFERENCES store(id)",
            # A pseudonymous visitor: a random UUID, never derived from the feature. kind is
            # customer, staff (consented, excluded from statistics) or dnt (opted out: matched
            # only to suppress records). Times are ISO 8601 UTC.
            """CREATE TABLE visitor (
                id TEXT PRIMARY KEY,
                operator_id INTEGER NOT NULL REFERENCES operator(id),
                home_store_id INTEGER REFERENCES store(id),
                kind TEXT NOT NULL DEFAULT 'customer',
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                visit_count INTEGER NOT NULL DEFAULT 0,
                expires_at TEXT NOT NULL
            )""",
            "CREATE INDEX visitor_expires ON visitor(expires_at)",
            # Feature vectors only ever stored encrypted (G-11).
            """CREATE TABLE template (
                id INTEGER PRIMARY KEY,
                visitor_id TEXT NOT NULL REFERENCES visitor(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                quality REAL NOT NULL,
                feature_enc BLOB NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX template_visitor ON template(visitor_id)",
            # visitor_id is NULL in modes that keep no identity (attributes, activity).
            """CREATE TABLE visit (
                id INTEGER PRIMARY KEY,
                store_id INTEGER NOT NULL REFERENCES store(id),
                visitor_id TEXT REFERENCES visitor(id) ON DELETE CASCADE,
                started_at TEXT NOT NULL,
                ended_at TEXT NOT NULL,
                dwell_seconds REAL NOT NULL,
                age_band TEXT,
                gender TEXT,
                is_repeat INTEGER NOT NULL DEFAULT 0,
                visit_number INTEGER NOT NULL DEFAULT 1,
                mode TEXT NOT NULL
            )""",
            "CREATE INDEX visit_visitor ON visit(visitor_id)",
            "CREATE INDEX visit_started ON visit(store_id, started_at)",
            """CREATE TABLE path_point (
                id INTEGER PRIMARY KEY,
                visit_id INTEGER NOT NULL REFERENCES visit(id) ON DELETE CASCADE,
                camera_id INTEGER,
                at TEXT NOT NULL,
                x REAL NOT NULL,
                y REAL NOT NULL
            )""",
            "CREATE INDEX path_point_visit ON path_point(visit_id)",
            # Statistics that survive retention and purge: visits folded in by hour, no IDs.
            """CREATE TABLE stat_visit_hour (
                store_id INTEGER NOT NULL,
                hour TEXT NOT NULL,
                age_band TEXT NOT NULL,
                gender TEXT NOT NULL,
                is_repeat INTEGER NOT NULL,
                visits INTEGER NOT NULL,
                dwell_seconds REAL NOT NULL,
                PRIMARY KEY (store_id, hour, age_band, gender, is_repeat)
            )""",
            # Append-only, hash-chained record of who did what (G-09).
            """CREATE TABLE audit (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                action TEXT NOT NULL,
                details_json TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
            """CREATE TABLE setting (
                key TEXT PRIMARY KEY,
                value_json TEXT NOT NULL
            )""",
        ),
    ),
    (
        3,
        (
            # Staff accounts (G-10). Not "user": that word is reserved in PostgreSQL. The login
            # name is the only thing kept about the person. name keeps what was typed;
            # name_key (NFKC + case-folded) makes "Sato" and "ｓａｔｏ" one account.
            """CREATE TABLE app_user (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                name_key TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
                failed_attempts INTEGER NOT NULL DEFAULT 0,
                locked_until TEXT,
                created_at TEXT NOT NULL,
                password_changed_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        4,
        (
            # Purchases from the POS (G-05): time, register, amount, category, never a member,
            # card, name or contact field. visit_id links a purchase to the visit present at
            # the register; it becomes NULL when the visit expires, the purchase stays.
            """CREATE TABLE pos_import (
                id INTEGER PRIMARY KEY,
                imported_at TEXT NOT NULL,
                source_file TEXT NOT NULL,
                rows INTEGER NOT NULL,
                dropped_columns_json TEXT NOT NULL DEFAULT '[]'
            )""",
            """CREATE TABLE purchase (
                id INTEGER PRIMARY KEY,
                import_id INTEGER NOT NULL REFERENCES pos_import(id),
                store_id INTEGER NOT NULL REFERENCES store(id),
                at TEXT NOT NULL,
                register TEXT NOT NULL,
                amount REAL NOT NULL,
                category TEXT NOT NULL DEFAULT '',
                visit_id INTEGER REFERENCES visit(id) ON DELETE SET NULL
            )""",
            "CREATE INDEX purchase_at ON purchase(store_id, at)",
            "CREATE INDEX purchase_visit ON purchase(visit_id)",
            # Which camera watches which register (purchases link to visits seen there).
            """CREATE TABLE register_camera (
                store_id INTEGER NOT NULL REFERENCES store(id),
                register TEXT NOT NULL,
                camera_id INTEGER NOT NULL,
                PRIMARY KEY (store_id, register)
            )""",
            # Statistics that survive retention (no IDs): conversion and spend per folded hour,
            # which visit of a visitor it was, dwell bins, and coarse floor cells by day.
            "ALTER TABLE stat_visit_hour ADD COLUMN converted INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE stat_visit_hour ADD COLUMN spend REAL NOT NULL DEFAULT 0",
            """CREATE TABLE stat_visit_number (
                store_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                visit_number INTEGER NOT NULL,
                visits INTEGER NOT NULL,
                PRIMARY KEY (store_id, day, visit_number)
            )""",
            """CREATE TABLE stat_dwell (
                store_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                dwell_bin INTEGER NOT NULL,
                visits INTEGER NOT NULL,
                PRIMARY KEY (store_id, day, dwell_bin)
            )""",
            """CREATE TABLE stat_heat (
                store_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                camera_id INTEGER NOT NULL,
                cell_x INTEGER NOT NULL,
                cell_y INTEGER NOT NULL,
                points INTEGER NOT NULL,
                visits INTEGER NOT NULL,
                PRIMARY KEY (store_id, day, camera_id, cell_x, cell_y)
            )""",
        ),
    ),
    (
        5,
        (
            # The SHA-256 of each imported POS file: the same file imported twice would count
            # every sale twice.
            "ALTER TABLE pos_import ADD COLUMN sha256 TEXT",
            "CREATE INDEX pos_import_sha256 ON pos_import(sha256)",
            # What the operator draws for a camera: floor calibration, analysis zones (shelf,
            # checkout, entrance), counting lines, congestion thresholds
            # (core.geometry_config.CameraGeometryConfig as JSON).
            "ALTER TABLE camera ADD COLUMN geometry_json TEXT NOT NULL DEFAULT '{}'",
            # A register may be watched by one zone of its camera (the checkout): then only
            # visits seen inside that zone are linked to its sales.
            "ALTER TABLE register_camera ADD COLUMN zone TEXT",
            # Time each visit spent in each zone, worked out when its path is recorded: path
            # points go with their visit, and this row goes with them.
            """CREATE TABLE zone_dwell (
                visit_id INTEGER NOT NULL REFERENCES visit(id) ON DELETE CASCADE,
                camera_id INTEGER NOT NULL,
                zone TEXT NOT NULL,
                seconds REAL NOT NULL,
                PRIMARY KEY (visit_id, camera_id, zone)
            )""",
            # People and line crossings counted per hour (passer-by, incidental capture, crowd
            # level and activity): statistics from the start, with no ID and no path.
            """CREATE TABLE stat_count (
                store_id INTEGER NOT NULL,
                camera_id INTEGER NOT NULL,
                hour TEXT NOT NULL,
                what TEXT NOT NULL CHECK (what IN ('persons', 'in', 'out')),
                line TEXT NOT NULL DEFAULT '',
                count INTEGER NOT NULL,
                PRIMARY KEY (store_id, camera_id, hour, what, line)
            )""",
            # ... and folded by day when the visit expires, like the other statistics.
            """CREATE TABLE stat_zone_dwell (
                store_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                camera_id INTEGER NOT NULL,
                zone TEXT NOT NULL,
                visits INTEGER NOT NULL,
                seconds REAL NOT NULL,
                PRIMARY KEY (store_id, day, camera_id, zone)
            )""",
        ),
    ),
    (
        6,
        (
            # Where each path point stands on the operator's floor plan (normalised 0..1),
            # through its camera's calibration; NULL for an uncalibrated camera or a point
            # off the plan. Re-placed when the calibration changes.
            "ALTER TABLE path_point ADD COLUMN floor_x REAL",
            "ALTER TABLE path_point ADD COLUMN floor_y REAL",
            # Distinct visits per floor-plan cell and day, all cameras together: the floor heat
            # map after retention has deleted the paths.
            """CREATE TABLE stat_floor_heat (
                store_id INTEGER NOT NULL,
                day TEXT NOT NULL,
                cell_x INTEGER NOT NULL,
                cell_y INTEGER NOT NULL,
                visits INTEGER NOT NULL,
                PRIMARY KEY (store_id, day, cell_x, cell_y)
            )""",
        ),
    ),
    (
        7,
        (
            # Of a folded cell's visits, those of unknown identity (no visitor: no usable face
            # in repeat mode, or a mode that keeps no identity): repeat rates are taken over
            # the identified ones after retention too.
            "ALTER TABLE stat_visit_hour ADD COLUMN unknown INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    (
        8,
        (
            # A consenting employee enrolled as staff (kind 'staff'), excluded from every
            # statistic. No name (G-05): the shop's consent form carries the number. When the
            # employee consented, and which account recorded it, for the audit of consent.
            """CREATE TABLE staff_consent (
                visitor_id TEXT PRIMARY KEY REFERENCES visitor(id) ON DELETE CASCADE,
                number INTEGER NOT NULL UNIQUE,
                consented_on TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                recorded_by TEXT NOT NULL
            )""",
        ),
    ),
    (
        9,
        (
            # The cameras that watch the store's entrance: their tracks start visits, and the
            # other cameras' tracks join the visit in progress (core.visit_join). A store with
            # one camera has it at the entrance.
            "ALTER TABLE camera ADD COLUMN entrance INTEGER NOT NULL DEFAULT 0",
            "UPDATE camera SET entrance = 1 WHERE (SELECT COUNT(*) FROM camera) = 1",
        ),
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class StoreProblem(StrEnum):
    """Why the database cannot be used; the UI words each in the operator's language."""

    CORRUPT = "corrupt"  # damaged: restore a backup or start empty
    LOCKED = "locked"  # another program holds it
    READ_ONLY = "read_only"  # the file or its folder cannot be written
    DISK_FULL = "disk_full"
    IO = "io"  # the disk reported an error
    TOO_NEW = "too_new"  # written by a newer Raiten


class StoreError(Exception):
    """The database file cannot be used as it is; ``problem`` says why, ``str()`` is an English
    sentence naming the file (for the log and the command line)."""

    def __init__(self, problem: StoreProblem, path: Path, message: str):
        super().__init__(message)
        self.problem = problem
        self.path = path


class SchemaTooNewError(StoreError):
    """The file was written by a newer Raiten."""

    def __init__(self, path: Path, version: int):
        super().__init__(
            StoreProblem.TOO_NEW,
            path,
            f"The database was written by a newer Raiten (schema {version}); update Raiten.",
        )


# SQLite's primary result codes (the low byte of the extended code Python reports).
_SQLITE_PROBLEMS = {
    5: StoreProblem.LOCKED,  # SQLITE_BUSY
    6: StoreProblem.LOCKED,  # SQLITE_LOCKED
    8: StoreProblem.READ_ONLY,  # SQLITE_READONLY
    10: StoreProblem.IO,  # SQLITE_IOERR
    11: StoreProblem.CORRUPT,  # SQLITE_CORRUPT
    13: StoreProblem.DISK_FULL,  # SQLITE_FULL
    14: StoreProblem.IO,  # SQLITE_CANTOPEN
    26: StoreProblem.CORRUPT,  # SQLITE_NOTADB
}
_SENTENCES = {
    StoreProblem.CORRUPT: "The database {path} is damaged.",
    StoreProblem.LOCKED: "The database {path} is in use by another program.",
    StoreProblem.READ_ONLY: "The database {path} cannot be written (read-only).",
    StoreProblem.DISK_FULL: "The disk holding {path} is full.",
    StoreProblem.IO: "The disk holding {path} reported an error.",
}


def _writable(path: Path) -> bool:
    """Whether the file and its folder (where SQLite keeps the WAL) may be written; a read-only
    mount says no even to the administrator."""
    return os.access(path.parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _problem(path: Path, problem: StoreProblem, detail: object) -> StoreError:
    # SQLite reports a file it may not create or write as "unable to open".
    if problem is StoreProblem.IO and not _writable(path):
        problem = StoreProblem.READ_ONLY
    return StoreError(problem, path, f"{_SENTENCES[problem].format(path=path)} ({detail})")


def store_error(exc: BaseException, path: Path) -> StoreError | None:
    """``exc`` as a StoreError when it says something about the database file or its disk;
    None for anything else (a bug is not a disk problem)."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        problem = _SQLITE_PROBLEMS.get(code & 0xFF) if isinstance(code, int) else None
        return None if problem is None else _problem(path, problem, exc)
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return _problem(path, StoreProblem.DISK_FULL, exc.strerror or exc)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return _problem(path, StoreProblem.READ_ONLY, exc.strerror or exc)
        return _problem(path, StoreProblem.IO, exc.strerror or exc)
    return None


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT; any error rolls everything back.

    Explicit because sqlite3 would autocommit DDL, and IMMEDIATE takes the write lock before
    anything is read, so two writers cannot act on the same stale state.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.commit()
    except BaseException:
        # A failed COMMIT (disk full, locked) may leave the transaction open; the next BEGIN
        # on this connection would then fail for good.
        if conn.in_transaction:
            conn.rollback()
        raise


def open_database(data_dir: Path) -> sqlite_utils.Database:
    """The data folder's database, created or upgraded as needed. StoreError when the file
    cannot be used (damaged, locked, read-only, disk full, newer)."""
    path = data_dir / DB_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store_error(exc, path) or exc from exc
    if not _writable(path):
        # Opening would work and every later write fail: say so now.
        raise _problem(path, StoreProblem.READ_ONLY, "no write permission")
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA foreign_keys=ON")
        # Deleted personal data is overwritten in place, not left in free pages.
        db.execute("PRAGMA secure_delete=ON")
        db.execute("PRAGMA synchronous=NORMAL")
        migrate(db, path)
    except BaseException as exc:
        conn.close()
        error = store_error(exc, path)
        if error is None or error is exc:
            raise
        log.error("cannot open %s: %s", path, exc)
        raise error from exc
    return db


def check_integrity(db: sqlite_utils.Database, path: Path) -> None:
    """StoreError (CORRUPT) unless SQLite's quick check finds the file sound. It reads every
    page (about 0.4 s for 200 MB): run at start-up and before a backup, not per query."""
    try:
        result = [row[0] for row in db.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise store_error(exc, path) or exc from exc
    if result != ["ok"]:
        log.error("integrity check of %s failed: %s", path, result)
        raise _problem(path, StoreProblem.CORRUPT, "; ".join(result))


def migrate(db: sqlite_utils.Database, path: Path | None = None) -> int:
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise SchemaTooNewError(path or Path(DB_FILE), current)
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        # A crash mid-migration must leave the previous schema, not half of the new one.
        with immediate_transaction(db.conn):
            for statement in statements:
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version}")
        log.info("database schema migrated to version %d", version)
    return SCHEMA_VERSION
