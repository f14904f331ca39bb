"""Facts about the Qt binding the app relies on for running all day."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

EMITS = 50_000  # about an hour of one camera's frame signals

CHECK = f"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Relay(QObject):
    frame = Signal(object)
relay = Relay()
received = []
relay.frame.connect(received.append)
before = sys.getrefcount(True)
for i in range({EMITS}):
    relay.frame.emit(i)
print(len(received), sys.getrefcount(True) - before)
"""


def test_signal_emission_does_not_leak_or_free_references() -> None:
    """PySide6 6.12.0 lost a reference to True per emit and aborted within minutes."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )
    assert done.returncode == 0, done.stderr[-500:]
    received, drift = (int(v) for v in done.stdout.split())
    assert received == EMITS
    assert abs(drift) < 100
