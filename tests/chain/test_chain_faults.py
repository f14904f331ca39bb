"""Faults between a store and the server: a connection killed mid-push, an answer lost after
the server committed, erasure while a store is offline, a store offline for weeks."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from desktopapp.core.chain import local
from desktopapp.core.chain.errors import ChainError, ChainProblem
from desktopapp.core.chain.sync import ChainSync
from desktopapp.core.requests import PublicRequests
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.backup import create_backup, restore_backup
from tests.chain.stores import THRESHOLD, new_chain, person, seen, server_rows, stores


def test_a_connection_killed_mid_push_loses_and_doubles_nothing(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        ids = {shibuya.visit(person(seed)).visitor_id for seed in range(5)}
        waiting = local.pending(shibuya.db.conn)
        operator = local.load_state(shibuya.db.conn, shibuya.cipher).operator_id
        role = local.load_state(shibuya.db.conn, shibuya.cipher).role
        failure: list[BaseException] = []
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            # Hold the operator's push lock, so the push stops inside its transaction.
            admin.execute("SELECT pg_advisory_lock(hashtextextended(%s, 19))", (operator,))

            def run() -> None:
                try:
                    shibuya.syncer().sync()
                except BaseException as exc:
                    failure.append(exc)

            worker = threading.Thread(target=run)
            worker.start()
            for _ in range(200):
                blocked = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE usename = %s "
                    "AND wait_event_type = 'Lock'",
                    (role,),
                ).fetchall()
                if blocked:
                    break
                time.sleep(0.05)
            assert blocked, "the push never reached the server"
            admin.execute("SELECT pg_terminate_backend(%s)", (blocked[0][0],))
            worker.join(30)
            admin.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 19))", (operator,))
        assert len(failure) == 1 and isinstance(failure[0], ChainError)
        assert failure[0].problem is ChainProblem.UNREACHABLE
        assert local.pending(shibuya.db.conn) == waiting, "the outbox is kept"
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.gallery") == [(0,)]
        assert local.load_state(shibuya.db.conn, shibuya.cipher).offline_since is not None
        result = shibuya.sync()
        assert result.pending == 0
        held = server_rows(pg_admin_url, "SELECT visitor_id::text FROM raiten.gallery")
        assert {r[0] for r in held} == ids
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.visit") == [(5,)]


def test_an_answer_lost_after_the_server_committed_is_not_applied_twice(
    pg_admin_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        alice = person(1)
        shibuya.visit(seen(alice, 1))
        shibuya.visit(seen(alice, 2))
        AuditLog(shibuya.db).append("cli:test", "export", {"rows": 3})
        waiting = local.pending(shibuya.db.conn)
        original = ChainSync._refused

        def lost(self: ChainSync, refused: object) -> None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(ChainSync, "_refused", lost)
        with pytest.raises(ChainError):
            shibuya.syncer().sync()
        monkeypatch.setattr(ChainSync, "_refused", original)
        # The server has it all, the store does not know: its outbox is unchanged.
        assert local.pending(shibuya.db.conn) == waiting
        counts = "SELECT (SELECT count(*) FROM raiten.visit), (SELECT count(*) FROM raiten.audit)"
        before = server_rows(pg_admin_url, counts)
        assert before == [(2, 1)]  # two visits, one audit entry
        changes = server_rows(pg_admin_url, "SELECT change FROM raiten.gallery")
        result = shibuya.sync()
        assert result.pending == 0 and result.pushed == 0, "everything was applied already"
        assert server_rows(pg_admin_url, counts) == before
        assert server_rows(pg_admin_url, "SELECT change FROM raiten.gallery") == changes


def test_erasure_while_a_store_is_offline_reaches_it_when_it_returns(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        alice_id = shibuya.visit(seen(alice, 1)).visitor_id
        assert alice_id is not None
        shibuya.sync()
        ueno.sync()
        assert alice_id in ueno.visitors()
        # Ueno goes offline; alice asks Shibuya's counter to erase her data.
        shibuya.erase(alice_id)
        shibuya.sync()
        assert server_rows(
            pg_admin_url, "SELECT reason FROM raiten.tombstone WHERE visitor_id = %s", alice_id
        ) == [("erased",)]
        # Offline, Ueno still recognises her and records a visit to her old id.
        offline_visit = ueno.visit(seen(alice, 2))
        assert offline_visit.visitor_id == alice_id
        stats_before = ueno.db.execute("SELECT coalesce(sum(visits), 0) FROM stat_visit_hour")
        assert stats_before.fetchone() == (0,)
        ueno.sync()
        # The late push was refused and Ueno deleted its copy; the visit is a statistic now.
        assert alice_id not in ueno.visitors()
        assert ueno.db.execute(
            "SELECT count(*) FROM visit WHERE visitor_id = ?", [alice_id]
        ).fetchone() == (0,)
        assert ueno.db.execute("SELECT sum(visits) FROM stat_visit_hour").fetchone() == (1,)
        for sql in (
            "SELECT count(*) FROM raiten.gallery WHERE visitor_id = %s",
            "SELECT count(*) FROM raiten.visit WHERE visitor_id = %s",
        ):
            assert server_rows(pg_admin_url, sql, alice_id) == [(0,)]
        assert alice_id not in shibuya.visitors()
        # Erasure is not an opt-out: she is a new visitor from now on.
        assert ueno.visit(seen(alice, 3)).new_visitor


def test_a_store_offline_for_weeks_pulls_the_gallery_again(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    # Erasures are remembered for a week on this server: three weeks offline is longer.
    server_rows(pg_admin_url, "UPDATE raiten.operator SET tombstone_days = 7 RETURNING 1")
    with stores(tmp_path, "Shibuya", "Ueno", "Kyoto") as (shibuya, ueno, kyoto):
        for store in (shibuya, ueno, kyoto):
            store.join(enrolment)
        alice, bob, carol = person(1), person(2), person(3)
        alice_id = shibuya.visit(seen(alice, 1)).visitor_id
        bob_id = shibuya.visit(seen(bob, 1)).visitor_id
        assert alice_id and bob_id
        for store in (shibuya, ueno, kyoto):
            store.sync()
        assert {alice_id, bob_id} <= kyoto.visitors()
        # Kyoto's line goes down. Bob is erased at Shibuya the next day.
        for store in (shibuya, ueno, kyoto):
            store.now += timedelta(days=1)
        shibuya.erase(bob_id)
        shibuya.sync()
        ueno.sync()
        assert bob_id not in ueno.visitors()
        # Kyoto, offline, sees alice again and a new customer, carol.
        assert kyoto.visit(seen(alice, 2)).visitor_id == alice_id
        carol_id = kyoto.visit(seen(carol, 1)).visitor_id
        # Three weeks on, Bob's erasure is forgotten by the server.
        for store in (shibuya, ueno, kyoto):
            store.now += timedelta(weeks=3)
        shibuya.sync()
        assert server_rows(
            pg_admin_url, "SELECT count(*) FROM raiten.tombstone WHERE visitor_id = %s", bob_id
        ) == [(0,)]
        kyoto.sync()
        assert bob_id not in kyoto.visitors(), "a store back after weeks forgets the erased"
        assert {alice_id, carol_id} <= kyoto.visitors()
        held = {
            r[0] for r in server_rows(pg_admin_url, "SELECT visitor_id::text FROM raiten.gallery")
        }
        assert held == {alice_id, carol_id}
        shibuya.sync()
        ueno.sync()
        for store in (shibuya, ueno, kyoto):
            assert store.visitors() == {alice_id, carol_id}, store.name
        visits = server_rows(
            pg_admin_url, "SELECT visit_count FROM raiten.gallery WHERE visitor_id = %s", alice_id
        )
        assert visits == [(2,)]


def test_an_opt_out_and_its_withdrawal_reach_every_store(pg_admin_url: str, tmp_path: Path) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        counter = PublicRequests(
            shibuya.db,
            shibuya.cipher,
            AuditLog(shibuya.db),
            threshold=THRESHOLD,
            dim=128,
            model="",
        )
        opt_out = counter.opt_out(seen(alice, 1), actor="user:counter", store="Shibuya").visitor_id
        shibuya.sync()
        ueno.sync()
        assert ueno.visit(seen(alice, 2)).outcome == "suppressed"
        assert ueno.customers() == set()
        counter.withdraw_opt_out(opt_out, actor="user:counter")
        shibuya.sync()
        ueno.sync()
        assert opt_out not in ueno.visitors()
        assert ueno.visit(seen(alice, 3)).new_visitor


def test_a_store_restored_from_a_backup_sends_its_new_changes_all_the_same(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        backup = create_backup(shibuya.db, shibuya.data, shibuya.cipher, shibuya.now)
        for face in range(3):
            shibuya.visit(person(face))
        shibuya.sync()
        # The disk fails; yesterday's backup comes back, then the store records again.
        shibuya.close()
        restore_backup(shibuya.data, backup, shibuya.cipher, shibuya.now)
        with stores(tmp_path, "Shibuya") as (restored,):
            # More changes than were lost, so that their numbers pass the server's too.
            new = {restored.visit(person(face)).visitor_id for face in range(10, 16)}
            restored.sync()
            ueno.sync()
            assert new <= ueno.visitors()
            assert len(ueno.visitors()) == 9
            assert restored.visitors() == ueno.visitors()
