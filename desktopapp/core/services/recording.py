"""The visit writer: the one thread that records the cameras' visits (core.store.writer), and
its health for the status bar."""

from __future__ import annotations

from pathlib import Path

from desktopapp.core.config import VisionConfig
from desktopapp.core.store.db import DB_FILE
from desktopapp.core.store.writer import StoreWriter, WriterHealth
from desktopapp.core.visits import VisitRecorder, open_recorder

__all__ = ["StoreWriter", "WriterHealth", "visit_writer"]


def visit_writer(data_dir: Path, vision: VisionConfig) -> StoreWriter[VisitRecorder]:
    """A writer whose thread opens its own recorder on the database of ``data_dir``."""
    return StoreWriter(lambda: open_recorder(data_dir, vision), path=data_dir / DB_FILE)
