"""Aggregates (core.analytics), the statistics they survive in (G-04), small-group suppression
(G-07), the CSV export (G-06) and the incident report (G-15), on real SQLite files.

The key property: every figure is the same before and after the visits behind it are folded
into statistics and deleted, by a retention sweep or by a purge that keeps statistics.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktopapp.cli import main
from desktopapp.core.analytics import (
    DWELL_LABELS,
    RECORD_KINDS,
    VISIT_NUMBER_LABELS,
    Analytics,
    Cell,
    IncidentReport,
    Period,
    default_bucket,
    suppressed,
)
from desktopapp.core.config import VisionConfig
from desktopapp.core.counting import CountingLine, Crossing, Direction, Zone, ZoneKind
from desktopapp.core.floor import FloorCalibration, Space
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeStore
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.reports.export_csv import write_csv, write_incident_csv
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.retention import RetentionPolicy, expiry_for, sweep
from desktopapp.core.store.statistics import STAT_TABLES
from desktopapp.core.store.visits import NewVisit, PathPoint, VisitStore
from desktopapp.core.vision.engine import false_match_rate
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Gender, Role
from desktopapp.core.visits import RecorderConfig, VisitRecorder
from tests.test_notice import _profile

JST = timezone(timedelta(hours=9))
EPOCH = datetime(2026, 10, 1, tzinfo=UTC)  # the recorders' clock: seconds since this
D0 = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
POLICY = RetentionPolicy(days=30)
EVERYTHING = Period(datetime(2026, 10, 1, tzinfo=JST), datetime(2027, 1, 1, tzinfo=JST))
PERSONAL = ("visitor", "template", "visit", "path_point", "zone_dwell")


def _unit(rng: np.random.Generator) -> np.ndarray:
    vector = rng.normal(size=128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


@dataclass
class Shop:
    """A data folder with visits recorded the way the app records them."""

    data_dir: Path
    db: sqlite_utils.Database
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(7))
    features: dict[str, np.ndarray] = field(default_factory=dict)
    recorders: dict[tuple[str, Mode], VisitRecorder] = field(default_factory=dict)
    import_id: int | None = None

    def recorder(self, store: str, mode: Mode) -> VisitRecorder:
        if (store, mode) not in self.recorders:
            self.recorders[store, mode] = VisitRecorder(
                VisitStore(self.db, Cipher(load_key(self.data_dir))),
                RecorderConfig(operator="Op", store=store, mode=mode, retention=POLICY),
                to_datetime=lambda t: EPOCH + timedelta(seconds=t),
                now=lambda: D0,
            )
        return self.recorders[store, mode]

    def visit(
        self,
        person: str | None,
        start: datetime,
        minutes: float = 10,
        *,
        store: str = "Shibuya",
        camera: int = 1,
        age: float = 35,
        gender: Gender = Gender.FEMALE,
        path: tuple[tuple[float, float], ...] = ((0.2, 0.5), (0.3, 0.5)),
    ) -> int:
        """One track of ``person`` (None: an anonymous visit); returns its visit id."""
        feature = None if person is None else self.features.setdefault(person, _unit(self.rng))
        t = (start - EPOCH).total_seconds()
        step = minutes * 60 / max(1, len(path))
        event = TrackClosed(
            camera_id=camera,
            track_id=int(t),
            first_seen=t,
            last_seen=t + minutes * 60,
            hits=10,
            feature=feature,
            templates=() if feature is None else ((0.9, feature),),
            attributes=AttributeSummary(age, gender, 0.9, 3),
            path=tuple((t + i * step, x, y) for i, (x, y) in enumerate(path)),
        )
        mode = Mode.ATTRIBUTES if person is None else Mode.REPEAT
        recorded = self.recorder(store, mode).record(event)
        assert recorded.outcome == "visit" and recorded.visit_id is not None, recorded
        return recorded.visit_id

    def person(self, start: datetime, crossings: tuple[Direction, ...] = ()) -> None:
        """A person counted by a counting line of camera 1 (no visit, only hourly counts: a
        passer-by camera; in the face modes a person is a visit)."""
        t = (start - EPOCH).total_seconds()
        event = TrackClosed(
            camera_id=1,
            track_id=int(t),
            first_seen=t,
            last_seen=t + 30,
            hits=10,
            feature=None,
            templates=(),
            attributes=None,
            path=(),
            kind="person",
            crossings=tuple(Crossing("door", int(t), t + 10, direction) for direction in crossings),
        )
        assert self.recorder("Shibuya", Mode.PASSERBY).record(event).outcome == "counted"

    def visitor_id(self, visit_id: int) -> str:
        return str(
            self.db.execute("SELECT visitor_id FROM visit WHERE id = ?", [visit_id]).fetchone()[0]
        )

    def make(self, visit_id: int, kind: str) -> None:
        """The visit's visitor became staff (enrolled later) or opted out."""
        with self.db.conn:
            self.db.execute(
                "UPDATE visitor SET kind = ? WHERE id = ?", [kind, self.visitor_id(visit_id)]
            )

    def purchase(
        self, at: datetime, amount: float, visit_id: int | None, store_id: int = 1
    ) -> None:
        with self.db.conn:
            if self.import_id is None:
                self.import_id = self.db.conn.execute(
                    "INSERT INTO pos_import (imported_at, source_file, rows) "
                    "VALUES (?, 'pos.csv', 0)",
                    [D0.isoformat()],
                ).lastrowid
            self.db.conn.execute(
                "INSERT INTO purchase (import_id, store_id, at, register, amount, visit_id) "
                "VALUES (?, ?, ?, 'R1', ?, ?)",
                [self.import_id, store_id, at.isoformat(), amount, visit_id],
            )

    def count(self, sql: str, *args: object) -> int:
        return int(self.db.execute(sql, args).fetchone()[0])


def _shop(data_dir: Path) -> Shop:
    return Shop(data_dir, open_database(data_dir))


@pytest.fixture
def shop(tmp_path: Path) -> Shop:
    return build_shop(tmp_path)


CORNERS = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9))
# The plan shows the picture's floor at half size: picture x = 0.3 is plan x = 0.15.
HALF_SIZE = FloorCalibration(CORNERS, tuple((x / 2, y / 2) for x, y in CORNERS))


def build_shop(tmp_path: Path) -> Shop:
    """Two stores. A regular comes 12 times (first around midnight in Japan), B twice, six
    single visitors, two men over seventy, a staff member and an opted-out person with
    visits, three anonymous visits and two visitors at the second store; purchases linked to
    some of the visits. Camera 1 has an aisle and a checkout zone and is placed on the floor
    plan (its picture at half size in the plan's top left); camera 2 is not."""
    made = _shop(tmp_path)
    aisle = Zone("aisle", ZoneKind.SHELF, ((0, 0), (0.25, 0), (0.25, 1), (0, 1)), Space.IMAGE)
    checkout = Zone(
        "checkout", ZoneKind.CHECKOUT, ((0.9, 0), (1, 0), (1, 1), (0.9, 1)), Space.IMAGE
    )
    CameraStore(made.db, Cipher(load_key(made.data_dir))).add(
        Camera(
            "Floor",
            SourceSpec(SourceKind.DEMO, "demo"),
            zones=(aisle, checkout),
            calibration=HALF_SIZE,
        )
    )
    night = D0 + timedelta(hours=14, minutes=30)  # 23:30 in Japan
    regular = [made.visit("regular", night + timedelta(days=day), 5 + day) for day in range(12)]
    b_first = made.visit("b", D0 + timedelta(hours=15, minutes=30), 25, age=22, gender=Gender.MALE)
    made.visit("b", D0 + timedelta(days=2, hours=3), 70, age=22, gender=Gender.MALE)
    for n in range(6):
        made.visit(
            f"single{n}",
            D0 + timedelta(days=n, hours=2 + n),
            3 + 9 * n,
            age=18 + 10 * n,
            gender=Gender.MALE if n % 2 else Gender.FEMALE,
            path=((0.01, 0.01), (0.123457, 0.654321), (0.99, 0.5)),
        )
    for n in range(2):
        made.visit(
            f"senior{n}", D0 + timedelta(days=1, hours=4 + n), 15, age=75, gender=Gender.MALE
        )
    staff = made.visit("staff", D0 + timedelta(hours=1), 300, age=35)
    made.visit("staff", D0 + timedelta(days=1, hours=1), 300, age=35)
    made.make(staff, "staff")
    made.make(made.visit("opted-out", D0 + timedelta(hours=5), 20), "dnt")
    for n in range(3):
        made.visit(None, D0 + timedelta(days=n, hours=6), 8, age=45, gender=Gender.FEMALE)
    for n in range(2):
        made.visit(f"ebisu{n}", D0 + timedelta(days=n, hours=7), 12, store="Ebisu", camera=2)
    for n in range(7):
        made.person(D0 + timedelta(hours=10, minutes=n), (Direction.IN,) if n < 6 else ())
    made.person(D0 + timedelta(hours=11), (Direction.OUT,))
    made.purchase(night + timedelta(minutes=3), 1200, regular[0])
    made.purchase(night + timedelta(minutes=4), 800, regular[0])
    made.purchase(night + timedelta(days=3, minutes=4), 300, regular[3])
    made.purchase(D0 + timedelta(hours=15, minutes=40), 500, b_first)
    made.purchase(D0 + timedelta(hours=1, minutes=5), 999, staff)  # staff: never counted
    made.purchase(D0 + timedelta(hours=9), 450, None)  # not linked to any visit
    return made


def figures(analytics: Analytics, period: Period) -> dict[str, Any]:
    """Every figure that must survive retention and purge."""
    return {
        "hour": analytics.visits_over_time(period, "hour"),
        "day": analytics.visits_over_time(period, "day"),
        "week": analytics.visits_over_time(period, "week"),
        "repeat": analytics.repeat_rate(period, 1e-4, 500),
        "frequency": analytics.visit_frequency(period),
        "demographics": sorted(analytics.demographics(period), key=repr),
        "dwell": analytics.dwell_distribution(period),
        "heat": analytics.heatmap(period, None),
        "heat_by_camera": [analytics.heatmap(period, c) for c in (1, 2)],
        "cameras": analytics.heatmap_cameras(period),
        "floor_heat": analytics.floor_heatmap(period),
        "zones": analytics.zone_dwell(period),
        "lines": analytics.line_counts(period),
        "people": analytics.people_counted(period),
        "conversion": analytics.conversion(period),
        "spend": sorted(analytics.spend_by_segment(period), key=repr),
        "counts": analytics.period_counts(now=D0 + timedelta(days=20)),
        "notice": analytics.notice_versions(period),
    }


PERIODS = (
    EVERYTHING,
    Period(EVERYTHING.start, EVERYTHING.end, store_id=2),
    Period(datetime(2026, 11, 2, tzinfo=JST), datetime(2026, 11, 3, tzinfo=JST)),
    Period(datetime(2026, 11, 1, 23, 10, tzinfo=JST), datetime(2026, 11, 4, 1, 50, tzinfo=JST)),
)


def all_figures(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    analytics = Analytics(db, k=5, tz=JST)
    return [figures(analytics, period) for period in PERIODS]


def test_figures_survive_a_partial_and_a_full_sweep(shop: Shop) -> None:
    before = all_figures(shop.db)
    assert before[0]["repeat"].visits == 12 + 2 + 6 + 2 + 3 + 2
    # Visitors first seen early on D0 expire 30 days later, B and others after; then all.
    partial = sweep(shop.db, POLICY, D0 + timedelta(days=30, hours=15))
    assert partial.visitors > 0 and partial.anonymous_visits > 0
    assert shop.count("SELECT COUNT(*) FROM visitor") > 0
    assert shop.count("SELECT COUNT(*) FROM visit WHERE visitor_id IS NULL") > 0
    assert all_figures(shop.db) == before
    full = sweep(shop.db, POLICY, D0 + timedelta(days=90))
    assert full.visits > 0 and shop.count("SELECT COUNT(*) FROM visit") == 0
    assert all_figures(shop.db) == before
    # Purchases stay, unlinked: their conversion and spend live on in the statistics.
    assert shop.count("SELECT COUNT(*) FROM purchase WHERE visit_id IS NULL") == 6


def test_figures_survive_a_purge_that_keeps_statistics(shop: Shop) -> None:
    before = all_figures(shop.db)
    # Opt-outs and staff would stay by default (tests/test_exclusions.py); here all goes.
    purge_personal_data(shop.db, keep_statistics=True, include_exclusions=True)
    assert all(shop.count(f"SELECT COUNT(*) FROM {table}") == 0 for table in PERSONAL)
    assert all(shop.count(f"SELECT COUNT(*) FROM {table}") > 0 for table in STAT_TABLES)
    assert all_figures(shop.db) == before


def test_the_fixture_figures(shop: Shop) -> None:
    analytics = Analytics(shop.db, k=5, tz=JST)
    frequency = analytics.visit_frequency(EVERYTHING)
    # Visit 1: regular, b, six singles, two seniors, three anonymous, two at Ebisu.
    assert frequency[0] == Cell("1", 1 + 1 + 6 + 2 + 3 + 2)
    assert [c.count for c in frequency[1:9]] == [2, 1, 1, 1, 1, 1, 1, 1]
    assert frequency[9] == Cell("10+", 3)  # the regular's 10th, 11th and 12th
    assert [c.label for c in frequency] == list(VISIT_NUMBER_LABELS)
    conversion = analytics.conversion(EVERYTHING)
    assert (conversion.visits, conversion.converted) == (27, 3)
    spend = {(c.age_band, c.gender): c for c in analytics.spend_by_segment(EVERYTHING)}
    assert spend["30-39", "female"].spend == 1200 + 800 + 300  # not the staff's 999
    assert spend["20-29", "male"].converted == 1 and spend["20-29", "male"].spend == 500
    demographics = {(c.age_band, c.gender): c.visits for c in analytics.demographics(EVERYTHING)}
    assert demographics["70+", "male"] == 2
    assert demographics["30-39", "female"] == 12 + 1 + 2  # the regular, single2, Ebisu
    dwell = analytics.dwell_distribution(EVERYTHING)
    assert [c.label for c in dwell] == list(DWELL_LABELS)
    assert sum(c.count for c in dwell) == 27
    assert dwell[-1].count == 1  # b's 70 minutes
    assert dwell[0].count == 0  # nobody stayed under a minute
    assert analytics.stores()[0].name == "Ebisu"
    assert {s.name for s in analytics.stores()} == {"Shibuya", "Ebisu"}


def test_staff_and_opted_out_visits_are_never_counted(shop: Shop) -> None:
    analytics = Analytics(shop.db, k=5, tz=JST)
    counted = analytics.conversion(EVERYTHING).visits
    held = shop.count("SELECT COUNT(*) FROM visit")
    assert held == counted + 2 + 1  # the staff member's two visits and the opt-out's one
    # The rule follows the visitor's kind: a staff member counted as a customer would count.
    staff = shop.db.execute("SELECT id FROM visitor WHERE kind = 'staff'").fetchone()[0]
    with shop.db.conn:
        shop.db.execute("UPDATE visitor SET kind = 'customer' WHERE id = ?", [staff])
    assert analytics.conversion(EVERYTHING).visits == counted + 2
    with shop.db.conn:
        shop.db.execute("UPDATE visitor SET kind = 'staff' WHERE id = ?", [staff])
    purge_personal_data(shop.db, keep_statistics=True)
    assert analytics.conversion(EVERYTHING).visits == counted
    assert shop.count("SELECT SUM(visits) FROM stat_visit_hour") == counted
    assert shop.count("SELECT SUM(visits) FROM stat_dwell") == counted
    assert shop.count("SELECT SUM(converted) FROM stat_visit_hour") == 3  # not the staff's


def test_buckets_are_in_the_operators_time_zone(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    made.visit("a", datetime(2026, 11, 1, 14, 30, tzinfo=UTC))  # Sun 23:30 in Japan
    made.visit("b", datetime(2026, 11, 1, 15, 30, tzinfo=UTC))  # Mon 00:30 in Japan
    period = Period(datetime(2026, 11, 1, tzinfo=JST), datetime(2026, 11, 3, tzinfo=JST))
    japan = Analytics(made.db, tz=JST)
    days = japan.visits_over_time(period, "day")
    assert [(b.start, b.visits) for b in days] == [
        (datetime(2026, 11, 1, tzinfo=JST), 1),
        (datetime(2026, 11, 2, tzinfo=JST), 1),
    ]
    assert days[0].start.utcoffset() == timedelta(hours=9)
    weeks = japan.visits_over_time(period, "week")
    assert [(b.start.date(), b.visits) for b in weeks] == [
        (date(2026, 10, 26), 1),
        (date(2026, 11, 2), 1),
    ]
    hours = japan.visits_over_time(period, "hour")
    assert len(hours) == 48 and sum(b.visits for b in hours) == 2
    assert [(b.start.hour, b.new_visits) for b in hours if b.visits] == [(23, 1), (0, 1)]
    utc = Analytics(made.db, tz=UTC)
    whole = Period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert [b.visits for b in utc.visits_over_time(whole, "day")] == [2, 0]
    # Daily statistics are kept by UTC day: Monday in Japan takes the UTC day that begins
    # inside it (09:00), not the visit at 00:30.
    monday = Period(datetime(2026, 11, 2, tzinfo=JST), datetime(2026, 11, 3, tzinfo=JST))
    assert sum(c.count for c in japan.visit_frequency(monday)) == 0
    assert sum(b.visits for b in japan.visits_over_time(monday, "day")) == 1


def test_a_period_takes_the_hours_that_begin_inside_it(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    made.visit("a", datetime(2026, 11, 1, 9, 40, tzinfo=UTC))
    analytics = Analytics(made.db, tz=UTC)

    def visits(start: datetime, end: datetime) -> int:
        return analytics.conversion(Period(start, end)).visits

    nine = datetime(2026, 11, 1, 9, tzinfo=UTC)
    assert visits(nine, nine + timedelta(hours=1)) == 1
    assert visits(nine + timedelta(minutes=1), nine + timedelta(hours=2)) == 0
    assert visits(nine - timedelta(minutes=1), nine + timedelta(minutes=1)) == 1
    assert visits(nine, nine) == 0
    assert analytics.visits_over_time(Period(nine, nine), "day") == []


def test_default_bucket_and_period_checks() -> None:
    start = datetime(2026, 11, 1, tzinfo=JST)
    assert default_bucket(Period(start, start + timedelta(days=2))) == "hour"
    assert default_bucket(Period(start, start + timedelta(days=30))) == "day"
    assert default_bucket(Period(start, start + timedelta(days=93))) == "week"
    with pytest.raises(ValueError, match="time zone"):
        Period(datetime(2026, 11, 1), start)
    with pytest.raises(ValueError, match="before it starts"):
        Period(start, start - timedelta(seconds=1))


def test_small_counts_are_suppressed() -> None:
    assert suppressed(2, 5) == "<5"
    assert suppressed(4, 5) == "<5"
    assert suppressed(5, 5) == "5"
    assert suppressed(0, 5) == "0"
    assert suppressed(1) == "<5"
    assert suppressed(2, 3) == "<3"


def test_heatmap_cells_and_suppression(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    corner = ((0.01, 0.01), (0.02, 0.03), (0.99, 0.5), (1.5, -0.2))
    for n in range(3):
        made.visit(f"p{n}", D0 + timedelta(hours=n), path=corner)
    for n in range(5):
        made.visit(f"q{n}", D0 + timedelta(hours=5 + n), path=((0.5, 0.5),), camera=2)
    analytics = Analytics(made.db, k=5, tz=UTC)
    period = Period(D0, D0 + timedelta(days=1))
    one = analytics.heatmap(period, 1)
    assert len(one.cells) == 16 and all(len(row) == 16 for row in one.cells)
    # Two points of a visit in one cell count once; outside the picture is the edge cell.
    assert one.cells[0][0] == 3 and one.cells[8][15] == 3 and one.cells[0][15] == 3
    assert sum(map(sum, one.cells)) == 9
    assert one.suppressed == frozenset({(0, 0), (15, 8), (15, 0)})
    two = analytics.heatmap(period, 2)
    assert two.cells[8][8] == 5 and not two.suppressed
    both = analytics.heatmap(period, None)
    assert sum(map(sum, both.cells)) == 14
    assert analytics.heatmap_cameras(period) == [1, 2]
    points = made.count("SELECT COUNT(*) FROM path_point")
    purge_personal_data(made.db, keep_statistics=True)
    assert made.count("SELECT SUM(points) FROM stat_heat") == points
    assert analytics.heatmap(period, 1) == one and analytics.heatmap(period, None) == both


def test_zone_dwell_is_recorded_with_the_path_and_survives_retention(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    cameras = CameraStore(made.db, Cipher(load_key(made.data_dir)))
    shelf = Zone("shelf", ZoneKind.SHELF, ((0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5)), Space.IMAGE)
    checkout = Zone("レジ", ZoneKind.CHECKOUT, ((0.6, 0.6), (1, 0.6), (1, 1)), Space.IMAGE)
    camera = cameras.add(
        Camera("Entrance", SourceSpec(SourceKind.DEMO, "demo"), zones=(shelf, checkout))
    )
    assert camera.camera_id == 1 and cameras.get(1).zones == (shelf, checkout)
    # Points every 10 s: two inside the shelf (10 s until the next point each), then outside.
    made.visit("in", D0, minutes=0.5, path=((0.1, 0.1), (0.2, 0.2), (0.7, 0.9)))
    # Points 15 s apart, both at the checkout: the last point of a track adds no time.
    made.visit("pay", D0 + timedelta(hours=1), minutes=0.5, path=((0.9, 0.7), (0.95, 0.65)))
    # The last point is in the shelf: the visit entered it, for no measured time.
    made.visit("edge", D0 + timedelta(hours=2), minutes=0.5, path=((0.3, 0.9), (0.4, 0.4)))
    # 60 s between two points is a gap between tracks, not a minute at the shelf.
    made.visit("gap", D0 + timedelta(hours=3), minutes=2, path=((0.1, 0.1), (0.2, 0.1)))
    # A camera with no zones records none.
    made.visit("other", D0 + timedelta(hours=4), camera=2, path=((0.1, 0.1), (0.2, 0.1)))
    analytics = Analytics(made.db, tz=UTC)
    period = Period(D0, D0 + timedelta(days=1))
    figures = analytics.zone_dwell(period)
    assert [(z.camera_id, z.zone, z.visits) for z in figures] == [(1, "shelf", 3), (1, "レジ", 1)]
    assert figures[0].mean_dwell_seconds == pytest.approx(20 / 3)
    assert figures[1].mean_dwell_seconds == pytest.approx(15)
    assert analytics.zone_dwell(period, camera_id=2) == []
    assert analytics.zone_dwell(Period(D0 + timedelta(days=1), D0 + timedelta(days=2))) == []

    # Zones drawn again: the paths still held are measured under the new ones.
    wider = Zone("shelf", ZoneKind.SHELF, ((0, 0), (0.5, 0), (0.5, 1), (0, 1)), Space.IMAGE)
    cameras.update(replace(camera, zones=(wider,)))
    redrawn = analytics.zone_dwell(period)
    assert [(z.zone, z.visits) for z in redrawn] == [("shelf", 3)]
    # "edge" now spends its 15 s step inside; "pay" never comes near the shelf.
    assert redrawn[0].mean_dwell_seconds == pytest.approx((20 + 15) / 3)

    # Retention folds the zone dwell with the visits: the figures stay, the rows go.
    sweep(made.db, POLICY, D0 + timedelta(days=60))
    assert made.count("SELECT COUNT(*) FROM zone_dwell") == 0
    assert made.count("SELECT COUNT(*) FROM path_point") == 0
    assert analytics.zone_dwell(period) == redrawn


def test_an_analysis_zone_is_checked() -> None:
    with pytest.raises(ValueError, match="three corners"):
        Zone("line", ZoneKind.OTHER, ((0.0, 0.0), (1.0, 1.0)), Space.IMAGE)
    with pytest.raises(ValueError, match=r"normalised to 0\.\.1"):
        Zone("out", ZoneKind.OTHER, ((0.0, 0.0), (1.5, 0.0), (1.0, 1.0)), Space.IMAGE)
    with pytest.raises(ValueError, match="name"):
        Zone(" ", ZoneKind.OTHER, ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0)), Space.IMAGE)
    square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="two zones are called"):
        Camera(
            "Two zones called a",
            SourceSpec(SourceKind.DEMO, "demo"),
            zones=(Zone("a", ZoneKind.SHELF, square, Space.IMAGE),) * 2,
        )


def test_repeat_rate_band() -> None:
    with tempfile.TemporaryDirectory() as folder:
        made = _shop(Path(folder))
        # 100 identified visits, 30 of them then marked as repeats.
        for n in range(100):
            made.visit(f"p{n}", D0 + timedelta(hours=n))
        with made.db.conn:
            made.db.execute("UPDATE visit SET is_repeat = 1 WHERE id <= 30")
        analytics = Analytics(made.db, tz=UTC)
        period = Period(D0, D0 + timedelta(days=30))
        exact = analytics.repeat_rate(period, 0.0, 10_000)
        assert (exact.visits, exact.repeat_visits, exact.rate) == (100, 30, 0.3)
        # Wilson 95 % interval for 30/100.
        assert exact.low == pytest.approx(0.21895, abs=1e-4)
        assert exact.high == pytest.approx(0.39585, abs=1e-4)
        assert exact.expected_false_repeats == 0
        # A gallery of 1000 at 1e-4 per pair: 9.5 % of new people look like returning ones.
        noisy = analytics.repeat_rate(period, 1e-4, 1000)
        e = 1 - (1 - 1e-4) ** 1000
        assert noisy.expected_false_repeats == pytest.approx(70 * e / (1 - e))
        assert noisy.low == pytest.approx(exact.low - noisy.expected_false_repeats / 100)
        assert noisy.high == exact.high and noisy.rate == exact.rate
        hopeless = analytics.repeat_rate(period, 1.0, 5)
        assert hopeless.expected_false_repeats == 30 and hopeless.low == 0.0
        empty = analytics.repeat_rate(Period(D0, D0), 1e-4, 1000)
        assert (empty.visits, empty.rate, empty.low, empty.high) == (0, 0.0, 0.0, 1.0)


def test_live_counts(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    now = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 12:00 in Japan
    made.visit("here", now - timedelta(minutes=30), 25)  # ended 5 minutes ago
    made.visit("left", now - timedelta(minutes=50), 30)  # ended 20 minutes ago
    made.visit("yesterday", datetime(2026, 11, 1, 14, 0, tzinfo=UTC))  # 23:00 the day before
    made.visit("early", datetime(2026, 11, 1, 15, 30, tzinfo=UTC))  # 00:30 today
    analytics = Analytics(made.db, tz=JST)
    live = analytics.live_counts(now)
    assert (live.in_store_now, live.today_visits) == (1, 3)
    assert analytics.live_counts(now, open_minutes=30).in_store_now == 2
    assert analytics.live_counts(now, store_id=99).in_store_now == 0


def _direct_counts(db: sqlite_utils.Database) -> dict[str, tuple[int, str | None, str | None]]:
    queries = {
        "customer_visitors": "SELECT COUNT(*), MIN(first_seen), MAX(first_seen) FROM visitor "
        "WHERE kind = 'customer'",
        "staff_visitors": "SELECT COUNT(*), MIN(first_seen), MAX(first_seen) FROM visitor "
        "WHERE kind = 'staff'",
        "dnt_visitors": "SELECT COUNT(*), MIN(first_seen), MAX(first_seen) FROM visitor "
        "WHERE kind = 'dnt'",
        "feature_templates": "SELECT COUNT(*), MIN(created_at), MAX(created_at) FROM template",
        "identified_visits": "SELECT COUNT(*), MIN(started_at), MAX(started_at) FROM visit "
        "WHERE visitor_id IS NOT NULL",
        "path_points": "SELECT COUNT(*), MIN(at), MAX(at) FROM path_point",
        "linked_purchases": "SELECT COUNT(*), MIN(at), MAX(at) FROM purchase "
        "WHERE visit_id IS NOT NULL",
    }
    return {kind: tuple(db.execute(sql).fetchone()) for kind, sql in queries.items()}


def _assert_report_matches(report: IncidentReport, db: sqlite_utils.Database) -> None:
    direct = _direct_counts(db)
    assert [r.kind for r in report.records] == list(RECORD_KINDS)
    for record in report.records:
        total, oldest, newest = direct[record.kind]
        assert record.total == total, record.kind
        assert sum(m.count for m in record.by_month) == total
        assert record.oldest == (datetime.fromisoformat(oldest) if oldest else None)
        assert record.newest == (datetime.fromisoformat(newest) if newest else None)
    assert report.total == sum(total for total, _, _ in direct.values())
    times = [datetime.fromisoformat(t) for _, *ends in direct.values() for t in ends if t]
    assert (report.oldest, report.newest) == (min(times, default=None), max(times, default=None))


def test_incident_report_counts_match_the_database(shop: Shop) -> None:
    NoticeStore(shop.db).save(_profile())
    NoticeStore(shop.db).save(_profile(contact="窓口 03-1111-1111"))
    now = D0 + timedelta(days=40)
    report = Analytics(shop.db, tz=JST).incident_report(now)
    _assert_report_matches(report, shop.db)
    direct = _direct_counts(shop.db)
    assert all(direct[kind][0] > 0 for kind in RECORD_KINDS)
    assert report.notice_version == 2 and report.generated_at == now
    assert (direct["staff_visitors"][0], direct["dnt_visitors"][0]) == (1, 1)
    # Months are local: the regular's first visit, 23:30 on 1 November in Japan, is November.
    visits = next(r for r in report.records if r.kind == "identified_visits")
    assert [m.month for m in visits.by_month] == ["2026-11"]
    sweep(shop.db, POLICY, D0 + timedelta(days=30, hours=15))
    _assert_report_matches(Analytics(shop.db, tz=JST).incident_report(now), shop.db)
    sweep(shop.db, POLICY, D0 + timedelta(days=90))
    after = Analytics(shop.db, tz=JST).incident_report(now)
    _assert_report_matches(after, shop.db)
    assert after.total == 0 and after.oldest is None


def _sections(path: Path) -> dict[str, list[list[str]]]:
    """The CSV's sections by title: the rows after the title row (header first)."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    sections: dict[str, list[list[str]]] = {"": []}
    title = ""
    for index, row in enumerate(rows):
        if not row:
            continue
        if index > 0 and not rows[index - 1]:
            title = row[0]
            sections[title] = []
        else:
            sections[title].append(row)
    return sections


def test_csv_export(shop: Shop, tmp_path: Path) -> None:
    NoticeStore(shop.db).save(_profile())
    analytics = Analytics(shop.db, k=5, tz=JST)
    out = tmp_path / "export" / "figures.csv"
    out.parent.mkdir()
    summary = write_csv(out, analytics, EVERYTHING, "ja")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert [p.name for p in out.parent.iterdir()] == ["figures.csv"]  # no temporary file left
    sections = _sections(out)
    about = {row[0]: row[1:] for row in sections[""][1:]}
    assert about["店舗"] == ["全店舗"] and about["告知内容の版"] == ["1"]
    assert about["開始"] == ["2026-10-01 00:00 (UTC+09:00)"]
    demographics = sections["年代・性別"]
    assert demographics[0] == ["年代", "性別", "来店数"]
    assert ["70+", "男性", "<5"] in demographics  # the two seniors (G-07)
    frequency = sections["来店回数別"]
    assert frequency[1] == ["1", "15"] and frequency[-1] == ["10+", "<5"]
    totals = sections["期間合計"]
    # The three anonymous visits have no identity: the rate is 12 of the 24 identified.
    assert totals[0][2:6] == [
        "再来店率（本人確認できた来店のうち）",
        "本人不明の来店",
        "本人不明の割合",
        "誤照合の見込み件数",
    ]
    # The three visits of unknown identity are a small group (G-07): with the visits and the
    # repeats shown, the rate over identified visits, the unknown share and the false
    # repeats would each give the 3 away, so they are hidden with it.
    assert totals[1] == ["27", "12", "非表示", "<5", "非表示", "非表示", "<5", "非表示"]
    days = sections["来店数の推移（日ごと）"]
    assert days[0] == ["日付", "来店数", "新規", "再来店", "本人不明"]
    for row in days[1:]:
        visits, *parts = row[1:]
        if all(cell.isdigit() for cell in row[1:]):
            assert int(visits) == sum(int(cell) for cell in parts), row
    spend = {(r[0], r[1]): r for r in sections["年代・性別ごとの購買"][1:]}
    assert spend["30-39", "女性"][3:] == ["<5", "非表示", "非表示"]
    lines = sections["通過人数（カメラ画像上に設定した計数線、1時間ごとの集計の合計）"]
    # Cameras by their names; six went in, one came out (G-07).
    assert ["Floor", "door", "6", "<5"] in lines
    assert lines[-1][1:3] == ["計数した人数（人数計測・混雑状況などのモード）", "8"]
    heat = sections["動線（各カメラ画像を16×16に分けたマスごとの来店数）"]
    assert heat[0] == ["カメラ", "列（左から）", "行（上から）", "来店数"]
    assert {row[0] for row in heat[1:]} == {"Floor", "2"}  # camera 2 is no longer set up
    floor = sections[
        "店内図上の動線（位置合わせしたカメラすべて、店内図を16×16に分けたマスごとの来店数）"
    ]
    assert floor[0] == ["列（左から）", "行（上から）", "来店数"]
    # Camera 1's default path (0.2, 0.5), (0.3, 0.5) lies in plan cells (2, 4) and (3, 4).
    assert {(r[0], r[1]) for r in floor[1:]} >= {("3", "5"), ("2", "5")}
    hidden = [c for title, rows in sections.items() if title for r in rows for c in r]
    assert summary.suppressed_cells == hidden.count("<5") + hidden.count("非表示") > 0
    assert (summary.format, summary.language, summary.store, summary.tables) == (
        "csv",
        "ja",
        None,
        10,
    )
    assert summary.notice_versions == (1,) and summary.bytes == len(raw)
    # Nothing that points at a person (G-06).
    text = raw.decode("utf-8-sig")
    for (visitor_id,) in shop.db.execute("SELECT id FROM visitor").fetchall():
        assert visitor_id not in text
    assert "123457" not in text and "654321" not in text  # a path point's coordinates
    for (blob,) in shop.db.execute("SELECT feature_enc FROM template").fetchall():
        assert bytes(blob)[:16].hex() not in text and bytes(blob)[:16] not in raw


def test_csv_export_in_english_for_one_store(shop: Shop, tmp_path: Path) -> None:
    analytics = Analytics(shop.db, k=2, tz=JST)
    ebisu = next(s.store_id for s in analytics.stores() if s.name == "Ebisu")
    out = tmp_path / "ebisu.csv"
    summary = write_csv(out, analytics, Period(EVERYTHING.start, EVERYTHING.end, ebisu), "en")
    sections = _sections(out)
    about = {row[0]: row[1:] for row in sections[""][1:]}
    assert about["Store"] == ["Ebisu"] and about["Notice version(s) in force"] == ["none"]
    assert sections["Period totals"][1][:2] == ["2", "0"]
    assert sections["Visits by day"][0] == ["Date", "Visits", "New", "Repeat", "Unknown identity"]
    days = sections["Visits by day"]
    assert ["2026-11-01", "<2", "<2", "0", "0"] in days
    assert ["2026-11-03", "0", "0", "0", "0"] in days
    assert summary.store == "Ebisu" and summary.suppressed_cells == 4  # two days of one visit


def test_incident_report_as_csv(shop: Shop, tmp_path: Path) -> None:
    report = Analytics(shop.db, tz=JST).incident_report(D0 + timedelta(days=40))
    out = tmp_path / "incident.csv"
    write_incident_csv(out, report, "en", tz=JST)
    sections = _sections(out)
    kinds = {row[0]: row[1] for row in sections["Records by kind"][1:]}
    assert kinds["Visitor IDs (staff)"] == "1"
    assert kinds["All records"] == str(report.total)
    direct = _direct_counts(shop.db)
    assert kinds["Face feature templates"] == str(direct["feature_templates"][0])


# --- random visits: the survival property -----------------------------------------------------

visit_rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 5)),  # visitor, or anonymous
        st.integers(0, 20 * 24 * 60),  # minute of the 20 days the visits fall in
        st.integers(0, 5000),  # dwell in seconds
        st.sampled_from(["20-29", "30-39", "60-69", None]),
        st.sampled_from(["female", "male", None]),
        st.integers(1, 2),  # store, and camera
        st.lists(st.tuples(st.floats(-0.1, 1.1), st.floats(0, 1)), max_size=4),
        st.one_of(st.none(), st.integers(1, 5000)),  # a linked purchase's amount
    ),
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=visit_rows,
    staff=st.integers(0, 5),
    sweep_day=st.integers(0, 60),
    window=st.tuples(st.integers(-24, 500), st.integers(0, 500)),
)
def test_random_visits_give_the_same_figures_after_a_sweep(
    rows: list[tuple[Any, ...]], staff: int, sweep_day: int, window: tuple[int, int]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(Path(folder))
        store = VisitStore(db, Cipher(secrets.token_bytes(32)))
        base = datetime(2026, 11, 1, tzinfo=UTC)
        with db.conn:
            store.ensure_operator_and_store("Op", "A", base)
            store.ensure_operator_and_store("Op", "B", base)
            import_id = db.conn.execute(
                "INSERT INTO pos_import (imported_at, source_file, rows) VALUES (?, 'p.csv', 0)",
                [base.isoformat()],
            ).lastrowid
            numbers: dict[int, int] = {}
            firsts: dict[int, datetime] = {}
            for who, minute, dwell, age, gender, store_id, path, amount in sorted(
                rows, key=lambda row: row[1]
            ):
                started = base + timedelta(minutes=minute)
                visitor = None
                if who is not None:
                    visitor = f"00000000-0000-4000-8000-{who:012d}"
                    if who not in firsts:
                        firsts[who] = started
                        store.add_visitor(
                            visitor,
                            operator_id=1,
                            store_id=store_id,
                            kind="staff" if who == staff else "customer",
                            seen=started,
                            expires_at=expiry_for(started, started, POLICY),
                        )
                    numbers[who] = numbers.get(who, 0) + 1
                number = numbers[who] if who is not None else 1
                ended = started + timedelta(seconds=dwell)
                points = tuple(
                    PathPoint(store_id, started + timedelta(seconds=i), x, y)
                    for i, (x, y) in enumerate(path)
                )
                visit_id = store.add_visit(
                    NewVisit(
                        store_id,
                        visitor,
                        started,
                        ended,
                        age,
                        gender,
                        number > 1,
                        number,
                        "repeat",
                        points,
                    )
                )
                if amount is not None:
                    db.conn.execute(
                        "INSERT INTO purchase (import_id, store_id, at, register, amount, "
                        "visit_id) VALUES (?, ?, ?, 'R', ?, ?)",
                        [import_id, store_id, started.isoformat(), amount, visit_id],
                    )
        start = base + timedelta(hours=window[0])
        periods = [
            Period(base - timedelta(days=1), base + timedelta(days=30)),
            Period(start, start + timedelta(hours=window[1]), store_id=1),
        ]
        analytics = Analytics(db, k=3, tz=JST)
        before = [figures(analytics, period) for period in periods]
        sweep(db, POLICY, base + timedelta(days=sweep_day))
        assert [figures(analytics, period) for period in periods] == before
        purge_personal_data(db, keep_statistics=True)
        assert [figures(analytics, period) for period in periods] == before
        db.conn.close()


# --- the command line -------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_dir(shop: Shop) -> Iterator[Path]:
    NoticeStore(shop.db).save(_profile())
    shop.db.conn.close()
    yield shop.data_dir


def test_cli_export_writes_csv_and_audits_it(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "month.csv"
    # Up to today: the notice in force was saved when the test began.
    today = date.today().isoformat()
    code, printed, err = run_cli(
        capsys,
        "export",
        "--out", str(out),
        "--from", "2026-11-01",
        "--to", today,
        "--store", "Shibuya",
        "--lang", "en",
        "--json",
        "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(printed)
    assert result["file"] == str(out.resolve()) and result["format"] == "csv"
    assert (result["from"], result["to"], result["store"]) == ("2026-11-01", today, "Shibuya")
    assert result["language"] == "en" and result["notice_versions"] == [1]
    assert out.read_text(encoding="utf-8-sig").startswith("Visit analysis: figures")
    conn = sqlite3.connect(data_dir / "raiten.db")
    audited = conn.execute(
        "SELECT actor, details_json FROM audit WHERE action = 'export'"
    ).fetchall()
    conn.close()
    assert len(audited) == 1 and audited[0][0].startswith("cli:")
    assert json.loads(audited[0][1]) == {
        "format": "csv",
        "from": "2026-11-01",
        "to": today,
        "store": "Shibuya",
        "file": "month.csv",
    }
    # The default: the last 30 days up to today, every store, in the notice's language.
    code, printed, err = run_cli(capsys, "export", "--out", str(out), "--data-dir", str(data_dir))
    assert code == 0, err
    assert "all stores" in printed
    assert "来店分析" in out.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "Nowhere"], "no store named 'Nowhere'"),
        (["--from", "2026-12-01", "--to", "2026-11-01"], "--from must not be after --to"),
        (["--from", "1/11/2026"], "YYYY-MM-DD"),
    ],
)
def test_cli_export_bad_input_exits_2(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    out = tmp_path / "x.csv"
    code, printed, err = run_cli(
        capsys, "export", "--out", str(out), *arguments, "--data-dir", str(data_dir)
    )
    assert (code, printed) == (2, "") and message in err and err.count("\n") == 1
    assert not out.exists()
    code, _, err = run_cli(
        capsys, "export", "--out", str(tmp_path / "x.txt"), "--data-dir", str(data_dir)
    )
    assert code == 2 and ".csv or a .pdf" in err


def test_cli_pdf_export(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.pdf"
    code, printed, err = run_cli(
        capsys, "export", "--out", str(out), "--from", "2026-11-01", "--to", "2026-11-07",
        "--json", "--data-dir", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(printed)["format"] == "pdf" and out.read_bytes().startswith(b"%PDF")
    conn = sqlite3.connect(data_dir / "raiten.db")
    details = conn.execute("SELECT details_json FROM audit WHERE action = 'export'").fetchone()
    conn.close()
    assert json.loads(details[0])["format"] == "pdf"


def test_cli_incident_report(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "incident.csv"
    code, printed, err = run_cli(
        capsys, "incident-report", "--json", "--out", str(out), "--data-dir", str(data_dir)
    )
    assert code == 0, err
    result = json.loads(printed)
    db = open_database(data_dir)
    direct = _direct_counts(db)
    assert {kind: r["total"] for kind, r in result["records"].items()} == {
        kind: counts[0] for kind, counts in direct.items()
    }
    assert result["notice_version"] == 1 and result["total"] == sum(c[0] for c in direct.values())
    assert out.read_text(encoding="utf-8-sig").startswith("保有している個人データの件数")
    audited = db.execute("SELECT details_json FROM audit WHERE action = 'incident.report'")
    assert json.loads(audited.fetchone()[0]) == {"total": result["total"], "file": "incident.csv"}
    code, printed, _ = run_cli(capsys, "incident-report", "--data-dir", str(data_dir))
    assert code == 0 and printed.startswith(f"personal records held: {result['total']}")


def test_the_repeat_band_uses_the_features_models_false_match_rate(tmp_path: Path) -> None:
    registry = ModelRegistry.load()
    manifest = registry.default(Role.FACE_FEATURES).options["false_match_rate"]
    assert false_match_rate(VisionConfig(), registry) == manifest
    assert false_match_rate(VisionConfig(false_match_rate=0.002), registry) == 0.002
    made = _shop(tmp_path)
    for n in range(40):
        made.visit(f"p{n % 30}", D0 + timedelta(days=n))
    period = Period(D0, D0 + timedelta(days=60))
    calm = Analytics(made.db, false_match_rate=manifest).held_repeat_rate(period)
    loose = Analytics(made.db, false_match_rate=0.002).held_repeat_rate(period)
    assert calm.repeat_visits == loose.repeat_visits == 10
    # A looser model expects more of the repeats to be strangers: the band reaches lower.
    assert loose.expected_false_repeats > calm.expected_false_repeats
    assert loose.low < calm.low and loose.high == calm.high


def test_a_zone_on_the_floor_plan_measures_paths_through_the_calibration(tmp_path: Path) -> None:
    made = _shop(tmp_path)
    left = Zone("left", ZoneKind.SHELF, ((0, 0), (0.2, 0), (0.2, 0.5), (0, 0.5)), Space.FLOOR)
    CameraStore(made.db, Cipher(load_key(made.data_dir))).add(
        Camera("Plan", SourceSpec(SourceKind.DEMO, "demo"), zones=(left,), calibration=HALF_SIZE)
    )
    # Picture x 0.3 and 0.35 are on the plan's left (x < 0.2), 0.7 is not: 2 × 10 s inside.
    made.visit("a", D0, minutes=0.5, path=((0.3, 0.5), (0.35, 0.5), (0.7, 0.5)))
    (zone,) = Analytics(made.db, tz=UTC).zone_dwell(Period(D0, D0 + timedelta(days=1)))
    assert (zone.zone, zone.visits, zone.mean_dwell_seconds) == ("left", 1, pytest.approx(20))


def test_the_floor_heat_map_places_paths_on_the_plan_and_counts_a_visit_once_a_cell(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = _shop(tmp_path)
    cameras = CameraStore(made.db, Cipher(load_key(made.data_dir)))
    cameras.add(Camera("Plan", SourceSpec(SourceKind.DEMO, "demo"), calibration=HALF_SIZE))
    cameras.add(Camera("Door", SourceSpec(SourceKind.DEMO, "demo")))  # not on the plan
    # Picture (0.3, 0.5) is plan (0.15, 0.25): cell (2, 4) of 16. Three points of one visit
    # there count one visit; (0.9, 0.9) is plan (0.45, 0.45): cell (7, 7).
    made.visit("a", D0, path=((0.3, 0.5), (0.301, 0.5), (0.302, 0.501), (0.9, 0.9)))
    made.visit("b", D0 + timedelta(hours=1), path=((0.3, 0.5),))
    made.visit("c", D0 + timedelta(hours=2), camera=2, path=((0.3, 0.5),))
    period = Period(D0, D0 + timedelta(days=1))
    heat = Analytics(made.db, tz=UTC, k=2).floor_heatmap(period)
    assert heat.cells[4][2] == 2 and heat.cells[7][7] == 1
    assert sum(map(sum, heat.cells)) == 3, "the uncalibrated camera is on no plan"
    assert heat.suppressed == frozenset({(7, 7)})
    stored = made.db.execute(
        "SELECT floor_x, floor_y FROM path_point WHERE camera_id = 1 ORDER BY id"
    ).fetchone()
    assert stored == (pytest.approx(0.15), pytest.approx(0.25))
    assert made.db.execute(
        "SELECT COUNT(*) FROM path_point WHERE camera_id = 2 AND floor_x IS NULL"
    ).fetchone() == (1,)

    # A corrected calibration re-places the held points: now the picture is the whole plan.
    caplog.set_level(logging.INFO, logger="desktopapp.core.store.zones")
    plan = cameras.get(1)
    cameras.update(replace(plan, calibration=FloorCalibration(CORNERS, CORNERS)))
    assert "paths of camera 1 re-measured" in caplog.text
    moved = Analytics(made.db, tz=UTC, k=2).floor_heatmap(period)
    assert moved.cells[8][4] == 2 and moved.cells[14][14] == 1  # (0.3, 0.5), (0.9, 0.9)
    # A counting line changes neither: the held paths are not read again for it.
    caplog.clear()
    door = CountingLine("door", (0.5, 0.1), (0.5, 0.9), Space.IMAGE)
    cameras.update(replace(cameras.get(1), lines=(door,)))
    assert "re-measured" not in caplog.text
    # Retention folds the floor cells with the visits: the map stays the same.
    purge_personal_data(made.db, keep_statistics=True)
    assert Analytics(made.db, tz=UTC, k=2).floor_heatmap(period) == moved
