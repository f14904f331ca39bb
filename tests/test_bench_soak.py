"""bench/soak.py runs end to end for about 20 s and prints its table; numbers are checked to
exist, never for speed or memory (the machine running the tests may be busy)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench import soak
from tests.conftest import ROOT, VIDEO

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not VIDEO.is_file(), reason="test data not present"),
]


def test_the_soak_reports_memory_frames_and_visits_in_a_table() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--minutes",
            "0.33",
            "--housekeeping-minutes",
            "0.1",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert len(result["soak.cameras"]) == 4
    for key in ("rss_start_mb", "rss_end_mb", "rss_total_start_mb", "rss_total_end_mb"):
        assert result[f"soak.{key}"] > 0
    assert isinstance(result["soak.rss_slope_mb_per_hour"], float)
    assert all(n > 0 for n in result["soak.frames_analysed"])
    assert result["soak.records_lost"] == 0
    assert result["soak.integrity"] == "ok"
    assert result["soak.housekeeping_runs"] >= 1
    table = soak.markdown(result)
    for row in ("RSS start → end (MB)", "RSS slope (MB/hour)", "frames dropped", "visits recorded"):
        assert f"| {row} |" in table
    assert table.count("| demo |") == 2 and table.count("| file |") == 2
