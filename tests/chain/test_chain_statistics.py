"""Statistics rows in the chain: a row changed many times waits as one change, the server ends
up with the values held here, and a change made while a push is under way (or after an answer
was lost) is pushed again rather than taken for the one already sent."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from desktopapp.core.chain import local
from desktopapp.core.chain.errors import ChainError
from desktopapp.core.chain.sync import ChainSync
from desktopapp.core.store.counts import add_counts
from desktopapp.core.store.db import DB_FILE, immediate_transaction
from desktopapp.core.store.statistics import STAT_TABLES
from tests.chain.stores import Store, new_chain, person, server_rows, stores

CAMERA = 1


def _count_people(store: Store, people: int, conn: sqlite3.Connection | None = None) -> None:
    """``people`` persons counted one by one in the store's current hour, as the counting
    modes add each closed track (on ``conn``: another writer of the same file)."""
    writer = conn or store.db.conn
    store_id = store.recorder.store_id
    for _ in range(people):
        with immediate_transaction(writer):
            add_counts(writer, store_id, CAMERA, store.now, [])


def _waiting_statistics(store: Store) -> tuple[int, int]:
    """(changed statistics rows not yet queued, statistics rows in the outbox)."""
    marks = store.db.execute("SELECT count(*) FROM chain_stat_changed").fetchone()[0]
    queued = store.db.execute(
        "SELECT count(*) FROM chain_outbox WHERE entity LIKE 'stat:%'"
    ).fetchone()[0]
    return int(marks), int(queued)


def _server_count(admin_url: str) -> list[tuple[Any, ...]]:
    return server_rows(
        admin_url, "SELECT (row->>'count')::int FROM raiten.stat WHERE tbl = 'stat_count'"
    )


def _local_statistics(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """Every statistics row held here as the server keeps it: store by name, not number."""
    found = []
    for table in STAT_TABLES:
        cursor = store.db.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            del row["store_id"]
            row["store"] = store.name
            found.append((table, row))
    return sorted(found, key=repr)


def _server_statistics(admin_url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = server_rows(admin_url, "SELECT tbl, row FROM raiten.stat")
    return sorted(((str(t), dict(r)) for t, r in rows), key=repr)  # type: ignore[call-overload]


def test_a_row_changed_many_times_waits_once_and_reaches_the_server_as_held(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        # In the past, so that the visitors' time is up by the wall clock as well and the
        # sweep queues no erasure.
        shibuya.now -= timedelta(days=61)
        shibuya.join(enrolment)
        shibuya.sync()
        for face in range(3):
            shibuya.visit(person(face))
        _count_people(shibuya, 40)
        assert _waiting_statistics(shibuya) == (1, 0)
        before = local.pending(shibuya.db.conn)
        _count_people(shibuya, 10)
        assert local.pending(shibuya.db.conn) == before, "the same row waits once"
        # A sweep folds the three visits into the hourly, dwell, visit-number and heat rows.
        shibuya.now += timedelta(days=31)
        shibuya.retention()
        marks, queued = _waiting_statistics(shibuya)
        statistics = _local_statistics(shibuya)
        assert queued == 0 and marks == len(statistics) > 3
        result = shibuya.sync()
        assert result.pending == 0
        assert _server_count(pg_admin_url) == [(50,)]
        assert _server_statistics(pg_admin_url) == statistics


def test_a_row_changed_while_its_push_is_under_way_is_pushed_again(
    pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        _count_people(shibuya, 1)
        original = ChainSync._items
        # The recorder's writer, on a connection of its own, counts a person after the push
        # has read the row and before the server has answered.
        writer = sqlite3.connect(shibuya.data / DB_FILE, timeout=10, isolation_level=None)
        counted: list[int] = []

        def read_then_count(self: ChainSync, rows: Any) -> Any:
            items = original(self, rows)
            if not counted:
                _count_people(shibuya, 1, writer)
                counted.append(1)
            return items

        monkeypatch.setattr(ChainSync, "_items", read_then_count)
        try:
            shibuya.sync()
        finally:
            writer.close()
        monkeypatch.setattr(ChainSync, "_items", original)
        assert counted
        # The server has the value the push read; the later change waits.
        assert _server_count(pg_admin_url) == [(1,)]
        assert shibuya.db.execute("SELECT count FROM stat_count").fetchall() == [(2,)]
        assert _waiting_statistics(shibuya) == (1, 0)
        assert shibuya.sync().pending == 0
        assert _server_count(pg_admin_url) == [(2,)]


def test_a_row_changed_after_an_answer_was_lost_is_not_skipped_as_sent(
    pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        _count_people(shibuya, 3)
        original = ChainSync._refused

        def lost(self: ChainSync, refused: object) -> None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(ChainSync, "_refused", lost)
        with pytest.raises(ChainError):
            shibuya.syncer().sync()
        monkeypatch.setattr(ChainSync, "_refused", original)
        # The server applied the batch; the store still holds it, and counts two more.
        assert _server_count(pg_admin_url) == [(3,)]
        _count_people(shibuya, 2)
        assert shibuya.sync().pending == 0
        assert _server_count(pg_admin_url) == [(5,)]


def test_a_store_joined_with_the_earlier_triggers_gets_the_new_ones_at_its_next_sync(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        conn = shibuya.db.conn
        # As an earlier version joined: every change of a statistics row an outbox row, and
        # no table of changed rows.
        with immediate_transaction(conn):
            conn.execute("DROP TABLE chain_stat_changed")
            for table in STAT_TABLES:
                for when, event in (("ins", "INSERT"), ("upd", "UPDATE")):
                    conn.execute(f"DROP TRIGGER chain_{table}_{when}")
                    conn.execute(
                        f"CREATE TRIGGER chain_{table}_{when} AFTER {event} ON {table} "
                        "WHEN NOT EXISTS (SELECT 1 FROM chain_applying) BEGIN "
                        "INSERT INTO chain_outbox (entity, key, info) "
                        f"VALUES ('stat:{table}', NEW.rowid, NULL); END"
                    )
        _count_people(shibuya, 4)
        queued = conn.execute("SELECT count(*) FROM chain_outbox WHERE entity LIKE 'stat:%'")
        assert queued.fetchone() == (4,)
        assert shibuya.sync().pending == 0
        assert _server_count(pg_admin_url) == [(4,)]
        _count_people(shibuya, 6)
        assert _waiting_statistics(shibuya) == (1, 0)
        shibuya.sync()
        assert _server_count(pg_admin_url) == [(10,)]
