"""Where shipped resources (translations, icons, signage templates) are on this install."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The source tree's ``resources/``, a wheel's ``desktopapp/_resources``, or a bundle's."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"
    package_dir = Path(__file__).resolve().parents[1]
    source_tree = package_dir.parent / "resources"
    if source_tree.is_dir():
        return source_tree
    return package_dir / "_resources"
