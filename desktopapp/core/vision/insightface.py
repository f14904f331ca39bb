"""InsightFace model packs (buffalo_l, antelopev2, ...) that the operator copies into models/.

The three backends reproduce the ``insightface`` Python package's pre- and post-processing
(SCRFD letterboxing and distance decoding, ArcFace normalisation, the genderage centre crop) so
that scores and thresholds published for those models hold here, without importing the package:
it pulls a second, non-headless OpenCV and its own model downloader.

InsightFace's pretrained weights are for non-commercial research unless licensed from
InsightFace; ``packs.register_pack`` records them with ``commercial_use = false`` and the UI
shows that for every loaded model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.faces import align_face, check_image
from desktopapp.core.vision.features import normalise
from desktopapp.core.vision.registry import ModelError, ModelProblem
from desktopapp.core.vision.runtime import onnx_session
from desktopapp.core.vision.types import Attributes, Face, Gender, Image, ModelInfo, Vector

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float32]

NMS_THRESHOLD = 0.4
# SCRFD exports with dynamic input dims are run at insightface's usual det_size.
DEFAULT_DETECTION_SIZE = (640, 640)
ARCFACE_SIZE = 112
DEFAULT_ATTRIBUTE_SIZE = 96
# The genderage network regresses age only; there is no calibrated confidence to report.
AGE_CONFIDENCE = 0.5

# SCRFD output count -> (feature strides, anchors per location); only keypoint variants, since
# every Face carries five landmarks. Outputs come as all scores, all boxes, all keypoints.
_SCRFD_LAYOUTS: dict[int, tuple[tuple[int, ...], int]] = {
    9: ((8, 16, 32), 2),
    15: ((8, 16, 32, 64, 128), 1),
}


def _input_size(session: Any, default: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of the model's NCHW input, or ``default`` when those dims are dynamic."""
    shape = session.get_inputs()[0].shape
    height, width = shape[2], shape[3]
    if isinstance(height, int) and isinstance(width, int):
        return width, height
    return default


def distance2bbox(points: FloatArray, distance: FloatArray) -> FloatArray:
    """Boxes (x1, y1, x2, y2) from anchor centres and (left, top, right, bottom) distances."""
    boxes: FloatArray = np.stack(
        [
            points[:, 0] - distance[:, 0],
            points[:, 1] - distance[:, 1],
            points[:, 0] + distance[:, 2],
            points[:, 1] + distance[:, 3],
        ],
        axis=-1,
    )
    return boxes


def distance2kps(points: FloatArray, distance: FloatArray) -> FloatArray:
    """Keypoints (n, k, 2) from anchor centres and per-point (dx, dy) offsets."""
    offsets = distance.reshape(distance.shape[0], -1, 2)
    kps: FloatArray = points[:, None, :] + offsets
    return kps


def nms(boxes: FloatArray, scores: FloatArray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression with insightface's +1 pixel area convention."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size > 0:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        width = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        height = np.maximum(
            0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1
        )
        inter = width * height
        overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return keep


def _anchor_centres(width: int, height: int, stride: int, anchors: int) -> FloatArray:
    """Centres of a stride's grid in input pixels, each repeated once per anchor."""
    xs, ys = np.meshgrid(
        np.arange(width // stride, dtype=np.float32), np.arange(height // stride, dtype=np.float32)
    )
    centres = (np.stack([xs, ys], axis=-1) * stride).reshape(-1, 2)
    repeated: FloatArray = np.repeat(centres, anchors, axis=0)
    return repeated


class _OnnxModel:
    """What every model of a pack starts with: its verified file and an onnxruntime session."""

    def __init__(self, info: ModelInfo, paths: dict[str, Path], threads: int):
        self.info = info
        self._path = paths["onnx"]
        self._session = onnx_session(self._path, info.model_id, threads)
        self._input_name: str = self._session.get_inputs()[0].name


class ScrfdDetector(_OnnxModel):
    """SCRFD with five keypoints (``det_10g.onnx``, ``scrfd_*_bnkps.onnx``)."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        super().__init__(info, paths, threads)
        self._output_names: list[str] = [o.name for o in self._session.get_outputs()]
        layout = _SCRFD_LAYOUTS.get(len(self._output_names))
        if layout is None:
            raise self._unusable(
                f"{len(self._output_names)} outputs; a SCRFD model with keypoints has 9 or 15"
            )
        self._strides, anchors = layout
        self._width, self._height = _input_size(self._session, DEFAULT_DETECTION_SIZE)
        # The input size is fixed for the session's life, so every stride's grid is too.
        self._centres = [
            _anchor_centres(self._width, self._height, s, anchors) for s in self._strides
        ]
        self._min_confidence = float(options.get("min_confidence", 0.5))
        log.info("SCRFD detector ready (%s, %dx%d)", self._path.name, self._width, self._height)

    def _unusable(self, detail: str) -> ModelError:
        log.error("%s cannot be used as SCRFD: %s", self._path, detail)
        return ModelError(ModelProblem.CORRUPT, self.info.model_id, self._path, detail)

    def _letterbox(self, image: Image) -> tuple[Image, float]:
        """The image resized into the input keeping its aspect ratio, padded bottom/right."""
        rows, cols = image.shape[:2]
        if rows / cols > self._height / self._width:
            new_height = self._height
            new_width = int(new_height / (rows / cols))
        else:
            new_width = self._width
            new_height = int(new_width * (rows / cols))
        canvas = np.zeros((self._height, self._width, 3), dtype=np.uint8)
        canvas[:new_height, :new_width] = cv2.resize(image, (new_width, new_height))
        return canvas, new_height / rows

    def detect(self, image: Image) -> list[Face]:
        image = check_image(image)
        canvas, scale = self._letterbox(image)
        blob = cv2.dnn.blobFromImage(
            canvas, 1.0 / 128, (self._width, self._height), (127.5, 127.5, 127.5), swapRB=True
        )
        outputs = self._session.run(self._output_names, {self._input_name: blob})
        boxes, scores, points = self._decode(outputs)
        boxes /= scale
        points /= scale
        faces: list[Face] = []
        for index in nms(boxes, scores, NMS_THRESHOLD):
            x1, y1, x2, y2 = (float(v) for v in boxes[index])
            if x2 <= x1 or y2 <= y1:
                continue
            faces.append(Face(x1, y1, x2 - x1, y2 - y1, float(scores[index]), points[index].copy()))
        return faces

    def _decode(self, outputs: Sequence[Any]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Boxes (n, 4), scores (n,) and keypoints (n, 5, 2) above threshold, input pixels."""
        count = len(self._strides)
        boxes, scores, points = [], [], []
        for index, (stride, centres) in enumerate(zip(self._strides, self._centres, strict=True)):
            # reshape drops the batch dim some exports add: (1, N, C) and (N, C) both work.
            score = np.asarray(outputs[index], dtype=np.float32).reshape(-1)
            distance = np.asarray(outputs[index + count], dtype=np.float32).reshape(-1, 4)
            offsets = np.asarray(outputs[index + 2 * count], dtype=np.float32).reshape(-1, 10)
            if not score.shape[0] == distance.shape[0] == offsets.shape[0] == centres.shape[0]:
                raise self._unusable(
                    f"stride {stride} outputs have {score.shape[0]}/{distance.shape[0]}/"
                    f"{offsets.shape[0]} rows, expected {centres.shape[0]}"
                )
            keep = score >= self._min_confidence
            boxes.append(distance2bbox(centres[keep], distance[keep] * stride))
            points.append(distance2kps(centres[keep], offsets[keep] * stride))
            scores.append(score[keep])
        return np.concatenate(boxes), np.concatenate(scores), np.concatenate(points)


class ArcFaceEmbedder(_OnnxModel):
    """ArcFace recognition (``w600k_r50.onnx``, ``glintr100.onnx``): 112x112 aligned chips."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        super().__init__(info, paths, threads)
        output = self._session.get_outputs()[0]
        self._output_name: str = output.name
        dim = output.shape[-1]
        if not isinstance(dim, int):
            log.error("%s has no fixed feature size: output shape %s", self._path, output.shape)
            raise ModelError(
                ModelProblem.CORRUPT, info.model_id, self._path, f"output shape {output.shape}"
            )
        self.dim: int = dim
        self.threshold = float(options.get("threshold", 0.30))
        log.info("ArcFace embedder ready (%s, %d-d)", self._path.name, dim)

    def embed(self, image: Image, face: Face) -> Vector:
        chip = align_face(check_image(image), face.landmarks, ARCFACE_SIZE)
        # Face pixels must not outlive the call (privacy promise): wipe the chip and its blob.
        try:
            blob = cv2.dnn.blobFromImage(
                chip, 1.0 / 127.5, (ARCFACE_SIZE, ARCFACE_SIZE), (127.5,) * 3, swapRB=True
            )
        finally:
            chip.fill(0)
        try:
            (features,) = self._session.run([self._output_name], {self._input_name: blob})
        finally:
            blob.fill(0)
        return normalise(np.asarray(features)[0])


class GenderAgeEstimator(_OnnxModel):
    """InsightFace ``genderage.onnx``: [female, male, age / 100] from a box-centred crop."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        super().__init__(info, paths, threads)
        self._output_name: str = self._session.get_outputs()[0].name
        self._size = _input_size(self._session, (DEFAULT_ATTRIBUTE_SIZE, DEFAULT_ATTRIBUTE_SIZE))[0]
        log.info("genderage estimator ready (%s, %d px)", self._path.name, self._size)

    def _crop(self, image: Image, face: Face) -> Image:
        """The box centre at the crop centre, the box's longer side filling 1/1.5 of it."""
        scale = self._size / (max(face.w, face.h) * 1.5)
        centre_x, centre_y = face.x + face.w / 2, face.y + face.h / 2
        matrix = np.array(
            [
                [scale, 0.0, self._size / 2 - centre_x * scale],
                [0.0, scale, self._size / 2 - centre_y * scale],
            ],
            dtype=np.float64,
        )
        crop = cv2.warpAffine(image, matrix, (self._size, self._size), borderValue=0.0)
        return np.asarray(crop, dtype=np.uint8)

    def estimate(self, image: Image, face: Face) -> Attributes:
        crop = self._crop(check_image(image), face)
        # This export normalises inside the graph (mxnet origin): mean 0, std 1 here. The crop
        # and blob are wiped like ArcFace's chip.
        try:
            blob = cv2.dnn.blobFromImage(crop, 1.0, (self._size, self._size), swapRB=True)
        finally:
            crop.fill(0)
        try:
            (output,) = self._session.run([self._output_name], {self._input_name: blob})
        finally:
            blob.fill(0)
        prediction = np.asarray(output, dtype=np.float32).reshape(-1)
        if prediction.shape[0] != 3:
            log.error("%s returned %d values, expected 3", self._path, prediction.shape[0])
            raise ModelError(
                ModelProblem.CORRUPT,
                self.info.model_id,
                self._path,
                f"output of {prediction.shape[0]} values",
            )
        female, male = float(prediction[0]), float(prediction[1])
        # Not a probability: the scores are not softmaxed, so report how far apart they are.
        total = abs(female) + abs(male)
        confidence = float(np.clip(abs(male - female) / total, 0.0, 1.0)) if total > 0 else 0.0
        return Attributes(
            age_years=float(round(float(prediction[2]) * 100)),
            gender=Gender.MALE if male > female else Gender.FEMALE,
            gender_confidence=confidence,
            age_confidence=AGE_CONFIDENCE,
        )
