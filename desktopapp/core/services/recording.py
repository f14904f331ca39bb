"""The visit writer: the one thread that records the cameras' visits (core.store.writer), and
its health for the status bar."""

from __future__ import annotations

from pathlib import Path

from desktopapp.core.config import VisionConfig
from desktopapp.core.store.db import DB_FILE
from desktopapp.core.store.writer import StoreWriter, WriterHealth
from desktopapp.core.visit_join import VisitJoiner, open_joiner

__all__ = ["StoreWriter", "VisitJoiner", "WriterHealth", "visit_writer"]


def visit_writer(data_dir: Path, vision: VisionConfig) -> StoreWriter[VisitJoiner]:
    """A writer whose thread opens its own recorder on the database of ``data_dir``, joining
    the store's cameras into one visit (core.visit_join)."""
    return StoreWriter(lambda: open_joiner(data_dir, vision), path=data_dir / DB_FILE)
