"""The PDF report: A4, fonts embedded, the figures of the period, small counts as "<k" (G-07),
nothing that identifies a visitor (G-06)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from desktopapp.core.analytics import Analytics, Period
from desktopapp.core.notice import NoticeStore
from desktopapp.core.reports.export_csv import ExportError
from desktopapp.core.reports.export_pdf import (
    CATALOGUE,
    Language,
    _Context,
    _count_chart,
    write_pdf,
)
from desktopapp.core.suppression import Disclosure
from desktopapp.core.vision.types import Gender
from tests.test_analytics import D0, EVERYTHING, JST, Shop, _shop, build_shop
from tests.test_notice import _profile

TOKYO = ZoneInfo("Asia/Tokyo")
K = 5
PROFILE = _profile()
WEEK = Period(datetime(2026, 11, 1, tzinfo=TOKYO), datetime(2026, 11, 8, tzinfo=TOKYO))


@dataclass(frozen=True, slots=True)
class Week:
    shop: Shop
    store_id: int
    visitor_ids: list[str]


def build_week(data_dir: Path) -> Week:
    """A week of the Shibuya store: 12 women in their thirties on day 1, 6 of whom buy
    something and come back on day 3; 8 men in their forties on day 2; 2 women in their
    sixties on day 4."""
    made = _shop(data_dir)
    NoticeStore(made.db).save(PROFILE, now=D0 - timedelta(days=10))
    morning = D0 + timedelta(hours=1)  # 10:00 in Japan
    first = [
        made.visit(f"thirties{n}", morning + timedelta(minutes=10 * n), age=35) for n in range(12)
    ]
    for n in range(6):
        made.purchase(morning + timedelta(minutes=10 * n + 5), 1000 + 100 * n, first[n])
        made.visit(f"thirties{n}", morning + timedelta(days=2, minutes=10 * n), age=35)
    for n in range(8):
        start = morning + timedelta(days=1, minutes=10 * n)
        made.visit(f"forties{n}", start, age=45, gender=Gender.MALE)
    for n in range(2):
        made.visit(f"sixties{n}", morning + timedelta(days=3, minutes=10 * n), age=65)
    store_id = int(made.db.execute("SELECT id FROM store WHERE name = 'Shibuya'").fetchone()[0])
    visitor_ids = [str(row[0]) for row in made.db.execute("SELECT id FROM visitor")]
    return Week(made, store_id, visitor_ids)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    return build_week(tmp_path_factory.mktemp("week"))


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _lines(pdf: Path) -> list[str]:
    """The text by line with all whitespace removed: pdftotext breaks lines at U+3000."""
    text = _run("pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-")
    return [re.sub(r"\s+", "", line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_report_shows_the_period_in_either_language(
    week: Week, tmp_path: Path, language: Language
) -> None:
    text = CATALOGUE[language]
    pdf = tmp_path / "report.pdf"
    period = Period(WEEK.start, WEEK.end, week.store_id)
    summary = write_pdf(pdf, Analytics(week.shop.db, k=K, tz=TOKYO), period, language)

    assert summary.path == pdf and summary.format == "pdf" and summary.bytes == pdf.stat().st_size
    assert summary.store == "Shibuya" and summary.notice_versions == (1,)
    assert summary.tables == 6 and summary.suppressed_cells > 0
    assert [p.name for p in tmp_path.iterdir()] == ["report.pdf"], "no temporary file left"

    info = _run("pdfinfo", str(pdf))
    assert re.search(r"Page size:\s+595\.2\d* x 841\.8\d* pts \(A4\)", info)
    found = re.search(r"Pages:\s+(\d+)", info)
    assert found is not None and 1 <= int(found[1]) <= 3
    pages = int(found[1])
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts and all("IPAexGothic" in line for line in fonts)
    assert all(line.split()[-5] == "yes" for line in fonts), "every font embedded"

    lines = _lines(pdf)
    whole = "".join(lines)
    for key in (
        "title",
        "visits_heading",
        "repeat_heading",
        "frequency_heading",
        "demographics_heading",
        "dwell_heading",
        "conversion_heading",
        "note_heading",
    ):
        assert re.sub(r"\s+", "", text[key]) in whole, key
    assert PROFILE.operator in whole and "Shibuya" in whole
    dates = text["period_value"].format(start="2026-11-01", end="2026-11-07")
    assert re.sub(r"\s+", "", dates) in whole
    notice = text["notice_value"].format(version=1, date="2026-10-22")
    assert re.sub(r"\s+", "", notice) in whole
    totals = text["visits_summary"].format(visits=28, new=22, repeat=6)
    assert re.sub(r"\s+", "", totals) in whole
    assert "Wilson" in whole, "how the band is made"

    # Two women in their sixties: "<5" in the table, the 2 nowhere beside the label.
    assert "60-69<50" in lines  # age band, women, men
    segment = "60-69" + re.sub(r"\s+", "", text["female"])
    assert segment + "<50—" in "".join(lines)  # visits, bought, rate
    assert not any(line.startswith(("60-692", segment + "2")) for line in lines)
    day_four = [line for line in lines if "11/04<5" in line]
    assert day_four and not any("11/042" in line for line in lines)

    for visitor_id in week.visitor_ids:
        assert visitor_id not in whole
        assert visitor_id.replace("-", "") not in whole

    _run("pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page"))
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == pages
    with Image.open(pngs[0]) as image:
        assert image.size == (497, 702)  # A4 at 60 dpi
        assert len(image.convert("L").getcolors(256) or []) > 16, "the page has content"


def test_an_empty_period_says_there_were_no_visits(week: Week, tmp_path: Path) -> None:
    pdf = tmp_path / "empty.pdf"
    later = Period(WEEK.end + timedelta(days=30), WEEK.end + timedelta(days=31))
    summary = write_pdf(pdf, Analytics(week.shop.db, k=K, tz=TOKYO), later, "en")
    assert summary.tables == 0 and summary.suppressed_cells == 0 and summary.store is None
    assert re.search(r"Pages:\s+1\n", _run("pdfinfo", str(pdf)))
    whole = "".join(_lines(pdf))
    assert "Therewerenovisitsinthisperiod." in whole
    assert "Store" + "Allstores" in whole


def test_a_period_without_purchases_leaves_conversion_out(week: Week, tmp_path: Path) -> None:
    pdf = tmp_path / "no-sales.pdf"
    day_two = Period(WEEK.start + timedelta(days=1), WEEK.start + timedelta(days=2))
    write_pdf(pdf, Analytics(week.shop.db, k=K, tz=TOKYO), day_two, "ja")
    whole = "".join(_lines(pdf))
    assert re.sub(r"\s+", "", CATALOGUE["ja"]["no_purchases"]) in whole
    assert CATALOGUE["ja"]["spend_chart"] not in whole


def test_a_chart_draws_no_bar_for_a_small_count() -> None:
    disclosure = Disclosure(K)
    keys = [disclosure.add(name, count) for name, count in (("a", 2), ("b", 0), ("c", 7))]
    drawing = _count_chart(_Context("en", disclosure), ["a", "b", "c"], [keys], 300)
    (chart,) = [c for c in drawing.contents if hasattr(c, "barLabelArray")]
    assert chart.data == [[0.0, 0.0, 7.0]]
    assert chart.barLabelArray == [["<5", "", ""]]
    # Under a total that is shown, the small bar takes the smallest other one with it: the
    # label no longer claims that every hidden bar is small.
    disclosure.adds_up(disclosure.add("total", 9), keys)
    drawing = _count_chart(_Context("en", disclosure), ["a", "b", "c"], [keys], 300)
    (chart,) = [c for c in drawing.contents if hasattr(c, "barLabelArray")]
    assert chart.data == [[0.0, 0.0, 0.0]]
    assert chart.barLabelArray == [["—", "", "—"]]


def test_an_unwritable_path_raises_export_error(week: Week, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot write"):
        write_pdf(tmp_path / "missing" / "r.pdf", Analytics(week.shop.db, k=K), WEEK, "en")
    assert list(tmp_path.iterdir()) == []


def test_the_report_has_zones_and_counting_lines_when_there_are_some(tmp_path: Path) -> None:
    made = build_shop(tmp_path)
    pdf = tmp_path / "report.pdf"
    write_pdf(pdf, Analytics(made.db, k=K, tz=JST), EVERYTHING, "ja")
    lines = _lines(pdf)
    assert CATALOGUE["ja"]["zones_heading"] in lines
    assert CATALOGUE["ja"]["lines_heading"] in lines
    assert any(line.startswith("1door6<5") for line in lines), lines  # six in, one out (G-07)
    assert "計数した人数:8" in lines
