"""Camera work runs below the UI's priority.

Four cameras keep both cores busy. At equal priority the operating system gave the UI thread
its turn late, and the live view stalled 60-100 ms at a time (bench/pipeline.py, GUI phase);
with the capture and analysis threads and the feature processes lowered, the UI thread, which
needs little CPU, gets it at once, while the cameras still take every cycle it leaves. On a
shared back-office PC the operator's other programs come first as well: a camera that falls
behind defers shots and drops frames, which it is built to do.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

# POSIX nice levels added to the caller (at most 19).
NICE_STEP = 10
# Windows: THREAD_PRIORITY_BELOW_NORMAL and BELOW_NORMAL_PRIORITY_CLASS.
_WIN_THREAD_BELOW_NORMAL = -1
_WIN_PROCESS_BELOW_NORMAL = 0x00004000


def lower_this_thread() -> None:
    """Lower the calling thread's scheduling priority (not the process's)."""
    try:
        if sys.platform == "win32":
            import ctypes  # noqa: PLC0415 - Windows only

            kernel32 = ctypes.windll.kernel32
            kernel32.SetThreadPriority(kernel32.GetCurrentThread(), _WIN_THREAD_BELOW_NORMAL)
        else:
            # On Linux a thread id names one thread here; elsewhere this lowers the process.
            tid = threading.get_native_id() if sys.platform.startswith("linux") else 0
            current = os.getpriority(os.PRIO_PROCESS, tid)
            os.setpriority(os.PRIO_PROCESS, tid, min(19, current + NICE_STEP))
    except (OSError, AttributeError) as exc:
        log.debug("thread priority left as it is: %s", exc)


def lower_this_process() -> None:
    """Lower the calling process's priority (a child doing camera work)."""
    try:
        if sys.platform == "win32":
            import ctypes  # noqa: PLC0415 - Windows only

            kernel32 = ctypes.windll.kernel32
            kernel32.SetPriorityClass(kernel32.GetCurrentProcess(), _WIN_PROCESS_BELOW_NORMAL)
        else:
            os.nice(NICE_STEP)
    except (OSError, AttributeError) as exc:
        log.debug("process priority left as it is: %s", exc)
