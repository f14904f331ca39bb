"""A dashboard a small shop understands (issue 17, point 3): an empty chart says why, drawn
zones and lines appear with 0, "In the store now" is a live count, and the reports say when
purchases exist but none were linked, naming cameras by name."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from desktopapp.core.counting import CountingLine, Zone, ZoneKind
from desktopapp.core.floor import Space
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.pos import ColumnMapping
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.types import Gender
from desktopapp.core.visits import RecorderConfig, VisitRecorder
from desktopapp.core.workspace import Workspace
from desktopapp.ui.dates import local_days
from tests.test_gui_operator import PROFILE, Opener, _set_up, open_window  # noqa: F401

pytestmark = pytest.mark.gui

SHELF = Zone("棚", ZoneKind.SHELF, ((0, 0), (0.5, 0), (0.5, 1), (0, 1)), Space.IMAGE)
DOOR = CountingLine("Door", (0.5, 0.1), (0.5, 0.9), Space.IMAGE)


def _camera(data_dir: Path) -> None:
    workspace = Workspace(data_dir)
    workspace.save_camera(
        Camera("Floor", SourceSpec(SourceKind.DEMO, "demo"), zones=(SHELF,), lines=(DOOR,))
    )
    workspace.close()


def _visits(data_dir: Path, count: int, start: datetime, apart: float = 30.0) -> None:
    db = open_database(data_dir)
    recorder = VisitRecorder(
        VisitStore(db, Cipher(load_key(data_dir))),
        RecorderConfig.for_notice(PROFILE, None),
        to_datetime=lambda t: start + timedelta(seconds=t),
    )
    rng = np.random.default_rng(3)
    for n in range(count):
        vector = rng.normal(size=128).astype(np.float32)
        vector /= np.linalg.norm(vector)
        t = n * apart
        attributes = AttributeSummary(35, Gender.FEMALE, 0.9, 3)
        event = TrackClosed(1, n, t, t + 60, 5, vector, ((0.9, vector),), attributes, ())
        assert recorder.record(event).outcome == "visit"
    db.conn.close()


def _row(table: object, row: int) -> list[str]:
    return [table.item(row, c).text() for c in range(table.columnCount())]  # type: ignore[attr-defined]


def test_an_empty_dashboard_says_why(open_window: Opener, qtbot: QtBot, tmp_path: Path) -> None:  # noqa: F811
    _set_up(tmp_path)
    window = open_window(tmp_path)
    dashboard = window.dashboard
    qtbot.waitUntil(lambda: dashboard.data is not None, timeout=20_000)
    assert "Nothing recorded in this period yet" in dashboard.over_time.note.text()
    assert "Nothing recorded" in dashboard.demographics.note.text()
    assert "No zone drawn yet" in dashboard.zones.item(0, 0).text()
    assert "No counting line drawn yet" in dashboard.lines.item(0, 0).text()
    assert "No sales imported" in dashboard.spend.note.text()
    assert "Floor calibration" in dashboard.heat.note.text()

    # A camera with a zone and a line: both appear, with 0, before anyone was counted.
    _camera(tmp_path)
    dashboard.refresh()
    qtbot.waitUntil(lambda: dashboard.zones.item(0, 1) is not None, timeout=20_000)
    assert _row(dashboard.zones, 0) == ["Floor", "棚", "0", "–"]
    assert _row(dashboard.lines, 0) == ["Floor", "Door", "0", "0"]


def test_in_the_store_now_is_a_live_count_and_few_visits_say_so(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _set_up(tmp_path)
    _visits(tmp_path, 2, datetime.now(UTC) - timedelta(seconds=90))
    window = open_window(tmp_path)
    dashboard = window.dashboard
    qtbot.waitUntil(lambda: dashboard.data is not None, timeout=20_000)
    assert dashboard.in_store.value.text() == "2"  # live, not "<5" (docs/decisions.md)
    assert dashboard.today.value.text() == "<5"  # a statistic of the day stays protected
    assert "Fewer than 5 visits" in dashboard.over_time.note.text()


def test_a_total_hidden_to_protect_a_small_day_is_neither_called_few_nor_read_off_the_bars(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    """Six visits an hour apart from 19:00 local: five on one day, one on the next. The day of
    one is "<5"; beside the period's total the day of five would give it away, and with both
    hidden 1 + 5 is still the only way to make 6, so the total is hidden too (G-07). The
    dashboard must not call six visits "fewer than 5", and the visit-number and dwell bars,
    which count the same visits, must not add up to the total it hides."""
    _set_up(tmp_path)
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    _visits(tmp_path, 6, midnight - timedelta(days=1, hours=5), apart=3600.0)
    window = open_window(tmp_path)
    dashboard = window.dashboard
    qtbot.waitUntil(lambda: dashboard.data is not None, timeout=20_000)
    days = [b.visits for b in dashboard.data.figures.over_time if b.visits]
    assert days == [5, 1]
    assert dashboard.visits.value.text() == "—"
    for chart in (
        dashboard.over_time,
        dashboard.frequency,
        dashboard.demographics,
        dashboard.dwell,
    ):
        assert "Fewer than" not in chart.note.text()
    assert "Hidden (<5 or to protect one)" in dashboard.over_time.note.text()
    for chart in (dashboard.frequency, dashboard.dwell):
        assert sum(chart.values) == 0, chart.values
        assert "Hidden (<5 or to protect one)" in chart.note.text()


def test_purchases_that_are_not_linked_are_said_so_and_cameras_are_named(
    open_window: Opener,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    _set_up(tmp_path)
    _camera(tmp_path)
    _visits(tmp_path, 6, datetime.now(UTC) - timedelta(hours=2))
    sales = tmp_path / "pos.csv"
    moment = (datetime.now() - timedelta(hours=1)).strftime("%Y/%m/%d %H:%M")
    sales.write_text(f"time,amount,register\n{moment},1200,1\n", encoding="utf-8")
    workspace = Workspace(tmp_path)
    result = workspace.import_pos(
        sales, PROFILE.store, ColumnMapping("time", "amount", "register", None), 2, "user:t"
    )
    assert result.imported == 1
    today = datetime.now().date()
    period = local_days(today - timedelta(days=1), today, None)
    pdf = workspace.export(tmp_path / "report.pdf", "pdf", period, "en", "user:t")
    report = tmp_path / "report.csv"
    workspace.export(report, "csv", period, "en", "user:t")
    workspace.close()
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "no purchases are linked to visits" in text
    assert "There are no purchase records" not in text
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    zone_rows = [row for row in rows if "棚" in row]
    assert zone_rows and zone_rows[0][0] == "Floor"

    window = open_window(tmp_path)
    dashboard = window.dashboard
    qtbot.waitUntil(lambda: dashboard.data is not None, timeout=20_000)
    assert "none is linked to a visit" in dashboard.spend.note.text()
