"""A capture at the counter (requests from the public, staff enrolment): the camera or picture
the operator picks, and the face's feature computed from it off the UI thread. The capture is
never shown and never kept: only the feature goes on to the job that uses it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from desktopapp.core.config import VisionConfig
from desktopapp.core.images import IMAGE_SUFFIXES, read_image
from desktopapp.core.requests import probe_from_image, probe_from_source
from desktopapp.core.services.cameras import Camera
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import FaceEmbedder, Role, Vector

T = TypeVar("T")

# The source list's entry for a picture the person brings, beside the cameras' ids.
PICTURE = "file"


def counter_engine(vision: VisionConfig) -> VisionEngine:
    """Detection and features for a capture at the counter (requests, staff enrolment)."""
    # feature_processes must stay >= 1: dlib computing in a Qt pool thread corrupts the heap
    # (docs/decisions.md); the child process is the safe place for it.
    settings = vision.model_copy(update={"feature_processes": max(1, vision.feature_processes)})
    return VisionEngine.configured(settings, [Role.FACE_DETECTION, Role.FACE_FEATURES])


def capture_probe(engine: VisionEngine, camera: Camera | None, image_path: Path | None) -> Vector:
    """The feature of the face in the picture, or in a fresh capture of ``camera`` that is
    never shown; run off the UI thread."""
    if image_path is not None:
        return probe_from_image(engine, read_image(image_path))
    assert camera is not None
    return probe_from_source(engine, camera.source)


def choose_picture(parent: QWidget, title: str) -> Path | None:
    suffixes = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    chosen, _filter = QFileDialog.getOpenFileName(
        parent,
        title,
        "",
        QCoreApplication.translate("PublicRequestsDialog", "Pictures (%1)").replace("%1", suffixes),
    )
    return Path(chosen) if chosen else None


class CounterCapture:
    """One dialog's captures: ``source`` lists its cameras (``camera_label`` with %1 for the
    name), then ``picture_label``; the models load at the first capture and stay for the next."""

    def __init__(
        self,
        source: QComboBox,
        cameras: list[Camera],
        vision: VisionConfig,
        camera_label: str,
        picture_label: str,
    ):
        self.source = source
        self.cameras = {camera.camera_id: camera for camera in cameras}
        self._vision = vision
        self._engine: VisionEngine | None = None
        for camera_id, camera in self.cameras.items():
            source.addItem(camera_label.replace("%1", camera.name), camera_id)
        source.addItem(picture_label, PICTURE)

    @property
    def embedder(self) -> FaceEmbedder | None:
        """The embedder of the last capture's feature; None before the first capture."""
        return self._engine.embedder if self._engine is not None else None

    def chosen(self, parent: QWidget, picture_title: str) -> tuple[object, Path | None] | None:
        """The source picked and, for a picture, the file the operator chooses; None when
        they cancel the file chooser."""
        choice = self.source.currentData()
        if choice != PICTURE:
            return choice, None
        image_path = choose_picture(parent, picture_title)
        return None if image_path is None else (choice, image_path)

    def job(
        self,
        choice: object,
        image_path: Path | None,
        use: Callable[[Vector, FaceEmbedder], T],
    ) -> Callable[[], T]:
        """A job for a worker thread: capture from camera ``choice`` (or read ``image_path``),
        then ``use`` the face's feature with the embedder that computed it."""
        camera = self.cameras.get(choice) if isinstance(choice, int) else None

        def run() -> T:
            if self._engine is None:
                self._engine = counter_engine(self._vision)
            engine = self._engine
            probe = capture_probe(engine, camera, image_path)
            assert engine.embedder is not None
            return use(probe, engine.embedder)

        return run
