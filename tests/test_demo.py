"""The demo's sample figures: written through the real recorder, only into a demo folder, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktopapp.core.demo import SAMPLE_DAYS, demo_data_dir, seed_sample_visits
from desktopapp.core.store.db import open_database


def test_sample_visits_fill_a_month_once_and_only_in_a_demo_folder(tmp_path: Path) -> None:
    real = tmp_path / "Raiten"
    with pytest.raises(ValueError, match="not a demo"):
        seed_sample_visits(real, datetime.now(UTC))
    assert not (real / "raiten.db").exists()

    demo = demo_data_dir(real)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    written = seed_sample_visits(demo, now)
    db = open_database(demo)
    try:
        visits, repeats, days, latest = db.execute(
            "SELECT COUNT(*), SUM(is_repeat), COUNT(DISTINCT substr(started_at, 1, 10)),"
            " MAX(ended_at) FROM visit"
        ).fetchone()
        features = db.execute("SELECT COUNT(*) FROM template").fetchone()[0]
    finally:
        db.conn.close()
    assert written == visits > 20 * SAMPLE_DAYS
    assert 0.2 < repeats / visits < 0.5, "a plausible share of returning visitors"
    assert days >= SAMPLE_DAYS - 1
    assert datetime.fromisoformat(latest) <= now, "no sample visit lies in the future"
    assert features > 0
    # Opening the demo again adds nothing.
    assert seed_sample_visits(demo, now) == 0
