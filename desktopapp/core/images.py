"""Reading still images into memory. Nothing here writes a pixel anywhere."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image as PILImage

from desktopapp.core.vision.types import Image

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class ImageReadError(Exception):
    """The file is not an image Raiten can read; ``str()`` names the file and the reason,
    ``problem`` says which for the UI: unreadable, empty, too_big, not_image, too_many_pixels."""

    def __init__(self, message: str, problem: str, path: Path, reason: str = ""):
        super().__init__(message)
        self.problem = problem
        self.path = path
        self.reason = reason


def _declared_pixels(data: NDArray[np.uint8]) -> int:
    """The pixel count the file's header declares, read without decoding; 0 when Pillow does not
    know the format (OpenCV then decides). OpenCV refuses to decode more than 2**30 pixels and
    would call such a file "not an image"."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data.tobytes())) as picture:
                return int(picture.width) * int(picture.height)
    except PILImage.DecompressionBombError:
        return MAX_PIXELS + 1
    except Exception:  # any file Pillow cannot parse is OpenCV's to judge
        return 0


def read_image(path: Path) -> Image:
    """A BGR image from ``path``.

    ``np.fromfile`` + ``imdecode`` instead of ``imread`` because imread cannot open non-ASCII
    paths on Windows (Japanese folder names are common there).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageReadError(f"cannot open {path}: {reason}", "unreadable", path, reason) from exc
    if size == 0:
        raise ImageReadError(f"{path} is empty", "empty", path)
    if size > MAX_FILE_BYTES:
        megabytes = str(size // (1024 * 1024))
        raise ImageReadError(f"{path} is too large ({megabytes} MB)", "too_big", path, megabytes)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ImageReadError(f"cannot read {path}: {reason}", "unreadable", path, reason) from exc
    if _declared_pixels(data) > MAX_PIXELS:
        raise ImageReadError(f"{path} has too many pixels to analyse", "too_many_pixels", path)
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        raise ImageReadError(f"{path} is not an image file Raiten can read", "not_image", path)
    if header.shape[0] * header.shape[1] * 64 > MAX_PIXELS:
        raise ImageReadError(f"{path} has too many pixels to analyse", "too_many_pixels", path)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"{path} is not an image file Raiten can read", "not_image", path)
    return cast(Image, image)
