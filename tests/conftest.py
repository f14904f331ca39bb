from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import keyring
import keyring.backends.fail
import pytest

from desktopapp.core.images import read_image
from desktopapp.core.pipeline import FrameAnalyser, TrackClosed
from desktopapp.core.sources import Frame
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Image, Role

# Qt needs a platform before the first QApplication; tests never need a real screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", ROOT.parent / "shared" / "testdata"))
FACES = TESTDATA / "faces"
VIDEO = TESTDATA / "video" / "vtest.avi"

OBAMA = sorted(p.name for p in FACES.glob("obama*"))
SINGLE_FACE = [*OBAMA, "biden.jpg", "astronaut.png", "messi5.jpg", "Tom_Hanks_54745.png"]


def identity(name: str) -> str:
    """Ground truth from testdata/SOURCES.md: every obama file is one person."""
    return "obama" if name.startswith("obama") else name


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never touch the operator's real data folder.
    os.environ["RAITEN_DATA_DIR"] = str(tmp_path_factory.mktemp("raiten-data"))
    os.environ.pop("RAITEN_MODELS_DIR", None)
    # Never the developer's real keyring; tests that need one install a memory keyring.
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """GUI tests: no automatic collection (it may run in a worker thread and destroy Qt
    objects there, see desktopapp/ui/collector.py); collect on the main thread afterwards."""
    if request.node.get_closest_marker("gui") is None:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture(scope="session")
def registry() -> ModelRegistry:
    return ModelRegistry.load()


@pytest.fixture(scope="session")
def engine(registry: ModelRegistry) -> VisionEngine:
    return VisionEngine.load(
        registry, [Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES]
    )


@pytest.fixture(scope="session")
def face_image() -> dict[str, Image]:
    return {p.name: read_image(p) for p in sorted(FACES.iterdir())}


def scaled_to_width(image: Image, width: int) -> Image:
    factor = width / image.shape[1]
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)


def closed_tracks(
    analyser: FrameAnalyser, frames: Iterable[Frame], tail: float = 5.0
) -> list[TrackClosed]:
    """Every track ``analyser`` closes over ``frames``, and the rest at their end: the stream
    finishes ``tail`` seconds after the last frame."""
    closed: list[TrackClosed] = []
    timestamp = 0.0
    for frame in frames:
        timestamp = frame.timestamp
        closed += analyser.process(frame)[1]
    return closed + analyser.finish(timestamp + tail)


@pytest.fixture(scope="session")
def repeat_engine(registry: ModelRegistry) -> VisionEngine:
    """Repeat mode's models, the features computed in this process."""
    return VisionEngine.load(
        registry,
        [Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES, Role.PERSON_DETECTION],
    )
