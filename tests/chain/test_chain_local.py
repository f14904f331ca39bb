"""The store's side of membership: leaving keeps the data, a purge leaves the chain without
erasing anything elsewhere, and retention queues nothing for visitors whose time is up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from desktopapp.core.chain import local
from desktopapp.core.chain.membership import leave
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.visits import NewVisit, VisitStore
from tests.chain.stores import new_chain, person, seen, server_rows, stores


def _chain_objects(store_db: object) -> list[str]:
    return [
        str(r[0])
        for r in store_db.execute(  # type: ignore[attr-defined]
            "SELECT name FROM sqlite_master WHERE name LIKE 'chain\\_%' ESCAPE '\\'"
        )
    ]


def test_leaving_keeps_the_data_and_stops_the_outbox(pg_admin_url: str, tmp_path: Path) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = shibuya.visit(person(1)).visitor_id
        shibuya.sync()
        ueno.sync()
        leave(ueno.db, ueno.cipher)
        assert _chain_objects(ueno.db) == []
        assert ueno.visitors() == {alice}
        # Still a working store on its own: it recognises alice, and shares nothing more.
        assert ueno.visit(seen(person(1), 5)).visitor_id == alice
        ueno.visit(person(2))
        shibuya.sync()
        assert shibuya.visitors() == {alice}


def test_a_purge_leaves_the_chain_and_erases_nothing_elsewhere(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = shibuya.visit(person(1)).visitor_id
        shibuya.sync()
        ueno.sync()
        result = purge_personal_data(ueno.db, keep_statistics=True)
        assert result.visitors == 1
        assert not local.is_joined(ueno.db.conn) and _chain_objects(ueno.db) == []
        shibuya.sync()
        assert shibuya.visitors() == {alice}
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.tombstone") == [(0,)]


def test_retention_queues_no_deletion_of_visitors_whose_time_is_up(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        # Visits two months ago, so their expiry has passed by the wall clock too.
        shibuya.now -= timedelta(days=61)
        shibuya.join(enrolment)
        for face in range(3):
            shibuya.visit(person(face))
        shibuya.now += timedelta(days=31)
        shibuya.retention()
        assert shibuya.visitors() == set()
        gone = shibuya.db.execute("SELECT count(*) FROM chain_outbox WHERE entity = 'gone'")
        assert gone.fetchone() == (0,)
        # ... while an erasure is queued for every store.
        shibuya.now += timedelta(days=30)
        bob = shibuya.visit(person(9)).visitor_id
        assert bob is not None
        shibuya.erase(bob)
        gone = shibuya.db.execute("SELECT key FROM chain_outbox WHERE entity = 'gone'")
        assert gone.fetchall() == [(bob,)]


def test_a_visit_without_a_visitor_expires_on_the_server_too(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        store_id = shibuya.recorder.store_id
        with shibuya.db.conn:
            VisitStore(shibuya.db, shibuya.cipher).add_visit(
                NewVisit(
                    store_id,
                    None,
                    shibuya.now,
                    shibuya.now + timedelta(minutes=5),
                    "30-39",
                    "female",
                    False,
                    1,
                    "attributes",
                )
            )
        shibuya.sync()
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.visit") == [(1,)]
        # No notice here: such a visit is kept for a day, on the server as at the store.
        shibuya.now += timedelta(days=2)
        shibuya.sync()
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.visit") == [(0,)]
