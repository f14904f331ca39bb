"""What deleting personal data reports: the retention sweep's and the purge's counts, and the
error of a deletion that committed but could not scrub the file's free pages."""

from desktopapp.core.store.purge import PurgeResult
from desktopapp.core.store.retention import ScrubIncompleteError, SweepResult

__all__ = ["PurgeResult", "ScrubIncompleteError", "SweepResult"]
