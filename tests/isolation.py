"""Tests that run in a pytest process of their own.

Collecting the whole suite imports tests/test_no_image_storage.py, whose ``sys.addaudithook``
cannot be removed; with that hook installed, face detection on a worker thread intermittently
corrupted the heap of the test process (docs/decisions.md). The app itself installs no audit
hook. A test that captures faces on a worker thread is therefore skipped in the suite's process
and run again, alone, by a companion test that calls ``run_alone``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ISOLATED = "RAITEN_ISOLATED_TEST"


def in_own_process() -> bool:
    return bool(os.environ.get(ISOLATED))


def only_in_own_process() -> None:
    """First line of a test that may run only alone."""
    if not in_own_process():
        pytest.skip("runs in its own process: see the test that starts it")


def run_alone(test_file: str, name: str, cwd: Path) -> None:
    """Run ``test_file::name`` in a fresh pytest and require that it passed."""
    if in_own_process():
        pytest.skip("already the isolated run")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{test_file}::{name}"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, ISOLATED: "1", "QT_QPA_PLATFORM": "offscreen"},
        cwd=cwd,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
