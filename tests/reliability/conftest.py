"""Shared parts of the reliability suite: real faults on real parts.

A full disk is a real size-limited tmpfs and a read-only disk a real read-only mount; both
need root (mount(2)), which the CI machine has. Without it those tests skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktopapp.core.config import Settings, save_settings
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile
from desktopapp.core.setup import FirstRunAnswers
from desktopapp.core.workspace import Workspace
from desktopapp.ui.i18n import install_translator
from tests.test_notice import COMPLETE

PASSWORD = "kanri2026store"
PROFILE = NoticeProfile.model_validate(tomllib.loads(COMPLETE))
# Attribute analysis keeps no identity and loads no feature model: the cheapest complete notice.
ATTRIBUTES_PROFILE = PROFILE.model_copy(update={"mode": Mode.ATTRIBUTES})


def set_up(data_dir: Path, profile: NoticeProfile = PROFILE) -> None:
    """A data folder as the first-run wizard leaves it: notice in force, admin "tanaka"."""
    workspace = Workspace(data_dir, Settings())
    workspace.complete_first_run(FirstRunAnswers(profile, "tanaka", PASSWORD))
    workspace.close()


def set_up_in_japanese(data_dir: Path, profile: NoticeProfile = PROFILE) -> Settings:
    """``set_up``, with the operator's language saved as Japanese: the settings saved."""
    set_up(data_dir, profile)
    settings = Settings()
    settings.ui.language = "ja"
    save_settings(data_dir, settings)
    return settings


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


class Mount:
    """A tmpfs of ``size`` at ``path``, which can be filled up, made read-only and back."""

    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip()}")
        self.filler = path / "filler.bin"

    def fill(self) -> None:
        """Write until the disk is full."""
        with contextlib.suppress(OSError), self.filler.open("ab") as handle:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool) -> None:
        done = _mount("-o", f"remount,{'ro' if on else 'rw'}", str(self.path))
        assert done.returncode == 0, done.stderr

    def unmount(self) -> None:
        _mount("-o", "remount,rw", str(self.path))
        done = subprocess.run(
            ["umount", str(self.path)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:  # something still has a file open: detach it lazily
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Mount]:
    if os.geteuid() != 0:
        pytest.skip("a full or read-only disk is a real tmpfs mount, which needs root")
    mount = Mount(tmp_path / "disk", "4m")
    try:
        yield mount
    finally:
        mount.unmount()


@pytest.fixture
def japanese(qapp: QApplication) -> Iterator[None]:
    """Raiten's Japanese translation installed for the test, removed afterwards."""
    translators = install_translator(qapp, "ja")
    try:
        yield
    finally:
        for translator in translators:
            qapp.removeTranslator(translator)
