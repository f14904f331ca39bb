"""One-click purge (G-14): every visitor, template, visit and path point goes, unrecoverably.

Opt-outs and consenting staff stay unless ``include_exclusions`` says otherwise: a person's
request outlives a purge of the analytics data (issue 16), and a purge that let an opted-out
person be recorded again would break that request. Their visitors, templates and consent records
are set aside in memory, the tables emptied as before, and they are put back in the same
transaction. The hourly statistics are either kept (all visits are folded into them first) or
deleted too.
Audit entries, notices, cameras, operator, stores and settings are not personal data and stay;
so do POS purchases, unlinked from the deleted visits.
Afterwards no byte of a deleted row is left in the file or its WAL: secure_delete overwrites
in place, the WAL is checkpointed and truncated, and VACUUM rebuilds the file.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from desktopapp.core.chain.local import uninstall as leave_chain
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.retention import ScrubIncompleteError, fold_visits, scrub
from desktopapp.core.store.statistics import STAT_TABLES

log = logging.getLogger(__name__)

_PERSONAL_TABLES = ("path_point", "zone_dwell", "visit", "staff_consent", "template", "visitor")
# What an exclusion consists of, parents first: (table, its visitor id column).
_EXCLUSION_ROWS = (("visitor", "id"), ("template", "visitor_id"), ("staff_consent", "visitor_id"))


@dataclass(frozen=True, slots=True)
class PurgeResult:
    visitors: int
    templates: int
    visits: int
    path_points: int
    statistics_rows: int  # rows of the stat_* tables deleted (0 when the statistics are kept)
    seconds: float
    exclusions_kept: int = 0  # opt-outs and staff kept (0 when they were deleted too)


def purge_personal_data(
    db: sqlite_utils.Database,
    *,
    keep_statistics: bool,
    include_exclusions: bool = False,
    progress: Callable[[float], None] | None = None,
) -> PurgeResult:
    """Delete all personal data in one transaction, then scrub the file; opt-outs and staff
    too only with ``include_exclusions``. ``progress`` gets increasing fractions from 0.0 to
    1.0."""
    report = progress or (lambda _fraction: None)
    started = time.perf_counter()
    conn: sqlite3.Connection = db.conn
    report(0.0)
    deleted: dict[str, int] = {}
    # With foreign keys enforced, SQLite deletes row by row and runs the ON DELETE CASCADE
    # program for each visit (about 20 µs a row: 20 s for a million visits); without, a DELETE
    # with no WHERE frees the table's pages at once. Every row of every table in the chain
    # goes, so enforcement is switched off (it cannot change inside a transaction) and replaced
    # by one check before commit: no other table may point at what was deleted.
    enforced = int(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        with immediate_transaction(conn):
            # A store of a chain leaves it: the purge deletes this PC's data, not the chain's
            # (its triggers would queue every visitor's deletion as an erasure for every store),
            # and the store's chain credentials and gallery key go with the rest.
            leave_chain(conn)
            if keep_statistics:
                fold_visits(conn, "TRUE", {}, every_visit=True)
                statistics_rows = 0
            else:
                statistics_rows = sum(
                    conn.execute(f"DELETE FROM {table}").rowcount for table in STAT_TABLES
                )
            report(0.5)  # the fold takes about half of the time
            # Purchases are not personal data and stay; their links to visits go (what ON
            # DELETE SET NULL would do with enforcement on), after the fold that may count them.
            conn.execute("UPDATE purchase SET visit_id = NULL WHERE visit_id IS NOT NULL")
            kept = [] if include_exclusions else _set_aside(conn)
            for step, table in enumerate(_PERSONAL_TABLES, start=1):
                deleted[table] = conn.execute(f"DELETE FROM {table}").rowcount
                report(0.5 + 0.04 * step)
            for table, rows in kept:
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                    deleted[table] -= len(rows)
            dangling = {row[0] for row in conn.execute("PRAGMA foreign_key_check")}
            if dangling:
                raise sqlite3.IntegrityError(
                    f"purge stopped: {', '.join(sorted(dangling))} still refer to personal data"
                )
    finally:
        conn.execute(f"PRAGMA foreign_keys={enforced}")
    report(0.8)
    result = PurgeResult(
        visitors=deleted["visitor"],
        templates=deleted["template"],
        visits=deleted["visit"],
        path_points=deleted["path_point"],
        statistics_rows=statistics_rows,
        seconds=time.perf_counter() - started,
        exclusions_kept=sum(len(rows) for table, rows in kept if table == "visitor"),
    )
    try:
        scrub(conn)
    except ScrubIncompleteError as exc:
        exc.result = result  # committed: the caller audits it all the same
        raise
    result = dataclasses.replace(result, seconds=time.perf_counter() - started)
    log.info("purged personal data: %s", result)
    report(1.0)
    return result


def _set_aside(conn: sqlite3.Connection) -> list[tuple[str, list[tuple[object, ...]]]]:
    """The rows of every opt-out and staff member, parents first. Few (one per person who
    asked), so they are held in memory while the tables are emptied wholesale; deleting
    customers row by row instead would cost the fast path of DELETE without WHERE. One scan of
    the visitors finds them; their templates are found through the visitor index."""
    ids = [row[0] for row in conn.execute("SELECT id FROM visitor WHERE kind IN ('dnt', 'staff')")]
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return [
        (table, conn.execute(f"SELECT * FROM {table} WHERE {column} IN ({marks})", ids).fetchall())
        for table, column in _EXCLUSION_ROWS
    ]
