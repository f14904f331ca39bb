"""The visit writer: the one thread that records the cameras' visits (core.store.writer), and
its health for the status bar."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktopapp.core.config import VisionConfig
from desktopapp.core.store.db import DB_FILE
from desktopapp.core.store.writer import StoreWriter, WriterHealth
from desktopapp.core.visit_join import VisitJoiner, open_joiner

__all__ = ["StoreWriter", "VisitJoiner", "WriterHealth", "visit_writer"]


def visit_writer(
    data_dir: Path,
    vision: VisionConfig,
    plan_size_m: Callable[[], tuple[float, float] | None] = lambda: None,
) -> StoreWriter[VisitJoiner]:
    """A writer whose thread opens its own recorder on the database of ``data_dir``, joining
    the store's cameras into one visit (core.visit_join) by distances on a floor plan of
    ``plan_size_m()`` metres (asked as it goes)."""
    return StoreWriter(lambda: open_joiner(data_dir, vision, plan_size_m), path=data_dir / DB_FILE)
