"""Row-level security, grants and the append-only audit on the real server (G-06)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from desktopapp.core.chain.enrolment import read_enrolment
from desktopapp.core.chain.local import load_state
from tests.chain.stores import Store, new_chain, person, seen, stores

TABLES = ("operator", "member", "store", "gallery", "tombstone", "visit", "stat", "audit")


def _store_url(store: Store) -> str:
    state = load_state(store.db.conn, store.cipher)
    server = state.server
    return f"postgresql://{state.role}:{state.password}@/{server['dbname']}?host={server['host']}"


def test_a_second_operator_on_the_same_server_sees_nothing_of_the_first(
    pg_admin_url: str, tmp_path: Path
) -> None:
    first = new_chain(pg_admin_url, tmp_path, "First Mart")
    second = new_chain(pg_admin_url, tmp_path, "Second Mart")
    with (
        stores(tmp_path / "a", "Shibuya", operator="First Mart") as (shibuya,),
        stores(tmp_path / "b", "Ueno", operator="Second Mart") as (ueno,),
    ):
        shibuya.join(first)
        ueno.join(second)
        alice = person(1)
        known = shibuya.visit(seen(alice, 1))
        shibuya.sync()
        result = ueno.sync()
        assert result.pulled == 0 and not ueno.visitors()
        # The same face at the other operator's store is a stranger there (G-06).
        assert ueno.visit(seen(alice, 2)).new_visitor
        ueno.sync()
        shibuya.sync()
        assert shibuya.visitors() == {known.visitor_id}
        # Not even by asking the server directly: the second operator's store role is refused
        # the tables, and its pull returns its own visitor only.
        with psycopg.connect(_store_url(ueno), autocommit=True) as conn:
            for table in TABLES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(f"SELECT * FROM raiten.{table}")
            rows = conn.execute("SELECT visitor_id FROM raiten.pull(now(), 0, 1000)").fetchall()
            assert {str(r[0]) for r in rows} == ueno.visitors()
            assert known.visitor_id not in {str(r[0]) for r in rows}
            # A push naming the first operator's visitor creates a visitor of the second
            # operator at most; the first operator's row is untouched.
            conn.execute(
                "SELECT raiten.push(now(), %s::jsonb, ARRAY[NULL]::bytea[])",
                (
                    json.dumps(
                        [
                            {
                                "seq": 999999,
                                "kind": "erase",
                                "key": known.visitor_id,
                                "doc": {"reason": "erased"},
                            }
                        ]
                    ),
                ),
            )
        shibuya.sync()
        assert shibuya.visitors() == {known.visitor_id}
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            owners = admin.execute(
                "SELECT o.name FROM raiten.gallery g JOIN raiten.operator o USING (operator_id) "
                "WHERE g.visitor_id = %s",
                (known.visitor_id,),
            ).fetchall()
            assert owners == [("First Mart",)]


def test_row_level_security_is_forced_and_roles_have_only_their_functions(
    pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        shibuya.visit(person(3))
        shibuya.sync()
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            flags = admin.execute(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relnamespace = 'raiten'::regnamespace AND relkind = 'r'"
            ).fetchall()
            assert {name for name, *_ in flags} == set(TABLES)
            assert all(enabled and forced for _, enabled, forced in flags)
            assert admin.execute("SELECT count(*) FROM raiten.gallery").fetchone() == (1,)
            # The owner of the tables is held by the policies too: with no operator of its
            # own session it sees no row.
            admin.execute("SET ROLE raiten_owner")
            assert admin.execute("SELECT count(*) FROM raiten.gallery").fetchone() == (0,)
            admin.execute("RESET ROLE")
            callable_by_store = admin.execute(
                "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'raiten'::regnamespace "
                "AND has_function_privilege('raiten_store', p.oid, 'EXECUTE') ORDER BY 1"
            ).fetchall()
            assert callable_by_store == [
                ("held_stats",),
                ("pull",),
                ("pull_stats",),
                ("push",),
                ("stores",),
            ]
            definers = admin.execute(
                "SELECT proname FROM pg_proc WHERE pronamespace = 'raiten'::regnamespace "
                "AND prosecdef ORDER BY 1"
            ).fetchall()
            assert definers == [
                ("enrol",),
                ("held_stats",),
                ("pull",),
                ("pull_stats",),
                ("push",),
                ("stores",),
            ]
        with psycopg.connect(_store_url(shibuya), autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT raiten.enrol('x', 'raiten_s_0000000000000000', 'x')")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("CREATE TABLE raiten.mine (x int)")
        file = read_enrolment(enrolment)
        server = file.server
        enrol_url = (
            f"postgresql://{file.enrol_role}:{file.enrol_password}@/{server['dbname']}"
            f"?host={server['host']}"
        )
        with psycopg.connect(enrol_url, autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM raiten.pull(now(), 0, 10)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM raiten.gallery")


def test_the_servers_audit_is_append_only(pg_admin_url: str, tmp_path: Path) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        from desktopapp.core.store.audit import AuditLog  # noqa: PLC0415

        AuditLog(shibuya.db).append("cli:test", "settings.change", {"what": "threshold"})
        shibuya.sync()
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        rows = admin.execute("SELECT row FROM raiten.audit").fetchall()
        assert any(r[0]["action"] == "settings.change" for r in rows)
        # Refused even to the superuser (trigger), and the owner lacks the privileges (grant).
        for statement in (
            "UPDATE raiten.audit SET row = '{}'",
            "DELETE FROM raiten.audit",
            "TRUNCATE raiten.audit",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                admin.execute(statement)
        granted = admin.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = 'raiten' AND table_name = 'audit' AND grantee = 'raiten_owner'"
        ).fetchall()
        assert {p for (p,) in granted} & {"UPDATE", "DELETE", "TRUNCATE"} == set()
