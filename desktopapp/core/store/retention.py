"""Retention (G-04): every visitor expires a fixed period after it was first (or last) seen.

A sweep folds the visits it is about to delete into the ``stat_*`` tables (statistics survive,
``desktopapp.core.store.statistics``),
deletes the expired visitors with their templates, visits, path points and zone dwell, and
deletes anonymous visits (no visitor) that ended a period ago, with theirs. It runs whatever the
notice's mode; a notice that names no period counts as ``NO_PERIOD_DAYS``
(``RetentionPolicy.of_notice``). It runs in one transaction; afterwards the WAL is truncated and
the file vacuumed so that the deleted bytes do not survive in it (G-11).

Times are ISO 8601 UTC strings, so they compare correctly as text.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

import sqlite_utils

from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.statistics import (
    AGE_BAND,
    CELL_X,
    CELL_Y,
    COUNTED,
    DAY,
    DWELL_BIN,
    FLOOR_CELL_X,
    FLOOR_CELL_Y,
    GENDER,
    HEAT_CELLS,
    HOUR,
    VISIT_NUMBER,
    VISIT_SPEND,
)

log = logging.getLogger(__name__)

# The visits to fold are copied once, binned and in id order, into a narrow temporary table:
# the caller's condition is evaluated once, every statistic is grouped from short rows, and
# path points are read in index order. At a million visits a sweep's fold takes half the time
# of grouping each statistic straight from visit (bench/store_bulk.py).
#
# Path points are grouped by two integers rather than by store, day, camera and cell: the sort
# of every point compares integers instead of five mixed columns (an eighth less CPU time for
# the heat map folds).
# ``store_day`` packs the store and the day (YYYYMMDD) and ``place`` packs the camera and the
# cell (store and camera ids are small positive row ids); the store and the day of a group are
# read back from one of its visits, so the statistics hold exactly the text they always held.
_DAY_NUMBER = (
    "(substr(started_at, 1, 4) * 10000 + substr(started_at, 6, 2) * 100 + substr(started_at, 9, 2))"
)
_CELLS = HEAT_CELLS * HEAT_CELLS
_FOLDING_TABLE = """CREATE TEMP TABLE folding (
    id INTEGER PRIMARY KEY, store_id INTEGER, hour TEXT, day TEXT, store_day INTEGER,
    age_band TEXT, gender TEXT, is_repeat INTEGER, dwell_seconds REAL, visit_number INTEGER,
    dwell_bin INTEGER, unknown INTEGER)"""
_FOLDING_ROWS = f"""INSERT INTO temp.folding
SELECT id, store_id, {HOUR}, {DAY}, store_id * 100000000 + {_DAY_NUMBER}, {AGE_BAND}, {GENDER},
       is_repeat, dwell_seconds, {VISIT_NUMBER}, {DWELL_BIN}, visitor_id IS NULL
FROM visit WHERE ({{where}}) AND {COUNTED} ORDER BY id"""
# How the fold reads the path points and zone dwell of the visits it folds: through their visit
# index, or, when it folds every visit (the purge), each table in row order with its visit
# looked up in temp.folding. Rows are written with their visit, so row order is about visit
# order, and the lookups walk temp.folding forwards instead of each visit seeking the index and
# then its rows: a tenth less CPU time for each heat map at two million points
# (bench/store_bulk.py). ``{table}`` is path_point or zone_dwell.
_BY_VISIT = "temp.folding CROSS JOIN {table} ON {table}.visit_id = folding.id"
_IN_ROW_ORDER = "{table} CROSS JOIN temp.folding ON folding.id = {table}.visit_id"


def _folds(join: str) -> tuple[str, ...]:
    """The statements reading temp.folding, with ``join`` reading the path points and zone
    dwell. WHERE TRUE keeps SQLite from reading ON CONFLICT as a join constraint."""
    points = join.format(table="path_point")
    dwell = join.format(table="zone_dwell")
    return (
        """INSERT INTO stat_visit_hour
            (store_id, hour, age_band, gender, is_repeat, visits, dwell_seconds, unknown)
        SELECT store_id, hour, age_band, gender, is_repeat, COUNT(*), SUM(dwell_seconds),
            SUM(unknown)
        FROM temp.folding WHERE TRUE GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (store_id, hour, age_band, gender, is_repeat) DO UPDATE SET
            visits = stat_visit_hour.visits + excluded.visits,
            dwell_seconds = stat_visit_hour.dwell_seconds + excluded.dwell_seconds,
            unknown = stat_visit_hour.unknown + excluded.unknown""",
        # Every cell this adds to exists: the statement above folded the same visits.
        f"""INSERT INTO stat_visit_hour (store_id, hour, age_band, gender, is_repeat, visits,
            dwell_seconds, converted, spend)
        SELECT store_id, hour, age_band, gender, is_repeat, 0, 0, COUNT(*), SUM(sale.spend)
        FROM {VISIT_SPEND} AS sale CROSS JOIN temp.folding ON folding.id = sale.visit_id
        WHERE TRUE GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (store_id, hour, age_band, gender, is_repeat) DO UPDATE SET
            converted = stat_visit_hour.converted + excluded.converted,
            spend = stat_visit_hour.spend + excluded.spend""",
        # Visit number and dwell share one sort of the visits, into a few rows per day.
        """CREATE TEMP TABLE folding_day AS
        SELECT store_id, day, visit_number, dwell_bin, COUNT(*) AS visits
        FROM temp.folding GROUP BY 1, 2, 3, 4""",
        """INSERT INTO stat_visit_number (store_id, day, visit_number, visits)
        SELECT store_id, day, visit_number, SUM(visits) FROM temp.folding_day
        WHERE TRUE GROUP BY 1, 2, 3
        ON CONFLICT (store_id, day, visit_number) DO UPDATE SET
            visits = stat_visit_number.visits + excluded.visits""",
        """INSERT INTO stat_dwell (store_id, day, dwell_bin, visits)
        SELECT store_id, day, dwell_bin, SUM(visits) FROM temp.folding_day
        WHERE TRUE GROUP BY 1, 2, 3
        ON CONFLICT (store_id, day, dwell_bin) DO UPDATE SET
            visits = stat_dwell.visits + excluded.visits""",
        # A visit has one day, so distinct visits per day and cell add up across folds.
        f"""INSERT INTO stat_heat (store_id, day, camera_id, cell_x, cell_y, points, visits)
        SELECT folding.store_id, folding.day, place / {_CELLS}, place / {HEAT_CELLS} % {HEAT_CELLS},
               place % {HEAT_CELLS}, points, visits
        FROM (
            SELECT store_day, camera_id * {_CELLS} + {CELL_X} * {HEAT_CELLS} + {CELL_Y} AS place,
                   COUNT(*) AS points, COUNT(DISTINCT visit_id) AS visits, MIN(visit_id) AS one
            FROM {points}
            WHERE camera_id IS NOT NULL GROUP BY 1, 2
        ) AS cell CROSS JOIN temp.folding ON folding.id = cell.one
        WHERE TRUE
        ON CONFLICT (store_id, day, camera_id, cell_x, cell_y) DO UPDATE SET
            points = stat_heat.points + excluded.points,
            visits = stat_heat.visits + excluded.visits""",
        # The floor plan: one grid for all calibrated cameras, a visit counted once per cell.
        f"""INSERT INTO stat_floor_heat (store_id, day, cell_x, cell_y, visits)
        SELECT folding.store_id, folding.day, place / {HEAT_CELLS}, place % {HEAT_CELLS}, visits
        FROM (
            SELECT store_day, {FLOOR_CELL_X} * {HEAT_CELLS} + {FLOOR_CELL_Y} AS place,
                   COUNT(DISTINCT visit_id) AS visits, MIN(visit_id) AS one
            FROM {points}
            WHERE floor_x IS NOT NULL AND floor_y IS NOT NULL GROUP BY 1, 2
        ) AS cell CROSS JOIN temp.folding ON folding.id = cell.one
        WHERE TRUE
        ON CONFLICT (store_id, day, cell_x, cell_y) DO UPDATE SET
            visits = stat_floor_heat.visits + excluded.visits""",
        # Time in the operator's zones, worked out when each path was recorded.
        f"""INSERT INTO stat_zone_dwell (store_id, day, camera_id, zone, visits, seconds)
        SELECT store_id, day, camera_id, zone, COUNT(*), SUM(seconds)
        FROM {dwell}
        WHERE TRUE GROUP BY 1, 2, 3, 4
        ON CONFLICT (store_id, day, camera_id, zone) DO UPDATE SET
            visits = stat_zone_dwell.visits + excluded.visits,
            seconds = stat_zone_dwell.seconds + excluded.seconds""",
        "DROP TABLE temp.folding_day",
        "DROP TABLE temp.folding",
    )


_FOLDS = _folds(_BY_VISIT)
_FOLDS_IN_ROW_ORDER = _folds(_IN_ROW_ORDER)
# Large sorts may use a helper thread: the fold takes a fifth less time on two cores.
_SORT_THREADS = 2
# The page cache of a sweep, in KiB (negative: SQLite's unit for a size rather than a count).
_SWEEP_CACHE_KIB = -131072

# A notice that names no retention period (allowed outside repeat mode) keeps nothing personal
# beyond the visit: what is recorded under it ages out a day after it was seen.
NO_PERIOD_DAYS = 1

_EXPIRED_VISITORS = "SELECT id FROM visitor WHERE expires_at <= :now"
# The visits a sweep deletes: those of expired visitors (found through the visitor and visit
# indexes) and anonymous visits that ended a period ago. In id order, so that reading them back
# from visit and path_point walks the tables forwards.
_EXPIRING_TABLE = "CREATE TEMP TABLE expiring (id INTEGER PRIMARY KEY, anonymous INTEGER)"
_EXPIRING_ROWS = f"""INSERT INTO temp.expiring (id, anonymous)
SELECT visit.id, 0 FROM visit WHERE visitor_id IN ({_EXPIRED_VISITORS})
UNION ALL
SELECT id, 1 FROM visit WHERE visitor_id IS NULL AND ended_at <= :cutoff
ORDER BY 1"""
_IN_EXPIRING = "id IN (SELECT id FROM temp.expiring)"


class ScrubIncompleteError(RuntimeError):
    """The rows are deleted, but another connection kept the WAL from being truncated.

    ``result`` is what the committed deletion did (a SweepResult, PurgeResult…), set by the
    function that deleted, so that its caller still audits the deletion and replaces the
    backups before telling the operator what remains to be done."""

    def __init__(self, message: str, result: object = None):
        super().__init__(message)
        self.result = result


class StatedRetention(Protocol):
    """What a notice profile says about retention (``desktopapp.core.notice.NoticeProfile``)."""

    retention_days: int
    retention_from: Literal["first", "last"]


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

    @classmethod
    def of_notice(cls, notice: StatedRetention | None) -> RetentionPolicy:
        """The policy of the notice in force, whatever its mode: its period, or
        ``NO_PERIOD_DAYS`` when it names none (or no notice exists yet), so that a sweep
        always has something to apply."""
        if notice is None:
            return cls(NO_PERIOD_DAYS)
        return cls(notice.retention_days or NO_PERIOD_DAYS, notice.retention_from)


@dataclass(frozen=True, slots=True)
class SweepResult:
    visitors: int
    templates: int
    visits: int
    path_points: int
    anonymous_visits: int
    folded_visits: int
    seconds: float

    @property
    def deleted(self) -> bool:
        """Whether the sweep deleted any personal data (then backups must be replaced)."""
        return bool(
            self.visitors
            or self.templates
            or self.visits
            or self.path_points
            or self.anonymous_visits
        )


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("times must carry a time zone")
    return moment.astimezone(UTC)


def expiry_for(first_seen: datetime, last_seen: datetime, policy: RetentionPolicy) -> datetime:
    """When a visitor's data expires: the period after its first or last visit."""
    start = first_seen if policy.counted_from == "first" else last_seen
    return _utc(start) + timedelta(days=policy.days)


def fold_visits(
    conn: sqlite3.Connection,
    where: str,
    params: Mapping[str, str],
    *,
    every_visit: bool = False,
) -> int:
    """Add the visits matching ``where`` (a condition on ``visit``) to the statistics (hourly
    counts with conversion and spend, visit number, dwell, floor cells); returns how many
    visits were added. Staff and opted-out visitors are left out. ``every_visit`` says that
    ``where`` holds for every visit, so the path points are best read in row order. Runs
    inside the caller's transaction."""
    threads = int(conn.execute("PRAGMA threads").fetchone()[0])
    conn.execute(f"PRAGMA threads = {max(threads, _SORT_THREADS)}")
    try:
        conn.execute(_FOLDING_TABLE)
        conn.execute(_FOLDING_ROWS.format(where=where), params)
        folded = int(conn.execute("SELECT COUNT(*) FROM temp.folding").fetchone()[0])
        for statement in _FOLDS_IN_ROW_ORDER if every_visit else _FOLDS:
            conn.execute(statement)
    finally:
        conn.execute(f"PRAGMA threads = {threads}")
    return folded


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


@contextmanager
def _sweep_cache(conn: sqlite3.Connection) -> Iterator[None]:
    """A larger page cache while a sweep runs: its deletes touch most pages of the path and
    visit tables, and with the default 2 MB cache a page changed twice is written to the WAL
    twice (a tenth less CPU time in bench/store_bulk.py)."""
    size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    conn.execute(f"PRAGMA cache_size = {_SWEEP_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {size}")


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
    with _sweep_cache(conn), immediate_transaction(conn):
        # The expired visits are listed once, by id, and every step below reads that list.
        conn.execute(_EXPIRING_TABLE)
        conn.execute(_EXPIRING_ROWS, params)
        anonymous = int(
            conn.execute("SELECT COUNT(*) FROM temp.expiring WHERE anonymous").fetchone()[0]
        )
        folded = 0
        if policy.to_statistics:
            folded = fold_visits(conn, _IN_EXPIRING, {})
        path_points = conn.execute(
            "DELETE FROM path_point WHERE visit_id IN (SELECT id FROM temp.expiring)"
        ).rowcount
        # Zone dwell goes with its visit, and purchases lose their link, by ON DELETE.
        visits = conn.execute(f"DELETE FROM visit WHERE {_IN_EXPIRING}").rowcount - anonymous
        conn.execute("DROP TABLE temp.expiring")
        # By row id, so that the table's pages are rewritten in order, each once.
        templates = conn.execute(
            f"""DELETE FROM template WHERE id IN (
                SELECT id FROM template WHERE visitor_id IN ({_EXPIRED_VISITORS}))""",
            params,
        ).rowcount
        visitors = conn.execute("DELETE FROM visitor WHERE expires_at <= :now", params).rowcount

    def result() -> SweepResult:
        return SweepResult(
            visitors=visitors,
            templates=templates,
            visits=visits,
            path_points=path_points,
            anonymous_visits=anonymous,
            folded_visits=folded,
            seconds=time.perf_counter() - started,
        )

    try:
        if visitors or templates or visits or path_points or anonymous:
            scrub(conn)
        else:
            checkpoint(conn)
    except ScrubIncompleteError as exc:
        exc.result = result()
        raise
    done = result()
    log.info("retention sweep: %s", done)
    return done


def reapply_policy(db: sqlite_utils.Database, policy: RetentionPolicy) -> int:
    """Recompute every visitor's expiry under ``policy`` (one UPDATE); returns the number of
    visitors whose expiry changed. The next sweep deletes those now expired.

    Only customers: opt-outs (kind ``dnt``) and consenting staff keep theirs, since they last
    until withdrawn, not for a retention period (``desktopapp.core.requests``, ``core.staff``)."""

    def expiry(first_seen: str, last_seen: str) -> str:
        first, last = datetime.fromisoformat(first_seen), datetime.fromisoformat(last_seen)
        return expiry_for(first, last, policy).isoformat()

    conn: sqlite3.Connection = db.conn
    conn.create_function("raiten_expiry", 2, expiry, deterministic=True)
    try:
        with immediate_transaction(conn):
            changed = conn.execute(
                """UPDATE visitor SET expires_at = raiten_expiry(first_seen, last_seen)
                WHERE kind = 'customer' AND expires_at <> raiten_expiry(first_seen, last_seen)"""
            ).rowcount
    finally:
        conn.create_function("raiten_expiry", 2, None)
    return changed
