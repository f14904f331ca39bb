"""Random interleavings of visits, syncs, erasures, retention and time at three stores of one
operator (and one store of another operator on the same server): after the stores have synced,
every store holds the same visitors as the server, no erased id survives anywhere, and nothing
crosses from one operator to the other."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.stores import new_chain, person, seen, server_rows, stores

_operators = itertools.count()
OPERATIONS = st.one_of(
    st.tuples(st.just("visit"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("sync"), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("erase"), st.integers(0, 2), st.integers(0, 7)),
    st.tuples(st.just("days"), st.integers(1, 20), st.just(0)),
    st.tuples(st.just("retention"), st.integers(0, 2), st.just(0)),
)


def _gallery(admin_url: str, operator: str) -> set[str]:
    rows = server_rows(
        admin_url,
        "SELECT g.visitor_id::text FROM raiten.gallery g JOIN raiten.operator o "
        "USING (operator_id) WHERE o.name = %s",
        operator,
    )
    return {str(r[0]) for r in rows}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=18))
def test_stores_converge_and_erased_ids_survive_nowhere(
    pg_admin_url: str, operations: list[tuple[str, int, int]]
) -> None:
    number = next(_operators)
    mine, theirs = f"Chain {number}", f"Other {number}"
    root = Path(tempfile.mkdtemp(prefix="raiten-chain-property-"))
    try:
        enrolment = new_chain(pg_admin_url, root, mine)
        other_enrolment = new_chain(pg_admin_url, root, theirs)
        with (
            stores(root, "A", "B", "C", operator=mine) as chain,
            stores(root / "other", "X", operator=theirs) as (outsider,),
        ):
            for store in chain:
                store.join(enrolment)
            outsider.join(other_enrolment)
            # The same faces shop at the other operator too.
            for face in range(4):
                outsider.visit(seen(person(face), 1000 + face))
            outsider.sync()
            theirs_ids = outsider.visitors()
            erased: set[str] = set()
            noise = itertools.count(1)
            for action, which, value in operations:
                if action == "visit":
                    chain[which].visit(seen(person(value), next(noise)))
                elif action == "sync":
                    chain[which].sync()
                elif action == "erase":
                    held = sorted(chain[which].customers())
                    if held:
                        chosen = held[value % len(held)]
                        chain[which].erase(chosen)
                        erased.add(chosen)
                elif action == "days":
                    for store in chain:
                        store.now += timedelta(days=which)
                else:
                    chain[which].retention()
            for _ in range(2):
                for store in chain:
                    store.sync()
            held_by = [store.visitors() for store in chain]
            server = _gallery(pg_admin_url, mine)
            assert held_by[0] == held_by[1] == held_by[2] == server
            states = [
                sorted(store.db.execute("SELECT id, kind, visit_count, expires_at FROM visitor"))
                for store in chain
            ]
            assert states[0] == states[1] == states[2]
            assert not erased & server
            visits = server_rows(
                pg_admin_url,
                "SELECT DISTINCT v.visitor_id::text FROM raiten.visit v JOIN raiten.operator o "
                "USING (operator_id) WHERE o.name = %s AND v.visitor_id IS NOT NULL",
                mine,
            )
            assert not erased & {str(r[0]) for r in visits}
            for store in chain:
                local_visits = {
                    str(r[0])
                    for r in store.db.execute(
                        "SELECT DISTINCT visitor_id FROM visit WHERE visitor_id IS NOT NULL"
                    )
                }
                assert local_visits <= store.visitors()
            # Nothing crossed operators, either way.
            outsider.sync()
            assert outsider.visitors() == theirs_ids == _gallery(pg_admin_url, theirs)
            assert not theirs_ids & server
    finally:
        shutil.rmtree(root, ignore_errors=True)
