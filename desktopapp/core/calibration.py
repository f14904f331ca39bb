"""Calibrating the open-set decision on labelled photos: one folder per person.

A folder of folders (the folder's name is the identity) is turned into one feature per photo;
scores of photos of different people are impostor comparisons, of the same person genuine
ones. Tight crops (a TV still cut to the face) leave the detector no context, so every photo
is padded before detection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2

from desktopapp.core.images import IMAGE_SUFFIXES, read_image
from desktopapp.core.vision.types import Face, FaceDetector, Image

log = logging.getLogger(__name__)

# Border added on every side of a photo, as a share of its longer side, before detection.
PAD_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class LabelledPhoto:
    identity: str
    path: Path


def labelled_photos(folder: Path) -> list[LabelledPhoto]:
    """Every picture in the sub-folders of ``folder``, the sub-folder's name as its identity,
    in name order. ValueError when there are fewer than two identities to compare."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    photos = [
        LabelledPhoto(person.name, path)
        for person in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(person.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if len({p.identity for p in photos}) < 2:
        raise ValueError(
            f"{folder} needs one sub-folder of photos per person, for at least two people"
        )
    return photos


def padded(image: Image) -> Image:
    """``image`` with a replicated border, so a face cropped to its edges has context."""
    pad = round(PAD_SHARE * max(image.shape[:2]))
    return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)


def photo_face(detector: FaceDetector, path: Path) -> tuple[Image, Face] | None:
    """The padded photo and its largest face, or None when no face is found."""
    image = padded(read_image(path))
    faces = detector.detect(image)
    if not faces:
        log.info("no face in %s", path)
        return None
    return image, max(faces, key=lambda f: f.area)
