"""The built-in demo: a sample notice, clearly labelled DEMO, and the demo camera.

It lets a newcomer see masking, tracking and a repeat visit within a minute, and nothing of it
is ever written into a real store's data folder.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile, SignTexts
from desktopapp.core.pipeline import AttributeSummary, TrackClosed
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.types import Gender, Vector
from desktopapp.core.visits import RecorderConfig, VisitRecorder

log = logging.getLogger(__name__)

DEMO_CAMERA_ID = 0
DEMO_SUFFIX = "-demo"
DEMO_SOURCE = SourceSpec(SourceKind.DEMO, "demo", loop=True)

DEMO_NOTICE = NoticeProfile(
    operator="DEMO — Raiten sample operator",
    store="DEMO store",
    purpose=(
        "DEMO: repeat-visit analysis; face feature data is matched to recognise returning "
        "visitors. This sample notice is for trying Raiten only."
    ),
    items=["face feature data", "visit date and time", "estimated age band and gender"],
    contact="DEMO contact (not a real store)",
    policy_url="https://example.invalid/demo-policy",
    feedback_url="https://example.invalid/demo-feedback",
    retention_days=1,
    mode=Mode.REPEAT,
    language="en",
    texts={
        "ja": SignTexts(
            operator="デモ — Raiten サンプル事業者",
            store="デモ店舗",
            purpose=(
                "デモ: 再来店分析。顔特徴量を照合して再来店を判定します。このサンプルの告知は"
                "Raiten を試すためだけのものです。"
            ),
            items=["顔特徴量", "来店の日時", "推定した年代・性別"],
            contact="デモの問い合わせ先（実在の店舗ではありません）",
        )
    },
)


def demo_data_dir(data_dir: Path) -> Path:
    """The demo's own data folder beside the real one: a separate database, key and settings,
    so nothing of the demo can mix with a real store's data."""
    return data_dir.with_name(data_dir.name + DEMO_SUFFIX)


# Sample figures for the demo's dashboard: a month of a small shop, drawn from a fixed seed
# so every newcomer sees the same plausible picture (busier at lunch and after work, a third of
# the visits by returning visitors). Written through the real recorder, so they are retained,
# folded into statistics and suppressed exactly like recorded visits.
SAMPLE_DAYS = 30
SAMPLE_SEED = 20180301
_OPENING_HOURS = range(10, 20)
_HOUR_WEIGHT = {10: 1, 11: 2, 12: 4, 13: 3, 14: 2, 15: 2, 16: 2, 17: 4, 18: 4, 19: 2}
_DIM = 128


def seed_sample_visits(data_dir: Path, now: datetime) -> int:
    """Fill the demo's folder with a month of sample visits up to ``now``; the number
    written. Nothing is written while the folder holds visits or statistics of that month,
    so opening the demo again does not pile samples up, and an old sample is renewed."""
    if not data_dir.name.endswith(DEMO_SUFFIX):
        raise ValueError(f"{data_dir} is not a demo data folder")
    db = open_database(data_dir)
    try:
        since = (now - timedelta(days=SAMPLE_DAYS)).astimezone(UTC).isoformat()
        held = db.execute(
            "SELECT (SELECT COUNT(*) FROM visit WHERE started_at >= ?)"
            " + (SELECT COUNT(*) FROM stat_visit_hour WHERE hour >= substr(?, 1, 13))",
            (since, since),
        ).fetchone()[0]
        if held:
            return 0
        config = RecorderConfig(
            operator=DEMO_NOTICE.operator,
            store=DEMO_NOTICE.store,
            mode=DEMO_NOTICE.mode,
            retention=RetentionPolicy(DEMO_NOTICE.retention_days, DEMO_NOTICE.retention_from),
            model="demo-sample",
            threshold=0.8,
        )
        recorder = VisitRecorder(
            VisitStore(db, Cipher(load_key(data_dir))),
            config,
            to_datetime=lambda t: datetime.fromtimestamp(t, UTC),
            now=lambda: now,
        )
        return _record_sample(recorder, now)
    finally:
        db.conn.close()


def _record_sample(recorder: VisitRecorder, now: datetime) -> int:
    rng = np.random.default_rng(SAMPLE_SEED)
    regulars: list[tuple[Vector, float, Gender]] = []
    # Opening hours are the shop's local hours.
    local = now.astimezone()
    start = (local - timedelta(days=SAMPLE_DAYS - 1)).replace(minute=0, second=0, microsecond=0)
    written = 0
    track = 0
    for day in range(SAMPLE_DAYS):
        for hour in _OPENING_HOURS:
            moment = start.replace(hour=hour) + timedelta(days=day)
            for _ in range(int(rng.poisson(_HOUR_WEIGHT[hour] * 1.5))):
                first = moment + timedelta(minutes=float(rng.uniform(0, 55)))
                last = first + timedelta(minutes=float(rng.uniform(2, 25)))
                if last > now:
                    continue
                if regulars and rng.random() < 0.35:
                    base, age, gender = regulars[int(rng.integers(len(regulars)))]
                    feature = _unit(base + rng.normal(0, 0.05, _DIM).astype(np.float32))
                else:
                    feature = _unit(rng.normal(0, 1, _DIM).astype(np.float32))
                    age = float(rng.choice([16, 24, 33, 45, 52, 66, 74]))
                    gender = Gender.FEMALE if rng.random() < 0.55 else Gender.MALE
                    regulars.append((feature, age, gender))
                track += 1
                event = TrackClosed(
                    camera_id=DEMO_CAMERA_ID,
                    track_id=track,
                    first_seen=first.timestamp(),
                    last_seen=last.timestamp(),
                    hits=20,
                    feature=feature,
                    templates=((0.9, feature),),
                    attributes=AttributeSummary(age, gender, 0.9, 5),
                    path=(),
                )
                if recorder.record(event).outcome == "visit":
                    written += 1
    log.info("demo: %d sample visits written", written)
    return written


def _unit(vector: Vector) -> Vector:
    return vector / np.linalg.norm(vector)
