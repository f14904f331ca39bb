"""Erasure on the server: after the maintenance step (VACUUM FULL, WAL switch, checkpoints with
wal_recycle off) a template's ciphertext is gone from every file of the server's data folder,
its WAL included."""

from __future__ import annotations

import struct
from pathlib import Path

from desktopapp.core.chain.server import scrub
from tests.chain.conftest import PgServer
from tests.chain.stores import new_chain, person, server_rows, stores


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def test_an_erased_templates_bytes_leave_the_servers_files(
    pg_server: PgServer, pg_admin_url: str, tmp_path: Path
) -> None:
    enrolment = new_chain(pg_admin_url, tmp_path)
    with stores(tmp_path, "Shibuya") as (shibuya,):
        shibuya.join(enrolment)
        alice = shibuya.visit(person(1)).visitor_id
        bob = shibuya.visit(person(2)).visitor_id
        shibuya.sync()
        ((blob,),) = server_rows(
            pg_admin_url, "SELECT templates FROM raiten.gallery WHERE visitor_id = %s", alice
        )
        packed = bytes(blob)  # type: ignore[arg-type]
        _, size = struct.unpack_from("<fI", packed, 3)
        ciphertext = packed[3 + 8 : 3 + 8 + size]
        needle = ciphertext[100:164]
        server_rows(pg_admin_url, "CHECKPOINT")
        holding = _files_holding(pg_server.data, needle)
        assert any("pg_wal" in p.parts for p in holding), "the WAL holds the insert"
        assert any("base" in p.parts for p in holding), "the table holds the template"
        shibuya.erase(alice)
        shibuya.sync()
        assert server_rows(pg_admin_url, "SELECT count(*) FROM raiten.gallery") == [(1,)]
        assert server_rows(pg_admin_url, "SELECT bool_or(scrub_due) FROM raiten.operator") == [
            (True,)
        ]
        result = scrub(pg_admin_url)
        assert result.operators == 1 and not result.wal_recycle
        assert _files_holding(pg_server.data, needle) == []
        # The visitor still held keeps its template.
        ((kept,),) = server_rows(
            pg_admin_url, "SELECT templates FROM raiten.gallery WHERE visitor_id = %s", bob
        )
        assert _files_holding(pg_server.data, bytes(kept)[11:75])  # type: ignore[arg-type]
