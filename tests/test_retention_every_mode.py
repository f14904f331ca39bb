"""Retention in every mode (issue 16, point 3): the hourly sweep runs whatever the notice's mode
and whether or not it names a period, and every personal row (visitor, template, visit, path
point, zone dwell, anonymous visits included) ages out. Real SQLite files, frozen clocks; the
statistics are folded first, so every figure is the same after the sweep."""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.analytics import Analytics, Period
from desktopapp.core.config import Settings
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile
from desktopapp.core.setup import FirstRunAnswers
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.retention import NO_PERIOD_DAYS, RetentionPolicy
from desktopapp.core.store.visits import NewVisit, PathPoint, VisitStore
from desktopapp.core.workspace import Workspace
from tests.test_notice import COMPLETE

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
REPEAT = NoticeProfile.model_validate(tomllib.loads(COMPLETE) | {"retention_days": 30})
# Outside repeat mode a notice may leave the period unset (NoticeProfile.problem_items).
NO_PERIOD = REPEAT.model_copy(update={"mode": Mode.ATTRIBUTES, "retention_days": 0})
PERSONAL = ("visitor", "template", "visit", "path_point", "zone_dwell")
WHOLE = Period(T0 - timedelta(days=1), T0 + timedelta(days=90))


def _workspace(data_dir: Path, profile: NoticeProfile) -> Workspace:
    workspace = Workspace(data_dir, Settings())
    workspace.complete_first_run(FirstRunAnswers(profile, "tanaka", "kanri2026store"))
    return workspace


def _visit(store: VisitStore, store_id: int, visitor_id: str | None, started: datetime) -> int:
    """A visit of ten minutes with a two-point path, a zone dwell and a linked purchase."""
    ended = started + timedelta(minutes=10)
    path = tuple(PathPoint(1, started + timedelta(minutes=m), 0.2 * m, 0.5) for m in (1, 2))
    visit_id = store.add_visit(
        NewVisit(
            store_id=store_id,
            visitor_id=visitor_id,
            started_at=started,
            ended_at=ended,
            age_band="30-39",
            gender="female",
            is_repeat=False,
            visit_number=1,
            mode="repeat" if visitor_id else "attributes",
            path=path,
        )
    )
    conn = store.db.conn
    # What the recorder works out from the camera's zones and from the POS import.
    conn.execute(
        "INSERT INTO zone_dwell (visit_id, camera_id, zone, seconds) VALUES (?, 1, 'shelf', 45)",
        (visit_id,),
    )
    import_id = conn.execute(
        """INSERT INTO pos_import (imported_at, source_file, rows) VALUES (?, 'pos.csv', 1)""",
        (T0.isoformat(),),
    ).lastrowid
    conn.execute(
        """INSERT INTO purchase (import_id, store_id, at, register, amount, visit_id)
        VALUES (?, ?, ?, 'R1', 1200, ?)""",
        (import_id, store_id, ended.isoformat(), visit_id),
    )
    return visit_id


def _record(data_dir: Path, visitor_at: datetime | None, anonymous_at: list[datetime]) -> bytes:
    """Visits written as the recorder writes them; with ``visitor_at``, one visitor of the
    repeat mode and its template (30-day expiry). Returns the template's ciphertext."""
    db = open_database(data_dir)
    store = VisitStore(db, Cipher(load_key(data_dir)))
    try:
        operator_id, store_id = store.ensure_operator_and_store("Op", "Shibuya", T0)
        sealed = b""
        if visitor_at is not None:
            visitor_id = str(uuid.uuid4())
            store.add_visitor(
                visitor_id,
                operator_id=operator_id,
                store_id=store_id,
                kind="customer",
                seen=visitor_at,
                expires_at=visitor_at + timedelta(days=30),
            )
            feature = np.random.default_rng(1).standard_normal(128).astype(np.float32)
            store.replace_templates(visitor_id, "test", [(0.9, feature)], visitor_at)
            sealed = bytes(
                db.execute(
                    "SELECT feature_enc FROM template WHERE visitor_id = ?", [visitor_id]
                ).fetchone()[0]
            )
            _visit(store, store_id, visitor_id, visitor_at)
        for started in anonymous_at:
            _visit(store, store_id, None, started)
        db.conn.commit()
    finally:
        db.conn.close()
    return sealed


def _rows(data_dir: Path) -> dict[str, int]:
    db = open_database(data_dir)
    try:
        return {t: int(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in PERSONAL}
    finally:
        db.conn.close()


def _figures(workspace: Workspace) -> tuple[Any, ...]:
    """Every figure the dashboard shows over the whole time, except those that depend on how
    many visitors are held (the expected false repeats)."""

    def figures(analytics: Analytics) -> tuple[Any, ...]:
        shown = analytics.figures(WHOLE)
        return (
            shown.over_time,
            (shown.repeat.visits, shown.repeat.repeat_visits),
            shown.frequency,
            shown.demographics,
            shown.dwell,
            shown.conversion,
            shown.spend,
            shown.zones,
            analytics.heatmap(WHOLE, None),
            analytics.floor_heatmap(WHOLE),
        )

    return workspace.aggregates(figures)


def test_a_notice_without_a_period_keeps_anonymous_visits_a_day(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, NO_PERIOD)
    try:
        _record(tmp_path, None, [T0, T0 + timedelta(hours=12)])
        assert _rows(tmp_path)["visit"] == 2
        shown = _figures(workspace)
        assert shown[1] == (2, 0) and shown[5].converted == 2

        # The first visit ended at T0 + 10 min: a day later it is gone, the second stays.
        first = workspace.run_retention(T0 + timedelta(days=NO_PERIOD_DAYS, minutes=11))
        assert (first.anonymous_visits, first.path_points, first.folded_visits) == (1, 2, 1)
        assert _rows(tmp_path) == {
            "visitor": 0,
            "template": 0,
            "visit": 1,
            "path_point": 2,
            "zone_dwell": 1,
        }
        assert _figures(workspace) == shown

        second = workspace.run_retention(T0 + timedelta(days=2))
        assert (second.anonymous_visits, second.folded_visits) == (1, 1)
        assert all(count == 0 for count in _rows(tmp_path).values())
        assert _figures(workspace) == shown
        assert [e.action for e in workspace_audit(workspace)].count("retention.sweep") == 2
    finally:
        workspace.close()


def workspace_audit(workspace: Workspace) -> list[Any]:
    return workspace.audit_entries(T0 - timedelta(days=3650), T0 + timedelta(days=3650), None, None)


def test_a_period_named_by_an_attributes_notice_keeps_anonymous_visits_that_long(
    tmp_path: Path,
) -> None:
    workspace = _workspace(tmp_path, NO_PERIOD.model_copy(update={"retention_days": 7}))
    try:
        _record(tmp_path, None, [T0])
        shown = _figures(workspace)
        assert workspace.run_retention(T0 + timedelta(days=6)).anonymous_visits == 0
        assert _rows(tmp_path)["visit"] == 1
        assert workspace.run_retention(T0 + timedelta(days=7, minutes=11)).anonymous_visits == 1
        assert all(count == 0 for count in _rows(tmp_path).values())
        assert _figures(workspace) == shown
    finally:
        workspace.close()


def test_visitors_held_when_the_notice_drops_its_period_age_out_too(tmp_path: Path) -> None:
    """Repeat analysis under a 30-day notice, then an attributes notice naming no period: the
    notice in force keeps nothing personal beyond a day, so the visitor held goes at the next
    sweep, with its template, visits, path and zone dwell; the template's bytes too."""
    workspace = _workspace(tmp_path, REPEAT)
    try:
        sealed = _record(tmp_path, T0, [T0 + timedelta(hours=1)])
        assert sealed and sealed in (tmp_path / DB_FILE).read_bytes() + _wal(tmp_path)
        assert _rows(tmp_path) == {
            "visitor": 1,
            "template": 1,
            "visit": 2,
            "path_point": 4,
            "zone_dwell": 2,
        }
        shown = _figures(workspace)
        before_change = workspace.run_retention(T0 + timedelta(days=3))
        assert not before_change.deleted  # 30 days for both, as the first notice says

        workspace.save_notice(NO_PERIOD, "tanaka")
        result = workspace.run_retention(T0 + timedelta(days=3))

        assert (result.visitors, result.templates, result.visits) == (1, 1, 1)
        assert (result.anonymous_visits, result.path_points, result.folded_visits) == (1, 4, 2)
        assert all(count == 0 for count in _rows(tmp_path).values())
        assert _figures(workspace) == shown
        assert sealed not in (tmp_path / DB_FILE).read_bytes() + _wal(tmp_path)
    finally:
        workspace.close()


def _wal(data_dir: Path) -> bytes:
    wal = data_dir / (DB_FILE + "-wal")
    return wal.read_bytes() if wal.exists() else b""


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, RetentionPolicy(NO_PERIOD_DAYS, "last")), (45, RetentionPolicy(45, "last"))],
)
def test_the_policy_of_a_notice(days: int, expected: RetentionPolicy) -> None:
    notice = NO_PERIOD.model_copy(update={"retention_days": days, "retention_from": "last"})
    assert RetentionPolicy.of_notice(notice) == expected
    assert RetentionPolicy.of_notice(None) == RetentionPolicy(NO_PERIOD_DAYS)


def test_the_retention_command_sweeps_under_a_notice_without_a_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _workspace(tmp_path, NO_PERIOD).close()
    _record(tmp_path, None, [T0])
    now = (T0 + timedelta(days=2)).isoformat()
    assert main(["retention", "--now", now, "--json", "--data-dir", str(tmp_path)]) == 0
    assert '"anonymous_visits": 1' in capsys.readouterr().out
    assert _rows(tmp_path)["visit"] == 0
