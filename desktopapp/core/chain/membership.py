"""Creating a chain's operator, enrolling a store PC, leaving, and what the status says.

Store credentials are made by the joining PC: ``join`` draws a role name and password, and the
operator's enrolment role (from the enrolment file) asks the server's ``raiten.enrol`` to
create that role from a SCRAM verifier. So the password never crosses the network or sits in
the enrolment file, and the administrator's password never leaves the PC where init ran.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlite_utils

from desktopapp.core.chain import local
from desktopapp.core.chain.enrolment import (
    Enrolment,
    new_gallery_key,
    read_enrolment,
    write_enrolment,
)
from desktopapp.core.chain.errors import ChainError, ChainProblem
from desktopapp.core.chain.local import describe
from desktopapp.core.chain.server import (
    connect,
    create_operator,
    install_schema,
    scram_verifier,
    server_address,
)
from desktopapp.core.notice import NoticeStore
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.visits import VisitStore

log = logging.getLogger(__name__)


def init_operator(url: str, out: Path, operator_name: str) -> Enrolment:
    """Install the schema if needed, create the operator and write its enrolment file."""
    if out.exists():
        raise ChainError(ChainProblem.BAD_ENROLMENT, f"{out} exists already; choose another file")
    address = server_address(url)
    with connect(url) as pg:
        install_schema(pg)
        created = create_operator(pg, operator_name)
    enrolment = Enrolment(
        server=address,
        operator_id=created.operator_id,
        operator_name=operator_name,
        enrol_role=created.enrol_role,
        enrol_password=created.enrol_password,
        gallery_key=new_gallery_key(),
    )
    write_enrolment(enrolment, out)
    return enrolment


def local_operator_name(db: sqlite_utils.Database) -> str | None:
    """The operator this PC records for: its database's operator, else the notice's."""
    row = db.execute("SELECT name FROM operator ORDER BY id LIMIT 1").fetchone()
    if row is not None:
        return str(row[0])
    notice = NoticeStore(db).current()
    return notice.profile.operator if notice and notice.profile.operator else None


@dataclass(frozen=True, slots=True)
class Joined:
    operator: str
    store: str
    store_id: str
    queued: int


def join(
    db: sqlite_utils.Database,
    cipher: Cipher,
    enrolment_file: Path,
    store_name: str,
    now: datetime | None = None,
) -> Joined:
    """Enrol this PC as the store ``store_name`` of the enrolment file's operator."""
    now = now or datetime.now(UTC)
    conn: sqlite3.Connection = db.conn
    enrolment = read_enrolment(enrolment_file)
    if not store_name.strip():
        raise ChainError(ChainProblem.BAD_ENROLMENT, "the store needs a name (--store NAME)")
    if local.is_joined(conn):
        state = local.load_state(conn, cipher)
        raise ChainError(
            ChainProblem.ALREADY_JOINED,
            f"this PC has joined already, as store {state.store_name!r} of "
            f"{state.operator_name!r} (raiten chain leave first)",
        )
    mine = local_operator_name(db)
    if mine is not None and mine != enrolment.operator_name:
        raise ChainError(
            ChainProblem.BAD_ENROLMENT,
            f"the enrolment file is for the operator {enrolment.operator_name!r}, but this PC "
            f"records for {mine!r}; a chain never mixes operators",
        )
    role = f"raiten_s_{secrets.token_hex(8)}"
    password = secrets.token_urlsafe(24)
    with connect(
        None, user=enrolment.enrol_role, password=enrolment.enrol_password, **enrolment.server
    ) as pg:
        try:
            found = pg.execute(
                "SELECT raiten.enrol(%s, %s, %s)", (store_name, role, scram_verifier(password))
            ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise ChainError(
                ChainProblem.ALREADY_JOINED,
                f"a store called {store_name!r} has joined this chain already",
            ) from exc
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedFunction) as exc:
            raise ChainError(
                ChainProblem.BAD_ENROLMENT,
                "the server does not accept this enrolment file (operator removed, or another "
                "server)",
            ) from exc
    store_id = str(found[0]) if found else ""
    # The new role works before anything is written here.
    with connect(None, user=role, password=password, **enrolment.server) as pg:
        pg.execute("SELECT count(*) FROM raiten.pull(now(), 0, 0)")
    state = local.ChainState(
        server=enrolment.server,
        operator_id=enrolment.operator_id,
        operator_name=enrolment.operator_name,
        store_id=store_id,
        store_name=store_name,
        role=role,
        password=password,
        gallery_key=enrolment.gallery_key,
        cursor=0,
        joined_at=now,
        last_sync=None,
        offline_since=None,
        last_error=None,
    )
    with immediate_transaction(conn):
        local.install(conn)
        operator_id, _ = VisitStore(db, cipher).ensure_operator_and_store(
            enrolment.operator_name, store_name, now
        )
        # The stores of a chain match against one gallery.
        conn.execute("UPDATE operator SET share_gallery = 1 WHERE id = ?", (operator_id,))
        local.save_state(conn, state, cipher)
        queued = local.seed_outbox(conn)
    log.info("joined the chain at %s as store %s", describe(enrolment.server), store_name)
    return Joined(enrolment.operator_name, store_name, store_id, queued)


def leave(db: sqlite_utils.Database, cipher: Cipher) -> local.ChainState:
    """Stop syncing: the chain's tables and triggers go, every visitor and visit stays."""
    conn: sqlite3.Connection = db.conn
    state = local.load_state(conn, cipher)
    with immediate_transaction(conn):
        local.uninstall(conn)
    log.info("left the chain (was store %s)", state.store_name)
    return state


def status(db: sqlite_utils.Database, cipher: Cipher) -> dict[str, Any]:
    """What ``raiten chain status --json`` prints."""
    found = local.chain_status(db.conn, cipher)
    if found is None:
        return {"joined": False}

    def when(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "joined": True,
        "server": found.server,
        "operator": found.operator,
        "store": found.store,
        "last_sync": when(found.last_sync),
        "offline_since": when(found.offline_since),
        "outbox": found.waiting,
        "last_error": found.last_error,
    }
