"""Push the outbox, pull the chain's gallery, merge the same person seen at two stores.

Push: the outbox in batches, one server transaction per batch (``raiten.push``). Each item
carries the highest outbox sequence number it stands for; the server skips items at or below
what it has applied for this store, so a batch whose answer was lost is sent again safely.
Templates leave the PC re-encrypted under the operator's gallery key, bound to operator and
visitor in the AES-GCM associated data.

Pull: pages of gallery changes above the store's cursor, each page applied together with the
new cursor in one SQLite transaction. A visitor with changes still waiting in the outbox keeps
the local version (it is pushed next and the server merges); a tombstone always wins. A store
whose cursor is older than the tombstones kept pulls the whole gallery again and forgets every
visitor the chain knew that the server no longer has.

Merge: a pulled visitor that matches a visitor held here under a threshold stricter than a
live match is the same person seen at two stores while one was offline; the two become one,
and the smaller UUID (as text) survives, so every store picks the same survivor whatever the
order in which they meet.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import sqlite_utils

from desktopapp.core.chain import local, stats
from desktopapp.core.chain.errors import ChainError, ChainProblem
from desktopapp.core.chain.local import describe
from desktopapp.core.chain.server import connect, connection_error
from desktopapp.core.config import VisionConfig
from desktopapp.core.matching import Gallery
from desktopapp.core.notice import NoticeStore
from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.retention import fold_visits, scrub
from desktopapp.core.store.statistics import DWELL_BINS_SECONDS, VISIT_NUMBER_CAP
from desktopapp.core.store.visits import CUSTOMER, VisitStore, _template_context
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Role, Vector

log = logging.getLogger(__name__)

# Outbox rows per push transaction and changes per pulled page: big enough that round trips
# do not dominate, small enough that one transaction stays short on a busy server.
PUSH_BATCH = 2000
PULL_PAGE = 5000
# How much stricter than a live match a merge of two visitors is.
MERGE_MARGIN = 0.03
MAX_TEMPLATES = 5
_PACK = struct.Struct("<fI")
_PACK_MAGIC = b"RT1"


def live_threshold(vision: VisionConfig) -> float:
    """The live match threshold in force (the calibrated one in the settings, else the chosen
    embedder's manifest value); merging two visitors asks for more than this."""
    if vision.threshold is not None:
        return float(vision.threshold)
    registry = ModelRegistry.load()
    chosen = vision.face_features
    entry = registry.get(chosen) if chosen else registry.default(Role.FACE_FEATURES)
    return float(entry.options.get("threshold", 0.92))


def gallery_context(operator_id: str, visitor_id: str) -> bytes:
    """AES-GCM associated data of a template under the gallery key: a ciphertext moved to
    another visitor or operator does not decrypt."""
    return f"raiten-chain-template:{operator_id}:{visitor_id}".encode()


def pack_templates(
    cipher: Cipher, operator_id: str, visitor_id: str, templates: Iterable[tuple[float, bytes]]
) -> bytes:
    context = gallery_context(operator_id, visitor_id)
    parts = [_PACK_MAGIC]
    for quality, plain in templates:
        sealed = cipher.encrypt(plain, context)
        parts += [_PACK.pack(quality, len(sealed)), sealed]
    return b"".join(parts)


def unpack_templates(
    cipher: Cipher, operator_id: str, visitor_id: str, blob: bytes
) -> list[tuple[float, Vector]]:
    if not blob.startswith(_PACK_MAGIC):
        raise ValueError("not a packed template list")
    context = gallery_context(operator_id, visitor_id)
    found: list[tuple[float, Vector]] = []
    at = len(_PACK_MAGIC)
    while at < len(blob):
        quality, size = _PACK.unpack_from(blob, at)
        at += _PACK.size
        plain = cipher.decrypt(blob[at : at + size], context)
        at += size
        found.append((float(quality), np.frombuffer(plain, dtype=np.float32).copy()))
    return found


def _utc_text(value: str) -> str:
    """A timestamp as this store writes them (Python's isoformat in UTC), whatever form the
    server printed it in, so that text comparisons stay right."""
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class SyncResult:
    pushed: int
    pulled: int
    pending: int
    merged: int


@dataclass(frozen=True, slots=True)
class _Item:
    seq: int
    kind: str
    key: str
    doc: dict[str, Any]
    blob: bytes | None


class ChainSync:
    """One store PC's synchronisation; owns no thread, call ``sync`` from any one thread."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        cipher: Cipher,
        *,
        threshold: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db.conn
        self._cipher = cipher
        self._visits = VisitStore(db, cipher)
        self.state = local.load_state(self._conn, cipher)
        self._gallery_cipher = Cipher(self.state.gallery_key)
        self.merge_threshold = min(threshold + MERGE_MARGIN, 0.999)
        self._now = now
        self._stores: dict[str, int] = {}

    # -- the whole round ------------------------------------------------------------------

    def connect(self) -> psycopg.Connection[Any]:
        return connect(
            None, user=self.state.role, password=self.state.password, **self.state.server
        )

    def sync(self) -> SyncResult:
        """Push, pull, merge, push the merges. ChainError (UNREACHABLE) when the server cannot
        be reached or the connection breaks; what was done before that stays done."""
        with immediate_transaction(self._conn):
            local.ensure_triggers(self._conn)
        try:
            with self.connect() as pg:
                pushed, resync = self.push(pg)
                pulled = 0
                if resync:
                    pulled += self.pull(pg, full=True)[0]
                    pushed += self.push(pg)[0]
                count, new_ids = self.pull(pg)
                pulled += count
                merged = self.merge_duplicates(new_ids)
                if merged:
                    pushed += self.push(pg)[0]
                self.pull_statistics(pg)
        except psycopg.OperationalError as exc:
            raise self._offline(connection_error(exc)) from exc
        except psycopg.Error as exc:
            log.error("chain server refused: %s", exc)
            raise ChainError(ChainProblem.SERVER, f"the chain server refused: {exc}") from exc
        except ChainError as exc:
            if exc.problem is ChainProblem.UNREACHABLE:
                self._offline(exc)
            raise
        with immediate_transaction(self._conn):
            self._conn.execute(
                "UPDATE chain_state SET last_sync = ?, offline_since = NULL, last_error = NULL",
                (self._now().astimezone(UTC).isoformat(),),
            )
        result = SyncResult(pushed, pulled, local.pending(self._conn), merged)
        log.info("chain sync with %s: %s", describe(self.state.server), result)
        return result

    def _offline(self, error: ChainError) -> ChainError:
        with immediate_transaction(self._conn):
            self._conn.execute(
                "UPDATE chain_state SET offline_since = coalesce(offline_since, ?), last_error = ?",
                (self._now().astimezone(UTC).isoformat(), str(error)),
            )
        log.warning("chain sync failed: %s", error)
        return error

    # -- push -----------------------------------------------------------------------------

    def push(self, pg: psycopg.Connection[Any]) -> tuple[int, bool]:
        """Send the outbox; (items the server accepted, whether it asks for a full pull first)."""
        accepted = 0
        # Committed before any value is read: a statistics row changed from here on is marked
        # again, and the next push sends it once more.
        with immediate_transaction(self._conn):
            local.queue_changed_statistics(self._conn)
        while True:
            rows = self._conn.execute(
                "SELECT seq, entity, key, info FROM chain_outbox ORDER BY seq LIMIT ?",
                (PUSH_BATCH,),
            ).fetchall()
            if not rows:
                return accepted, False
            last = int(rows[-1][0])
            items = self._items(rows)
            # One JSON text for all items: arrays of text would be escaped element by element.
            answer = pg.execute(
                "SELECT raiten.push(%s, %s::jsonb, %s)",
                (
                    self._now(),
                    json.dumps(
                        [{"seq": i.seq, "kind": i.kind, "key": i.key, "doc": i.doc} for i in items]
                    ),
                    [i.blob for i in items],
                ),
                binary=True,
            ).fetchone()
            result: dict[str, Any] = answer[0] if answer else {}
            if result.get("resync"):
                return accepted, True
            accepted += int(result.get("accepted", 0))
            if result.get("renumber"):
                # This file's numbers start again below what the server has applied: the
                # database was restored from a backup. Its newer changes would be skipped as
                # done, so everything held is queued again above the server's number.
                self._renumber(int(result["pushed_seq"]))
                continue
            with immediate_transaction(self._conn):
                self._conn.execute("DELETE FROM chain_outbox WHERE seq <= ?", (last,))
                self._conn.executemany(
                    "INSERT OR IGNORE INTO chain_known (visitor_id) VALUES (?)",
                    [(i.key,) for i in items if i.kind == "visitor"],
                )
                self._conn.executemany(
                    "DELETE FROM chain_merged WHERE loser = ?",
                    [(i.key,) for i in items if i.kind == "merge"],
                )
                self._refused(result.get("refused") or [])

    def _renumber(self, server_seq: int) -> None:
        log.warning("the database is older than the chain knows it: sending all it holds again")
        with immediate_transaction(self._conn):
            self._conn.execute("DELETE FROM chain_outbox")
            self._conn.execute(
                "UPDATE sqlite_sequence SET seq = ? WHERE name = 'chain_outbox'", (server_seq,)
            )
            local.seed_outbox(self._conn)

    def _refused(self, refused: Sequence[dict[str, Any]]) -> None:
        """The server holds these visitors as erased, expired or merged: this store's copies
        go the same way (inside the caller's transaction)."""
        forget = []
        with local.applying(self._conn):
            for entry in refused:
                visitor = str(entry["visitor"])
                if entry.get("reason") == "merged" and entry.get("survivor"):
                    self._merge(visitor, str(entry["survivor"]), record=False)
                else:
                    forget.append(visitor)
        self._forget(forget)

    def _items(self, rows: Sequence[tuple[Any, ...]]) -> list[_Item]:
        latest: dict[tuple[str, str], tuple[int, str | None]] = {}
        for seq, entity, key, info in rows:
            latest[(entity, str(key))] = (int(seq), info)
        by_entity: dict[str, list[str]] = {}
        for entity, key in latest:
            by_entity.setdefault(entity, []).append(key)
        items: list[_Item] = []
        now = self._now().astimezone(UTC).isoformat()
        for entity, keys in by_entity.items():
            if entity == "visitor":
                for key, doc, blob in self._visitor_docs(keys):
                    items.append(_Item(latest[(entity, key)][0], "visitor", key, doc, blob))
            elif entity == "gone":
                for key in keys:
                    seq, expired_at = latest[(entity, key)]
                    survivor = self._conn.execute(
                        "SELECT survivor FROM chain_merged WHERE loser = ?", (key,)
                    ).fetchone()
                    if survivor is not None:
                        items.append(_Item(seq, "merge", key, {"survivor": survivor[0]}, None))
                    else:
                        reason = "expired" if expired_at and expired_at <= now else "erased"
                        items.append(_Item(seq, "erase", key, {"reason": reason}, None))
            elif entity in ("visit", "audit") or entity.startswith("stat:"):
                for key, doc in self._row_docs(entity, keys):
                    items.append(
                        _Item(latest[(entity, key)][0], entity.split(":")[0], key, doc, None)
                    )
        items.sort(key=lambda item: item.seq)
        return items

    def _anonymous_days(self) -> int:
        """How long the notice in force keeps a visit without a visitor (at least a day, as
        the recorder's retention policy has it)."""
        notice = NoticeStore(self._db).current()
        return max(1, notice.profile.retention_days) if notice else 1

    def _store_names(self) -> dict[int, str]:
        return {int(i): str(n) for i, n in self._conn.execute("SELECT id, name FROM store")}

    def _visitor_docs(self, keys: list[str]) -> list[tuple[str, dict[str, Any], bytes]]:
        marks = ",".join("?" * len(keys))
        names = self._store_names()
        rows = self._conn.execute(
            "SELECT id, home_store_id, kind, first_seen, last_seen, visit_count, expires_at "
            f"FROM visitor WHERE id IN ({marks})",
            keys,
        ).fetchall()
        templates: dict[str, list[tuple[float, bytes]]] = {}
        models: dict[str, str] = {}
        for visitor_id, model, quality, blob in self._conn.execute(
            "SELECT visitor_id, model, quality, feature_enc FROM template "
            f"WHERE visitor_id IN ({marks}) ORDER BY visitor_id, quality DESC, id",
            keys,
        ):
            plain = self._cipher.decrypt(bytes(blob), _template_context(visitor_id))
            templates.setdefault(visitor_id, []).append((float(quality), plain))
            models[visitor_id] = str(model)
        docs = []
        for visitor_id, home, kind, first, last, count, expires in rows:
            doc = {
                "home_store": names.get(int(home), self.state.store_name)
                if home is not None
                else self.state.store_name,
                "kind": kind,
                "first_seen": first,
                "last_seen": last,
                "visit_count": int(count),
                "expires_at": expires,
                "model": models.get(visitor_id, ""),
            }
            blob = pack_templates(
                self._gallery_cipher,
                self.state.operator_id,
                visitor_id,
                templates.get(visitor_id, []),
            )
            docs.append((str(visitor_id), doc, blob))
        return docs

    def _row_docs(self, entity: str, keys: list[str]) -> list[tuple[str, dict[str, Any]]]:
        table, key_column = (
            (entity.split(":", 1)[1], "rowid") if entity.startswith("stat:") else (entity, "id")
        )
        marks = ",".join("?" * len(keys))
        cursor = self._conn.execute(
            f"SELECT {key_column} AS chain_key, * FROM {table} WHERE {key_column} IN ({marks})",
            keys,
        )
        columns = [d[0] for d in cursor.description]
        names = self._store_names()
        primary = [
            str(r[1]) for r in self._conn.execute(f"PRAGMA table_info({table})") if int(r[5]) > 0
        ]
        anonymous_days = self._anonymous_days() if table == "visit" else 0
        docs = []
        for values in cursor.fetchall():
            row = dict(zip(columns, values, strict=True))
            key = str(row.pop("chain_key"))
            if "store_id" in row:
                # Local store numbers mean nothing elsewhere: the name does.
                row["store"] = names.get(int(row.pop("store_id")), self.state.store_name)
            if table == "visit" and row.get("visitor_id") is None:
                # No visitor's expiry takes it away on the server: it carries its own.
                ended = datetime.fromisoformat(str(row["ended_at"]))
                row["expires_at"] = (ended + timedelta(days=anonymous_days)).isoformat()
            if entity.startswith("stat:"):
                identity = {c: row[c] for c in primary if c != "store_id"}
                identity["store"] = row.get("store")
                docs.append((key, {"table": table, "key": identity, "row": row}))
            else:
                docs.append((key, row))
        return docs

    # -- pull -----------------------------------------------------------------------------

    def pull(self, pg: psycopg.Connection[Any], *, full: bool = False) -> tuple[int, list[str]]:
        """Apply the server's changes; (changes applied, visitors new to this PC)."""
        cursor = 0 if full else self.state.cursor
        live: set[str] = set()
        new_ids: list[str] = []
        pulled = 0
        while True:
            rows = pg.execute(
                "SELECT change, kind, visitor_id, doc, blob FROM raiten.pull(%s, %s, %s)",
                (self._now(), cursor, PULL_PAGE),
            ).fetchall()
            if rows and rows[0][1] == "resync":
                log.warning("offline longer than the chain keeps erasures: pulling it all again")
                full, cursor, live = True, 0, set()
                continue
            if not rows:
                break
            cursor = int(rows[-1][0])
            new_ids += self._apply_page(rows, cursor)
            pulled += len(rows)
            if full:
                live.update(str(r[2]) for r in rows if r[1] == "visitor")
            if len(rows) < PULL_PAGE:
                break
        if full:
            self._forget_unknown(live)
        self.state = local.load_state(self._conn, self._cipher)
        return pulled, new_ids

    def _apply_page(self, rows: Sequence[tuple[Any, ...]], cursor: int) -> list[str]:
        forget: list[str] = []
        with immediate_transaction(self._conn):
            with local.applying(self._conn):
                new_ids = self._apply_visitors(
                    [(str(r[2]), r[3], bytes(r[4])) for r in rows if r[1] == "visitor"]
                )
                for _change, kind, visitor, doc, _blob in rows:
                    visitor_id = str(visitor)
                    if kind == "merged" and doc.get("survivor"):
                        self._merge(visitor_id, str(doc["survivor"]), record=False)
                        self._conn.execute(
                            "DELETE FROM chain_known WHERE visitor_id = ?", (visitor_id,)
                        )
                    elif kind != "visitor":
                        forget.append(visitor_id)
            self._forget(forget)
            self._conn.execute("UPDATE chain_state SET cursor = ?", (cursor,))
        if forget:
            scrub(self._conn)
        return new_ids

    def _ids_in(self, sql: str, ids: Sequence[str]) -> set[str]:
        marks = ",".join("?" * len(ids))
        return {str(r[0]) for r in self._conn.execute(sql.format(marks=marks), ids)}

    def _apply_visitors(self, pulled: Sequence[tuple[str, dict[str, Any], bytes]]) -> list[str]:
        """Take the server's version of these visitors (inside the caller's transaction); the
        customers among them that are new to this PC. A visitor changed here since (its
        changes wait in the outbox) keeps the local version: it is pushed next and the server
        merges the two."""
        if not pulled:
            return []
        ids = [visitor_id for visitor_id, _, _ in pulled]
        waiting = self._ids_in(
            "SELECT key FROM chain_outbox WHERE key IN ({marks}) AND entity IN ('visitor', 'gone')",
            ids,
        )
        held = self._ids_in("SELECT id FROM visitor WHERE id IN ({marks})", ids)
        taken = [row for row in pulled if row[0] not in waiting]
        operator_id = self._local_operator()
        self._conn.executemany(
            "INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, last_seen, "
            "visit_count, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, "
            "visit_count = excluded.visit_count, expires_at = excluded.expires_at",
            [
                (
                    visitor_id,
                    operator_id,
                    self._local_store(str(doc["home_store"])),
                    doc["kind"],
                    _utc_text(doc["first_seen"]),
                    _utc_text(doc["last_seen"]),
                    int(doc["visit_count"]),
                    _utc_text(doc["expires_at"]),
                )
                for visitor_id, doc, _ in taken
            ],
        )
        self._visits.replace_many_templates(
            [
                (
                    visitor_id,
                    str(doc["model"]),
                    unpack_templates(
                        self._gallery_cipher, self.state.operator_id, visitor_id, blob
                    ),
                )
                for visitor_id, doc, blob in taken
            ],
            self._now(),
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO chain_known (visitor_id) VALUES (?)",
            [(visitor_id,) for visitor_id, _, _ in taken],
        )
        return [v for v, doc, _ in taken if v not in held and doc["kind"] == CUSTOMER]

    def _local_operator(self) -> int:
        row = self._conn.execute("SELECT id FROM operator ORDER BY id LIMIT 1").fetchone()
        if row is None:
            raise ChainError(ChainProblem.NOT_JOINED, "this PC has no operator (join again)")
        return int(row[0])

    def _local_store(self, name: str) -> int:
        if name not in self._stores:
            _, store_id = self._visits.ensure_operator_and_store(
                self.state.operator_name, name, self._now()
            )
            self._stores[name] = store_id
        return self._stores[name]

    def _forget(self, visitor_ids: Sequence[str]) -> None:
        """Delete these visitors and all that hangs on them, their visits folded into the
        statistics first (inside the caller's transaction). The statistics' triggers run, so
        the changed figures are pushed; the deletions themselves are the server's news."""
        present = [
            v
            for v in visitor_ids
            if self._conn.execute("SELECT 1 FROM visitor WHERE id = ?", (v,)).fetchone()
        ]
        self._conn.executemany(
            "DELETE FROM chain_known WHERE visitor_id = ?", [(v,) for v in visitor_ids]
        )
        if not present:
            return
        self._conn.execute("CREATE TEMP TABLE chain_forget (id TEXT PRIMARY KEY)")
        try:
            self._conn.executemany(
                "INSERT OR IGNORE INTO temp.chain_forget VALUES (?)", [(v,) for v in present]
            )
            fold_visits(self._conn, "visitor_id IN (SELECT id FROM temp.chain_forget)", {})
            with local.applying(self._conn):
                where = "IN (SELECT id FROM temp.chain_forget)"
                self._conn.execute(
                    f"DELETE FROM path_point WHERE visit_id IN "
                    f"(SELECT id FROM visit WHERE visitor_id {where})"
                )
                self._conn.execute(f"DELETE FROM visit WHERE visitor_id {where}")
                self._conn.execute(f"DELETE FROM template WHERE visitor_id {where}")
                self._conn.execute(f"DELETE FROM visitor WHERE id {where}")
        finally:
            self._conn.execute("DROP TABLE temp.chain_forget")
        log.info("chain: %d visitors deleted as the chain's server says", len(present))

    def _forget_unknown(self, live: set[str]) -> None:
        known = [str(r[0]) for r in self._conn.execute("SELECT visitor_id FROM chain_known")]
        gone = [v for v in known if v not in live]
        if not gone:
            return
        with immediate_transaction(self._conn):
            self._conn.executemany(
                "DELETE FROM chain_outbox WHERE key = ? AND entity = 'visitor'",
                [(v,) for v in gone],
            )
            self._forget(gone)
        scrub(self._conn)

    # -- the other stores' statistics -----------------------------------------------------

    def pull_statistics(self, pg: psycopg.Connection[Any]) -> int:
        """The other stores of the chain, their statistics rows changed since the last sync
        and their held visits folded by the server (core.chain.stats); rows written. All is
        read in one REPEATABLE READ snapshot, and the held set is replaced in the transaction
        of the last page, so a visit folded at its store meanwhile is never counted twice. A
        server of an older schema without these functions shares no statistics (logged)."""
        with immediate_transaction(self._conn):
            stats.ensure_mirrors(self._conn)
        written = 0
        try:
            with pg.transaction():
                pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                names = pg.execute("SELECT store_id, name FROM raiten.stores()").fetchall()
                held = pg.execute(
                    "SELECT store_id, tbl, stat_key, stat_row FROM raiten.held_stats(%s, %s)",
                    ([float(edge) for edge in DWELL_BINS_SECONDS[1:]], VISIT_NUMBER_CAP),
                ).fetchall()
                last = False
                while not last:
                    rows = pg.execute(
                        "SELECT change, store_id, tbl, stat_key, stat_row "
                        "FROM raiten.pull_stats(%s, %s)",
                        (stats.cursor(self._conn), PULL_PAGE),
                    ).fetchall()
                    last = len(rows) < PULL_PAGE
                    with immediate_transaction(self._conn):
                        written += stats.apply(self._conn, [r[1:] for r in rows], held=False)
                        if rows:
                            stats.set_cursor(self._conn, int(rows[-1][0]))
                        if last:
                            stats.replace_stores(self._conn, names)
                            written += stats.replace_held(self._conn, held)
        except psycopg.errors.UndefinedFunction:
            log.warning(
                "the chain server's schema is older than this Raiten: other stores' statistics "
                "are not shared until the server's schema is updated"
            )
            return 0
        log.info("chain: %d statistics rows of %d other stores", written, len(names))
        return written

    # -- merge ----------------------------------------------------------------------------

    def _merge(self, loser: str, survivor: str, *, record: bool) -> bool:
        """Make ``loser`` part of ``survivor`` (inside the caller's transaction): templates
        (the best K of both), visits, first and last seen, visit count. ``record`` queues the
        merge for the server (a merge found here); otherwise it came from the server."""
        rows = {
            str(r[0]): r
            for r in self._conn.execute(
                "SELECT id, first_seen, last_seen, visit_count, expires_at FROM visitor "
                "WHERE id IN (?, ?)",
                (loser, survivor),
            )
        }
        if loser not in rows or loser == survivor:
            return False
        gone = rows[loser]
        templates = self._templates_of(loser)
        model_row = self._conn.execute(
            "SELECT model FROM template WHERE visitor_id = ? LIMIT 1", (loser,)
        ).fetchone()
        if survivor not in rows:
            # The survivor is not here yet: the loser's record becomes it (the server's
            # version follows in a later change).
            self._conn.execute(
                "INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, "
                "last_seen, visit_count, expires_at) SELECT ?, operator_id, home_store_id, kind, "
                "first_seen, last_seen, visit_count, expires_at FROM visitor WHERE id = ?",
                (survivor, loser),
            )
        else:
            kept = rows[survivor]
            templates = sorted(templates + self._templates_of(survivor), key=lambda t: -t[0])[
                :MAX_TEMPLATES
            ]
            self._conn.execute(
                "UPDATE visitor SET first_seen = min(first_seen, ?), "
                "last_seen = max(last_seen, ?), visit_count = ?, "
                "expires_at = max(expires_at, ?) WHERE id = ?",
                (
                    gone[1],
                    gone[2],
                    int(kept[3]) + int(gone[3]) if record else max(int(kept[3]), int(gone[3])),
                    gone[4],
                    survivor,
                ),
            )
        self._visits.replace_templates(
            survivor, str(model_row[0]) if model_row else "", templates, self._now()
        )
        self._conn.execute(
            "UPDATE visit SET visitor_id = ? WHERE visitor_id = ?", (survivor, loser)
        )
        if record:
            self._conn.execute(
                "INSERT OR REPLACE INTO chain_merged (loser, survivor) VALUES (?, ?)",
                (loser, survivor),
            )
        self._conn.execute("DELETE FROM template WHERE visitor_id = ?", (loser,))
        self._conn.execute("DELETE FROM visitor WHERE id = ?", (loser,))
        self._conn.execute("DELETE FROM chain_known WHERE visitor_id = ?", (loser,))
        return True

    def _decrypt(self, visitor_id: str, blob: bytes) -> Vector:
        plain = self._cipher.decrypt(bytes(blob), _template_context(visitor_id))
        return np.frombuffer(plain, dtype=np.float32).copy()

    def _templates_of(self, visitor_id: str) -> list[tuple[float, Vector]]:
        return [
            (float(quality), self._decrypt(visitor_id, blob))
            for quality, blob in self._conn.execute(
                "SELECT quality, feature_enc FROM template WHERE visitor_id = ? "
                "ORDER BY quality DESC, id",
                (visitor_id,),
            )
        ]

    def merge_duplicates(self, new_ids: Sequence[str]) -> int:
        """Merge each newly pulled customer into the visitor held here it matches under the
        merge threshold (with the live margin over the runner-up); how many merges."""
        if not new_ids:
            return 0
        fresh = set(new_ids)
        held = [
            (visitor_id, feature, quality)
            for visitor_id, quality, blob in self._conn.execute(
                "SELECT t.visitor_id, t.quality, t.feature_enc FROM template t "
                "JOIN visitor v ON v.id = t.visitor_id WHERE v.kind = ?",
                (CUSTOMER,),
            )
            if visitor_id not in fresh
            for feature in [self._decrypt(visitor_id, blob)]
        ]
        if not held:
            return 0
        gallery = Gallery.from_templates(held, len(held[0][1]), self.merge_threshold)
        pairs = []
        for visitor_id in new_ids:
            templates = self._templates_of(visitor_id)
            if not templates or len(templates[0][1]) != gallery.dim:
                continue
            match = gallery.search(templates[0][1])
            if match.visitor_id is not None:
                pairs.append((visitor_id, match.visitor_id))
        merged = 0
        for a, b in pairs:
            survivor, loser = sorted((a, b))
            with immediate_transaction(self._conn):
                merged += self._merge(loser, survivor, record=True)
        if merged:
            log.info("chain: %d visitors seen at two stores merged", merged)
        return merged
