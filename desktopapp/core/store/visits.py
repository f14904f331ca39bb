"""Visitors, their encrypted templates, visits and coarse paths: the SQL of repeat analysis.

Every statement is portable (no SQLite-only syntax) so the PostgreSQL backend can share it.
Feature vectors exist in this module only as AES-GCM ciphertext bound to their visitor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import sqlite_utils

from desktopapp.core.store.crypto import Cipher
from desktopapp.core.store.zones import NOWHERE, add_zone_dwell, camera_zones
from desktopapp.core.vectors import Vector

log = logging.getLogger(__name__)

# Visitor kinds: customers are counted; staff and opt-outs (do not track) keep people out.
CUSTOMER, STAFF, DO_NOT_TRACK = "customer", "staff", "dnt"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _template_context(visitor_id: str) -> bytes:
    # Binding the ciphertext to its visitor stops a template being moved to another visitor.
    return f"template:{visitor_id}".encode()


@dataclass(frozen=True, slots=True)
class StoredVisitor:
    visitor_id: str
    kind: str
    first_seen: datetime
    last_seen: datetime
    visit_count: int


@dataclass(frozen=True, slots=True)
class PathPoint:
    camera_id: int
    at: datetime
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class NewVisit:
    store_id: int
    visitor_id: str | None
    started_at: datetime
    ended_at: datetime
    age_band: str | None
    gender: str | None
    is_repeat: bool
    visit_number: int
    mode: str
    path: tuple[PathPoint, ...] = ()


class VisitStore:
    def __init__(self, db: sqlite_utils.Database, cipher: Cipher):
        self.db = db
        self._cipher = cipher

    def ensure_operator_and_store(
        self, operator: str, store: str, now: datetime
    ) -> tuple[int, int]:
        """The database's one operator (G-06) and the named store, created on first use."""
        row = self.db.execute("SELECT id, name FROM operator ORDER BY id LIMIT 1").fetchone()
        if row is None:
            cursor = self.db.conn.execute(
                "INSERT INTO operator (name, share_gallery, created_at) VALUES (?, 0, ?)",
                (operator, _iso(now)),
            )
            operator_id = int(cursor.lastrowid or 0)
        else:
            operator_id = int(row[0])
            if row[1] != operator:
                self.db.conn.execute(
                    "UPDATE operator SET name = ? WHERE id = ?", (operator, operator_id)
                )
        found = self.db.execute("SELECT id FROM store WHERE name = ?", (store,)).fetchone()
        if found is not None:
            return operator_id, int(found[0])
        cursor = self.db.conn.execute(
            "INSERT INTO store (operator_id, name, created_at) VALUES (?, ?, ?)",
            (operator_id, store, _iso(now)),
        )
        return operator_id, int(cursor.lastrowid or 0)

    def share_gallery(self, operator_id: int) -> bool:
        row = self.db.execute(
            "SELECT share_gallery FROM operator WHERE id = ?", (operator_id,)
        ).fetchone()
        return bool(row and row[0])

    def templates(
        self, operator_id: int, kind: str, store_id: int | None, model: str
    ) -> Iterator[tuple[str, Vector, float]]:
        """Decrypted templates of one gallery: the operator's visitors of ``kind`` made by the
        features model ``model``, limited to visitors first seen at ``store_id`` unless the
        operator shares the gallery (None). Another model's vectors are not comparable."""
        sql = (
            "SELECT t.visitor_id, t.feature_enc, t.quality FROM template t "
            "JOIN visitor v ON v.id = t.visitor_id "
            "WHERE v.operator_id = ? AND v.kind = ? AND t.model = ?"
        )
        params: list[object] = [operator_id, kind, model]
        if store_id is not None:
            sql += " AND v.home_store_id = ?"
            params.append(store_id)
        for visitor_id, blob, quality in self.db.execute(sql, params):
            plain = self._cipher.decrypt(bytes(blob), _template_context(visitor_id))
            yield visitor_id, np.frombuffer(plain, dtype=np.float32).copy(), float(quality)

    def visitors_of_other_models(
        self, operator_id: int | None, kinds: Sequence[str], model: str
    ) -> list[tuple[str, str, int]]:
        """(kind, model, visitors) of the visitors of ``kinds`` whose templates another
        features model than ``model`` made; every operator's when ``operator_id`` is None."""
        marks = ", ".join("?" for _ in kinds)
        sql = (
            "SELECT v.kind, t.model, COUNT(DISTINCT v.id) FROM template t "
            f"JOIN visitor v ON v.id = t.visitor_id WHERE v.kind IN ({marks}) AND t.model != ?"
        )
        params: list[object] = [*kinds, model]
        if operator_id is not None:
            sql += " AND v.operator_id = ?"
            params.append(operator_id)
        sql += " GROUP BY v.kind, t.model ORDER BY v.kind, t.model"
        return [(str(k), str(m), int(n)) for k, m, n in self.db.execute(sql, params)]

    def add_visitor(
        self,
        visitor_id: str,
        *,
        operator_id: int,
        store_id: int,
        kind: str,
        seen: datetime,
        expires_at: datetime,
    ) -> None:
        self.db.conn.execute(
            "INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, last_seen, "
            "visit_count, expires_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            (visitor_id, operator_id, store_id, kind, _iso(seen), _iso(seen), _iso(expires_at)),
        )

    def visitor(self, visitor_id: str) -> StoredVisitor | None:
        row = self.db.execute(
            "SELECT id, kind, first_seen, last_seen, visit_count FROM visitor WHERE id = ?",
            (visitor_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredVisitor(
            row[0],
            row[1],
            datetime.fromisoformat(row[2]),
            datetime.fromisoformat(row[3]),
            int(row[4]),
        )

    def update_visitor(
        self, visitor_id: str, last_seen: datetime, visit_count: int, expires_at: datetime
    ) -> None:
        self.db.conn.execute(
            "UPDATE visitor SET last_seen = ?, visit_count = ?, expires_at = ? WHERE id = ?",
            (_iso(last_seen), visit_count, _iso(expires_at), visitor_id),
        )

    def replace_templates(
        self,
        visitor_id: str,
        model: str,
        templates: Sequence[tuple[float, Vector]],
        now: datetime,
    ) -> None:
        """The visitor's templates become exactly ``templates`` (the gallery's best K)."""
        self.replace_many_templates([(visitor_id, model, templates)], now)

    def replace_many_templates(
        self,
        entries: Sequence[tuple[str, str, Sequence[tuple[float, Vector]]]],
        now: datetime,
    ) -> None:
        """The same for many visitors (visitor, model, templates) in two statements: the
        chain's pull writes thousands at a time."""
        created = _iso(now)
        self.db.conn.executemany(
            "DELETE FROM template WHERE visitor_id = ?", [(entry[0],) for entry in entries]
        )
        self.db.conn.executemany(
            "INSERT INTO template (visitor_id, model, quality, feature_enc, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    visitor_id,
                    model,
                    float(quality),
                    self._cipher.encrypt(
                        np.asarray(feature, dtype=np.float32).tobytes(),
                        _template_context(visitor_id),
                    ),
                    created,
                )
                for visitor_id, model, templates in entries
                for quality, feature in templates
            ],
        )

    def last_visit(self, visitor_id: str, store_id: int) -> tuple[int, datetime, datetime] | None:
        """(visit id, started_at, ended_at) of the visitor's latest visit to this store."""
        row = self.db.execute(
            "SELECT id, started_at, ended_at FROM visit WHERE visitor_id = ? AND store_id = ? "
            "ORDER BY ended_at DESC LIMIT 1",
            (visitor_id, store_id),
        ).fetchone()
        if row is None:
            return None
        return int(row[0]), datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2])

    def visit_span(self, visit_id: int) -> tuple[str | None, datetime, datetime] | None:
        """(visitor id or None, started_at, ended_at) of a visit; None if it is gone."""
        row = self.db.execute(
            "SELECT visitor_id, started_at, ended_at FROM visit WHERE id = ?", (visit_id,)
        ).fetchone()
        if row is None:
            return None
        return row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2])

    def add_visit(self, visit: NewVisit) -> int:
        cursor = self.db.conn.execute(
            "INSERT INTO visit (store_id, visitor_id, started_at, ended_at, dwell_seconds, "
            "age_band, gender, is_repeat, visit_number, mode) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                visit.store_id,
                visit.visitor_id,
                _iso(visit.started_at),
                _iso(visit.ended_at),
                (visit.ended_at - visit.started_at).total_seconds(),
                visit.age_band,
                visit.gender,
                int(visit.is_repeat),
                visit.visit_number,
                visit.mode,
            ),
        )
        visit_id = int(cursor.lastrowid or 0)
        self.add_path(visit_id, visit.path)
        return visit_id

    def extend_visit(self, visit_id: int, started_at: datetime, ended_at: datetime) -> None:
        self.db.conn.execute(
            "UPDATE visit SET ended_at = ?, dwell_seconds = ? WHERE id = ?",
            (_iso(ended_at), (ended_at - started_at).total_seconds(), visit_id),
        )

    def add_path(self, visit_id: int, path: Sequence[PathPoint]) -> None:
        """Keep a track's path with its visit, each point also where it stands on the floor
        plan, and the time it spent in the camera's zones."""
        zones = camera_zones(self.db.conn, {p.camera_id for p in path})
        self.db.conn.executemany(
            "INSERT INTO path_point (visit_id, camera_id, at, x, y, floor_x, floor_y) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    visit_id,
                    p.camera_id,
                    _iso(p.at),
                    p.x,
                    p.y,
                    *zones.get(p.camera_id, NOWHERE).on_plan(p.x, p.y),
                )
                for p in path
            ],
        )
        add_zone_dwell(self.db.conn, visit_id, [(p.camera_id, p.at, p.x, p.y) for p in path], zones)
