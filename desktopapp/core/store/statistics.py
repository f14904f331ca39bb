"""The shape of the statistics that outlive personal data (G-04): which visits count and how a
visit is binned into ``stat_visit_hour``, ``stat_visit_number``, ``stat_dwell``, ``stat_heat`` and
``stat_floor_heat``.

Retention, purge and erasure fold visits into those tables with these SQL expressions, and
``desktopapp.core.analytics`` bins the visits still held with the very same ones, so that a
figure does not change when its visits are folded and deleted. The expressions name
``visit`` and ``path_point`` columns unqualified: they are meant for a FROM clause over
``visit``, optionally joined with ``path_point`` (the two tables share no column name but
``id``, which no expression uses).

Times are ISO 8601 UTC text, so the hour and the day of a visit are prefixes of
``started_at``: ``'2026-11-22T09'`` and ``'2026-11-22'``.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

STAT_TABLES = (
    "stat_visit_hour",
    "stat_visit_number",
    "stat_dwell",
    "stat_heat",
    "stat_floor_heat",
    "stat_zone_dwell",
    "stat_count",
)

# Staff (consented) and opted-out visitors never count. A NOT IN list of them rather than a
# join with visitor: a million joined lookups double the time of a fold.
COUNTED = (
    "(visitor_id IS NULL OR visitor_id NOT IN ("
    "SELECT id FROM visitor WHERE kind IN ('staff', 'dnt') AND id IS NOT NULL))"
)

HOUR = "substr(started_at, 1, 13)"
DAY = "substr(started_at, 1, 10)"
AGE_BAND = "COALESCE(age_band, 'unknown')"
GENDER = "COALESCE(gender, 'unknown')"

# Visit numbers from this one up are one bin, "10 or more". Anonymous visits are stored with
# visit number 1.
VISIT_NUMBER_CAP = 10
VISIT_NUMBER = f"MIN(visit_number, {VISIT_NUMBER_CAP})"

# Lower edges of the dwell bins in seconds: under 1 min, 1-5, 5-10, 10-20, 20-30, 30-60 min
# and 1 h or more. Bin i holds DWELL_BINS_SECONDS[i] <= dwell < DWELL_BINS_SECONDS[i + 1].
DWELL_BINS_SECONDS = (0, 60, 300, 600, 1200, 1800, 3600)
DWELL_BIN = (
    "CASE "
    + " ".join(
        f"WHEN dwell_seconds < {upper} THEN {index}"
        for index, upper in enumerate(DWELL_BINS_SECONDS[1:])
    )
    + f" ELSE {len(DWELL_BINS_SECONDS) - 1} END"
)

# Path points are binned on a HEAT_CELLS x HEAT_CELLS grid over each camera's picture
# (normalised 0..1 image coordinates; anything outside is clamped to the edge cells), and on
# one grid of the same size over the floor plan where a calibration places them.
HEAT_CELLS = 16


def _cell(column: str) -> str:
    return f"MAX(0, MIN({HEAT_CELLS - 1}, CAST({column} * {HEAT_CELLS} AS INTEGER)))"


CELL_X = _cell("x")
CELL_Y = _cell("y")
FLOOR_CELL_X = _cell("floor_x")
FLOOR_CELL_Y = _cell("floor_y")

# Purchases linked to a visit, summed per visit: a visit with one is "converted".
VISIT_SPEND = (
    "(SELECT visit_id, SUM(amount) AS spend FROM purchase "
    "WHERE visit_id IS NOT NULL GROUP BY visit_id)"
)
