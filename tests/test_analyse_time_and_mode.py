"""`raiten analyse` as issue 16 points 2 and 4 ask: live sources dated by the wall clock, files
placed by --start (default: the last one ends now), nothing ever dated after the analysis; and
--mode may only narrow the notice's mode. The real CLI in a subprocess, on real faces."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktopapp.core.modes import Mode, ModeError
from desktopapp.core.notice import NoticeProfile
from desktopapp.core.store.db import open_database
from desktopapp.core.visits import RecorderConfig
from tests.conftest import FACES, ROOT
from tests.streams import MjpegServer
from tests.test_notice import COMPLETE


def _cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktopapp", *args, "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _data(root: Path, mode: str = "repeat") -> Path:
    notice = root / "notice.toml"
    notice.write_text(COMPLETE.replace('mode = "repeat"', f'mode = "{mode}"'), encoding="utf-8")
    data = root / "data"
    done = _cli(data, "notice", "set", str(notice))
    assert done.returncode == 0, done.stderr
    return data


def _visits(data: Path) -> list[tuple[datetime, datetime, int]]:
    db = open_database(data)
    try:
        rows = db.execute("SELECT started_at, ended_at, is_repeat FROM visit ORDER BY started_at")
        return [(datetime.fromisoformat(s), datetime.fromisoformat(e), int(r)) for s, e, r in rows]
    finally:
        db.conn.close()


@pytest.fixture
def obama(tmp_path: Path) -> Path:
    """Two photos of one person, in a folder of their own (test input, not app output)."""
    folder = tmp_path / "obama"
    folder.mkdir()
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copyfile(FACES / name, folder / name)
    return folder


def test_live_sources_are_dated_by_the_wall_clock(tmp_path: Path) -> None:
    data = _data(tmp_path)
    server = MjpegServer(FACES / "t1.jpg", fps=10.0)
    server.start()
    before = datetime.now(UTC)
    try:
        done = _cli(data, "analyse", server.url, "--seconds", "3", "--json")
    finally:
        server.stop()
    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    visits = _visits(data)
    assert len(visits) == 6, "the six people of t1.jpg, each one visit"
    for started, ended, _repeat in visits:
        assert before <= started <= ended <= after


def test_files_end_when_the_command_runs_and_lie_one_day_apart(tmp_path: Path, obama: Path) -> None:
    data = _data(tmp_path)
    done = _cli(data, "analyse", str(obama), "--json")
    after = datetime.now(UTC)
    assert done.returncode == 0, done.stderr
    (first, _e1, _r1), (second, last_end, _r2) = _visits(data)
    assert last_end <= after and after - last_end < timedelta(minutes=10)
    assert second - first == timedelta(days=1)


def test_start_places_the_files_and_a_later_start_records_repeats(
    tmp_path: Path, obama: Path
) -> None:
    data = _data(tmp_path)
    done = _cli(data, "analyse", str(obama), "--start", "2026-11-01T10:00+09:00", "--json")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert (first["visits"], first["new_visitors"], first["repeat_visits"]) == (2, 1, 1)
    starts = [started for started, _ended, _repeat in _visits(data)]
    assert starts == [
        datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 1, 0, tzinfo=UTC),
    ]
    # The same folder again, a week later: the person is recognised, both visits repeats.
    done = _cli(data, "analyse", str(obama), "--start", "2026-11-08T10:00+09:00", "--json")
    assert done.returncode == 0, done.stderr
    again = json.loads(done.stdout)
    assert (again["visits"], again["new_visitors"], again["repeat_visits"]) == (2, 0, 2)
    assert [r for _s, _e, r in _visits(data)] == [0, 1, 1, 1]


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("yesterday", "ISO date"),
        ("2999-01-01T09:00", "in the future"),
        # Two files one day apart from an hour ago: the second would be tomorrow.
        ("HOUR_AGO", "after now"),
    ],
)
def test_a_bad_start_is_refused_in_one_line_and_nothing_is_recorded(
    tmp_path: Path, obama: Path, start: str, reason: str
) -> None:
    data = _data(tmp_path)
    if start == "HOUR_AGO":
        start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    done = _cli(data, "analyse", str(obama), "--start", start, "--json")
    assert (done.returncode, done.stdout) == (2, "")
    assert reason in done.stderr and done.stderr.count("\n") == 1
    assert _visits(data) == []


def test_the_mode_may_narrow_the_notice_but_never_widen_it(tmp_path: Path, obama: Path) -> None:
    data = _data(tmp_path, mode="attributes")
    done = _cli(data, "analyse", str(obama), "--mode", "repeat", "--json")
    assert (done.returncode, done.stdout) == (2, "")
    assert "attributes" in done.stderr and done.stderr.count("\n") == 1
    db = open_database(data)
    assert db.execute("SELECT COUNT(*) FROM visit").fetchone()[0] == 0
    db.conn.close()
    # Counting only keeps less than the notice announces: allowed.
    done = _cli(data, "analyse", str(obama), "--mode", "passerby", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "passerby"
    done = _cli(data, "analyse", str(obama), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["mode"] == "attributes"
    db = open_database(data)
    assert db.execute("SELECT COUNT(*) FROM template").fetchone()[0] == 0
    db.conn.close()


def test_no_recorder_keeps_more_than_the_notice_announces() -> None:
    """The same rule in the core, for every caller of RecorderConfig.for_notice."""
    profile = NoticeProfile.model_validate(
        tomllib.loads(COMPLETE.replace('mode = "repeat"', 'mode = "activity"'))
    )
    with pytest.raises(ModeError, match="activity"):
        RecorderConfig.for_notice(profile, None, Mode.ATTRIBUTES)
    assert RecorderConfig.for_notice(profile, None, Mode.CROWD).mode is Mode.CROWD
    assert RecorderConfig.for_notice(profile, None).mode is Mode.ACTIVITY
