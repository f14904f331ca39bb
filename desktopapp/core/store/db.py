"""Opening the SQLite file and bringing its schema up to date with numbered migrations.

Portable SQL only (no SQLite-only types or upserts in the schema) so that the PostgreSQL
backend for chains of stores can share the migrations' shape.
"""

from __future__ import annotations

import logging
import sqlite3
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
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


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
        # Explicit BEGIN: sqlite3 would otherwise autocommit each DDL statement, and a crash
        # mid-migration must leave the previous schema, not half of the new one.
        db.conn.execute("BEGIN")
        try:
            for statement in statements:
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version}")
            db.conn.commit()
        except BaseException:
            db.conn.rollback()
            raise
        log.info("database schema migrated to version %d", version)
    return SCHEMA_VERSION
