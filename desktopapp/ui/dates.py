"""Times shown to the operator: always in the PC's local time zone, never UTC."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from desktopapp.core.analytics import Period


def local_time_text(moment: datetime) -> str:
    """``2026-11-22 21:40`` in local time (ISO order reads the same in Japanese and English)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def local_date_text(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d")


def local_days(first: date, last: date, store_id: int | None) -> Period:
    """The whole local days ``first`` to ``last`` (both included) as a period."""
    start = datetime.combine(first, time()).astimezone()
    end = datetime.combine(last, time()).astimezone() + timedelta(days=1)
    return Period(start, end, store_id)
