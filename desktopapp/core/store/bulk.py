"""Synthetic bulk data for timing the store: a million visits, their sweep and purge.

bench/store_bulk.py and `raiten bench` (core.benchmark) share it. Nothing here is ever written
into an operator's database: every call works in a folder of its own.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from desktopapp.core.chain import local as chain
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import DB_FILE, immediate_transaction, open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.retention import RetentionPolicy, expiry_for, sweep
from desktopapp.core.store.statistics import STAT_TABLES

log = logging.getLogger(__name__)

VISITS_PER_VISITOR = 10
PATH_POINTS_PER_VISIT = 2
ZONE_DWELL_SHARE = 0.5
ANONYMOUS_SHARE = 0.2
STAFF_SHARE = 0.01
FEATURE_DIM = 128
SPAN_DAYS = 180
RETURNING_DAYS = 30  # a visitor's visits fall within this many days of the first
BASE = datetime(2024, 1, 1, tzinfo=UTC)
NOW = BASE + timedelta(days=SPAN_DAYS)
POLICY = RetentionPolicy(days=SPAN_DAYS // 2)
AGE_BANDS = ("0-19", "20-29", "30-39", "40-49", "50-59", "60+", None)
GENDERS = ("female", "male", None)


def _times(seconds: np.ndarray) -> list[str]:
    return [(BASE + timedelta(seconds=float(s))).isoformat() for s in seconds]


def _file_bytes(data_dir: Path) -> int:
    """The database file plus its WAL."""
    return sum(
        (data_dir / name).stat().st_size
        for name in (DB_FILE, DB_FILE + "-wal")
        if (data_dir / name).exists()
    )


def generate(data_dir: Path, rows: int, seed: int = 0) -> dict[str, Any]:
    """Fill a new database with ``rows`` visits (and their visitors, templates and paths);
    returns counts and insert rates."""
    rng = np.random.default_rng(seed)
    cipher = Cipher(secrets.token_bytes(32))
    db = open_database(data_dir)
    conn: sqlite3.Connection = db.conn
    created = BASE.isoformat()

    n_visitors = max(1, rows // VISITS_PER_VISITOR)
    first = rng.uniform(0, SPAN_DAYS * 86400, n_visitors)
    first_seen = _times(first)
    last_seen = _times(first + RETURNING_DAYS * 86400)
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n_visitors)]
    staff = rng.random(n_visitors) < STAFF_SHARE
    visitors = [
        (
            ids[i],
            "staff" if staff[i] else "customer",
            first_seen[i],
            last_seen[i],
            expiry_for(
                datetime.fromisoformat(first_seen[i]),
                datetime.fromisoformat(last_seen[i]),
                POLICY,
            ).isoformat(),
        )
        for i in range(n_visitors)
    ]
    features = rng.standard_normal((n_visitors, FEATURE_DIM), dtype=np.float32)
    templates = [
        (ids[i], cipher.encrypt(features[i].tobytes(), b"template"), created)
        for i in range(n_visitors)
    ]

    owner = rng.integers(0, n_visitors, rows)
    anonymous = rng.random(rows) < ANONYMOUS_SHARE
    start = np.where(
        anonymous,
        rng.uniform(0, SPAN_DAYS * 86400, rows),
        first[owner] + rng.uniform(0, RETURNING_DAYS * 86400, rows),
    )
    # Visits are written as they happen, so row ids follow time.
    order = np.argsort(start)
    owner, anonymous, start = owner[order], anonymous[order], start[order]
    dwell = rng.uniform(30, 1800, rows)
    started_at, ended_at = _times(start), _times(start + dwell)
    ages = rng.integers(0, len(AGE_BANDS), rows)
    genders = rng.integers(0, len(GENDERS), rows)
    stores = rng.integers(1, 4, rows)
    repeat = rng.random(rows) < 0.3
    visits = [
        (
            v + 1,
            int(stores[v]),
            None if anonymous[v] else ids[owner[v]],
            started_at[v],
            ended_at[v],
            float(dwell[v]),
            AGE_BANDS[ages[v]],
            GENDERS[genders[v]],
            int(repeat[v] and not anonymous[v]),
            "attributes" if anonymous[v] else "repeat",
        )
        for v in range(rows)
    ]
    n_points = rows * PATH_POINTS_PER_VISIT
    point_visit = np.repeat(np.arange(1, rows + 1), PATH_POINTS_PER_VISIT)
    xy = rng.uniform(0, 1, (n_points, 2))
    # Every camera calibrated (the costlier case): each point also has its floor-plan place.
    floor = xy * 0.8 + 0.1
    points = [
        (
            int(point_visit[p]),
            1,
            started_at[point_visit[p] - 1],
            float(xy[p, 0]),
            float(xy[p, 1]),
            float(floor[p, 0]),
            float(floor[p, 1]),
        )
        for p in range(n_points)
    ]

    conn.execute("BEGIN")
    conn.execute("INSERT INTO operator (id, name, created_at) VALUES (1, 'Bench', ?)", (created,))
    conn.executemany(
        "INSERT INTO store (id, operator_id, name, created_at) VALUES (?, 1, ?, ?)",
        [(s, f"Store {s}", created) for s in (1, 2, 3)],
    )
    conn.executemany(
        """INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, last_seen,
        visit_count, expires_at) VALUES (?, 1, 1, ?, ?, ?, 0, ?)""",
        visitors,
    )
    conn.executemany(
        """INSERT INTO template (visitor_id, model, quality, feature_enc, created_at)
        VALUES (?, 'bench', 0.9, ?, ?)""",
        templates,
    )
    timed = time.perf_counter()
    conn.executemany(
        """INSERT INTO visit (id, store_id, visitor_id, started_at, ended_at, dwell_seconds,
        age_band, gender, is_repeat, mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        visits,
    )
    visit_seconds = time.perf_counter() - timed
    timed = time.perf_counter()
    conn.executemany(
        "INSERT INTO path_point (visit_id, camera_id, at, x, y, floor_x, floor_y) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        points,
    )
    point_seconds = time.perf_counter() - timed
    in_zone = np.flatnonzero(rng.random(rows) < ZONE_DWELL_SHARE) + 1
    conn.executemany(
        "INSERT INTO zone_dwell (visit_id, camera_id, zone, seconds) VALUES (?, 1, 'shelf', ?)",
        [(int(v), float(dwell[v - 1]) / 2) for v in in_zone],
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "store.rows": rows,
        "store.visitors": n_visitors,
        "store.templates": n_visitors,
        "store.path_points": n_points,
        "store.anonymous_visits": int(anonymous.sum()),
        "store.zone_dwell": len(in_zone),
        "store.insert_visits_per_s": rows / visit_seconds,
        "store.insert_path_points_per_s": n_points / point_seconds,
        "store.file_bytes": _file_bytes(data_dir),
    }


def _join_chain(data_dir: Path) -> None:
    """Chain mode's own outbox tables and triggers, as ``raiten chain join`` installs them
    (without a server: nothing is pushed)."""
    conn = sqlite3.connect(data_dir / DB_FILE, isolation_level=None)
    try:
        with immediate_transaction(conn):
            chain.install(conn)
    finally:
        conn.close()


def _outbox_rows(data_dir: Path) -> int:
    """Changes queued for the chain; 0 once the store has left it (a purge does)."""
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        return chain.pending(conn) if chain.is_installed(conn) else 0
    finally:
        conn.close()


def _statistics_rows(data_dir: Path) -> int:
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        return sum(
            int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in STAT_TABLES
        )
    finally:
        conn.close()


def _visit_total(data_dir: Path) -> int:
    """Customer visits counted anywhere: in the statistics or still as visit rows."""
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        folded = conn.execute("SELECT COALESCE(SUM(visits), 0) FROM stat_visit_hour").fetchone()
        held = conn.execute(
            """SELECT COUNT(*) FROM visit AS v LEFT JOIN visitor AS p ON p.id = v.visitor_id
            WHERE v.visitor_id IS NULL OR p.kind = 'customer'"""
        ).fetchone()
        return int(folded[0]) + int(held[0])
    finally:
        conn.close()


def measure_store(rows: int, outbox: bool = False) -> dict[str, Any]:
    """Generate ``rows`` visits in a temporary folder, then time a retention sweep and a purge
    (each on its own copy): ``store.retention_1m_s`` and ``store.purge_1m_s`` are wall-clock
    seconds at ``rows``; the ``_cpu_s`` twins are this process's CPU seconds, steadier on a busy
    machine. With ``outbox``, chain mode's outbox triggers are in place for both (the purge
    leaves the chain before it deletes, so it queues nothing)."""
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="raiten-bench-") as tmp:
        swept_dir, purged_dir = Path(tmp) / "swept", Path(tmp) / "purged"
        log.info("generating %d visits", rows)
        result |= generate(swept_dir, rows)
        result["store.outbox"] = outbox
        if outbox:
            _join_chain(swept_dir)
        purged_dir.mkdir()
        shutil.copy2(swept_dir / DB_FILE, purged_dir / DB_FILE)
        customer_visits = _visit_total(swept_dir)

        log.info("retention sweep")
        db = open_database(swept_dir)
        cpu = time.process_time()
        swept = sweep(db, POLICY, NOW)
        result["store.retention_1m_cpu_s"] = time.process_time() - cpu
        db.conn.close()
        result["store.retention_1m_s"] = swept.seconds
        for field in ("visitors", "templates", "visits", "path_points", "anonymous_visits"):
            result[f"store.retention.deleted_{field}"] = getattr(swept, field)
        result["store.retention.folded_visits"] = swept.folded_visits
        result["store.retention.statistics_kept"] = _visit_total(swept_dir) == customer_visits
        result["store.retention.statistics_rows"] = _statistics_rows(swept_dir)
        result["store.file_bytes_after_retention"] = _file_bytes(swept_dir)
        if outbox:
            result["store.retention.outbox_rows"] = _outbox_rows(swept_dir)

        log.info("purge")
        db = open_database(purged_dir)
        cpu = time.process_time()
        purged = purge_personal_data(db, keep_statistics=True)
        result["store.purge_1m_cpu_s"] = time.process_time() - cpu
        db.conn.close()
        result["store.purge_1m_s"] = purged.seconds
        result["store.purge.deleted_visits"] = purged.visits
        result["store.purge.statistics_kept"] = _visit_total(purged_dir) == customer_visits
        result["store.file_bytes_after_purge"] = _file_bytes(purged_dir)
        if outbox:
            result["store.purge.outbox_rows"] = _outbox_rows(purged_dir)
    return result
