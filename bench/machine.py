"""What every benchmark reports about the machine it ran on, so figures can be compared."""

from __future__ import annotations

import os
import platform
from typing import Any


def load_average() -> float | None:
    """The one-minute load average; a loaded machine explains a slow figure."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def machine() -> dict[str, Any]:
    """CPUs, platform and the load average at the start of a run."""
    return {
        "machine.cpus": os.cpu_count(),
        "machine.platform": platform.platform(),
        "machine.loadavg_start": load_average(),
    }
