"""``raiten --self-test``: proves that an installation — a checkout, a wheel or a frozen bundle —
is complete. The GUI half (main window, demo camera) lives in ``desktopapp.ui.app``; this is the
Qt-free half: a throw-away data folder, and every default model verified and run once.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desktopapp.core.demo import DEMO_NOTICE
from desktopapp.core.notice import NoticeVersion
from desktopapp.core.reports.signage import SignageOptions, signage_pdf, signage_preview_png
from desktopapp.core.resources import resources_dir
from desktopapp.core.sources import demo_frame
from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.registry import ModelRegistry, platform_tag
from desktopapp.core.vision.types import Face, Role

log = logging.getLogger(__name__)

SCRATCH_PREFIX = "raiten-self-test-"
SCRATCH_DATA = "data"
# A demo picture in which the person's whole face is in view (eight seconds into the demo).
PROBE_FRAME = 120
# Detection first: the other face models run on the face it finds.
_ROLE_ORDER = (Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES, Role.PERSON_DETECTION)


# Files the app opens from resources_dir(): the demo picture, the font embedded in PDFs, the
# Japanese translation, the window icon, and the notices that must travel with the first two.
RESOURCES = (
    "demo/astronaut.png",
    "demo/NOTICE.txt",
    "fonts/ipaexg.ttf",
    "fonts/IPA_Font_License_Agreement_v1.0.txt",
    "translations/raiten_ja.qm",
    "icons/raiten.png",
)


class SelfTestError(Exception):
    """The installation is incomplete or broken; ``str()`` says what failed."""


def scratch_data_dir() -> Path:
    """A new data folder inside a new temporary folder. The demo's folder is made beside the
    data folder (``demo_data_dir``), so it lands in the same temporary folder."""
    return Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX)) / SCRATCH_DATA


def isolate_keyring() -> None:
    """Keep the self-test's data keys out of the operator's OS keyring: with the keyring's
    "fail" backend every data folder falls back to a key file inside the scratch folder."""
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"


def remove_scratch(data_dir: Path) -> bool:
    """Delete the scratch folder of ``data_dir``; False if something could not be deleted."""
    scratch = data_dir.parent
    if data_dir.name != SCRATCH_DATA or not scratch.name.startswith(SCRATCH_PREFIX):
        raise ValueError(f"{data_dir} is not a self-test data folder")
    # Our log file is in there: an open handle would keep Windows from deleting it.
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_raiten", False):
            root.removeHandler(handler)
            handler.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return not scratch.exists()


def missing_resources() -> list[str]:
    """The shipped resource files that this installation lacks."""
    root = resources_dir()
    return [name for name in RESOURCES if not (root / name).is_file()]


def process_age() -> float | None:
    """Seconds since this process started, so a cold start includes the interpreter's (or the
    bundle's) own start-up; None where the OS does not tell (only Linux's /proc is read)."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        uptime = float(Path("/proc/uptime").read_text(encoding="ascii").split()[0])
        # Field 22 (starttime, in clock ticks since boot); the command name before it may
        # hold spaces, so count from the closing parenthesis (field 3 is the first after it).
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        return max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def check_signage() -> int:
    """Lay out the demo's Japanese entrance sign as a PDF and as its preview, in memory: the
    embedded font, reportlab's drawing, its QR code and renderPM all come from this
    installation. Returns the PDF's size in bytes."""
    notice = NoticeVersion(1, datetime.now(UTC), DEMO_NOTICE)
    options = SignageOptions("ja", "A4")
    try:
        pdf = signage_pdf(notice, options)
        preview = signage_preview_png(notice, options, width_px=200)
    except Exception as exc:
        raise SelfTestError(f"the entrance sign cannot be drawn: {exc!r}") from exc
    if not pdf.startswith(b"%PDF") or not preview.startswith(b"\x89PNG"):
        raise SelfTestError("the entrance sign came out empty")
    return len(pdf)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    model_id: str
    role: Role
    files_verified: int
    load_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "role": self.role.value,
            "files_verified": self.files_verified,
            "load_s": round(self.load_seconds, 3),
        }


def load_default_models(registry: ModelRegistry | None = None) -> list[LoadedModel]:
    """Verify (SHA-256) and load every default model of this platform, then run each once on
    a demo picture: a missing native library or data file fails here, naming the model."""
    registry = registry or ModelRegistry.load()
    entries = [e for e in registry.entries() if e.default]
    missing = [r.value for r in _ROLE_ORDER if not any(e.role is r for e in entries)]
    if missing:
        raise SelfTestError(f"the model manifest names no default model for {', '.join(missing)}")
    entries.sort(key=lambda e: _ROLE_ORDER.index(e.role))
    image = demo_frame(PROBE_FRAME)
    face: Face | None = None
    loaded = []
    for entry in entries:
        started = time.perf_counter()
        model = load_backend(registry, entry, threads=1)
        seconds = time.perf_counter() - started
        try:
            if entry.role is Role.FACE_DETECTION:
                faces = model.detect(image)
                if not faces:
                    raise SelfTestError(f"{entry.model_id} found no face in the demo picture")
                face = faces[0]
            elif entry.role is Role.PERSON_DETECTION:
                if not model.detect(image):
                    raise SelfTestError(f"{entry.model_id} found no person in the demo picture")
            elif face is not None and entry.role is Role.FACE_FEATURES:
                model.embed(image, face)
            elif face is not None and entry.role is Role.FACE_ATTRIBUTES:
                model.estimate(image, face)
        except SelfTestError:
            raise
        except Exception as exc:
            raise SelfTestError(f"{entry.model_id} loaded but failed to run: {exc!r}") from exc
        files = len(entry.files_for(platform_tag()))
        log.info("self-test: %s (%s) verified and loaded", entry.model_id, entry.role.value)
        loaded.append(LoadedModel(entry.model_id, entry.role, files, seconds))
    return loaded
