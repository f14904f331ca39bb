"""Headline counts for the dashboard: visits and repeat visits over recent periods.

Counts come from visits still held and from the hourly statistics that retention and purge
leave behind, so the figures do not drop when personal data expires. Staff and opted-out people
are never counted. Small counts are shown as "fewer than k" (G-07) by the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

log = logging.getLogger(__name__)

PERIOD_DAYS = (1, 7, 30)
DEFAULT_K = 5

_HELD = """
SELECT COUNT(*), COALESCE(SUM(is_repeat), 0) FROM visit
WHERE started_at >= :since
  AND (visitor_id IS NULL OR visitor_id NOT IN (
        SELECT id FROM visitor WHERE kind IN ('staff', 'dnt')))
"""
# stat_visit_hour.hour is the first 13 characters of an ISO UTC time ("2026-11-22T09").
_FOLDED = """
SELECT COALESCE(SUM(visits), 0), COALESCE(SUM(CASE WHEN is_repeat = 1 THEN visits END), 0)
FROM stat_visit_hour WHERE hour >= :since_hour
"""


@dataclass(frozen=True, slots=True)
class PeriodCount:
    days: int
    visits: int
    repeat_visits: int


def period_counts(db: sqlite_utils.Database, now: datetime | None = None) -> list[PeriodCount]:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    counts = []
    for days in PERIOD_DAYS:
        since = moment - timedelta(days=days)
        held = db.execute(_HELD, {"since": since.isoformat()}).fetchone()
        folded = db.execute(_FOLDED, {"since_hour": since.isoformat()[:13]}).fetchone()
        counts.append(PeriodCount(days, int(held[0] + folded[0]), int(held[1] + folded[1])))
    return counts


def suppressed(count: int, k: int = DEFAULT_K) -> str:
    """``count`` as text, or "<k" when so few that a person could be singled out (G-07)."""
    return f"<{k}" if 0 < count < k else str(count)
