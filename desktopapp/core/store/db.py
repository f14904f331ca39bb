"""Opening the SQLite file and bringing its schema up to date with numbered migrations.

Portable SQL only (no SQLite-only types or upserts in the schema) so that the PostgreSQL
backend for chains of stores can share the migrations' shape.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

log = logging.getLogger(__name__)

DB_FILE = "raiten.db"

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
            # Analysis zones the operator draws on a camera's picture (shelf, checkout,
            # entrance): JSON list of {name, kind, polygon} in normalised image coordinates.
            "ALTER TABLE camera ADD COLUMN zones_json TEXT NOT NULL DEFAULT '[]'",
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
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT; any error rolls everything back.

    Explicit because sqlite3 would autocommit DDL, and IMMEDIATE takes the write lock before
    anything is read, so two writers cannot act on the same stale state.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


class SchemaTooNewError(Exception):
    """The file was written by a newer Raiten."""


def open_database(data_dir: Path) -> sqlite_utils.Database:
    """The data folder's database, created or upgraded as needed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(data_dir / DB_FILE, timeout=10.0, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    # Deleted personal data is overwritten in place, not left in free pages.
    db.execute("PRAGMA secure_delete=ON")
    db.execute("PRAGMA synchronous=NORMAL")
    migrate(db)
    return db


def migrate(db: sqlite_utils.Database) -> int:
    current = int(db.execute("PRAGMA user_version").fetchone()[0])
    if current > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"The database was written by a newer Raiten (schema {current}); update Raiten."
        )
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
