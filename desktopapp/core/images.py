"""Reading still images into memory. Nothing here writes a pixel anywhere."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from desktopapp.core.vision.types import Image

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 100_000_000
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class ImageReadError(Exception):
    """The file is not an image Raiten can read; ``str()`` names the file and the reason."""


def read_image(path: Path) -> Image:
    """A BGR image from ``path``.

    ``np.fromfile`` + ``imdecode`` instead of ``imread`` because imread cannot open non-ASCII
    paths on Windows (Japanese folder names are common there).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise ImageReadError(f"{path} is empty")
    if size > MAX_FILE_BYTES:
        raise ImageReadError(f"{path} is too large ({size // (1024 * 1024)} MB)")
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    header = cv2.imdecode(data, cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if header is None:
        raise ImageReadError(f"{path} is not an image file Raiten can read")
    if header.shape[0] * header.shape[1] * 64 > MAX_PIXELS:
        raise ImageReadError(f"{path} has too many pixels to analyse")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"{path} is not an image file Raiten can read")
    return cast(Image, image)
