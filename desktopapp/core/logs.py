"""Debug logging to a rotating file in the data dir. The audit log is a separate table."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_DIR = "logs"
LOG_FILE = "raiten.log"


def setup_logging(data_dir: Path, *, verbose: bool = False) -> Path | None:
    """Send our logs to ``<data dir>/logs/raiten.log``; returns the file, or None if unwritable."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for existing in list(root.handlers):
        if getattr(existing, "_raiten", False):
            root.removeHandler(existing)
            existing.close()
    log_path = data_dir / LOG_DIR / LOG_FILE
    written: Path | None = log_path
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
    except OSError:
        # A read-only data dir must not stop the app; it still reports to stderr.
        handler = logging.StreamHandler()
        written = None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    handler._raiten = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    return written


def log_file() -> Path | None:
    """The file ``setup_logging`` writes to, for messages that point the operator at it."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_raiten", False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None
