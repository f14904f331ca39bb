"""Retention (G-04): every visitor expires a fixed period after it was first (or last) seen.

A sweep folds the visits it is about to delete into ``stat_visit_hour`` (statistics survive),
deletes the expired visitors with their templates, visits and path points, and deletes
anonymous visits older than the period. It runs in one transaction; afterwards the WAL is
truncated and the file vacuumed so that the deleted bytes do not survive in it (G-11).

Times are ISO 8601 UTC strings, so they compare correctly as text.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlite_utils

from desktopapp.core.store.db import immediate_transaction

log = logging.getLogger(__name__)

# Staff (consented) and opted-out visitors never count in statistics. A NOT IN list of them
# rather than a join with visitor: a million joined lookups double the time of the fold.
_FOLD = """
INSERT INTO stat_visit_hour (store_id, hour, age_band, gender, is_repeat, visits, dwell_seconds)
SELECT store_id, substr(started_at, 1, 13), COALESCE(age_band, 'unknown'),
       COALESCE(gender, 'unknown'), is_repeat, COUNT(*), SUM(dwell_seconds)
FROM visit
WHERE (visitor_id IS NULL OR visitor_id NOT IN (
        SELECT id FROM visitor WHERE kind IN ('staff', 'dnt') AND id IS NOT NULL))
    AND ({where})
GROUP BY store_id, substr(started_at, 1, 13), COALESCE(age_band, 'unknown'),
         COALESCE(gender, 'unknown'), is_repeat
ON CONFLICT (store_id, hour, age_band, gender, is_repeat) DO UPDATE SET
    visits = stat_visit_hour.visits + excluded.visits,
    dwell_seconds = stat_visit_hour.dwell_seconds + excluded.dwell_seconds
"""

_EXPIRED_VISITORS = "SELECT id FROM visitor WHERE expires_at <= :now"
_OLD_ANONYMOUS = "visitor_id IS NULL AND ended_at <= :cutoff"


class ScrubIncompleteError(RuntimeError):
    """The rows are deleted, but another connection kept the WAL from being truncated."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    days: int
    counted_from: Literal["first", "last"] = "first"
    to_statistics: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 3650:
            raise ValueError("the retention period must be between 1 and 3650 days")
        if self.counted_from not in ("first", "last"):
            raise ValueError("the retention period counts from the first or the last visit")


@dataclass(frozen=True, slots=True)
class SweepResult:
    visitors: int
    templates: int
    visits: int
    path_points: int
    anonymous_visits: int
    folded_visits: int
    seconds: float


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must carry a time zone")
    return moment.astimezone(UTC)


def expiry_for(first_seen: datetime, last_seen: datetime, policy: RetentionPolicy) -> datetime:
    """When a visitor's data expires: the period after its first or last visit."""
    start = first_seen if policy.counted_from == "first" else last_seen
    return _utc(start) + timedelta(days=policy.days)


def fold_visits(conn: sqlite3.Connection, where: str, params: Mapping[str, str]) -> int:
    """Add the visits matching ``where`` (a condition on ``visit``) to the hourly statistics;
    returns how many visits were added."""
    total = "SELECT COALESCE(SUM(visits), 0) FROM stat_visit_hour"
    before = int(conn.execute(total).fetchone()[0])
    conn.execute(_FOLD.format(where=where), params)
    return int(conn.execute(total).fetchone()[0]) - before


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy the WAL into the file and truncate it to zero bytes."""
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise ScrubIncompleteError(
            "The data was deleted, but another open window or program kept the database's "
            "log from being cleared. Close it and run this again to finish."
        )


def scrub(conn: sqlite3.Connection) -> None:
    """Leave no deleted byte in the file or the WAL (secure_delete is on for every connection):
    checkpoint, rebuild the file without free pages, checkpoint the rebuilt pages."""
    checkpoint(conn)
    conn.execute("VACUUM")
    checkpoint(conn)


def sweep(db: sqlite_utils.Database, policy: RetentionPolicy, now: datetime) -> SweepResult:
    """Delete what has expired at ``now``, folding it into statistics first if the policy says
    so. Nothing is deleted if any step fails."""
    started = time.perf_counter()
    now = _utc(now)
    params = {
        "now": now.isoformat(),
        "cutoff": (now - timedelta(days=policy.days)).isoformat(),
    }
    conn: sqlite3.Connection = db.conn
    with immediate_transaction(conn):
        folded = 0
        if policy.to_statistics:
            folded = fold_visits(
                conn,
                f"visitor_id IN ({_EXPIRED_VISITORS}) OR ({_OLD_ANONYMOUS})",
                params,
            )
        path_points = conn.execute(
            f"""DELETE FROM path_point WHERE visit_id IN (
                SELECT id FROM visit WHERE visitor_id IN ({_EXPIRED_VISITORS})
                UNION ALL SELECT id FROM visit WHERE {_OLD_ANONYMOUS})""",
            params,
        ).rowcount
        visits = conn.execute(
            f"DELETE FROM visit WHERE visitor_id IN ({_EXPIRED_VISITORS})", params
        ).rowcount
        anonymous = conn.execute(f"DELETE FROM visit WHERE {_OLD_ANONYMOUS}", params).rowcount
        templates = conn.execute(
            f"DELETE FROM template WHERE visitor_id IN ({_EXPIRED_VISITORS})", params
        ).rowcount
        visitors = conn.execute("DELETE FROM visitor WHERE expires_at <= :now", params).rowcount
    if visitors or templates or visits or path_points or anonymous:
        scrub(conn)
    else:
        checkpoint(conn)
    result = SweepResult(
        visitors=visitors,
        templates=templates,
        visits=visits,
        path_points=path_points,
        anonymous_visits=anonymous,
        folded_visits=folded,
        seconds=time.perf_counter() - started,
    )
    log.info("retention sweep: %s", result)
    return result


def reapply_policy(db: sqlite_utils.Database, policy: RetentionPolicy) -> int:
    """Recompute every visitor's expiry under ``policy`` (one UPDATE); returns the number of
    visitors whose expiry changed. The next sweep deletes those now expired.

    Opt-outs (kind ``dnt``) keep theirs: they last until the person withdraws them, not for a
    retention period (``desktopapp.core.requests``)."""

    def expiry(first_seen: str, last_seen: str) -> str:
        first, last = datetime.fromisoformat(first_seen), datetime.fromisoformat(last_seen)
        return expiry_for(first, last, policy).isoformat()

    conn: sqlite3.Connection = db.conn
    conn.create_function("raiten_expiry", 2, expiry, deterministic=True)
    try:
        with immediate_transaction(conn):
            changed = conn.execute(
                """UPDATE visitor SET expires_at = raiten_expiry(first_seen, last_seen)
                WHERE kind <> 'dnt' AND expires_at <> raiten_expiry(first_seen, last_seen)"""
            ).rowcount
    finally:
        conn.create_function("raiten_expiry", 2, None)
    return changed
