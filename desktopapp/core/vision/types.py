"""Data that crosses the vision package's boundary, and the Protocol of each model role.

Images are BGR ``uint8`` arrays of shape (H, W, 3), as OpenCV decodes them. Boxes and landmarks
are in the pixel coordinates of the image they were found in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

# Re-exported: the vision modules and their callers name it with the other vision types.
from desktopapp.core.vectors import Vector as Vector  # noqa: PLC0414

Image = NDArray[np.uint8]


class Role(enum.StrEnum):
    FACE_DETECTION = "face_detection"
    FACE_FEATURES = "face_features"
    FACE_ATTRIBUTES = "face_attributes"
    PERSON_DETECTION = "person_detection"


def clipped_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[int, int, int, int]:
    """Integer (left, top, right, bottom) of an (x, y, w, h) box, right/bottom exclusive,
    inside a ``width`` × ``height`` image and at least one pixel wide and high."""
    x, y, w, h = box
    left = max(0, round(x))
    top = max(0, round(y))
    right = min(width, round(x + w))
    bottom = min(height, round(y + h))
    return left, top, max(left + 1, right), max(top + 1, bottom)


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face.

    ``landmarks`` holds five (x, y) points in this order: right eye, left eye (as seen in the
    picture: the eye on the image's left first), nose tip, right and left mouth corner.
    """

    x: float
    y: float
    w: float
    h: float
    score: float
    landmarks: NDArray[np.float32] = field(compare=False)

    def __post_init__(self) -> None:
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"face box must have a positive size, got {self.w}x{self.h}")
        if self.landmarks.shape != (5, 2):
            raise ValueError(f"a face needs 5 landmarks, got shape {self.landmarks.shape}")

    @property
    def area(self) -> float:
        return self.w * self.h

    def scaled(self, factor: float) -> Face:
        """The same face in an image resized by ``factor``."""
        return Face(
            self.x * factor,
            self.y * factor,
            self.w * factor,
            self.h * factor,
            self.score,
            (self.landmarks * factor).astype(np.float32),
        )

    def clipped_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return clipped_box((self.x, self.y, self.w, self.h), width, height)


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


AGE_BANDS: tuple[str, ...] = ("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+")


def age_band(age_years: float) -> str:
    """The coarse band reports use; single ages are never stored."""
    index = min(len(AGE_BANDS) - 1, max(0, int(age_years // 10)))
    return AGE_BANDS[index]


@dataclass(frozen=True, slots=True)
class Attributes:
    age_years: float
    gender: Gender
    gender_confidence: float
    age_confidence: float

    @property
    def age_band(self) -> str:
        return age_band(self.age_years)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the status bar and the licence dialog say about an active model."""

    model_id: str
    role: Role
    backend: str
    licence: str
    commercial_use: bool
    source: str
    # The model this one stands in for because that one's file is missing or damaged (the
    # person detector falls back to OpenCV's HOG); None for a model serving as chosen.
    fallback_for: str | None = None


@runtime_checkable
class FaceDetector(Protocol):
    info: ModelInfo

    def detect(self, image: Image) -> list[Face]:
        """All faces in ``image``, best score first."""
        ...


@dataclass(frozen=True, slots=True)
class Person:
    """One detected person: a box in the pixels of the image it was found in.

    ``score`` is in [0, 1]; higher means surer. Scores of different detectors do not compare.
    """

    x: float
    y: float
    w: float
    h: float
    score: float

    def __post_init__(self) -> None:
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"person box must have a positive size, got {self.w}x{self.h}")

    @property
    def area(self) -> float:
        return self.w * self.h

    def clipped_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        return clipped_box((self.x, self.y, self.w, self.h), width, height)


@runtime_checkable
class PersonDetector(Protocol):
    info: ModelInfo

    def detect(self, image: Image) -> list[Person]:
        """All persons in ``image``, best score first."""
        ...


@runtime_checkable
class FaceEmbedder(Protocol):
    """Turns an aligned face into a feature vector.

    Vectors are L2-normalised so that the inner product is the cosine similarity, the one
    score every matcher in Raiten uses; ``threshold`` is this model's default decision point.
    """

    info: ModelInfo
    dim: int
    threshold: float

    def embed(self, image: Image, face: Face) -> Vector: ...


@runtime_checkable
class AttributeEstimator(Protocol):
    info: ModelInfo

    def estimate(self, image: Image, face: Face) -> Attributes: ...
