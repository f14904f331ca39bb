"""CenterFace (Star-Clouds, MIT) face detection on onnxruntime, the alternative to yuface.

The network predicts, on a grid four times coarser than its input, a face-centre heatmap, the
log of the box size, a sub-cell offset of the centre and five landmarks relative to the box.
Frames are shrunk to ``max_side`` like yuface's, padded to a multiple of 32 (the network
downsamples five times), and boxes are mapped back to the original image.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.faces import check_image, shrink_for_detection
from desktopapp.core.vision.registry import ModelError, ModelProblem
from desktopapp.core.vision.runtime import onnx_session
from desktopapp.core.vision.types import Face, Image, ModelInfo

log = logging.getLogger(__name__)

INPUT_NAME = "input.1"
# heatmap, log box size (h, w), centre offset (y, x), landmarks (y, x) x 5
OUTPUT_NAMES = ("537", "538", "539", "540")
STRIDE = 4
ALIGN = 32
NMS_THRESHOLD = 0.3

# Field numbers from onnx.proto3, for the few messages free_input_shape has to walk.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_GRAPH_INPUT = 11
_GRAPH_OUTPUT = 12
_TENSOR_NAME = 8
_VALUE_INFO_NAME = 1
_VALUE_INFO_TYPE = 2
_TYPE_TENSOR = 1
_TENSOR_TYPE_SHAPE = 2
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(message: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(field number, whole encoded field, payload of a length-delimited field or b"")."""
    pos = 0
    while pos < len(message):
        start = pos
        tag, pos = _read_varint(message, pos)
        number, wire = tag >> 3, tag & 7
        payload = b""
        if wire == _VARINT:
            _, pos = _read_varint(message, pos)
        elif wire == _FIXED64:
            pos += 8
        elif wire == _FIXED32:
            pos += 4
        elif wire == _LENGTH:
            size, pos = _read_varint(message, pos)
            payload = message[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(message):
            raise ValueError("truncated protobuf field")
        yield number, message[start:pos], payload


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH) + _varint(len(payload)) + payload


def _edit(message: bytes, number: int, edit: Callable[[bytes], bytes | None]) -> bytes:
    """``message`` with each length-delimited field ``number`` replaced by ``edit``'s result;
    None drops the field."""
    out: list[bytes] = []
    for field_number, raw, payload in _fields(message):
        if field_number != number:
            out.append(raw)
            continue
        edited = edit(payload)
        if edited is not None:
            out.append(_field(number, edited))
    return b"".join(out)


def _name(message: bytes, number: int) -> str:
    for field_number, _, payload in _fields(message):
        if field_number == number:
            return payload.decode("utf-8")
    return ""


def _without_shape(value_info: bytes) -> bytes:
    def tensor_type(payload: bytes) -> bytes:
        return _edit(payload, _TENSOR_TYPE_SHAPE, lambda _: None)

    return _edit(value_info, _VALUE_INFO_TYPE, lambda t: _edit(t, _TYPE_TENSOR, tensor_type))


def free_input_shape(model: bytes) -> bytes:
    """The serialised ONNX ``model`` with the shapes of its graph inputs and outputs left open.

    Also drops initialisers from the graph inputs (the pytorch 1.2 export lists them there),
    which lets onnxruntime treat the weights as constants and fold them.
    """

    def graph(payload: bytes) -> bytes:
        weights = {
            _name(p, _TENSOR_NAME) for n, _, p in _fields(payload) if n == _GRAPH_INITIALIZER
        }

        def graph_input(value_info: bytes) -> bytes | None:
            if _name(value_info, _VALUE_INFO_NAME) in weights:
                return None
            return _without_shape(value_info)

        payload = _edit(payload, _GRAPH_INPUT, graph_input)
        return _edit(payload, _GRAPH_OUTPUT, _without_shape)

    return _edit(model, _MODEL_GRAPH, graph)


def _nms(boxes: NDArray[np.float32], scores: NDArray[np.float32]) -> list[int]:
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.0, NMS_THRESHOLD)
    return [int(i) for i in np.asarray(keep).reshape(-1)]


class CenterFaceDetector:
    """CenterFace through onnxruntime; scores are the heatmap's sigmoid, in [0, 1]."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        self.info = info
        self._min_confidence = float(options.get("min_confidence", 0.5))
        self._max_side = int(options.get("max_side", 640))
        source = paths["onnx"]
        # onnxruntime enforces the graph's fixed 10x3x32x32 input: drop the dims in the protobuf.
        try:
            patched = free_input_shape(source.read_bytes())
        except (OSError, ValueError) as exc:
            raise ModelError(ModelProblem.CORRUPT, info.model_id, source, repr(exc)) from exc
        self._session = onnx_session(source, info.model_id, threads, model_bytes=patched)
        log.info("centerface detector ready (%s, %d threads)", source, threads)

    def detect(self, image: Image) -> list[Face]:
        image = check_image(image)
        small, factor = shrink_for_detection(image, self._max_side)
        height, width = small.shape[:2]
        padded_h = -(-height // ALIGN) * ALIGN
        padded_w = -(-width // ALIGN) * ALIGN
        blob = np.zeros((1, 3, padded_h, padded_w), dtype=np.float32)
        # The network was trained on RGB pixel values 0-255 without mean or scale.
        blob[0, :, :height, :width] = small[:, :, ::-1].transpose(2, 0, 1)
        outputs = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: blob})
        faces = [face.scaled(1.0 / factor) for face in self._decode(*outputs)]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces

    def _decode(
        self,
        heatmap: NDArray[np.float32],
        size: NDArray[np.float32],
        offset: NDArray[np.float32],
        marks: NDArray[np.float32],
    ) -> list[Face]:
        rows, cols = np.nonzero(heatmap[0, 0] > self._min_confidence)
        if rows.size == 0:
            return []
        scores = heatmap[0, 0, rows, cols].astype(np.float32)
        box_h = np.exp(size[0, 0, rows, cols]) * STRIDE
        box_w = np.exp(size[0, 1, rows, cols]) * STRIDE
        left = (cols + offset[0, 1, rows, cols] + 0.5) * STRIDE - box_w / 2
        top = (rows + offset[0, 0, rows, cols] + 0.5) * STRIDE - box_h / 2
        boxes = np.stack([left, top, box_w, box_h], axis=1).astype(np.float32)
        # Landmarks come as (y, x) fractions of the box from its unclipped top-left corner, in
        # WIDER FACE order, which is already Face's (image-left eye and mouth corner first).
        fractions = marks[0][:, rows, cols].T.reshape(-1, 5, 2)[:, :, ::-1]
        corner = np.stack([left, top], axis=1)[:, None, :]
        extent = np.stack([box_w, box_h], axis=1)[:, None, :]
        points = (corner + fractions * extent).astype(np.float32)
        faces: list[Face] = []
        for i in _nms(boxes, scores):
            x, y, w, h = (float(v) for v in boxes[i])
            faces.append(Face(x, y, w, h, float(scores[i]), points[i]))
        return faces
