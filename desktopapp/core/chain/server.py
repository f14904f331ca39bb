"""The chain's PostgreSQL server: connecting, installing the schema, creating an operator, and
the erasure maintenance that leaves no deleted template in the server's files.

The SQL lives in ``server.sql`` beside this module (a package resource). Administrative steps
(``install_schema``, ``create_operator``, ``scrub``) need a role that may create roles and
bypass row-level security: the server's administrator, whose URL is given to
``raiten chain init``. Stores never use it.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg import conninfo

from desktopapp.core.chain.errors import ChainError, ChainProblem

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SCHEMA_COMMENT = f"raiten chain schema {SCHEMA_VERSION}"
# Older schemas that server.sql brings up to date when applied again (it only adds).
UPGRADABLE = tuple(f"raiten chain schema {v}" for v in range(1, SCHEMA_VERSION))
CONNECT_TIMEOUT_S = 10


def _sql() -> str:
    return resources.files("desktopapp.core.chain").joinpath("server.sql").read_text("utf-8")


def server_address(url: str) -> dict[str, Any]:
    """The parts of a libpq connection string that say where the server is (no user, no
    password): what an enrolment file carries."""
    try:
        parts = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ChainError(ChainProblem.UNREACHABLE, f"not a PostgreSQL address: {exc}") from exc
    return {k: v for k, v in parts.items() if k not in {"user", "password", "passfile"}}


def connect(url: str | None = None, **parts: Any) -> psycopg.Connection[Any]:
    """An autocommit connection in UTC (transactions are explicit); ChainError (unreachable,
    wrong password) when none can be made."""
    try:
        conn = psycopg.connect(
            url or "",
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            options="-c TimeZone=UTC",
            **parts,
        )
    except psycopg.OperationalError as exc:
        raise connection_error(exc) from exc
    return conn


def connection_error(exc: psycopg.OperationalError) -> ChainError:
    text = str(exc)
    where = text.split("\n", 1)[0]
    if "password authentication failed" in text or "no password supplied" in text:
        return ChainError(
            ChainProblem.WRONG_PASSWORD, "the chain server refused the password (wrong password)"
        )
    return ChainError(ChainProblem.UNREACHABLE, f"the chain server cannot be reached: {where}")


def install_schema(conn: psycopg.Connection[Any]) -> None:
    """Create (or keep) the raiten schema; ChainError when the role may not or when the server
    has a newer schema."""
    row = conn.execute(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = 'raiten'"
    ).fetchone()
    if row is not None and row[0] not in (None, SCHEMA_COMMENT, *UPGRADABLE):
        raise ChainError(
            ChainProblem.SERVER,
            f"the chain server has another schema ({row[0]}); update Raiten on this PC",
        )
    privileges = conn.execute(
        "SELECT rolsuper, rolcreaterole AND rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
    if privileges is None or not (privileges[0] or privileges[1]):
        raise ChainError(
            ChainProblem.NOT_ALLOWED,
            "chain init needs the server administrator (a role that may create roles and "
            "bypass row-level security)",
        )
    try:
        with conn.transaction():
            conn.execute(_sql().encode())
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ChainError(ChainProblem.NOT_ALLOWED, f"chain init was refused: {exc}") from exc
    log.info("chain schema %d installed", SCHEMA_VERSION)


@dataclass(frozen=True, slots=True)
class NewOperator:
    operator_id: str
    name: str
    enrol_role: str
    enrol_password: str


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), so that a role is
    created without the password itself ever reaching the server."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415
    import hmac  # noqa: PLC0415

    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def create_operator(conn: psycopg.Connection[Any], name: str) -> NewOperator:
    """A new operator and its enrolment role (which may only enrol stores)."""
    operator_id = str(uuid.uuid4())
    role = f"raiten_e_{secrets.token_hex(8)}"
    password = secrets.token_urlsafe(24)
    with conn.transaction():
        conn.execute(
            "INSERT INTO raiten.operator (operator_id, name) VALUES (%s, %s)", (operator_id, name)
        )
        # A role name and a verifier made here, not typed by anyone: safe to format in.
        conn.execute(
            f"CREATE ROLE {role} LOGIN NOBYPASSRLS PASSWORD '{scram_verifier(password)}' "
            "IN ROLE raiten_enrol"
        )
        conn.execute(
            "INSERT INTO raiten.member (role_name, operator_id, kind) VALUES (%s, %s, 'enrol')",
            (role, operator_id),
        )
    log.info("chain operator %s created", operator_id)
    return NewOperator(operator_id, name, role, password)


@dataclass(frozen=True, slots=True)
class ScrubResult:
    operators: int
    wal_recycle: bool


def scrub(url: str) -> ScrubResult:
    """Erasure maintenance, run with the administrator's URL: rewrite the tables that held
    templates and visits (VACUUM FULL), switch to a new WAL segment and checkpoint twice, so
    that with ``wal_recycle`` off the old segments holding deleted bytes are removed."""
    with connect(url) as conn:
        due = conn.execute("SELECT count(*) FROM raiten.operator WHERE scrub_due").fetchone()
        recycle = conn.execute("SHOW wal_recycle").fetchone()
        wal_recycle = recycle is not None and recycle[0] == "on"
        if wal_recycle:
            log.warning(
                "wal_recycle is on: recycled WAL segments may keep deleted bytes until "
                "overwritten; set wal_recycle = off on the chain server"
            )
        conn.execute("VACUUM FULL raiten.gallery, raiten.tombstone, raiten.visit")
        for _ in range(2):
            conn.execute("SELECT pg_switch_wal()")
            conn.execute("CHECKPOINT")
        conn.execute("UPDATE raiten.operator SET scrub_due = false WHERE scrub_due")
    return ScrubResult(int(due[0]) if due else 0, wal_recycle)
