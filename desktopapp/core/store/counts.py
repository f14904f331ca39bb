"""People and line crossings counted per hour (``stat_count``): what the counting modes keep.

A closed person track adds one person to the hour it was first seen in, and one crossing per
line and direction to the hour of each crossing. Nothing else of the track is kept here: no ID,
no path, no time finer than the hour.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def _hour(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H}"


def add_counts(
    conn: sqlite3.Connection,
    store_id: int,
    camera_id: int,
    seen: datetime,
    crossings: Iterable[tuple[str, str, datetime]],
) -> None:
    """One person first seen at ``seen`` and their (line, direction, time) crossings. Runs in
    the caller's transaction."""
    counts: Counter[tuple[str, str, str]] = Counter({(_hour(seen), "persons", ""): 1})
    for line, direction, at in crossings:
        counts[_hour(at), direction, line] += 1
    conn.executemany(
        "INSERT INTO stat_count (store_id, camera_id, hour, what, line, count) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (store_id, camera_id, hour, what, line) "
        "DO UPDATE SET count = stat_count.count + excluded.count",
        [(store_id, camera_id, hour, what, line, n) for (hour, what, line), n in counts.items()],
    )
