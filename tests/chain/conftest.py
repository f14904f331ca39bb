"""A real PostgreSQL server for the chain tests, started once per session (see pgserver.py).
Without PostgreSQL the chain tests are skipped, except under ``CI=true``, where a missing
server or driver fails the run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

if os.environ.get("CI") == "true":
    import psycopg  # under CI a missing driver fails the run
else:
    psycopg = pytest.importorskip("psycopg")

from tests.chain.pgserver import PgServer, PgServerError, remove_server, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = start_server()
    except PgServerError as exc:
        pytest.fail(str(exc))
    if server is None:
        message = "PostgreSQL is not installed (scripts/install-system-deps.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield server
    finally:
        remove_server(server)


@pytest.fixture
def pg_admin_url(pg_server: PgServer) -> str:
    """A fresh database on the session's server, as the superuser (``chain init``'s URL)."""
    return pg_server.url(pg_server.new_database())
