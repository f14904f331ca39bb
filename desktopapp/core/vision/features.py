"""Face feature vectors (embeddings).

Default: dlib's ResNet-128 face recognition network, aligned by dlib's *5-point* landmark
model, run on onnxruntime (the same weights, converted; dlib's own runtime remains as
``dlib-resnet128``). The 68-point landmark file that ships in the same package is
non-commercial and is never loaded. Every embedder returns an L2-normalised float32 vector, so
matching is a dot product.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.faces import check_image
from desktopapp.core.vision.types import Face, Image, ModelInfo, Vector

log = logging.getLogger(__name__)

# dlib's compute_face_descriptor: a 150x150 chip with 25 % context around the 5-point face.
CHIP_SIZE = 150
CHIP_PADDING = 0.25


def normalise(vector: NDArray[np.floating]) -> Vector:
    flat = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(flat))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("the model returned an empty feature vector")
    result: Vector = flat / norm
    return result


def cosine(a: Vector, b: Vector) -> float:
    """Similarity of two normalised vectors: 1 identical, 0 unrelated."""
    return float(np.dot(a, b))


class FivePointLandmarks:
    """dlib's 5-point landmarks on a face box: what the ResNet embedders and the age and gender
    networks align their chips by."""

    def __init__(self, info: ModelInfo, path: Path):
        import dlib  # noqa: PLC0415 - loaded only when a role that aligns faces is used

        from desktopapp.core.vision.registry import ModelError, ModelProblem  # noqa: PLC0415

        self.dlib = dlib
        try:
            self._predictor = dlib.shape_predictor(str(path))
        except RuntimeError as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, path) from exc

    def shape(self, image: Image, face: Face) -> tuple[Any, Any]:
        """The image in RGB, as dlib reads it, and the face's 5-point landmarks."""
        rgb = cv2.cvtColor(check_image(image), cv2.COLOR_BGR2RGB)
        left, top, right, bottom = face.clipped_box(rgb.shape[1], rgb.shape[0])
        box = self.dlib.rectangle(left, top, right - 1, bottom - 1)
        return rgb, self._predictor(rgb, box)


class _FivePointAligner:
    """The 5-point landmarks on the face box: what both ResNet embedders align the chip by."""

    dim = 128

    def __init__(self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any]):
        self.info = info
        self.threshold = float(options["threshold"])
        self._landmarks = FivePointLandmarks(info, paths["landmarks5"])
        self._dlib = self._landmarks.dlib

    def _shape(self, image: Image, face: Face) -> tuple[Any, Any]:
        return self._landmarks.shape(image, face)


class DlibEmbedder(_FivePointAligner):
    """dlib's own ResNet (CPU, no BLAS in the dlib-bin wheel: ~86 ms a face)."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        from desktopapp.core.vision.registry import ModelError, ModelProblem  # noqa: PLC0415

        super().__init__(info, paths, options)
        try:
            self._network = self._dlib.face_recognition_model_v1(str(paths["recognition"]))
        except RuntimeError as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, paths["recognition"]) from exc

    def embed(self, image: Image, face: Face) -> Vector:
        rgb, shape = self._shape(image, face)
        descriptor = self._network.compute_face_descriptor(rgb, shape)
        return normalise(np.array(descriptor))


class OnnxResNetEmbedder(_FivePointAligner):
    """The same network and weights on onnxruntime (models/tools/convert_dlib_resnet.py).

    It gives dlib's vectors (cosine >= 0.9999 on faces-calib, bench/features_onnx.py), so the
    calibration of dlib-resnet128 holds. The chip is cut by dlib's own ``get_face_chip``
    exactly as ``compute_face_descriptor`` cuts it; the mean colour and scaling of dlib's input
    layer are inside the ONNX graph.
    """

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        from desktopapp.core.vision.runtime import onnx_session  # noqa: PLC0415

        super().__init__(info, paths, options)
        self._session = onnx_session(paths["onnx"], info.model_id, threads)
        # The mean of the chip's and its mirror image's vectors: on faces-calib it misses 23 %
        # fewer genuine pairs at the same false-match count, for a second run of the network
        # in the same call (docs/decisions.md "Mirrored chips").
        self.mirrored = bool(options.get("mirrored", False))

    def embed(self, image: Image, face: Face) -> Vector:
        rgb, shape = self._shape(image, face)
        chip = self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        batch = np.stack([chip, chip[:, ::-1]]) if self.mirrored else chip[np.newaxis]
        try:
            (descriptors,) = self._session.run(["descriptor"], {"chip": batch})
        finally:
            chip.fill(0)
            batch.fill(0)
        return normalise(np.mean([normalise(d) for d in descriptors], axis=0))
