"""The feature processes end with the app, however the app ends (core/vision/remote.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.streams import wait_for

ROOT = Path(__file__).resolve().parents[1]

# A process that starts the app's feature processes, says their ids and then dies as a crash
# would: killed, with no clean-up of any kind.
_CRASHING_APP = """
import os, signal, sys
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
engine = engine_for_mode(VisionConfig(feature_processes=2), Mode.REPEAT)
children = list(engine.embedder._pool.executor._processes)
print(" ".join(str(pid) for pid in children), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that has ended but whose parent has not reaped it yet is as good as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def test_the_feature_processes_end_when_the_app_is_killed() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CRASHING_APP],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    children = [int(pid) for pid in done.stdout.split()]
    assert children
    try:
        assert wait_for(lambda: not any(_alive(pid) for pid in children), 30), (
            "feature processes outlived the app"
        )
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
