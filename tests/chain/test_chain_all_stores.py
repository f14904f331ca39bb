"""Other stores' statistics through the real server: the dashboard's "All stores" (issue 19).

Two stores of one operator record visits with the real recorder, sync, and the analytics for
"All stores" add both up, before and after retention folds the visits into statistics; a store
of another operator on the same server receives none of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from desktopapp.core.analytics import ALL_STORES, THIS_STORE, Analytics, Period, other_store
from desktopapp.core.chain import membership
from desktopapp.core.chain.local import load_state
from desktopapp.core.chain.server import SCHEMA_COMMENT, install_schema
from desktopapp.core.store.statistics import DWELL_BINS_SECONDS, VISIT_NUMBER_CAP
from tests.chain.stores import BASE, RETENTION_DAYS, Store, new_chain, person, seen, stores


def _store_url(store: Store) -> str:
    state = load_state(store.db.conn, store.cipher)
    server = state.server
    return f"postgresql://{state.role}:{state.password}@/{server['dbname']}?host={server['host']}"


def _period(days: int = 120) -> Period:
    return Period(BASE - timedelta(days=1), BASE + timedelta(days=days))


def _totals(store: Store, period: Period) -> tuple[int, int, int]:
    """(visits, repeat visits, visits of unknown identity) as the dashboard computes them."""
    rate = Analytics(store.db, k=1).repeat_rate(period, 1e-6, 10)
    return rate.visits, rate.repeat_visits, rate.unknown_visits


def _outbox(store: Store) -> list[tuple[str, str]]:
    return [(str(e), str(k)) for e, k in store.db.execute("SELECT entity, key FROM chain_outbox")]


def test_all_stores_adds_up_both_stores_before_and_after_retention(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice, bob, carol = person(1), person(2), person(3)
        shibuya.visit(seen(alice, 1))
        shibuya.visit(seen(bob, 2))
        shibuya.visit(seen(alice, 3))  # a repeat at Shibuya
        shibuya.sync()
        ueno.sync()
        # Alice seen at Ueno is a customer the chain knows: a repeat there too.
        assert ueno.visit(seen(alice, 4)).is_repeat
        ueno.visit(seen(carol, 5))
        ueno.sync()
        shibuya.sync()

        period = _period()
        here = {"Shibuya": (3, 1, 0), "Ueno": (2, 1, 0)}
        for store, other in ((shibuya, ueno), (ueno, shibuya)):
            assert _totals(store, period) == here[store.name]
            chain = Analytics(store.db, k=1).chain_stores()
            assert [s.name for s in chain] == [other.name]
            alone = Period(period.start, period.end, scope=other_store(chain[0].store_id))
            assert _totals(store, alone) == here[other.name]
            every = Period(period.start, period.end, scope=ALL_STORES)
            assert _totals(store, every) == (5, 2, 0)
            # Nothing pulled goes back out: the outbox holds no statistics after the sync.
            assert not [e for e in _outbox(store) if e[0].startswith("stat:")]

        analytics = Analytics(shibuya.db, k=1)
        every = Period(period.start, period.end, scope=ALL_STORES)
        figures = analytics.figures(every)
        assert sum(c.count for c in figures.frequency) == 5
        assert sum(c.count for c in figures.dwell) == 5
        assert sum(c.visits for c in figures.demographics) == 5
        assert sum(b.visits for b in figures.over_time) == 5
        assert not figures.store_only_shown and figures.spend == [] and figures.zones == []
        assert analytics.figures(Period(period.start, period.end)).store_only_shown
        assert (
            analytics.live_counts(BASE + timedelta(hours=1), scope=ALL_STORES).in_store_now is None
        )

        # Retention folds every visit into statistics at both stores; the figures stay the
        # same: the folded rows arrive by pull_stats as the held ones leave held_stats.
        for store in (shibuya, ueno):
            store.now = BASE + timedelta(days=RETENTION_DAYS + 5)
            store.retention()
            assert store.db.execute("SELECT count(*) FROM visit").fetchone() == (0,)
        for store in (shibuya, ueno, shibuya):
            store.sync()
        for store in (shibuya, ueno):
            held = store.db.execute(
                "SELECT count(*) FROM chain_stat_visit_hour WHERE held = 1"
            ).fetchone()
            assert held == (0,)
            assert _totals(store, Period(period.start, period.end, scope=ALL_STORES)) == (5, 2, 0)
            assert _totals(store, period) == here[store.name]

        # Leaving drops the chain's statistics; this store's own stay.
        membership.leave(shibuya.db, shibuya.cipher)
        left = {
            str(r[0])
            for r in shibuya.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'chain%'"
            )
        }
        assert left == set()
        assert Analytics(shibuya.db, k=1).chain_stores() == []
        assert _totals(shibuya, Period(period.start, period.end, scope=ALL_STORES)) == (3, 1, 0)


def test_another_operator_receives_no_statistics_of_the_first(
    pg_admin_url: str, tmp_path: Path
) -> None:
    first = new_chain(pg_admin_url, tmp_path, "First Mart")
    second = new_chain(pg_admin_url, tmp_path, "Second Mart")
    with (
        stores(tmp_path / "a", "Shibuya", "Ebisu", operator="First Mart") as (shibuya, ebisu),
        stores(tmp_path / "b", "Ueno", operator="Second Mart") as (ueno,),
    ):
        shibuya.join(first)
        ebisu.join(first)
        ueno.join(second)
        for seed in range(3):
            shibuya.visit(person(10 + seed))
        shibuya.now = BASE + timedelta(days=RETENTION_DAYS + 5)
        shibuya.visit(person(20))
        shibuya.retention()  # three folded into statistics, one held
        shibuya.sync()
        ueno.sync()
        ebisu.sync()
        assert _totals(ebisu, Period(BASE, BASE + timedelta(days=60), scope=ALL_STORES)) == (
            4,
            0,
            0,
        )
        assert Analytics(ueno.db, k=1).chain_stores() == []
        assert _totals(ueno, Period(BASE, BASE + timedelta(days=60), scope=ALL_STORES)) == (
            0,
            0,
            0,
        )
        edges = [float(e) for e in DWELL_BINS_SECONDS[1:]]
        with psycopg.connect(_store_url(ueno), autocommit=True) as conn:
            assert conn.execute("SELECT * FROM raiten.stores()").fetchall() == []
            assert conn.execute("SELECT * FROM raiten.pull_stats(0, 100000)").fetchall() == []
            assert (
                conn.execute(
                    "SELECT * FROM raiten.held_stats(%s, %s)", (edges, VISIT_NUMBER_CAP)
                ).fetchall()
                == []
            )
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM raiten.stat")
        # The first operator's other store gets them, and never its own back.
        with psycopg.connect(_store_url(ebisu), autocommit=True) as conn:
            rows = conn.execute("SELECT store_id, tbl FROM raiten.pull_stats(0, 100000)").fetchall()
            shibuya_id = load_state(shibuya.db.conn, shibuya.cipher).store_id
            assert rows and {str(r[0]) for r in rows} == {shibuya_id}
            held = conn.execute(
                "SELECT tbl, stat_row FROM raiten.held_stats(%s, %s)", (edges, VISIT_NUMBER_CAP)
            ).fetchall()
            assert sum(r["visits"] for t, r in held if t == "stat_visit_hour") == 1
            assert all("visitor_id" not in r for _t, r in held)
        with psycopg.connect(_store_url(shibuya), autocommit=True) as conn:
            assert conn.execute("SELECT * FROM raiten.pull_stats(0, 100000)").fetchall() == []
            assert [r[1] for r in conn.execute("SELECT * FROM raiten.stores()")] == ["Ebisu"]
        assert _totals(shibuya, Period(BASE, BASE + timedelta(days=60), scope=THIS_STORE)) == (
            4,
            0,
            0,
        )


def test_the_schema_applies_twice_and_brings_schema_1_up_to_date(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        shibuya.visit(person(1))
        shibuya.now = BASE + timedelta(days=RETENTION_DAYS + 5)
        shibuya.retention()
        shibuya.sync()
        # A server of schema 1: its statistics rows had no change number.
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute("ALTER TABLE raiten.stat DROP COLUMN change")
            admin.execute("COMMENT ON SCHEMA raiten IS 'raiten chain schema 1'")
            pushed = admin.execute("SELECT count(*) FROM raiten.stat").fetchone()
            assert pushed is not None and pushed[0] > 0
            for _ in range(2):
                install_schema(admin)
            numbered = admin.execute(
                "SELECT count(*), count(DISTINCT change) FROM raiten.stat"
            ).fetchone()
            assert numbered == (pushed[0], pushed[0])
            comment = admin.execute(
                "SELECT obj_description('raiten'::regnamespace, 'pg_namespace')"
            ).fetchone()
            assert comment == (SCHEMA_COMMENT,)
        ueno.sync()
        every = Period(BASE - timedelta(days=1), BASE + timedelta(days=60), scope=ALL_STORES)
        assert _totals(ueno, every) == (1, 0, 0)
