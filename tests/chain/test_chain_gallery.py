"""Two and three simulated stores of one operator against one real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

from tests.chain.stores import new_chain, person, seen, stores


def test_a_customer_of_one_store_is_recognised_at_another(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        first = shibuya.visit(seen(alice, 10))
        assert first.new_visitor
        pushed = shibuya.sync()
        assert pushed.pushed > 0 and pushed.pending == 0
        pulled = ueno.sync()
        assert pulled.pulled >= 1
        assert first.visitor_id in ueno.visitors()
        again = ueno.visit(seen(alice, 11))
        assert again.visitor_id == first.visitor_id
        assert again.is_repeat and not again.new_visitor
        # ... and a stranger stays a stranger.
        assert ueno.visit(person(2)).new_visitor
