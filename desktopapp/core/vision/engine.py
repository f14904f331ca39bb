"""Assembles the models a mode needs, by role, from the registry, and runs them on an image.

Backends are looked up by the manifest's ``backend`` name and imported only when used, so a
mode that needs no embedder never loads one (G-13).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from desktopapp.core.config import VisionConfig
from desktopapp.core.matching import DEFAULT_FALSE_MATCH_RATE, DEFAULT_MARGIN
from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.quality import FaceQuality, face_quality
from desktopapp.core.vision.registry import ModelEntry, ModelError, ModelRegistry
from desktopapp.core.vision.schedule import ScheduledFaceDetector
from desktopapp.core.vision.types import (
    AttributeEstimator,
    Attributes,
    Face,
    FaceDetector,
    FaceEmbedder,
    Image,
    ModelInfo,
    PersonDetector,
    Role,
    Vector,
)

log = logging.getLogger(__name__)


def load_face_detector(
    registry: ModelRegistry, entry: ModelEntry, threads: int = 1, search_side: int = 0
) -> Any:
    """The entry's face detector; with ``search_side`` and a detector that shrinks frames to
    a ``max_side``, one that searches by need (core.vision.schedule)."""
    full = load_backend(registry, entry, threads)
    side = int(entry.options.get("max_side", 0))
    if not search_side or not side or search_side >= side:
        return full
    coarse = load_backend(registry, entry, threads, {"max_side": search_side})
    return ScheduledFaceDetector(coarse, full, coarse_side=search_side, full_side=side)


@dataclass(frozen=True, slots=True)
class FaceResult:
    face: Face
    quality: FaceQuality
    feature: Vector | None
    attributes: Attributes | None


def _features_options(config: VisionConfig, registry: ModelRegistry | None) -> dict[str, Any]:
    """The manifest options of the face features model ``config`` chooses; empty (with a
    warning) when the manifest cannot say."""
    try:
        registry = registry or ModelRegistry.load()
        entry = (
            registry.get(config.face_features)
            if config.face_features
            else registry.default(Role.FACE_FEATURES)
        )
    except ModelError as exc:
        log.warning("no features model to take the operating point from: %s", exc)
        return {}
    return entry.options


def false_match_rate(config: VisionConfig, registry: ModelRegistry | None = None) -> float:
    """The per-visitor false-match rate of the face features model ``config`` chooses at its
    operating point: the settings' calibrated value, else the manifest's, measured on
    faces-calib (``raiten calibrate --folder``), else the default. Reads no model file, so it is
    cheap enough for every report."""
    if config.false_match_rate is not None:
        return config.false_match_rate
    options = _features_options(config, registry)
    return float(options.get("false_match_rate", DEFAULT_FALSE_MATCH_RATE))


def match_margin(config: VisionConfig, registry: ModelRegistry | None = None) -> float:
    """How far the best visitor must score above the runner-up: the settings' calibrated value,
    else the manifest's for the model, else the default."""
    if config.margin is not None:
        return config.margin
    return float(_features_options(config, registry).get("margin", DEFAULT_MARGIN))


class VisionEngine:
    """The loaded models of one analysis worker. Not shared between threads."""

    def __init__(
        self,
        detector: FaceDetector | None = None,
        embedder: FaceEmbedder | None = None,
        attributes: AttributeEstimator | None = None,
        persons: PersonDetector | None = None,
    ):
        self.detector = detector
        self.embedder = embedder
        self.attributes = attributes
        self.persons = persons

    @classmethod
    def load(
        cls,
        registry: ModelRegistry,
        roles: Iterable[Role],
        choices: Mapping[Role, str] | None = None,
        threads: int = 1,
        face_search_side: int = 0,
    ) -> VisionEngine:
        """Load one model per requested role: the chosen id, else the manifest's default
        (``face_search_side``: see ``load_face_detector``)."""
        choices = choices or {}
        loaded: dict[Role, Any] = {}
        for role in roles:
            if role is Role.PERSON_DETECTION:
                # Falls back to OpenCV's HOG detector, with a warning, when the model file is
                # missing: counting people badly beats not counting them.
                from desktopapp.core.vision.persons import load_person_detector  # noqa: PLC0415

                loaded[role] = load_person_detector(registry, choices.get(role), threads)
                continue
            entry = registry.get(choices[role]) if role in choices else registry.default(role)
            if role is Role.FACE_DETECTION:
                loaded[role] = load_face_detector(registry, entry, threads, face_search_side)
                continue
            loaded[role] = load_backend(registry, entry, threads)
        return cls(
            detector=cast(FaceDetector | None, loaded.get(Role.FACE_DETECTION)),
            embedder=cast(FaceEmbedder | None, loaded.get(Role.FACE_FEATURES)),
            attributes=cast(AttributeEstimator | None, loaded.get(Role.FACE_ATTRIBUTES)),
            persons=cast(PersonDetector | None, loaded.get(Role.PERSON_DETECTION)),
        )

    @classmethod
    def configured(cls, config: VisionConfig, roles: Iterable[Role]) -> VisionEngine:
        """The models of ``roles`` as the operator's settings choose them (model per role,
        thread budget, a calibrated threshold overriding the model's default)."""
        roles = list(roles)
        choices = {r: m for r in roles if (m := getattr(config, r.value, None)) is not None}
        registry = ModelRegistry.load()
        remote = config.feature_processes > 0 and Role.FACE_FEATURES in roles
        local_roles = [r for r in roles if not (remote and r is Role.FACE_FEATURES)]
        engine = cls.load(
            registry,
            local_roles,
            choices,
            threads=config.threads,
            face_search_side=config.face_search_side,
        )
        if remote:
            from desktopapp.core.vision.remote import RemoteEmbedder  # noqa: PLC0415

            entry = (
                registry.get(choices[Role.FACE_FEATURES])
                if Role.FACE_FEATURES in choices
                else registry.default(Role.FACE_FEATURES)
            )
            engine.embedder = RemoteEmbedder(registry, entry, config.feature_processes)
        if config.threshold is not None and engine.embedder is not None:
            engine.embedder.threshold = config.threshold
        return engine

    def models(self) -> list[ModelInfo]:
        loaded = (self.detector, self.embedder, self.attributes, self.persons)
        return [m.info for m in loaded if m is not None]

    def analyse(self, image: Image, *, features: bool = True) -> list[FaceResult]:
        """Detect every face, then score, embed and estimate attributes with what is loaded."""
        if self.detector is None:
            raise RuntimeError("no face detector is loaded")
        results = []
        for face in self.detector.detect(image):
            feature = self.embedder.embed(image, face) if features and self.embedder else None
            attrs = self.attributes.estimate(image, face) if self.attributes else None
            results.append(FaceResult(face, face_quality(image, face), feature, attrs))
        return results
