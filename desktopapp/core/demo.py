"""The built-in demo: a sample notice, clearly labelled DEMO, and the demo camera.

It lets a newcomer see masking, tracking and a repeat visit within a minute, and nothing of it
is ever written into a real store's data folder.
"""

from __future__ import annotations

from pathlib import Path

from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile
from desktopapp.core.sources import SourceKind, SourceSpec

DEMO_CAMERA_ID = 0
DEMO_SOURCE = SourceSpec(SourceKind.DEMO, "demo", loop=True)

DEMO_NOTICE = NoticeProfile(
    operator="DEMO — Raiten sample operator",
    store="DEMO store",
    purpose=(
        "DEMO: repeat-visit analysis; face feature data is matched to recognise returning "
        "visitors. This sample notice is for trying Raiten only."
    ),
    items=["face feature data", "visit date and time", "estimated age band and gender"],
    contact="DEMO contact (not a real store)",
    policy_url="https://example.invalid/demo-policy",
    feedback_url="https://example.invalid/demo-feedback",
    retention_days=1,
    mode=Mode.REPEAT,
    language="en",
)


def demo_data_dir(data_dir: Path) -> Path:
    """The demo's own data folder beside the real one: a separate database, key and settings,
    so nothing of the demo can mix with a real store's data."""
    return data_dir.with_name(data_dir.name + "-demo")
