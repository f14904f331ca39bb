"""Repeat analysis end to end: the test faces as visits, then retention past expiry."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.store.writer import StoreWriter
from desktopapp.core.vision.types import Gender
from desktopapp.core.visits import DO_NOT_TRACK, STAFF, RecorderConfig, VisitRecorder
from tests.conftest import FACES, OBAMA, ROOT, SINGLE_FACE
from tests.test_notice import COMPLETE

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("repeat")
    faces = root / "faces"
    faces.mkdir()
    for name in SINGLE_FACE:
        shutil.copyfile(FACES / name, faces / name)  # test input, not app output
    notice = root / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    data = root / "data"
    assert main(["notice", "set", str(notice), "--data-dir", str(data)]) == 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktopapp",
            "analyse",
            str(faces),
            "--per-visit",
            "--json",
            "--data-dir",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return data, json.loads(done.stdout)


def test_obama_is_one_returning_visitor_and_nobody_is_merged(
    analysed: tuple[Path, dict[str, object]],
) -> None:
    _, result = analysed
    visits = result["visits"]
    assert isinstance(visits, list)
    by_source = {Path(str(v["source"])).name: v for v in visits}
    assert set(by_source) == set(SINGLE_FACE), "every picture has a face, so a visit"
    obama_ids = {by_source[name]["visitor"] for name in OBAMA}
    assert len(obama_ids) == 1, "the five obama pictures are one visitor"
    repeats = [by_source[name]["repeat"] for name in sorted(OBAMA)]
    assert repeats == [False, True, True, True, True]
    others = [by_source[n]["visitor"] for n in SINGLE_FACE if n not in OBAMA]
    assert len(set(others)) == len(others), "no two identities merged"
    assert not obama_ids & set(others)
    assert result["new_visitors"] == 1 + len(others)
    assert result["repeat_visits"] == 4
    assert by_source["biden.jpg"]["gender"] == "male"
    assert by_source["astronaut.png"]["gender"] == "female"


def test_templates_are_stored_encrypted(analysed: tuple[Path, dict[str, object]]) -> None:
    data, _ = analysed
    conn = sqlite3.connect(data / "raiten.db")
    rows = conn.execute("SELECT visitor_id, feature_enc FROM template").fetchall()
    visitors = conn.execute("SELECT COUNT(*) FROM visitor").fetchone()[0]
    conn.close()
    assert rows and visitors == 1 + len(SINGLE_FACE) - len(OBAMA)
    cipher = Cipher(load_key(data))
    raw = b"".join(p.read_bytes() for p in data.glob("raiten.db*"))
    for visitor_id, blob in rows:
        plain = cipher.decrypt(bytes(blob), f"template:{visitor_id}".encode())
        vector = np.frombuffer(plain, np.float32)
        assert vector.shape == (128,)
        assert plain not in raw, "a feature's plaintext bytes are in the database file"
        assert plain[:32] not in raw


def test_retention_past_expiry_leaves_no_visitor(
    analysed: tuple[Path, dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = analysed
    later = (datetime.now(UTC) + timedelta(days=181 + 30)).isoformat()
    assert main(["retention", "--now", later, "--json", "--data-dir", str(data)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["visitors"] == 1 + len(SINGLE_FACE) - len(OBAMA)
    conn = sqlite3.connect(data / "raiten.db")
    for table in ("visitor", "template", "visit", "path_point"):
        assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table
    folded = conn.execute("SELECT SUM(visits) FROM stat_visit_hour").fetchone()[0]
    conn.close()
    assert folded == len(SINGLE_FACE), "the visits survive as statistics"


def _event(feature: np.ndarray | None, start: float, end: float, camera: int = 1) -> TrackClosed:
    vector = None if feature is None else (feature / np.linalg.norm(feature)).astype(np.float32)
    return TrackClosed(
        camera_id=camera,
        track_id=int(start),
        first_seen=start,
        last_seen=end,
        hits=10,
        feature=vector,
        templates=() if vector is None else ((0.9, vector),),
        attributes=AttributeSummary(35.0, Gender.FEMALE, 0.9, 3),
        path=((start, 0.2, 0.5), (start + 1, 0.3, 0.5)),
    )


def _recorder(data: Path, mode: Mode = Mode.REPEAT) -> VisitRecorder:
    return VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator="Op", store="Shibuya", mode=mode, retention=RetentionPolicy(days=30)
        ),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )


def test_tracks_minutes_apart_merge_into_one_visit(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    person = rng.normal(size=128)
    recorder = _recorder(tmp_path)
    first = recorder.record(_event(person, 0, 60))
    assert (first.outcome, first.new_visitor, first.is_repeat) == ("visit", True, False)
    merged = recorder.record(_event(person + rng.normal(size=128) * 0.05, 300, 420, camera=2))
    assert merged.outcome == "merged" and merged.visitor_id == first.visitor_id
    later = recorder.record(_event(person, 3 * 3600, 3 * 3600 + 60))
    assert later.outcome == "visit" and later.is_repeat and not later.new_visitor
    conn = recorder.store.db.conn
    dwell = conn.execute("SELECT dwell_seconds FROM visit ORDER BY id").fetchall()
    assert [d[0] for d in dwell] == [420.0, 60.0]
    assert conn.execute("SELECT visit_count FROM visitor").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM path_point").fetchone()[0] == 6


def test_opted_out_and_staff_leave_no_record(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    opted_out, staff = rng.normal(size=128), rng.normal(size=128)
    recorder = _recorder(tmp_path)
    for kind, vector in ((DO_NOT_TRACK, opted_out), (STAFF, staff)):
        recorder.galleries[kind].add(kind, (vector / np.linalg.norm(vector)).astype(np.float32), 1)
    assert recorder.record(_event(opted_out, 0, 30)).outcome == "suppressed"
    assert recorder.record(_event(staff, 100, 130)).outcome == "suppressed"
    conn = recorder.store.db.conn
    assert conn.execute("SELECT COUNT(*) FROM visit").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM visitor").fetchone()[0] == 0


def test_attribute_mode_stores_anonymous_visits_only(tmp_path: Path) -> None:
    recorder = _recorder(tmp_path, Mode.ATTRIBUTES)
    outcome = recorder.record(_event(None, 0, 30))
    assert outcome.outcome == "visit" and outcome.visitor_id is None
    conn = recorder.store.db.conn
    assert conn.execute("SELECT visitor_id, age_band FROM visit").fetchall() == [(None, "30-39")]
    assert conn.execute("SELECT COUNT(*) FROM template").fetchone()[0] == 0


def test_another_operators_database_never_matches(tmp_path: Path) -> None:
    """G-06: one database per operator; a probe seen by operator A is new to operator B."""
    person = np.random.default_rng(3).normal(size=128)
    a = _recorder(tmp_path / "a").record(_event(person, 0, 30))
    b = _recorder(tmp_path / "b").record(_event(person, 0, 30))
    assert a.new_visitor and b.new_visitor and a.visitor_id != b.visitor_id


def test_the_gallery_is_rebuilt_from_the_database(tmp_path: Path) -> None:
    person = np.random.default_rng(4).normal(size=128)
    first = _recorder(tmp_path).record(_event(person, 0, 30))
    again = _recorder(tmp_path).record(_event(person, 86_400, 86_430))
    assert again.visitor_id == first.visitor_id and again.is_repeat


def test_the_writer_thread_runs_jobs_in_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    writer = StoreWriter(lambda: _recorder(tmp_path))
    people = [rng.normal(size=128) for _ in range(5)]
    futures = [
        writer.submit(lambda r, p=p, i=i: r.record(_event(p, i * 1000, i * 1000 + 5)))
        for i, p in enumerate(people)
    ]
    outcomes = [f.result(timeout=30) for f in futures]
    writer.close()
    assert Counter(o.outcome for o in outcomes) == {"visit": 5}


CHILD = """
import sys, numpy as np
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tests.test_repeat_analysis import _event, _recorder
recorder = _recorder(Path(sys.argv[1]))
rng = np.random.default_rng(0)
i = 0
while True:
    recorder.record(_event(rng.normal(size=128), i * 1000, i * 1000 + 5))
    i += 1
    print(i, flush=True)
"""


def test_a_killed_writer_loses_no_committed_visit(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    committed = 0
    deadline = time.monotonic() + 120
    while committed < 40 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        committed = int(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert committed >= 40
    conn = sqlite3.connect(tmp_path / "raiten.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    visits = conn.execute("SELECT COUNT(*) FROM visit").fetchone()[0]
    visitors = conn.execute("SELECT COUNT(*) FROM visitor").fetchone()[0]
    orphans = conn.execute(
        "SELECT COUNT(*) FROM template WHERE visitor_id NOT IN (SELECT id FROM visitor)"
    ).fetchone()[0]
    conn.close()
    assert visits >= committed, "a visit reported as committed is gone"
    assert visits == visitors and orphans == 0, "no half-written visit"
