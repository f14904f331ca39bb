"""The same person at two offline stores: two visitor ids, merged when they meet, with the same
survivor whichever store meets the other first; a look-alike is not merged."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from desktopapp.core import visits as visits_module
from desktopapp.core.chain.sync import MERGE_MARGIN
from tests.chain.stores import (
    THRESHOLD,
    at_similarity,
    new_chain,
    person,
    seen,
    server_rows,
    stores,
)


@pytest.mark.parametrize("first", ["Shibuya", "Ueno"])
def test_one_person_seen_at_two_offline_stores_becomes_one_visitor(
    pg_admin_url: str, tmp_path: Path, first: str
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno", "Kyoto") as opened:
        by_name = {store.name: store for store in opened}
        for store in opened:
            store.join(enrolment)
        alice = person(1)
        # Both stores are offline: each gives her a visitor id of its own.
        at_shibuya = by_name["Shibuya"].visit(seen(alice, 1)).visitor_id
        at_ueno = by_name["Ueno"].visit(seen(alice, 2)).visitor_id
        assert at_shibuya and at_ueno and at_shibuya != at_ueno
        survivor = min(at_shibuya, at_ueno)
        second = "Ueno" if first == "Shibuya" else "Shibuya"
        by_name[first].sync()
        meeting = by_name[second].sync()
        assert meeting.merged == 1
        for name in (first, "Kyoto", second, first, "Kyoto"):
            by_name[name].sync()
        for store in opened:
            assert store.visitors() == {survivor}, store.name
            count = store.db.execute("SELECT visit_count FROM visitor").fetchone()
            assert count == (2,), store.name
        # Each store's visit now belongs to the survivor, here and on the server.
        for name in ("Shibuya", "Ueno"):
            rows = by_name[name].db.execute("SELECT DISTINCT visitor_id FROM visit").fetchall()
            assert rows == [(survivor,)]
        assert server_rows(pg_admin_url, "SELECT DISTINCT visitor_id::text FROM raiten.visit") == [
            (survivor,)
        ]
        assert server_rows(
            pg_admin_url, "SELECT visitor_id::text, reason, survivor::text FROM raiten.tombstone"
        ) == [(max(at_shibuya, at_ueno), "merged", survivor)]
        # Her next visit anywhere is her third.
        third = by_name["Kyoto"].visit(seen(alice, 3))
        assert third.visitor_id == survivor and third.is_repeat


def test_a_look_alike_close_to_the_live_threshold_is_not_merged(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        # Similar enough for a live match, not for a merge of two histories.
        look_alike = at_similarity(alice, THRESHOLD + MERGE_MARGIN / 2, seed=5)
        a = shibuya.visit(alice).visitor_id
        b = ueno.visit(look_alike).visitor_id
        shibuya.sync()
        assert ueno.sync().merged == 0
        shibuya.sync()
        assert shibuya.visitors() == ueno.visitors() == {a, b}


@pytest.mark.parametrize("erased_survives_the_merge", [True, False])
def test_an_erasure_racing_a_merge_leaves_nothing_of_the_person(
    pg_admin_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    erased_survives_the_merge: bool,
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    # The two ids in a chosen order: the erased one is the merge's survivor or its loser.
    low, high = uuid.UUID(int=1 << 120), uuid.UUID(int=2 << 120)
    ids = iter([low, high] if erased_survives_the_merge else [high, low])
    monkeypatch.setattr(visits_module.uuid, "uuid4", lambda: next(ids))
    with stores(tmp_path, "Shibuya", "Ueno") as (shibuya, ueno):
        shibuya.join(enrolment)
        ueno.join(enrolment)
        alice = person(1)
        erased = shibuya.visit(seen(alice, 1)).visitor_id
        other = ueno.visit(seen(alice, 2)).visitor_id
        assert erased and other
        shibuya.sync()
        # Ueno pulls Shibuya's id and is about to push the merge when Shibuya's counter
        # erases her.
        syncer = ueno.syncer()
        with syncer.connect() as pg:
            syncer.push(pg)
            _, new_ids = syncer.pull(pg)
            shibuya.erase(erased)
            shibuya.sync()
            assert syncer.merge_duplicates(new_ids) == 1
            syncer.push(pg)
        for store in (ueno, shibuya, ueno):
            store.sync()
        assert shibuya.visitors() == ueno.visitors() == set()
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.gallery") == [(0,)]
        assert server_rows(
            pg_admin_url, "SELECT count(*) FROM raiten.visit WHERE visitor_id IS NOT NULL"
        ) == [(0,)]
