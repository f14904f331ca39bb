"""Face detection with five landmarks, and five-point alignment.

The default detector is libfacedetection (``yuface``). Large frames are shrunk to
``max_side`` before detection because the network is trained for that scale and slows down
quadratically above it; boxes are mapped back to the original image.
"""

from __future__ import annotations

import ctypes
import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.types import Face, Image, ModelInfo

log = logging.getLogger(__name__)

# ArcFace's canonical landmark positions in a 112x112 chip (InsightFace, OpenCV Zoo SFace).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def align_face(image: Image, landmarks: NDArray[np.float32], size: int = 112) -> Image:
    """A ``size``x``size`` chip with the five landmarks moved onto ARCFACE_TEMPLATE."""
    target = ARCFACE_TEMPLATE * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), target, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("landmarks are degenerate; the face cannot be aligned")
    return cast(Image, cv2.warpAffine(image, matrix, (size, size), borderValue=0.0))


def shrink_for_detection(image: Image, max_side: int) -> tuple[Image, float]:
    """The image at most ``max_side`` pixels on its longer side, and the factor applied."""
    height, width = image.shape[:2]
    factor = min(1.0, max_side / max(height, width))
    if factor >= 1.0:
        return image, 1.0
    small = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    return cast(Image, small), factor


def check_image(image: Image) -> Image:
    """A contiguous 3-channel uint8 image, or a ValueError saying what is wrong."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("expected a uint8 numpy image")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"image too small: {image.shape[1]}x{image.shape[0]}")
    return np.ascontiguousarray(image)


def _openmp_thread_setter(package_file: str) -> Callable[[int], int] | None:
    """``omp_set_num_threads`` of the OpenMP runtime bundled with yuface (Linux wheels).

    libfacedetection parallelises with OpenMP over every core regardless of our thread budget,
    which starves the other cameras; the setting is per calling thread, so each analysis worker
    sets its own.
    """
    bundled = Path(package_file).resolve().parent.parent / "yuface.libs"
    for library in sorted(bundled.glob("*gomp*")):
        try:
            setter: Callable[[int], int] = ctypes.CDLL(str(library)).omp_set_num_threads
        except (OSError, AttributeError):
            log.warning("cannot cap yuface's OpenMP threads via %s", library)
            return None
        return setter
    return None


class _FaceDetectCnn:
    """libfacedetection's ``facedetect_cnn`` called through ctypes, which releases the GIL for
    the call; ``yuface.detect`` holds it for the whole ~50 ms, so every other camera's thread
    and the UI thread waited behind each detection. Same result layout as ``yuface.detect``.
    """

    # facedetect_cnn(unsigned char* result, unsigned char* rgb, int width, int height, int step)
    # under the Itanium C++ ABI (Linux, macOS); elsewhere yuface.detect is used instead.
    SYMBOL = "_Z14facedetect_cnnPhS_iii"
    BUFFER_BYTES = 0x9000  # libfacedetection's DETECT_BUFFER_SIZE
    ROW_SHORTS = 16  # confidence, x, y, w, h, five landmarks (x, y), one spare

    def __init__(self, library: Path):
        function = getattr(ctypes.CDLL(str(library)), self.SYMBOL)
        function.restype = ctypes.POINTER(ctypes.c_int)
        function.argtypes = [
            ctypes.c_void_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
        ]
        self._function = function
        # The first call initialises the library's static weights: never let threads race it.
        self(np.zeros((32, 32, 3), np.uint8), 0.5)

    def __call__(
        self, image: Image, conf: float
    ) -> tuple[NDArray[np.int16], NDArray[np.int16], NDArray[np.int16]]:
        image = np.ascontiguousarray(image)
        buffer = np.zeros(self.BUFFER_BYTES, np.uint8)
        height, width = image.shape[:2]
        count = self._function(
            buffer.ctypes.data, image.ctypes.data, width, height, image.strides[0]
        )[0]
        rows = np.frombuffer(buffer, np.int16, self.ROW_SHORTS * count, offset=4)
        rows = rows.reshape(count, self.ROW_SHORTS)
        rows = rows[rows[:, 0] > conf * 100]
        return rows[:, 0].copy(), rows[:, 1:5].copy(), rows[:, 5:15].copy()


class YuFaceDetector:
    """libfacedetection through the ``yuface`` package."""

    def __init__(
        self, info: ModelInfo, paths: dict[str, Path], options: Mapping[str, Any], threads: int
    ):
        import yuface  # noqa: PLC0415 - the library is loaded only when this role is used

        self.info = info
        self._detect: Callable[..., Any] = yuface.detect
        if options.get("release_gil", True):
            try:
                # The hash-verified library itself, so the check covers what actually runs.
                self._detect = _FaceDetectCnn(paths["library"])
            except (OSError, AttributeError) as exc:
                log.warning("libfacedetection called through yuface (holds the GIL): %s", exc)
        self._threads = max(1, threads)
        self._set_threads = _openmp_thread_setter(yuface.__file__)
        self._min_confidence = float(options.get("min_confidence", 0.6))
        self._max_side = int(options.get("max_side", 640))
        log.info("yuface detector ready (%s)", paths["library"])

    def detect(self, image: Image) -> list[Face]:
        image = check_image(image)
        small, factor = shrink_for_detection(image, self._max_side)
        if self._set_threads is not None:
            self._set_threads(self._threads)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            confs, boxes, landmarks = self._detect(small, conf=self._min_confidence)
        faces: list[Face] = []
        for conf, box, marks in zip(confs, boxes, landmarks, strict=True):
            x, y, w, h = (float(v) for v in box.astype(np.int32))
            if w <= 1 or h <= 1:
                continue
            points = marks.astype(np.float32).reshape(5, 2)
            faces.append(Face(x, y, w, h, float(conf) / 100.0, points).scaled(1.0 / factor))
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces
