"""The fold that retention and purge run (tuned for a million visits, issue 20) leaves exactly
the statistics a plain fold gives: every visit grouped straight from ``visit``, ``path_point``,
``zone_dwell`` and ``purchase`` with the expressions of ``desktopapp.core.store.statistics``,
written here without any of the fold's shortcuts. The data is the storage benchmark's, made a
little more varied (two cameras, uncalibrated points, zone dwell, sales), on a real file."""

from __future__ import annotations

import math
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from desktopapp.core.store import bulk as store_bulk
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.retention import sweep
from desktopapp.core.store.statistics import (
    AGE_BAND,
    CELL_X,
    CELL_Y,
    COUNTED,
    DAY,
    DWELL_BIN,
    FLOOR_CELL_X,
    FLOOR_CELL_Y,
    GENDER,
    HOUR,
    STAT_TABLES,
    VISIT_NUMBER,
    VISIT_SPEND,
)

ROWS = 4000
# (table, key columns, query over the visits matching {where}) — the obvious GROUP BYs.
PLAIN = (
    (
        "stat_visit_hour",
        5,
        f"""SELECT store_id, {HOUR}, {AGE_BAND}, {GENDER}, is_repeat, COUNT(*),
            SUM(dwell_seconds), COUNT(sale.spend), COALESCE(SUM(sale.spend), 0),
            SUM(visit.visitor_id IS NULL)
        FROM visit LEFT JOIN {VISIT_SPEND} AS sale ON sale.visit_id = visit.id
        WHERE {{where}} GROUP BY 1, 2, 3, 4, 5""",
    ),
    (
        "stat_visit_number",
        3,
        f"SELECT store_id, {DAY}, {VISIT_NUMBER}, COUNT(*) FROM visit WHERE {{where}} "
        "GROUP BY 1, 2, 3",
    ),
    (
        "stat_dwell",
        3,
        f"SELECT store_id, {DAY}, {DWELL_BIN}, COUNT(*) FROM visit WHERE {{where}} "
        "GROUP BY 1, 2, 3",
    ),
    (
        "stat_heat",
        5,
        f"""SELECT store_id, {DAY}, camera_id, {CELL_X}, {CELL_Y}, COUNT(*),
            COUNT(DISTINCT visit.id)
        FROM visit JOIN path_point ON path_point.visit_id = visit.id
        WHERE camera_id IS NOT NULL AND {{where}} GROUP BY 1, 2, 3, 4, 5""",
    ),
    (
        "stat_floor_heat",
        4,
        f"""SELECT store_id, {DAY}, {FLOOR_CELL_X}, {FLOOR_CELL_Y}, COUNT(DISTINCT visit.id)
        FROM visit JOIN path_point ON path_point.visit_id = visit.id
        WHERE floor_x IS NOT NULL AND floor_y IS NOT NULL AND {{where}} GROUP BY 1, 2, 3, 4""",
    ),
    (
        "stat_zone_dwell",
        4,
        f"""SELECT store_id, {DAY}, camera_id, zone, COUNT(*), SUM(seconds)
        FROM visit JOIN zone_dwell ON zone_dwell.visit_id = visit.id
        WHERE {{where}} GROUP BY 1, 2, 3, 4""",
    ),
)
Table = dict[tuple[object, ...], tuple[object, ...]]


def plain_fold(conn: sqlite3.Connection, where: str, params: dict[str, str]) -> dict[str, Table]:
    """What folding the visits matching ``where`` must add to each statistics table."""
    condition = f"{COUNTED} AND ({where})"
    return {
        table: {
            tuple(row[:keys]): tuple(row[keys:])
            for row in conn.execute(sql.format(where=condition), params)
        }
        for table, keys, sql in PLAIN
    }


def stat_tables(data_dir: Path) -> dict[str, Table]:
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        found: dict[str, Table] = {}
        for table, keys, _sql in PLAIN:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            found[table] = {tuple(row[:keys]): tuple(row[keys:]) for row in rows}
        return found
    finally:
        conn.close()


def assert_same(found: dict[str, Table], expected: dict[str, Table]) -> None:
    """Counts equal; sums of seconds and money equal but for the order they were added in."""
    for table, rows in expected.items():
        assert found[table].keys() == rows.keys(), table
        for key, values in rows.items():
            for got, want in zip(found[table][key], values, strict=True):
                if isinstance(want, float):
                    assert math.isclose(got, want, rel_tol=1e-9), (table, key)
                else:
                    assert got == want, (table, key)


def add(a: dict[str, Table], b: dict[str, Table]) -> dict[str, Table]:
    """Two folds' worth of statistics, cell by cell."""
    total = {table: dict(rows) for table, rows in a.items()}
    for table, rows in b.items():
        for key, values in rows.items():
            held = total[table].get(key)
            total[table][key] = (
                values if held is None else tuple(x + y for x, y in zip(held, values, strict=True))
            )
    return total


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's data at a small scale, plus a second camera, points off the floor plan
    or without camera, more zone dwell and sales linked to visits."""
    data_dir = tmp_path_factory.mktemp("varied")
    store_bulk.generate(data_dir, ROWS, seed=7)
    db = open_database(data_dir)
    conn = db.conn
    conn.execute("UPDATE path_point SET camera_id = 2 WHERE id % 3 = 0")
    conn.execute("UPDATE path_point SET floor_x = NULL, floor_y = NULL WHERE id % 5 = 0")
    conn.execute("UPDATE path_point SET camera_id = NULL WHERE id % 11 = 0")
    conn.execute(
        """INSERT INTO zone_dwell (visit_id, camera_id, zone, seconds)
        SELECT id, 2, 'checkout', id % 97 + 0.5 FROM visit WHERE id % 4 = 0"""
    )
    conn.execute(
        "INSERT INTO pos_import (imported_at, source_file, rows) VALUES ('2024-01-01', 'p.csv', 0)"
    )
    conn.execute(
        """INSERT INTO purchase (import_id, store_id, at, register, amount, visit_id)
        SELECT 1, store_id, ended_at, 'R1', 100 + id % 50, id FROM visit WHERE id % 7 = 0"""
    )
    conn.commit()
    conn.close()
    return data_dir


def _copy(varied: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy2(varied / DB_FILE, copy / DB_FILE)
    return copy


def test_a_sweep_folds_what_a_plain_fold_gives(varied: Path, tmp_path: Path) -> None:
    data_dir = _copy(varied, tmp_path)
    now, cutoff = store_bulk.NOW, store_bulk.NOW - timedelta(days=store_bulk.POLICY.days)
    params = {"now": now.isoformat(), "cutoff": cutoff.isoformat()}
    expiring = (
        "visitor_id IN (SELECT id FROM visitor WHERE expires_at <= :now)"
        " OR (visitor_id IS NULL AND ended_at <= :cutoff)"
    )
    conn = sqlite3.connect(data_dir / DB_FILE)
    expected = plain_fold(conn, expiring, params)
    kept = plain_fold(conn, f"NOT COALESCE({expiring}, FALSE)", params)
    conn.close()
    assert all(expected[table] for table in expected)  # every statistic has something to fold

    db = open_database(data_dir)
    result = sweep(db, store_bulk.POLICY, now)
    db.conn.close()

    assert result.folded_visits == sum(row[0] for row in expected["stat_visit_hour"].values())
    assert result.anonymous_visits > 0 and result.visitors > 0
    assert_same(stat_tables(data_dir), expected)
    # What the sweep kept still folds to the rest: nothing was folded twice or lost.
    db = open_database(data_dir)
    purge_personal_data(db, keep_statistics=True)
    db.conn.close()
    assert_same(stat_tables(data_dir), add(expected, kept))


def test_a_purge_folds_what_a_plain_fold_gives(varied: Path, tmp_path: Path) -> None:
    data_dir = _copy(varied, tmp_path)
    conn = sqlite3.connect(data_dir / DB_FILE)
    expected = plain_fold(conn, "TRUE", {})
    conn.close()

    db = open_database(data_dir)
    purge_personal_data(db, keep_statistics=True)
    db.conn.close()

    assert_same(stat_tables(data_dir), expected)
    conn = sqlite3.connect(data_dir / DB_FILE)
    assert all(
        conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] == 0
        for t in ("visit", "path_point", "zone_dwell")
    )
    conn.close()


def test_the_plain_fold_covers_every_folded_statistic() -> None:
    # stat_count is written as people are counted and never folded.
    assert {table for table, _keys, _sql in PLAIN} == set(STAT_TABLES) - {"stat_count"}


def test_a_sweep_after_a_failed_one_runs_and_the_cache_is_given_back(
    varied: Path, tmp_path: Path
) -> None:
    """The sweep's temporary list and its larger page cache do not outlive a failure."""
    data_dir = _copy(varied, tmp_path)
    db = open_database(data_dir)
    cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(
        "CREATE TRIGGER fail BEFORE DELETE ON visitor BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="injected"):
        sweep(db, store_bulk.POLICY, store_bulk.NOW)
    assert db.execute("PRAGMA cache_size").fetchone()[0] == cache
    assert all(count == 0 for count in _stat_rows(db.conn))
    db.execute("DROP TRIGGER fail")

    result = sweep(db, store_bulk.POLICY, store_bulk.NOW)

    assert result.visitors > 0 and result.folded_visits > 0
    assert db.execute("PRAGMA cache_size").fetchone()[0] == cache
    db.conn.close()


def _stat_rows(conn: sqlite3.Connection) -> list[int]:
    return [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in STAT_TABLES]
