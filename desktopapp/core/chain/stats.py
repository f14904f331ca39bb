"""The other stores' statistics at this store PC, for the dashboard's "All stores".

Each statistics table ``stat_X`` has a mirror ``chain_stat_X`` with the same columns, where
``store_id`` is the other store's id on the chain's server (text), ``site`` the store name that
store recorded the row under, and ``held`` says where the row came from:

- 0: a row of the other store's own statistics (the visits it folded, what the counting modes
  counted), pulled by change number above ``chain_stat_cursor``, page by page, each page with
  its cursor in one SQLite transaction;
- 1: the other store's visits still held, folded by the server into the same shape
  (``raiten.held_stats``); replaced whole at every sync, since a held visit leaves that set
  when its store folds it into its statistics.

Mirrors hold aggregates only: no visitor id, no template, no time finer than the statistics'
own. They are not ``stat_*`` tables, so no chain trigger fires for them and nothing pulled is
pushed back. They are the chain's, not this store's: ``chain leave`` (and a purge, which
leaves) drops them with the chain's other tables.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from desktopapp.core.chain.local import stat_tables

log = logging.getLogger(__name__)

PREFIX = "chain_"
# Columns a mirror adds before the statistics table's own (besides store_id, which it retypes).
_EXTRA = (("site", "TEXT NOT NULL DEFAULT ''"), ("held", "INTEGER NOT NULL DEFAULT 0"))
_SETUP = (
    "CREATE TABLE IF NOT EXISTS chain_store (store_id TEXT PRIMARY KEY, name TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS chain_stat_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1), cursor INTEGER NOT NULL)""",
)


def mirror(table: str) -> str:
    return PREFIX + table


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    key: int  # position in the primary key, 0 when not part of it


def _columns(conn: sqlite3.Connection, table: str) -> list[_Column]:
    return [
        _Column(str(name), str(kind), bool(not_null), default, int(key))
        for _cid, name, kind, not_null, default, key in conn.execute(f"PRAGMA table_info({table})")
    ]


def _mirror_sql(table: str, columns: Sequence[_Column]) -> str:
    parts = ["store_id TEXT NOT NULL"]
    parts += [f"{name} {kind}" for name, kind in _EXTRA]
    for column in columns:
        if column.name == "store_id":
            continue
        definition = f"{column.name} {column.type}"
        if column.not_null:
            definition += " NOT NULL"
        if column.default is not None:
            definition += f" DEFAULT {column.default}"
        parts.append(definition)
    keys = [c.name for c in sorted(columns, key=lambda c: c.key) if c.key and c.name != "store_id"]
    parts.append(f"PRIMARY KEY (store_id, site, held, {', '.join(keys)})")
    return f"CREATE TABLE {mirror(table)} ({', '.join(parts)})"


def ensure_mirrors(conn: sqlite3.Connection) -> None:
    """Create the mirrors (inside the caller's transaction). A mirror whose columns no longer
    follow its statistics table (a migration added one) is dropped and the statistics are
    pulled again from the start, so that no pulled row lacks the new column's value."""
    for statement in _SETUP:
        conn.execute(statement)
    for table in stat_tables(conn):
        columns = _columns(conn, table)
        wanted = ["store_id", *(n for n, _ in _EXTRA)] + [
            c.name for c in columns if c.name != "store_id"
        ]
        held = [c.name for c in _columns(conn, mirror(table))]
        if held == wanted:
            continue
        if held:
            log.info("%s changed shape: the chain's statistics are pulled again", table)
            conn.execute(f"DROP TABLE {mirror(table)}")
            conn.execute("DELETE FROM chain_stat_cursor")
        conn.execute(_mirror_sql(table, columns))
        time = next((c.name for c in columns if c.name in ("hour", "day")), None)
        if time is not None:
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS {mirror(table)}_{time} ON {mirror(table)} ({time})"
            )


def cursor(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT cursor FROM chain_stat_cursor").fetchone()
    return int(row[0]) if row else 0


def set_cursor(conn: sqlite3.Connection, value: int) -> None:
    conn.execute(
        "INSERT INTO chain_stat_cursor (id, cursor) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET cursor = excluded.cursor",
        (value,),
    )


def _document(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(value)


def apply(
    conn: sqlite3.Connection, rows: Iterable[tuple[Any, str, Any, Any]], *, held: bool
) -> int:
    """Write pulled rows (store id, statistics table, key, row) into the mirrors (inside the
    caller's transaction); how many were written. A row of a table this version does not
    have, or lacking a value this version needs, is skipped (a store running another
    version), with a line in the log."""
    shapes = {table: _columns(conn, table) for table in stat_tables(conn)}
    batches: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
    skipped = 0
    for store_id, table, key, row in rows:
        columns = shapes.get(table)
        if columns is None:
            skipped += 1
            continue
        values = _document(row)
        site = _document(key).get("store") or ""
        given = [c.name for c in columns if c.name != "store_id" and values.get(c.name) is not None]
        needed = {c.name for c in columns if c.not_null and c.default is None} - {"store_id"}
        if not needed <= set(given):
            skipped += 1
            continue
        names = ("store_id", "site", "held", *given)
        batches.setdefault((table, names), []).append(
            (str(store_id), str(site), int(held), *(values[name] for name in given))
        )
    written = 0
    for (table, names), batch in batches.items():
        marks = ", ".join("?" * len(names))
        conn.executemany(
            f"INSERT OR REPLACE INTO {mirror(table)} ({', '.join(names)}) VALUES ({marks})",
            batch,
        )
        written += len(batch)
    if skipped:
        log.warning("chain: %d statistics rows of another Raiten version skipped", skipped)
    return written


def replace_held(conn: sqlite3.Connection, rows: Sequence[tuple[Any, str, Any, Any]]) -> int:
    """The other stores' held visits as the server folded them now, in place of the last
    ones (inside the caller's transaction)."""
    for table in stat_tables(conn):
        conn.execute(f"DELETE FROM {mirror(table)} WHERE held = 1")
    return apply(conn, rows, held=True)


def replace_stores(conn: sqlite3.Connection, stores: Sequence[tuple[Any, str]]) -> None:
    conn.execute("DELETE FROM chain_store")
    conn.executemany(
        "INSERT INTO chain_store (store_id, name) VALUES (?, ?)",
        [(str(store_id), str(name)) for store_id, name in stores],
    )


@dataclass(frozen=True, slots=True)
class ChainStore:
    """Another store of this PC's chain: its id on the server and its name."""

    store_id: str
    name: str


def other_stores(conn: sqlite3.Connection) -> list[ChainStore]:
    """The other stores of the chain as of the last sync; empty when not in a chain."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chain_store'"
    ).fetchone()
    if found is None:
        return []
    return [
        ChainStore(str(store_id), str(name))
        for store_id, name in conn.execute("SELECT store_id, name FROM chain_store ORDER BY name")
    ]
