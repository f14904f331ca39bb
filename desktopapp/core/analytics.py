"""Aggregates: the only figures that charts, reports and exports read (DESIGN "Layout").

Every figure is computed in SQL over the visits still held UNION the statistics that retention,
purge and erasure fold them into. ``desktopapp.core.store.statistics`` bins both the same way,
so a figure is identical before and after its visits are folded and deleted (G-04). Staff and
opted-out visitors are never counted. Results carry raw counts; whoever shows or exports them
hides small ones with ``suppressed`` and ``Heatmap.suppressed`` (G-07).

Where a visit falls: the statistics keep UTC hours (visit counts, repeat, age band and gender,
conversion and spend) or UTC days (visit number, dwell, floor cells). So a visit is placed at
the start of the UTC hour, or day, it started in, and a period [start, end) takes the hours,
or days, that begin inside it. For hourly figures a period of whole local hours is exact in any
zone with a whole-hour offset. Daily figures run from UTC midnight, 09:00 in Japan: for a store
open in the daytime that is the same day. ``visits_over_time`` buckets are in the operator's
time zone.

Two methods read what only held rows have, so their figures change as data expires, by
design: the in-store count of ``live_counts`` (visit end times) and ``incident_report`` (what
is held, G-15).

A period's ``scope`` says whose figures: this PC's (the default), another store of its chain,
or all stores. Other stores' figures come from the statistics the chain's server passed at the
last sync (``desktopapp.core.chain.stats``): their folded statistics and their held visits
folded in the same shape. Figures each store keeps for itself (sales linked to visits, time in
the zones drawn on its cameras, heat maps over its pictures and floor plan, who is in the
store now) are for this store only: ``Figures.store_only_shown`` is False for another scope.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Any, Literal

import sqlite_utils

from desktopapp.core.chain.stats import ChainStore, mirror, other_stores
from desktopapp.core.geometry_config import CameraGeometryConfig
from desktopapp.core.matching import DEFAULT_FALSE_MATCH_RATE, expected_false_repeats
from desktopapp.core.store.statistics import (
    AGE_BAND,
    CELL_X,
    CELL_Y,
    COUNTED,
    DWELL_BIN,
    DWELL_BINS_SECONDS,
    FLOOR_CELL_X,
    FLOOR_CELL_Y,
    GENDER,
    HEAT_CELLS,
    HOUR,
    VISIT_NUMBER,
    VISIT_NUMBER_CAP,
    VISIT_SPEND,
)
from desktopapp.core.suppression import Disclosure, is_small

log = logging.getLogger(__name__)

Bucket = Literal["hour", "day", "week"]

DEFAULT_K = 5
# The parts a period's or a bucket's visits split into, in the order screens and reports show
# them: identified first visits, identified returns, and visits of unknown identity.
VISIT_KINDS = ("new", "repeat", "unknown")
PERIOD_DAYS = (1, 7, 30)
# Two-sided 95 % normal quantile, for the Wilson interval of the repeat rate.
Z_95 = 1.959963984540054

VISIT_NUMBER_LABELS = (
    *(str(n) for n in range(1, VISIT_NUMBER_CAP)),
    f"{VISIT_NUMBER_CAP}+",
)
# Dwell bins in minutes: "0-1", "1-5", ..., "60+".
DWELL_LABELS = (
    *(f"{low // 60}-{high // 60}" for low, high in pairwise(DWELL_BINS_SECONDS)),
    f"{DWELL_BINS_SECONDS[-1] // 60}+",
)

# Personal records the incident report counts (G-15), in the order it lists them.
RECORD_KINDS = (
    "customer_visitors",
    "staff_visitors",
    "dnt_visitors",
    "feature_templates",
    "identified_visits",
    "path_points",
    "linked_purchases",
)


def suppressed(count: int, k: int = DEFAULT_K) -> str:
    """``count`` as text, or "<k" when it is small (G-07). The one rule for every screen and
    export: a zero is shown, since it singles out no one."""
    return f"<{k}" if is_small(count, k) else str(count)


def default_bucket(period: Period) -> Bucket:
    """Hours for a day or two, weeks beyond three months, days in between."""
    days = (period.end - period.start) / timedelta(days=1)
    return "hour" if days <= 2 else "week" if days > 92 else "day"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose figures: this PC's own (``here``) and which other stores of its chain
    (``others``: their ids on the chain's server, None for every one of them)."""

    here: bool = True
    others: tuple[str, ...] | None = ()

    @property
    def this_store(self) -> bool:
        return self.here and self.others == ()


THIS_STORE = Scope()
ALL_STORES = Scope(here=True, others=None)


def other_store(store_id: str) -> Scope:
    return Scope(here=False, others=(store_id,))


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) with time zones; ``store_id`` None means every store held on this PC;
    ``scope`` adds other stores of a chain."""

    start: datetime
    end: datetime
    store_id: int | None = None
    scope: Scope = THIS_STORE

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's start and end must carry a time zone")
        if self.end < self.start:
            raise ValueError("a period cannot end before it starts")


@dataclass(frozen=True, slots=True)
class StoreRef:
    store_id: int
    name: str


@dataclass(frozen=True, slots=True)
class TimeBucket:
    """A bucket's visits: new and repeat among the identified ones, plus those of unknown
    identity (no usable face), which are neither; the three add up to ``visits``."""

    start: datetime  # in the operator's time zone
    visits: int
    new_visits: int
    repeat_visits: int
    unknown_visits: int = 0


@dataclass(frozen=True, slots=True)
class RepeatRate:
    """Repeat visits over the identified visits of a period; ``visits`` counts every visit,
    ``unknown_visits`` those whose identity is unknown (no usable face), shown beside the
    rate."""

    visits: int
    repeat_visits: int
    rate: float
    low: float  # the 95 % band, widened downward for false repeats (Analytics.repeat_rate)
    high: float
    expected_false_repeats: float  # visits among repeat_visits likely to be new people
    unknown_visits: int = 0
    gallery_size: int = 0  # customers held, each compared with every new person

    @property
    def identified_visits(self) -> int:
        return self.visits - self.unknown_visits

    @property
    def unknown_share(self) -> float:
        return self.unknown_visits / self.visits if self.visits else 0.0


@dataclass(frozen=True, slots=True)
class Cell:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class DemographicCell:
    age_band: str
    gender: str
    visits: int


@dataclass(frozen=True, slots=True)
class Heatmap:
    cells: tuple[tuple[int, ...], ...]  # cells[y][x]: visits that passed through the cell
    suppressed: frozenset[tuple[int, int]]  # (x, y) of cells with 0 < visits < k


@dataclass(frozen=True, slots=True)
class ZoneDwell:
    camera_id: int
    zone: str
    visits: int
    mean_dwell_seconds: float


@dataclass(frozen=True, slots=True)
class LineCount:
    camera_id: int  # the camera's number at its store
    line: str
    crossed_in: int
    crossed_out: int
    store: str = ""  # another store of the chain by name; "" for this store

    def key(self, direction: Literal["in", "out"]) -> tuple[Any, ...]:
        """The count's key in ``Figures.disclosure``."""
        own = ("line", self.camera_id, self.line, direction)
        return (*own, self.store) if self.store else own


@dataclass(frozen=True, slots=True)
class Conversion:
    visits: int
    converted: int  # visits with at least one linked purchase
    rate: float


@dataclass(frozen=True, slots=True)
class SpendCell:
    age_band: str
    gender: str
    visits: int
    converted: int
    spend: float  # sum of the converted visits' purchases


@dataclass(frozen=True, slots=True)
class LiveCounts:
    in_store_now: int | None  # None beyond this store: other stores' doors are not watched here
    today_visits: int


@dataclass(frozen=True, slots=True)
class PeriodCount:
    days: int
    visits: int
    repeat_visits: int


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str  # "YYYY-MM" in the operator's time zone
    count: int


@dataclass(frozen=True, slots=True)
class RecordCount:
    kind: str  # one of RECORD_KINDS
    total: int
    by_month: tuple[MonthCount, ...]
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentReport:
    generated_at: datetime
    notice_version: int | None  # the notice in force when the report was made
    records: tuple[RecordCount, ...]
    oldest: datetime | None
    newest: datetime | None

    @property
    def total(self) -> int:
        return sum(record.total for record in self.records)


@dataclass(frozen=True, slots=True)
class Figures:
    """The aggregates of one period that the dashboard and the reports show together."""

    period: Period
    bucket: Bucket
    over_time: list[TimeBucket]
    repeat: RepeatRate
    frequency: list[Cell]
    demographics: list[DemographicCell]
    dwell: list[Cell]
    conversion: Conversion
    spend: list[SpendCell]
    zones: list[ZoneDwell]
    lines: list[LineCount]
    people: int  # persons counted by the counting modes (passer-by, crowd, ...)
    purchases: int = 0  # purchase records in the period, linked to a visit or not
    # False for a scope beyond this store: sales, zones and heat maps, which each store keeps
    # for itself, are left empty rather than shown for a part of the scope.
    store_only_shown: bool = True

    def disclosure(self, k: int) -> Disclosure:
        """Which of these counts to hide (G-07), primary and complementary, with the sums
        they take part in. Keys: ("visits",), ("new",), ("repeat",), ("converted",);
        ("bucket", i, "visits" | "new" | "repeat"); ("frequency", i); ("dwell", i);
        ("segment", age band, gender) for visits and ("converted", age band, gender);
        ("zone", camera id, zone)."""
        d = Disclosure(k)
        visits = d.add(("visits",), self.repeat.visits)
        # Visits of unknown identity are neither new nor repeat: the three parts make the
        # total, so hiding one small part alone could be undone by subtraction.
        repeat_visits = self.repeat.repeat_visits
        new = d.add(("new",), self.repeat.identified_visits - repeat_visits)
        repeat = d.add(("repeat",), repeat_visits)
        unknown = d.add(("unknown",), self.repeat.unknown_visits)
        d.adds_up(visits, [new, repeat, unknown])
        converted = d.add(("converted",), self.conversion.converted)
        columns: dict[str, list[Any]] = {name: [] for name in ("visits", *VISIT_KINDS)}
        for index, b in enumerate(self.over_time):
            row = {
                name: d.add(("bucket", index, name), count)
                for name, count in (
                    ("visits", b.visits),
                    ("new", b.new_visits),
                    ("repeat", b.repeat_visits),
                    ("unknown", b.unknown_visits),
                )
            }
            d.adds_up(row["visits"], [row[name] for name in VISIT_KINDS])
            for name, key in row.items():
                columns[name].append(key)
        for total, name in (
            (visits, "visits"),
            (new, "new"),
            (repeat, "repeat"),
            (unknown, "unknown"),
        ):
            d.adds_up(total, columns[name])
        # Visit number and dwell count the same visits by day: either distribution's total
        # follows from the other when it is shown whole. When the days hold the period's visits
        # exactly (a local day inside one UTC day, as for a shop open by day in Japan), the
        # bars add up to the period's total: a total hidden to protect a small bucket must not
        # be read off them.
        for name, distribution in (("frequency", self.frequency), ("dwell", self.dwell)):
            parts = [d.add((name, i), cell.count) for i, cell in enumerate(distribution)]
            daily = sum(c.count for c in distribution)
            total = (
                visits
                if daily == self.repeat.visits
                else d.add(("daily", name), daily, virtual=True)
            )
            d.adds_up(total, parts)
        segments = [d.add(("segment", c.age_band, c.gender), c.visits) for c in self.demographics]
        d.adds_up(visits, segments)
        for cell in self.spend:
            d.add(("segment", cell.age_band, cell.gender), cell.visits)
        d.adds_up(
            converted,
            [d.add(("converted", c.age_band, c.gender), c.converted) for c in self.spend],
        )
        for zone in self.zones:
            d.add(("zone", zone.camera_id, zone.zone), zone.visits)
        for line in self.lines:
            d.add(line.key("in"), line.crossed_in)
            d.add(line.key("out"), line.crossed_out)
        d.add(("people",), self.people)
        return d


@dataclass(frozen=True, slots=True)
class _Totals:
    visits: int
    repeat_visits: int
    converted: int
    unknown: int  # visits of unknown identity (no visitor)


# Visits are indexed by (store, start): naming every store lets SQLite read each store's visits
# of the period from the index instead of every visit held.
_EVERY_STORE = "store_id IN (SELECT id FROM store)"
# Held visits and hourly statistics as one table of (hour, age band, gender) cells. The outer
# query groups by a choice of those three columns ({keys}).
_HOURLY = f"""
SELECT {{keys}}SUM(visits), SUM(repeat_visits), SUM(converted), SUM(spend), SUM(unknown)
FROM (
    SELECT {HOUR} AS hour, {AGE_BAND} AS age_band, {GENDER} AS gender, COUNT(*) AS visits,
           SUM(is_repeat) AS repeat_visits, COUNT(sale.visit_id) AS converted,
           COALESCE(SUM(sale.spend), 0) AS spend, SUM(visitor_id IS NULL) AS unknown
    FROM visit LEFT JOIN {VISIT_SPEND} AS sale ON sale.visit_id = visit.id
    WHERE {{held}} GROUP BY 1, 2, 3
    UNION ALL
    SELECT hour, age_band, gender, visits, CASE WHEN is_repeat = 1 THEN visits ELSE 0 END,
           converted, spend, unknown
    FROM {{stat}}
) {{group}}
"""
# Held visits and one daily statistic, by the statistic's bin.
_DAILY = """
SELECT bin, SUM(visits) FROM (
    SELECT {expression} AS bin, COUNT(*) AS visits FROM visit WHERE {held} GROUP BY 1
    UNION ALL
    SELECT {column}, visits FROM {stat}
) GROUP BY 1
"""
# Distinct visits per camera and cell. A visit has one day, so distinct visits over the held
# days equal the sum of the per-day counts the statistics keep.
_HEAT = f"""
SELECT camera_id, cell_x, cell_y, SUM(visits) FROM (
    SELECT camera_id, {CELL_X} AS cell_x, {CELL_Y} AS cell_y, COUNT(DISTINCT visit_id) AS visits
    FROM visit JOIN path_point ON path_point.visit_id = visit.id
    WHERE camera_id IS NOT NULL AND {{held}} {{camera}} GROUP BY 1, 2, 3
    UNION ALL
    SELECT camera_id, cell_x, cell_y, visits FROM stat_heat WHERE {{stat}} {{camera}}
) GROUP BY 1, 2, 3
"""
# Distinct visits per floor-plan cell, every calibrated camera on one grid.
_FLOOR_HEAT = f"""
SELECT cell_x, cell_y, SUM(visits) FROM (
    SELECT {FLOOR_CELL_X} AS cell_x, {FLOOR_CELL_Y} AS cell_y, COUNT(DISTINCT visit_id) AS visits
    FROM visit JOIN path_point ON path_point.visit_id = visit.id
    WHERE floor_x IS NOT NULL AND floor_y IS NOT NULL AND {{held}} GROUP BY 1, 2
    UNION ALL
    SELECT cell_x, cell_y, visits FROM stat_floor_heat WHERE {{stat}}
) GROUP BY 1, 2
"""
# Personal records by the UTC hour of their time (converted to local months in Python).
_RECORDS: dict[str, str] = {
    "visitors": "SELECT kind, substr(first_seen, 1, 13), COUNT(*), MIN(first_seen), "
    "MAX(first_seen) FROM visitor GROUP BY 1, 2",
    "feature_templates": "SELECT '', substr(created_at, 1, 13), COUNT(*), MIN(created_at), "
    "MAX(created_at) FROM template GROUP BY 2",
    "identified_visits": "SELECT '', substr(started_at, 1, 13), COUNT(*), MIN(started_at), "
    "MAX(started_at) FROM visit WHERE visitor_id IS NOT NULL GROUP BY 2",
    "path_points": "SELECT '', substr(at, 1, 13), COUNT(*), MIN(at), MAX(at) FROM path_point "
    "GROUP BY 2",
    "linked_purchases": "SELECT '', substr(at, 1, 13), COUNT(*), MIN(at), MAX(at) FROM purchase "
    "WHERE visit_id IS NOT NULL GROUP BY 2",
}


def _ceil(moment: datetime, unit: timedelta) -> datetime:
    """The first UTC hour or day boundary at or after ``moment``."""
    utc = moment.astimezone(UTC)
    floor = datetime.combine(utc.date(), time(), UTC)
    if unit == timedelta(hours=1):
        floor += timedelta(hours=utc.hour)
    return floor if floor == utc else floor + unit


def _utc_hour(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H").replace(tzinfo=UTC)


class Analytics:
    """Aggregates over one database. ``k`` is the smallest group shown (G-07); ``tz`` the
    operator's time zone for buckets and "today" (None: the system's, daylight saving
    included); ``false_match_rate`` the per-pair rate of the face features model in use
    (``vision.engine.false_match_rate``), for the repeat rate's band."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        k: int = DEFAULT_K,
        tz: tzinfo | None = None,
        false_match_rate: float = DEFAULT_FALSE_MATCH_RATE,
    ):
        if k < 1:
            raise ValueError("k must be at least 1")
        if not 0.0 <= false_match_rate < 1.0:
            raise ValueError("the false-match rate must be in [0, 1)")
        self.db = db
        self.k = k
        self.tz = tz
        self.false_match_rate = false_match_rate

    # --- time zone -------------------------------------------------------------------------

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def _midnight(self, day: date) -> datetime:
        naive = datetime.combine(day, time())
        # A naive time's astimezone() reads it in the system's zone, with its DST rules.
        return naive.replace(tzinfo=self.tz) if self.tz is not None else naive.astimezone()

    def _bucket_start(self, moment: datetime, bucket: Bucket) -> datetime:
        local = self._local(moment)
        if bucket == "hour":
            return local.replace(minute=0, second=0, microsecond=0)
        day = local.date()
        if bucket == "week":
            day -= timedelta(days=day.weekday())  # weeks start on Monday (ISO 8601)
        return self._midnight(day)

    def _next_bucket(self, start: datetime, bucket: Bucket) -> datetime:
        if bucket == "hour":
            # Stepping in UTC: a local hour may repeat or vanish at a DST change.
            return self._local(start.astimezone(UTC) + timedelta(hours=1))
        return self._midnight(start.date() + timedelta(days=7 if bucket == "week" else 1))

    # --- SQL building blocks ---------------------------------------------------------------

    @staticmethod
    def _filters(period: Period, unit: timedelta, column: str) -> tuple[str, str, dict[str, Any]]:
        """(condition on held visits, condition on a statistics table keyed by ``column``,
        parameters) for the hours or days that begin inside ``period``; this PC's rows only,
        none when the scope leaves this store out."""
        fmt = "%Y-%m-%dT%H" if unit == timedelta(hours=1) else "%Y-%m-%d"
        params: dict[str, Any] = {
            "lo": f"{_ceil(period.start, unit):{fmt}}",
            "hi": f"{_ceil(period.end, unit):{fmt}}",
        }
        # Held times are longer strings with the key as prefix, so they compare correctly
        # with the bare key: "2026-11-01T09:30:00+00:00" >= "2026-11-01T09".
        stores = _EVERY_STORE if period.store_id is None else "store_id = :store"
        held = f"{COUNTED} AND {stores} AND started_at >= :lo AND started_at < :hi"
        stat = f"{column} >= :lo AND {column} < :hi"
        if period.store_id is not None:
            stat += " AND store_id = :store"
            params["store"] = period.store_id
        if not period.scope.here:
            return "0", "0", params
        return held, stat, params

    def _has(self, table: str) -> bool:
        found = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        return found is not None

    @staticmethod
    def _others(period: Period, column: str, params: dict[str, Any], alias: str = "") -> str:
        """Condition on a mirror of the chain's statistics (``alias``-qualified) for the
        scope's other stores and the period's hours or days (``:lo``, ``:hi``)."""
        where = f"{alias}{column} >= :lo AND {alias}{column} < :hi"
        others = period.scope.others
        if others is not None:
            names = []
            for index, store_id in enumerate(others):
                params[f"other{index}"] = store_id
                names.append(f":other{index}")
            where += f" AND {alias}store_id IN ({', '.join(names)})"
        return where

    def _stat(
        self, table: str, stat: str, column: str, period: Period, params: dict[str, Any]
    ) -> str:
        """The rows of statistics table ``table`` in the period's scope as a FROM item: this
        PC's that meet ``stat``, and the mirrored rows of the scope's other stores."""
        local = f"SELECT * FROM {table} WHERE {stat}"
        if period.scope.others == () or not self._has(mirror(table)):
            return f"({local})"
        columns = ", ".join(str(row[1]) for row in self.db.execute(f"PRAGMA table_info({table})"))
        where = self._others(period, column, params)
        return f"({local} UNION ALL SELECT {columns} FROM {mirror(table)} WHERE {where})"

    def _hourly(self, period: Period, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        held, stat, params = self._filters(period, timedelta(hours=1), "hour")
        columns = "".join(f"{key}, " for key in keys)
        group = f"GROUP BY {', '.join(keys)}" if keys else ""
        rows = self._stat("stat_visit_hour", stat, "hour", period, params)
        sql = _HOURLY.format(keys=columns, held=held, stat=rows, group=group)
        return list(self.db.execute(sql, params).fetchall())

    def _totals(self, period: Period) -> _Totals:
        visits, repeats, converted, _spend, unknown = self._hourly(period, ())[0]
        return _Totals(int(visits or 0), int(repeats or 0), int(converted or 0), int(unknown or 0))

    def _daily(self, period: Period, expression: str, table: str, column: str) -> dict[int, int]:
        held, stat, params = self._filters(period, timedelta(days=1), "day")
        rows = self._stat(table, stat, "day", period, params)
        sql = _DAILY.format(expression=expression, column=column, held=held, stat=rows)
        return {int(key): int(count) for key, count in self.db.execute(sql, params)}

    # --- figures ---------------------------------------------------------------------------

    def stores(self) -> list[StoreRef]:
        rows = self.db.execute("SELECT id, name FROM store ORDER BY name").fetchall()
        return [StoreRef(int(store_id), str(name)) for store_id, name in rows]

    def chain_stores(self) -> list[ChainStore]:
        """The other stores of this PC's chain as of its last sync; empty when it is a store
        on its own (or has not synced yet)."""
        return other_stores(self.db.conn)

    def visits_over_time(self, period: Period, bucket: Bucket) -> list[TimeBucket]:
        """Visits per local hour, day or week (Monday first); every bucket that overlaps the
        period is listed, empty ones with zeros."""
        starts: list[datetime] = []
        if period.end > period.start:
            moment = self._bucket_start(period.start, bucket)
            while moment < period.end:
                starts.append(moment)
                moment = self._next_bucket(moment, bucket)
        visits: dict[datetime, int] = defaultdict(int)
        repeats: dict[datetime, int] = defaultdict(int)
        unknowns: dict[datetime, int] = defaultdict(int)
        for hour, count, repeat, _converted, _spend, unknown in self._hourly(period, ("hour",)):
            # Every hour counted begins inside the period, so its bucket is one of starts.
            start = self._bucket_start(_utc_hour(hour), bucket)
            visits[start] += int(count)
            repeats[start] += int(repeat or 0)
            unknowns[start] += int(unknown or 0)
        return [
            TimeBucket(
                start,
                visits[start],
                visits[start] - repeats[start] - unknowns[start],
                repeats[start],
                unknowns[start],
            )
            for start in starts
        ]

    def repeat_rate(self, period: Period, false_match_rate: float, gallery_size: int) -> RepeatRate:
        """Repeat visits / identified visits with a 95 % band that allows for false repeats;
        visits of unknown identity are counted apart (``RepeatRate.unknown_visits``).

        The band is the Wilson score interval of the observed proportion, with its lower end
        lowered by the share of visits likely counted as repeats by mistake. Each truly new
        person is taken for a returning one with probability e =
        ``expected_false_repeats(gallery_size, false_match_rate)``; the new visits seen,
        n - r, are the (1 - e) share of the truly new ones, so the false repeats expected
        among the r repeat visits are E = (n - r) e / (1 - e), at most r. Then
        low = max(0, wilson_low - E / n), high = wilson_high. A returning person missed by the
        matcher makes the rate too low instead; the threshold keeps that rare, and the band
        does not widen upward for it. With no visits the band is [0, 1]."""
        totals = self._totals(period)
        # Only identified visits can be repeats or not: the rate and its band are over them.
        n, r = totals.visits - totals.unknown, totals.repeat_visits
        share = expected_false_repeats(gallery_size, false_match_rate)
        if n == 0:
            return RepeatRate(totals.visits, 0, 0.0, 0.0, 1.0, 0.0, totals.unknown, gallery_size)
        expected = float(r) if share >= 1.0 else min(float(r), (n - r) * share / (1.0 - share))
        rate = r / n
        z2 = Z_95 * Z_95
        centre = (rate + z2 / (2 * n)) / (1 + z2 / n)
        half = Z_95 / (1 + z2 / n) * math.sqrt(rate * (1 - rate) / n + z2 / (4 * n * n))
        low = max(0.0, centre - half - expected / n)
        return RepeatRate(
            totals.visits,
            r,
            rate,
            low,
            min(1.0, centre + half),
            expected,
            totals.unknown,
            gallery_size,
        )

    def held_repeat_rate(self, period: Period) -> RepeatRate:
        """``repeat_rate`` for the gallery held now: every new person is compared with each
        customer held, at the features model's per-pair false-match rate."""
        row = self.db.execute("SELECT COUNT(*) FROM visitor WHERE kind = 'customer'").fetchone()
        return self.repeat_rate(period, self.false_match_rate, int(row[0]))

    def figures(self, period: Period, bucket: Bucket | None = None) -> Figures:
        own = period.scope.this_store
        repeat = self.held_repeat_rate(period)
        return Figures(
            period=period,
            bucket=bucket or default_bucket(period),
            over_time=self.visits_over_time(period, bucket or default_bucket(period)),
            repeat=repeat,
            frequency=self.visit_frequency(period),
            demographics=self.demographics(period),
            dwell=self.dwell_distribution(period),
            conversion=self.conversion(period) if own else Conversion(repeat.visits, 0, 0.0),
            spend=self.spend_by_segment(period) if own else [],
            zones=self._with_drawn_zones(self.zone_dwell(period)) if own else [],
            lines=self._with_drawn_lines(self.line_counts(period), period.scope),
            people=self.people_counted(period),
            purchases=self.purchases(period) if own else 0,
            store_only_shown=own,
        )

    def camera_names(self) -> dict[int, str]:
        """Each configured camera's name by its number, for tables that name cameras."""
        return {int(i): str(n) for i, n in self.db.execute("SELECT id, name FROM camera")}

    def _drawn(self) -> list[tuple[int, CameraGeometryConfig]]:
        drawn = []
        for camera_id, text in self.db.execute("SELECT id, geometry_json FROM camera"):
            try:
                drawn.append((int(camera_id), CameraGeometryConfig.model_validate_json(text)))
            except ValueError:
                log.warning("camera %s: its zones cannot be read", camera_id)
        return drawn

    def _with_drawn_zones(self, zones: list[ZoneDwell]) -> list[ZoneDwell]:
        """Every zone drawn on a camera appears, with 0 visits when nobody entered it: an
        empty row says "nobody", a missing one would say "not measured"."""
        seen = {(z.camera_id, z.zone) for z in zones}
        drawn = [
            ZoneDwell(camera_id, zone.name, 0, 0.0)
            for camera_id, geometry in self._drawn()
            for zone in geometry.zones
            if (camera_id, zone.name) not in seen
        ]
        return sorted([*zones, *drawn], key=lambda z: (z.camera_id, z.zone))

    def _with_drawn_lines(self, lines: list[LineCount], scope: Scope) -> list[LineCount]:
        """Every line drawn on this store's cameras appears (when the scope has this store),
        this store's first, then the other stores' by name."""
        seen = {(line.store, line.camera_id, line.line) for line in lines}
        drawn = [
            LineCount(camera_id, line.name, 0, 0)
            for camera_id, geometry in (self._drawn() if scope.here else [])
            for line in geometry.lines
            if ("", camera_id, line.name) not in seen
        ]
        return sorted([*lines, *drawn], key=lambda line: (line.store, line.camera_id, line.line))

    def purchases(self, period: Period) -> int:
        """Purchase records (POS import) in the period, whether linked to a visit or not."""
        sql = "SELECT COUNT(*) FROM purchase WHERE at >= :start AND at < :end"
        params: dict[str, Any] = {
            "start": period.start.astimezone(UTC).isoformat(),
            "end": period.end.astimezone(UTC).isoformat(),
        }
        if period.store_id is not None:
            sql += " AND store_id = :store"
            params["store"] = period.store_id
        return int(self.db.execute(sql, params).fetchone()[0])

    def visit_frequency(self, period: Period) -> list[Cell]:
        """Visits by which visit of the visitor they were: 1 … 9 and "10+". Anonymous visits
        (modes without identity) count as first visits."""
        counts = self._daily(period, VISIT_NUMBER, "stat_visit_number", "visit_number")
        return [
            Cell(label, counts.get(number, 0))
            for number, label in enumerate(VISIT_NUMBER_LABELS, start=1)
        ]

    def demographics(self, period: Period) -> list[DemographicCell]:
        """Visits by age band and gender ("unknown" where no attribute was estimated)."""
        rows = self._hourly(period, ("age_band", "gender"))
        return [
            DemographicCell(str(age), str(gender), int(visits)) for age, gender, visits, *_ in rows
        ]

    def dwell_distribution(self, period: Period) -> list[Cell]:
        """Visits by time in the store, in the bins of DWELL_LABELS (minutes)."""
        counts = self._daily(period, DWELL_BIN, "stat_dwell", "dwell_bin")
        return [Cell(label, counts.get(index, 0)) for index, label in enumerate(DWELL_LABELS)]

    def heatmap(self, period: Period, camera_id: int | None) -> Heatmap:
        """Visits per cell of a HEAT_CELLS × HEAT_CELLS grid over a camera's picture; with no
        camera, the cameras' grids added up (a visit seen by two cameras counts in both)."""
        held, stat, params = self._filters(period, timedelta(days=1), "day")
        if not period.scope.this_store:
            held = stat = "0"  # each store's pictures are its own
        camera = ""
        if camera_id is not None:
            camera = "AND camera_id = :camera"
            params["camera"] = camera_id
        sql = _HEAT.format(held=held, stat=stat, camera=camera)
        return self._grid((x, y, visits) for _camera, x, y, visits in self.db.execute(sql, params))

    def floor_heatmap(self, period: Period) -> Heatmap:
        """Visits per cell of a HEAT_CELLS × HEAT_CELLS grid over the operator's floor plan,
        from every camera calibrated against it; a visit seen in one spot by two cameras
        counts once there."""
        held, stat, params = self._filters(period, timedelta(days=1), "day")
        if not period.scope.this_store:
            held = stat = "0"  # each store's floor plan is its own
        sql = _FLOOR_HEAT.format(held=held, stat=stat)
        return self._grid(self.db.execute(sql, params))

    def _grid(self, cells: Iterable[tuple[int, int, int]]) -> Heatmap:
        grid = [[0] * HEAT_CELLS for _ in range(HEAT_CELLS)]
        for x, y, visits in cells:
            grid[int(y)][int(x)] += int(visits)
        hidden = frozenset(
            (x, y)
            for y, row in enumerate(grid)
            for x, visits in enumerate(row)
            if is_small(visits, self.k)
        )
        return Heatmap(tuple(tuple(row) for row in grid), hidden)

    def heatmap_cameras(self, period: Period) -> list[int]:
        """The cameras with floor cells in the period."""
        held, stat, params = self._filters(period, timedelta(days=1), "day")
        rows = self.db.execute(
            f"""SELECT camera_id FROM path_point JOIN visit ON visit.id = path_point.visit_id
            WHERE camera_id IS NOT NULL AND {held}
            UNION SELECT camera_id FROM stat_heat WHERE {stat} ORDER BY 1""",
            params,
        )
        return [int(row[0]) for row in rows]

    def zone_dwell(self, period: Period, camera_id: int | None = None) -> list[ZoneDwell]:
        """Visits that entered each analysis zone the operator drew on a camera's picture, and
        their mean time in it (``desktopapp.core.store.zones``), per camera and zone, by UTC
        day like the other daily figures. A zone renamed or removed keeps its past figures
        under its old name. This PC's zones only: each store draws zones on its own cameras,
        and the time another store's held visits spent in them stays at that store."""
        held, stat, params = self._filters(period, timedelta(days=1), "day")
        camera = ""
        if camera_id is not None:
            camera = "AND camera_id = :camera"
            params["camera"] = camera_id
        rows = self.db.execute(
            f"""SELECT camera_id, zone, SUM(visits), SUM(seconds) FROM (
                SELECT camera_id, zone, COUNT(*) AS visits, SUM(seconds) AS seconds
                FROM visit JOIN zone_dwell ON zone_dwell.visit_id = visit.id
                WHERE {held} {camera} GROUP BY 1, 2
                UNION ALL
                SELECT camera_id, zone, visits, seconds FROM stat_zone_dwell
                WHERE {stat} {camera}
            ) GROUP BY 1, 2 ORDER BY 1, 2""",
            params,
        ).fetchall()
        return [
            ZoneDwell(int(camera_of), str(zone), int(visits), float(seconds) / int(visits))
            for camera_of, zone, visits, seconds in rows
        ]

    def _counts(self, period: Period, what: str) -> list[tuple[Any, ...]]:
        """(store, camera, line, what, count): store "" for this PC's rows, else the other
        store's name."""
        _held, stat, params = self._filters(period, timedelta(hours=1), "hour")
        rows = f"SELECT '' AS store, camera_id, line, what, count FROM stat_count WHERE {stat}"
        if period.scope.others != () and self._has(mirror("stat_count")):
            rows += (
                " UNION ALL SELECT coalesce(n.name, c.store_id), c.camera_id, c.line, c.what, "
                f"c.count FROM {mirror('stat_count')} AS c "
                "LEFT JOIN chain_store AS n ON n.store_id = c.store_id "
                f"WHERE {self._others(period, 'hour', params, 'c.')}"
            )
        return list(
            self.db.execute(
                f"""SELECT store, camera_id, line, what, SUM(count) FROM ({rows})
                WHERE {what} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3""",
                params,
            )
        )

    def line_counts(self, period: Period) -> list[LineCount]:
        """Crossings of each counting line in each direction, by the hours that begin in the
        period (passer-by and the other counting modes, ``stat_count``); another store's
        lines are its own, named with the store."""
        counts: dict[tuple[str, int, str], dict[str, int]] = {}
        for store, camera_id, line, what, count in self._counts(period, "what IN ('in', 'out')"):
            counts.setdefault((str(store), int(camera_id), str(line)), {})[str(what)] = int(count)
        return [
            LineCount(camera_id, line, found.get("in", 0), found.get("out", 0), store)
            for (store, camera_id, line), found in counts.items()
        ]

    def people_counted(self, period: Period) -> int:
        """People the counting modes saw (one per person track), by hour like line_counts."""
        return sum(int(row[4]) for row in self._counts(period, "what = 'persons'"))

    def conversion(self, period: Period) -> Conversion:
        """Visits with at least one purchase linked to them (POS import) over all visits."""
        totals = self._totals(period)
        rate = totals.converted / totals.visits if totals.visits else 0.0
        return Conversion(totals.visits, totals.converted, rate)

    def spend_by_segment(self, period: Period) -> list[SpendCell]:
        rows = self._hourly(period, ("age_band", "gender"))
        return [
            SpendCell(str(age), str(gender), int(visits), int(converted), float(spend))
            for age, gender, visits, _repeats, converted, spend, _unknown in rows
        ]

    def live_counts(
        self,
        now: datetime,
        open_minutes: int = 10,
        store_id: int | None = None,
        scope: Scope = THIS_STORE,
    ) -> LiveCounts:
        """Visits seen in the last ``open_minutes`` (still in the store, as far as anyone can
        tell: a visit is extended while its person is seen; one begun over a day ago is not
        counted; this store only) and visits since local midnight in ``scope`` (other stores'
        as of the last sync)."""
        if now.tzinfo is None:
            raise ValueError("now must carry a time zone")
        stores = _EVERY_STORE if store_id is None else "store_id = :store"
        # A visit lasts hours, not days: the day's bound lets the index skip older visits.
        sql = f"""SELECT COUNT(*) FROM visit WHERE {COUNTED} AND {stores}
            AND started_at >= :day_before AND started_at <= :now AND ended_at >= :since"""
        params: dict[str, Any] = {
            "day_before": (now - timedelta(days=1)).astimezone(UTC).isoformat(),
            "since": (now - timedelta(minutes=open_minutes)).astimezone(UTC).isoformat(),
            "now": now.astimezone(UTC).isoformat(),
            "store": store_id,
        }
        in_store = int(self.db.execute(sql, params).fetchone()[0]) if scope.this_store else None
        today = Period(self._midnight(self._local(now).date()), now, store_id, scope)
        return LiveCounts(in_store, self._totals(today).visits)

    def period_counts(self, now: datetime | None = None) -> list[PeriodCount]:
        """Visits and repeat visits over the last 24 hours, 7 days and 30 days."""
        moment = now or datetime.now(UTC)
        counts = []
        for days in PERIOD_DAYS:
            totals = self._totals(Period(moment - timedelta(days=days), moment))
            counts.append(PeriodCount(days, totals.visits, totals.repeat_visits))
        return counts

    def notice_versions(self, period: Period) -> tuple[int, ...]:
        """The notice versions in force at some time in the period (G-02)."""
        rows = self.db.execute(
            "SELECT version, created_at FROM notice_version ORDER BY version"
        ).fetchall()
        versions = []
        for index, (version, created_at) in enumerate(rows):
            replaced = rows[index + 1][1] if index + 1 < len(rows) else None
            begins = datetime.fromisoformat(created_at)
            if begins < period.end and (
                replaced is None or datetime.fromisoformat(replaced) > period.start
            ):
                versions.append(int(version))
        return tuple(versions)

    def incident_report(self, now: datetime) -> IncidentReport:
        """Every personal record held, by kind and by local month of its time (a visitor's
        first visit, a template's writing, a visit's start, a path point's or purchase's
        time), for a report of a leak (G-15). Counts everything held, staff and opt-outs
        included."""
        months: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in RECORD_KINDS}
        ends: dict[str, list[datetime]] = {kind: [] for kind in RECORD_KINDS}
        for name, sql in _RECORDS.items():
            for visitor_kind, hour, count, oldest, newest in self.db.execute(sql):
                kind = f"{visitor_kind}_visitors" if name == "visitors" else name
                month = f"{self._local(_utc_hour(hour)):%Y-%m}"
                months.setdefault(kind, defaultdict(int))[month] += int(count)
                ends.setdefault(kind, []).extend(
                    (datetime.fromisoformat(oldest), datetime.fromisoformat(newest))
                )
        records = tuple(
            RecordCount(
                kind,
                sum(months[kind].values()),
                tuple(MonthCount(month, count) for month, count in sorted(months[kind].items())),
                min(ends[kind], default=None),
                max(ends[kind], default=None),
            )
            for kind in months
        )
        every = [moment for kind in ends for moment in ends[kind]]
        version = self.db.execute("SELECT MAX(version) FROM notice_version").fetchone()[0]
        return IncidentReport(
            now,
            None if version is None else int(version),
            records,
            min(every, default=None),
            max(every, default=None),
        )
