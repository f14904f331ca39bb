"""The store PC's side of a chain inside its SQLite file: the chain's state, the outbox, and
the triggers that fill the outbox.

Every change to be shared (visitors and their templates, visits, statistics rows, audit
entries, deletions of visitors, merges) writes an outbox row in the same SQLite transaction as
the change itself, because SQLite triggers write it: no writer of the store has to know about
the chain, and none can forget it. The triggers exist only while the PC is a member of a chain
(``join`` creates them, ``leave`` drops them), so a single store pays nothing. An outbox row
names what changed (entity, key), never the data; a push reads the current rows, so many
changes to one visitor between two syncs travel once.

Statistics rows change again and again between two syncs (each fold adds to thousands of them,
the counting modes add to an hour's row at every person), so their triggers only mark the row in
``chain_stat_changed``, once however often it changes; each push first moves the marks into the
outbox (``queue_changed_statistics``). A row changed after that move is marked again and
pushed again.

Changes applied from the server are written while ``chain_applying`` holds a row (inside the
same transaction), and the triggers stay silent for them, so nothing echoes back.

Deleting visits and templates writes nothing: a visitor's deletion says it all, and retention
runs at every store and on the server alike.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from desktopapp.core.chain.errors import ChainError, ChainProblem
from desktopapp.core.store.crypto import Cipher

_TABLES = (
    """CREATE TABLE IF NOT EXISTS chain_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        server_json TEXT NOT NULL,
        operator_id TEXT NOT NULL,
        operator_name TEXT NOT NULL,
        store_id TEXT NOT NULL,
        store_name TEXT NOT NULL,
        role TEXT NOT NULL,
        password_enc BLOB NOT NULL,
        gallery_key_enc BLOB NOT NULL,
        cursor INTEGER NOT NULL DEFAULT 0,
        joined_at TEXT NOT NULL,
        last_sync TEXT,
        offline_since TEXT,
        last_error TEXT
    )""",
    # AUTOINCREMENT: a sequence number is never reused after its row is deleted, which the
    # server's idempotency (pushed_seq) relies on.
    """CREATE TABLE IF NOT EXISTS chain_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        entity TEXT NOT NULL,
        key TEXT NOT NULL,
        info TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS chain_outbox_key ON chain_outbox (key, entity)",
    "CREATE TABLE IF NOT EXISTS chain_applying (marker INTEGER)",
    # Visitors the chain has seen (pushed or pulled): after a long absence, one of these that
    # the server no longer has was deleted there and goes here too.
    "CREATE TABLE IF NOT EXISTS chain_known (visitor_id TEXT PRIMARY KEY) WITHOUT ROWID",
    # Visitors merged into another here, until the merge is pushed.
    """CREATE TABLE IF NOT EXISTS chain_merged (
        loser TEXT PRIMARY KEY, survivor TEXT NOT NULL) WITHOUT ROWID""",
    # Statistics rows changed since the last push began: one row each, whatever the number of
    # changes (entity 'stat:TABLE', key the row's rowid, as in the outbox).
    """CREATE TABLE IF NOT EXISTS chain_stat_changed (
        entity TEXT NOT NULL, key INTEGER NOT NULL, PRIMARY KEY (entity, key)) WITHOUT ROWID""",
)
_QUIET = "WHEN NOT EXISTS (SELECT 1 FROM chain_applying)"
_OUTBOX = "INSERT INTO chain_outbox (entity, key, info) VALUES ({})"
# DO NOTHING rather than OR IGNORE: an OR clause of the statement that fires the trigger would
# override the trigger's own.
_STAT_CHANGED = "INSERT INTO chain_stat_changed (entity, key) VALUES ({}) ON CONFLICT DO NOTHING"
# (name, event, outbox values, extra condition)
_TRIGGERS = (
    ("chain_visitor_ins", "AFTER INSERT ON visitor", "'visitor', NEW.id, NULL", ""),
    ("chain_visitor_upd", "AFTER UPDATE ON visitor", "'visitor', NEW.id, NULL", ""),
    # Not for visitors whose time is up: the server expires those by itself, and a retention
    # sweep would otherwise queue one row per expired visitor.
    (
        "chain_visitor_del",
        "AFTER DELETE ON visitor",
        "'gone', OLD.id, OLD.expires_at",
        "OLD.expires_at > strftime('%Y-%m-%dT%H:%M:%S', 'now')",
    ),
    ("chain_template_ins", "AFTER INSERT ON template", "'visitor', NEW.visitor_id, NULL", ""),
    ("chain_visit_ins", "AFTER INSERT ON visit", "'visit', NEW.id, NULL", ""),
    ("chain_visit_upd", "AFTER UPDATE ON visit", "'visit', NEW.id, NULL", ""),
    ("chain_audit_ins", "AFTER INSERT ON audit", "'audit', NEW.id, NULL", ""),
)


def stat_tables(conn: sqlite3.Connection) -> list[str]:
    """The statistics tables of this schema version (every ``stat_*`` table)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'stat\\_%' ESCAPE '\\' "
        "ORDER BY name"
    )
    return [str(row[0]) for row in rows]


def _trigger_statements(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER statement) of every chain trigger, the statement exactly as
    SQLite keeps it in sqlite_master, so that an outdated trigger can be told apart."""
    triggers = [
        (name, event, _OUTBOX.format(values), condition)
        for name, event, values, condition in _TRIGGERS
    ]
    for table in stat_tables(conn):
        for when, event in (("ins", "INSERT"), ("upd", "UPDATE")):
            triggers.append(
                (
                    f"chain_{table}_{when}",
                    f"AFTER {event} ON {table}",
                    _STAT_CHANGED.format(f"'stat:{table}', NEW.rowid"),
                    "",
                )
            )
    return [
        (
            name,
            f"CREATE TRIGGER {name} {event} {_QUIET}"
            f"{' AND ' + condition if condition else ''} BEGIN {body}; END",
        )
        for name, event, body, condition in triggers
    ]


def describe(address: dict[str, Any]) -> str:
    """A short, password-free description of a server address for messages and status."""
    host = address.get("host") or "localhost"
    port = address.get("port")
    database = address.get("dbname") or "?"
    return f"{host}{':' + str(port) if port else ''}/{database}"


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def is_joined(conn: sqlite3.Connection) -> bool:
    return (
        _has_table(conn, "chain_state")
        and conn.execute("SELECT 1 FROM chain_state").fetchone() is not None
    )


def is_installed(conn: sqlite3.Connection) -> bool:
    """Whether the chain's outbox is in this file (the chain's tables and triggers are)."""
    return _has_table(conn, "chain_outbox")


def _installed_triggers(conn: sqlite3.Connection) -> dict[str, str]:
    """The chain's triggers in this file: name to CREATE statement."""
    return {
        str(name): str(sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'chain\\_%' "
            "ESCAPE '\\'"
        )
    }


def install(conn: sqlite3.Connection) -> None:
    """The chain's tables and triggers (inside the caller's transaction)."""
    ensure_triggers(conn)


def ensure_triggers(conn: sqlite3.Connection) -> None:
    """Bring the chain's tables and triggers up to date (inside the caller's transaction): a
    migration that rebuilt a table dropped its triggers, and a store that joined under an
    earlier version has triggers of an earlier form (statistics rows straight into the
    outbox) and lacks the tables added since."""
    for statement in _TABLES:
        conn.execute(statement)
    held = _installed_triggers(conn)
    for name, statement in _trigger_statements(conn):
        if held.get(name) == statement:
            continue
        if name in held:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(statement)


def _chain_objects(conn: sqlite3.Connection, kind: str) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = ? AND name LIKE 'chain\\_%' ESCAPE '\\'",
        (kind,),
    )
    return [str(row[0]) for row in rows]


def uninstall(conn: sqlite3.Connection) -> None:
    """Drop the triggers and the chain's tables, the other stores' statistics among them
    (core.chain.stats); the store's own data stays."""
    for name in _chain_objects(conn, "trigger"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in _chain_objects(conn, "table"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def seed_outbox(conn: sqlite3.Connection) -> int:
    """Queue everything already held for the first push; how many rows were queued."""
    before = int(conn.execute("SELECT count(*) FROM chain_outbox").fetchone()[0])
    conn.execute("INSERT INTO chain_outbox (entity, key) SELECT 'visitor', id FROM visitor")
    conn.execute("INSERT INTO chain_outbox (entity, key) SELECT 'visit', id FROM visit ORDER BY id")
    # Every statistics row is queued, so the marks of changed ones are redundant.
    conn.execute("DELETE FROM chain_stat_changed")
    for table in stat_tables(conn):
        conn.execute(
            f"INSERT INTO chain_outbox (entity, key) SELECT 'stat:{table}', rowid FROM {table}"
        )
    conn.execute("INSERT INTO chain_outbox (entity, key) SELECT 'audit', id FROM audit ORDER BY id")
    return int(conn.execute("SELECT count(*) FROM chain_outbox").fetchone()[0]) - before


def queue_changed_statistics(conn: sqlite3.Connection) -> int:
    """Move the marks of changed statistics rows into the outbox, each with a sequence number
    of its own (inside the caller's transaction, which a push commits before it reads any
    value); how many were moved. A row changed after this is marked again, so a change made
    while a push is under way is never taken for one it has sent."""
    moved = conn.execute(
        "INSERT INTO chain_outbox (entity, key) SELECT entity, key FROM chain_stat_changed"
    ).rowcount
    conn.execute("DELETE FROM chain_stat_changed")
    return int(moved)


@contextmanager
def applying(conn: sqlite3.Connection) -> Iterator[None]:
    """Writes inside this block are the server's changes: the triggers stay silent. Must run
    inside the caller's transaction, so no other connection ever sees the marker."""
    if not conn.in_transaction:
        raise RuntimeError("applying() needs an open transaction")
    conn.execute("INSERT INTO chain_applying (marker) VALUES (1)")
    try:
        yield
    finally:
        conn.execute("DELETE FROM chain_applying")


@dataclass(frozen=True, slots=True)
class ChainState:
    server: dict[str, Any]
    operator_id: str
    operator_name: str
    store_id: str
    store_name: str
    role: str
    password: str
    gallery_key: bytes
    cursor: int
    joined_at: datetime
    last_sync: datetime | None
    offline_since: datetime | None
    last_error: str | None


def save_state(conn: sqlite3.Connection, state: ChainState, cipher: Cipher) -> None:
    conn.execute(
        "INSERT INTO chain_state (id, server_json, operator_id, operator_name, store_id, "
        "store_name, role, password_enc, gallery_key_enc, cursor, joined_at) "
        "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            json.dumps(state.server),
            state.operator_id,
            state.operator_name,
            state.store_id,
            state.store_name,
            state.role,
            cipher.encrypt(state.password.encode(), b"chain:password"),
            cipher.encrypt(state.gallery_key, b"chain:gallery-key"),
            state.cursor,
            state.joined_at.isoformat(),
        ),
    )


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def load_state(conn: sqlite3.Connection, cipher: Cipher) -> ChainState:
    """This PC's chain membership; ChainError (NOT_JOINED) when it has none."""
    if not is_joined(conn):
        raise ChainError(
            ChainProblem.NOT_JOINED, "this PC is not a store of a chain (see raiten chain join)"
        )
    row = conn.execute(
        "SELECT server_json, operator_id, operator_name, store_id, store_name, role, "
        "password_enc, gallery_key_enc, cursor, joined_at, last_sync, offline_since, last_error "
        "FROM chain_state"
    ).fetchone()
    return ChainState(
        server=json.loads(row[0]),
        operator_id=row[1],
        operator_name=row[2],
        store_id=row[3],
        store_name=row[4],
        role=row[5],
        password=cipher.decrypt(bytes(row[6]), b"chain:password").decode(),
        gallery_key=cipher.decrypt(bytes(row[7]), b"chain:gallery-key"),
        cursor=int(row[8]),
        joined_at=datetime.fromisoformat(row[9]),
        last_sync=_when(row[10]),
        offline_since=_when(row[11]),
        last_error=row[12],
    )


def pending(conn: sqlite3.Connection) -> int:
    """Changes waiting to be pushed: outbox rows and changed statistics rows not yet queued."""
    return int(
        conn.execute(
            "SELECT (SELECT count(*) FROM chain_outbox) + (SELECT count(*) FROM chain_stat_changed)"
        ).fetchone()[0]
    )


@dataclass(frozen=True, slots=True)
class ChainStatus:
    """What the status bar and ``raiten chain status`` show."""

    server: str
    operator: str
    store: str
    last_sync: datetime | None
    offline_since: datetime | None
    waiting: int
    last_error: str | None


def chain_status(conn: sqlite3.Connection, cipher: Cipher) -> ChainStatus | None:
    """This PC's chain membership as it stands; None when it is not a store of a chain."""
    if not is_joined(conn):
        return None
    state = load_state(conn, cipher)
    return ChainStatus(
        server=describe(state.server),
        operator=state.operator_name,
        store=state.store_name,
        last_sync=state.last_sync,
        offline_since=state.offline_since,
        waiting=pending(conn),
        last_error=state.last_error,
    )
