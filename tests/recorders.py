"""The repeat-mode visit recorder the footage tests record their analysers' events with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.engine import VisionEngine, match_margin
from desktopapp.core.visits import RecorderConfig, VisitRecorder

# The footage's second 0 falls on this moment.
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def repeat_recorder(data: Path, engine: VisionEngine | None = None) -> VisitRecorder:
    """A repeat-mode recorder on a new database in ``data`` that matches as ``engine``'s
    feature model does (without one: the recorder's defaults), its clock at BASE plus the
    footage's seconds."""
    matching: dict[str, Any] = {}
    if engine is not None:
        embedder = engine.embedder
        assert embedder is not None, "a repeat-mode engine computes features"
        matching = {
            "model": embedder.info.model_id,
            "threshold": embedder.threshold,
            "margin": match_margin(VisionConfig()),
            "dim": embedder.dim,
        }
    return VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator="Op",
            store="Arcade",
            mode=Mode.REPEAT,
            retention=RetentionPolicy(days=30),
            **matching,
        ),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )
