"""Face feature vectors (embeddings).

Default: dlib's ResNet-128 face recognition network, aligned by dlib's *5-point* landmark
model. The 68-point landmark file that ships in the same package is non-commercial and is never
loaded. Every embedder returns an L2-normalised float32 vector, so matching is a dot product.
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


class DlibEmbedder:
    dim = 128

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        import dlib  # noqa: PLC0415 - loaded only when the features role is used

        from desktopapp.core.vision.registry import ModelError, ModelProblem  # noqa: PLC0415

        self.info = info
        self.threshold = float(options["threshold"])
        self._rectangle = dlib.rectangle
        try:
            self._landmarks = dlib.shape_predictor(str(paths["landmarks5"]))
            self._network = dlib.face_recognition_model_v1(str(paths["recognition"]))
        except RuntimeError as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, paths["recognition"]) from exc

    def embed(self, image: Image, face: Face) -> Vector:
        rgb = cv2.cvtColor(check_image(image), cv2.COLOR_BGR2RGB)
        left, top, right, bottom = face.clipped_box(rgb.shape[1], rgb.shape[0])
        shape = self._landmarks(rgb, self._rectangle(left, top, right - 1, bottom - 1))
        descriptor = self._network.compute_face_descriptor(rgb, shape)
        return normalise(np.array(descriptor))
