"""Issue 16, point 1: every track that closes becomes one recorded outcome. A person whose face
could not be turned into a feature is a visit of unknown identity, never lost; the repeat rate
is taken over identified visits, with the unknown share beside it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import pytest
from reportlab.graphics.shapes import Drawing  # type: ignore[import-untyped]

from desktopapp.core.analytics import Analytics, Period, TimeBucket
from desktopapp.core.config import VisionConfig
from desktopapp.core.images import read_image
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed
from desktopapp.core.reports.export_csv import CATALOGUE as CSV_TEXT
from desktopapp.core.reports.export_csv import Language, write_csv
from desktopapp.core.reports.export_pdf import CATALOGUE as PDF_TEXT
from desktopapp.core.reports.export_pdf import _Context, _visits_section, write_pdf
from desktopapp.core.sources import Frame
from desktopapp.core.store.db import open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.tracking import TrackerConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Role
from tests.conftest import FACES, ROOT
from tests.test_notice import COMPLETE
from tests.test_repeat_analysis import BASE, _event, _recorder

T1 = FACES / "t1.jpg"  # six different people (testdata/SOURCES.md)


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktopapp", *args, "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    folder = tmp_path / "data"
    assert _cli(folder, "notice", "set", str(notice)).returncode == 0
    return folder


def test_t1_records_a_visit_for_each_of_its_six_people(data: Path) -> None:
    done = _cli(data, "analyse", str(T1), "--json", "--per-visit")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    visits = result["visits"]
    assert result["tracks"] == 6 and len(visits) == 6
    assert len({v["visitor"] for v in visits}) == 6, "six different people, six visitors"
    assert all(v["age_band"] and v["gender"] for v in visits)
    conn = open_database(data).conn
    assert conn.execute("SELECT COUNT(*) FROM visit").fetchone()[0] == 6
    assert conn.execute("SELECT COUNT(DISTINCT visitor_id) FROM template").fetchone()[0] == 6


def test_a_track_without_a_usable_face_is_a_visit_of_unknown_identity(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path)
    outcome = recorder.record(_event(None, 0, 30))
    assert (outcome.outcome, outcome.visitor_id) == ("visit", None)
    assert (outcome.age_band, outcome.gender) == ("30-39", "female")
    conn = recorder.store.db.conn
    rows = conn.execute("SELECT visitor_id, age_band, gender, mode, is_repeat FROM visit")
    assert rows.fetchall() == [(None, "30-39", "female", "repeat", 0)]
    assert conn.execute("SELECT COUNT(*) FROM visitor").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM path_point").fetchone()[0] == 2


def test_the_repeat_rate_is_over_identified_visits_before_and_after_the_fold(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(7)
    person, other = rng.normal(size=128), rng.normal(size=128)
    recorder = _recorder(tmp_path)
    day = 86_400
    recorder.record(_event(person, 0, 60))
    recorder.record(_event(person, day, day + 60))  # a repeat
    recorder.record(_event(other, 2 * day, 2 * day + 60))
    recorder.record(_event(None, 3 * day, 3 * day + 60))  # no usable face
    period = Period(BASE - timedelta(days=1), BASE + timedelta(days=5))
    analytics = Analytics(recorder.store.db, k=1)
    before = analytics.repeat_rate(period, 1e-4, 2)
    assert (before.visits, before.unknown_visits, before.identified_visits) == (4, 1, 3)
    assert before.rate == pytest.approx(1 / 3) and before.unknown_share == pytest.approx(0.25)
    purge_personal_data(recorder.store.db, keep_statistics=True)
    after = analytics.repeat_rate(period, 1e-4, 2)
    assert after == before, "the statistics that survive keep the unknown visits apart"


def test_the_csv_shows_the_unknown_share_and_the_expected_false_repeats(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    recorder = _recorder(tmp_path)
    people = [rng.normal(size=128) for _ in range(6)]
    for index, person in enumerate(people):
        recorder.record(_event(person, index * 3600, index * 3600 + 60))
        recorder.record(_event(person, 86_400 + index * 3600, 86_400 + index * 3600 + 60))
    for index in range(4):
        recorder.record(_event(None, 2 * 86_400 + index * 3600, 2 * 86_400 + index * 3600 + 9))
    out = tmp_path / "report.csv"
    period = Period(BASE, BASE + timedelta(days=3))
    write_csv(out, Analytics(recorder.store.db, k=2, false_match_rate=1e-3), period, "en")
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    header = next(i for i, line in enumerate(lines) if "Visits of unknown identity" in line)
    row = dict(zip(*csv.reader(lines[header : header + 2]), strict=True))
    assert row["Visits"] == "16" and row["Repeat"] == "6"
    assert row["Repeat rate (of identified visits)"] == "50.0%"
    assert (row["Visits of unknown identity"], row["Unknown share"]) == ("4", "25.0%")
    # 6 customers held at 1e-3 each: e = 0.006; E = (12 - 6) e / (1 - e).
    assert float(row["Expected false repeats"]) == pytest.approx(6 * 0.006 / 0.994, abs=0.005)


def test_batch_analysis_waits_for_the_feature_processes(registry: object) -> None:
    """A file never loses a shot: with one child (two faces queued) all six faces of t1 get a
    feature in the frame they appear in."""
    engine = VisionEngine.configured(
        VisionConfig(feature_processes=1),
        [Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES],
    )
    assert engine.embedder is not None and hasattr(engine.embedder, "wait_until_free")
    config = PipelineConfig(
        mode=Mode.REPEAT, wait_for_features=True, tracker=TrackerConfig(min_hits=1)
    )
    analyser = FrameAnalyser(1, engine, config)
    closed = analyser.process(Frame(read_image(T1), 0, 0.0, 0.0))[1] + analyser.finish(1.0)
    assert len(closed) == 6
    assert all(event.feature is not None for event in closed)


def test_a_live_camera_defers_a_shot_and_takes_a_later_one(registry: object) -> None:
    """Live: with the children saturated a shot is deferred, not lost; a later frame of the
    same person takes its place, and every person leaves with a feature."""
    # dlib's own runtime (about 90 ms a face) saturates the one child with six faces a frame;
    # the default ONNX runtime (8 ms) would seldom be busy.
    engine = VisionEngine.configured(
        VisionConfig(feature_processes=1, face_features="dlib-resnet128"),
        [Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES],
    )
    analyser = FrameAnalyser(1, engine, PipelineConfig(mode=Mode.REPEAT))
    picture = read_image(T1)
    closed: list[TrackClosed] = []
    with_shots: list[int] = []
    for index in range(40):
        closed += analyser.process(Frame(picture.copy(), index, index * 0.1, 0.0))[1]
        with_shots.append(sum(bool(s.shots.items) for s in analyser._states.values()))
    closed += analyser.finish(10.0)
    assert min(n for n in with_shots if n) < 6, "some shots were deferred at first"
    assert len(closed) == 6
    assert all(event.feature is not None for event in closed)


@pytest.mark.parametrize(("language", "heading"), [("en", "Unknownidentity"), ("ja", "本人不明")])
def test_the_pdf_names_the_unknown_visits_beside_the_repeat_rate(
    tmp_path: Path, language: str, heading: str
) -> None:
    from tests.test_export_pdf import _lines  # noqa: PLC0415

    rng = np.random.default_rng(9)
    recorder = _recorder(tmp_path)
    for index in range(6):
        person = rng.normal(size=128)
        recorder.record(_event(person, index * 3600, index * 3600 + 60))
        recorder.record(_event(person, 86_400 + index * 3600, 86_400 + index * 3600 + 60))
    for index in range(4):
        recorder.record(_event(None, 2 * 86_400 + index * 3600, 2 * 86_400 + index * 3600 + 9))
    out = tmp_path / "report.pdf"
    period = Period(BASE, BASE + timedelta(days=3))
    write_pdf(out, Analytics(recorder.store.db, k=2), period, language)  # type: ignore[arg-type]
    text = "".join(_lines(out))
    # The repeat table: 16 visits, 4 (25 %) of unknown identity, 6 repeats, 50 % of the 12
    # identified.
    assert heading in text and "164(25.0%)650.0%" in text


# Three days at k = 2 (every count 0 or 2 and more, so nothing is hidden): three customers
# come in on day 1; on day 2 they come back and two people without a usable face come in; on
# day 3 two new customers and two more without a usable face.
KINDS = ("new", "repeat", "unknown")  # the parts of a bucket's visits
MIXED_DAYS = [(3, 3, 0, 0), (5, 0, 3, 2), (4, 2, 0, 2)]  # visits, new, repeat, unknown


def _record_mixed_days(data: Path) -> Analytics:
    rng = np.random.default_rng(16)
    recorder = _recorder(data)
    regulars = [rng.normal(size=128) for _ in range(3)]
    days: list[list[np.ndarray | None]] = [
        list(regulars),
        [*regulars, None, None],
        [rng.normal(size=128), rng.normal(size=128), None, None],
    ]
    for day, faces in enumerate(days):
        for index, face in enumerate(faces):
            start = day * 86_400 + index * 3600  # an hour apart: never one visit
            assert recorder.record(_event(face, start, start + 60)).outcome == "visit"
    return Analytics(recorder.store.db, k=2, tz=UTC)


MIDNIGHT = BASE.replace(hour=0)
THREE_DAYS = Period(MIDNIGHT, MIDNIGHT + timedelta(days=3))  # whole UTC days


def _parts(bucket: TimeBucket) -> tuple[int, int, int, int]:
    return (bucket.visits, bucket.new_visits, bucket.repeat_visits, bucket.unknown_visits)


def test_over_time_new_repeat_and_unknown_add_up_to_the_visits(tmp_path: Path) -> None:
    analytics = _record_mixed_days(tmp_path)
    days = analytics.visits_over_time(THREE_DAYS, "day")
    assert [_parts(b) for b in days] == MIXED_DAYS, "a visit of unknown identity is not new"
    for b in analytics.visits_over_time(THREE_DAYS, "hour"):
        assert b.new_visits + b.repeat_visits + b.unknown_visits == b.visits, b
        assert b.new_visits >= 0
    figures = analytics.figures(THREE_DAYS, "day")
    disclosure = figures.disclosure(2)
    assert [disclosure.count(("bucket", 1, kind)) for kind in KINDS] == [0, 3, 2]
    assert [disclosure.count((kind,)) for kind in KINDS] == [5, 3, 4]
    assert not disclosure.hidden_keys
    purge_personal_data(analytics.db, keep_statistics=True)
    folded = analytics.visits_over_time(THREE_DAYS, "day")
    assert [_parts(b) for b in folded] == MIXED_DAYS, "the statistics keep the same split"


def test_a_small_unknown_count_cannot_be_worked_out_from_the_others(tmp_path: Path) -> None:
    figures = _record_mixed_days(tmp_path).figures(THREE_DAYS, "day")
    disclosure = figures.disclosure(3)  # the two unknown visits of days 2 and 3 are small
    for index in range(len(figures.over_time)):
        row = [("bucket", index, name) for name in ("visits", *KINDS)]
        hidden = [key for key in row if disclosure.hidden(key)]
        assert len(hidden) != 1, f"day {index + 1}: {hidden} is a subtraction away"
    assert disclosure.hidden(("bucket", 1, "unknown")) and disclosure.primary(
        ("bucket", 1, "unknown")
    )
    # Day 2 shows 5 visits and 0 new: its 3 repeats go with its 2 unknown visits.
    assert disclosure.hidden(("bucket", 1, "repeat"))
    for name in ("visits", *KINDS):
        column = [("bucket", i, name) for i in range(len(figures.over_time))]
        hidden = [key for key in [(name,), *column] if disclosure.hidden(key)]
        assert len(hidden) != 1, f"column {name}: {hidden} is a subtraction away"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_csv_over_time_table_has_an_unknown_identity_column(
    tmp_path: Path, language: Language
) -> None:
    out = tmp_path / "report.csv"
    write_csv(out, _record_mixed_days(tmp_path), THREE_DAYS, language)
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    text = CSV_TEXT[language]
    title = rows.index([text["over_time_day"]])
    header = rows[title + 1]
    assert header[1:] == [text[name] for name in ("col_visits", "col_new", "col_repeat")] + [
        text["col_unknown_identity"]
    ]
    table = rows[title + 2 : title + 5]
    assert [row[0] for row in table] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert [tuple(int(cell) for cell in row[1:]) for row in table] == MIXED_DAYS
    for row in table:
        visits, new, repeat, unknown = (int(cell) for cell in row[1:])
        assert new + repeat + unknown == visits, row


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_pdf_over_time_splits_visits_into_new_repeat_and_unknown(
    tmp_path: Path, language: Language
) -> None:
    from tests.test_export_pdf import _lines  # noqa: PLC0415

    analytics = _record_mixed_days(tmp_path)
    out = tmp_path / "report.pdf"
    write_pdf(out, analytics, THREE_DAYS, language)
    lines = _lines(out)
    whole = "".join(lines)
    text = PDF_TEXT[language]
    summary = text["visits_summary_unknown"].format(visits=12, new=5, repeat=3, unknown=4)
    assert re.sub(r"\s+", "", summary) in whole
    header = "".join(
        re.sub(r"\s+", "", text[name])
        for name in ("col_day", "col_visits", "col_new", "col_repeat", "col_unknown")
    )
    assert header in lines
    for day, (visits, new, repeat, unknown) in zip(("01", "02", "03"), MIXED_DAYS, strict=True):
        assert new + repeat + unknown == visits
        assert f"11/{day}{visits}{new}{repeat}{unknown}" in lines, day
    # The stacked bars: new, repeat and unknown identity, one on another up to the visits.
    figures = analytics.figures(THREE_DAYS, "day")
    ctx = _Context(language, figures.disclosure(2))
    section = _visits_section(ctx, figures.over_time, "day", UTC)
    (drawing,) = [f for f in section[0]._content if isinstance(f, Drawing)]
    (chart,) = [c for c in drawing.contents if hasattr(c, "barLabelArray")]
    assert len(chart.data) == 3
    assert [sum(stack) for stack in zip(*chart.data, strict=True)] == [3, 5, 4]


def test_the_pdf_summary_names_no_unknown_visits_when_there_are_none(tmp_path: Path) -> None:
    from tests.test_export_pdf import _lines  # noqa: PLC0415

    recorder = _recorder(tmp_path)
    rng = np.random.default_rng(3)
    for index in range(4):
        recorder.record(_event(rng.normal(size=128), index * 3600, index * 3600 + 60))
    out = tmp_path / "report.pdf"
    write_pdf(out, Analytics(recorder.store.db, k=2, tz=UTC), THREE_DAYS, "en")
    whole = "".join(_lines(out))
    plain = PDF_TEXT["en"]["visits_summary"].format(visits=4, new=4, repeat=0)
    assert re.sub(r"\s+", "", plain) in whole and "unknownidentity." not in whole
