"""Simulated store PCs for the chain tests: each a data folder of its own with a visit recorder
fed synthetic tracks, as the pipeline would feed it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from desktopapp.core.chain import membership
from desktopapp.core.chain.sync import ChainSync, SyncResult
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.requests import PublicRequests
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy, sweep
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.types import Gender
from desktopapp.core.visits import Recorded, RecorderConfig, VisitRecorder

OPERATOR = "Sample Shoten"
# The server's clock is the later of its own and the store's (a store can move time forward,
# never back), so the simulated stores start from today and move into the future.
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
THRESHOLD = 0.92
RETENTION_DAYS = 30
DIM = 128


def local_morning(days_ago: int) -> datetime:
    """10:00 local time ``days_ago`` days before today, in UTC: visits an hour apart from there
    fall on one local day, as the dashboard counts days, whatever the hour the test runs."""
    today = datetime.now().astimezone().replace(hour=10, minute=0, second=0, microsecond=0)
    return (today - timedelta(days=days_ago)).astimezone(UTC)


def person(seed: int) -> np.ndarray:
    """A person's face feature: a random unit vector (random ones are far apart in 128-d)."""
    vector = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return vector / np.linalg.norm(vector)


def seen(feature: np.ndarray, seed: int, noise: float = 0.02) -> np.ndarray:
    """The same face seen again: the feature with a little noise (cosine about 0.98)."""
    jitter = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32) * noise
    vector = feature + jitter
    return (vector / np.linalg.norm(vector)).astype(np.float32)


class Store:
    """One store PC: its own data folder, database, key and clock."""

    def __init__(self, root: Path, name: str, operator: str = OPERATOR):
        self.name = name
        self.operator = operator
        self.data = root / name
        self.now = BASE
        self.db = open_database(self.data)
        self.cipher = Cipher(load_key(self.data))
        self._recorder: VisitRecorder | None = None
        self._tracks = 0

    def clock(self) -> datetime:
        return self.now

    @property
    def recorder(self) -> VisitRecorder:
        if self._recorder is None:
            self._recorder = VisitRecorder(
                VisitStore(self.db, self.cipher),
                RecorderConfig(
                    operator=self.operator,
                    store=self.name,
                    mode=Mode.REPEAT,
                    retention=RetentionPolicy(days=RETENTION_DAYS),
                    threshold=THRESHOLD,
                ),
                to_datetime=lambda t: BASE + timedelta(seconds=t),
                now=self.clock,
            )
        return self._recorder

    def visit(self, feature: np.ndarray) -> Recorded:
        """A track of this face closes now (one visit, well apart from the last)."""
        self._tracks += 1
        start = (self.now - BASE).total_seconds()
        event = TrackClosed(
            camera_id=1,
            track_id=self._tracks,
            first_seen=start,
            last_seen=start + 30,
            hits=10,
            feature=feature,
            templates=((0.9, feature),),
            attributes=AttributeSummary(35.0, Gender.FEMALE, 0.9, 3),
            path=((start, 0.2, 0.5), (start + 1, 0.3, 0.5)),
        )
        result = self.recorder.record(event)
        self.now += timedelta(hours=1)
        return result

    def join(self, enrolment: Path) -> membership.Joined:
        return membership.join(self.db, self.cipher, enrolment, self.name, self.now)

    def syncer(self) -> ChainSync:
        return ChainSync(self.db, self.cipher, threshold=THRESHOLD, now=self.clock)

    def sync(self) -> SyncResult:
        result = self.syncer().sync()
        if self._recorder is not None:
            self._recorder.reload_galleries()
        return result

    def erase(self, visitor_id: str) -> None:
        """The counter's erasure request (G-08), as the GUI runs it."""
        PublicRequests(
            self.db, self.cipher, AuditLog(self.db), threshold=THRESHOLD, dim=DIM, model=""
        ).erase(visitor_id, actor="user:counter")

    def retention(self) -> None:
        sweep(self.db, RetentionPolicy(days=RETENTION_DAYS), self.now)

    def visitors(self) -> set[str]:
        return {str(r[0]) for r in self.db.execute("SELECT id FROM visitor")}

    def customers(self) -> set[str]:
        return {
            str(r[0]) for r in self.db.execute("SELECT id FROM visitor WHERE kind = 'customer'")
        }

    def close(self) -> None:
        self.db.conn.close()


@contextmanager
def stores(root: Path, *names: str, operator: str = OPERATOR) -> Iterator[list[Store]]:
    opened = [Store(root, name, operator) for name in names]
    try:
        yield opened
    finally:
        for store in opened:
            store.close()


def new_chain(admin_url: str, root: Path, operator: str = OPERATOR) -> Path:
    """Create the operator on the server; the enrolment file's path."""
    out = root / f"{operator.replace(' ', '_')}.enrol"
    membership.init_operator(admin_url, out, operator)
    return out


def at_similarity(feature: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine similarity with ``feature`` is exactly ``cosine``."""
    other = np.random.default_rng(seed).standard_normal(DIM).astype(np.float64)
    base = feature.astype(np.float64)
    other -= (other @ base) * base
    other /= np.linalg.norm(other)
    return (cosine * base + np.sqrt(1 - cosine**2) * other).astype(np.float32)


def server_rows(admin_url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    import psycopg  # noqa: PLC0415

    with psycopg.connect(admin_url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []
