"""How useful one face crop is for matching: size, sharpness, pose and detector confidence.

The pipeline keeps only a track's best few crops (DESIGN "A frame's life"), ranked by
``FaceQuality.overall``. Each part is in [0, 1]; ``overall`` is their geometric mean so that one
bad part (tiny, blurred or turned away) pulls the whole score down.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from desktopapp.core.vision.types import Face, Image

# A face this many pixels tall or more counts as full size for the embedders (dlib chips are
# 150 px, ArcFace 112 px); below ~24 px features are close to noise.
FULL_SIZE_PX = 112.0
MIN_SIZE_PX = 24.0
# Variance of the Laplacian of a 64x64 grey chip at which a face counts as sharp.
SHARP_VARIANCE = 400.0
# Shots below this overall quality take no part in matching (matching.MatchPolicy). Measured
# on faces-calib rendered as a cheap camera sees them (50-100 px, blur, noise, JPEG), dlib's
# scores of such shots sink for genuine and impostor pairs alike: at threshold 0.945, 78 % of
# genuine pairs below quality 0.45 fail against 42 % above 0.65, while impostor matches do not
# rise. Averaged into a track's probe they drag a good shot down, so the worst are left out;
# a track with no shot this good has no usable face (a visit without an identity).
MATCH_MIN_QUALITY = 0.35


@dataclass(frozen=True, slots=True)
class FaceQuality:
    size: float
    sharpness: float
    frontal: float
    detector: float

    @property
    def overall(self) -> float:
        parts = np.array([self.size, self.sharpness, self.frontal, self.detector])
        return float(np.prod(np.clip(parts, 1e-3, 1.0)) ** (1.0 / len(parts)))


def _size_score(face: Face) -> float:
    side = min(face.w, face.h)
    return float(np.clip((side - MIN_SIZE_PX) / (FULL_SIZE_PX - MIN_SIZE_PX), 0.0, 1.0))


def _sharpness_score(image: Image, face: Face) -> float:
    left, top, right, bottom = face.clipped_box(image.shape[1], image.shape[0])
    crop = image[top:bottom, left:right]
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    chip = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA)
    variance = float(cv2.Laplacian(chip, cv2.CV_64F).var())
    return float(np.clip(variance / SHARP_VARIANCE, 0.0, 1.0))


def _frontal_score(face: Face) -> float:
    """1 for a face looking at the camera, towards 0 as it turns (yaw) or tilts (roll)."""
    right_eye, left_eye, nose = face.landmarks[0], face.landmarks[1], face.landmarks[2]
    eye_vector = left_eye - right_eye
    eye_distance = float(np.hypot(*eye_vector))
    if eye_distance < 1.0:
        return 0.0
    roll = abs(float(np.degrees(np.arctan2(eye_vector[1], eye_vector[0]))))
    # Yaw shows as the nose moving off the midpoint between the eyes.
    offset = abs(float(np.dot(nose - (right_eye + left_eye) / 2, eye_vector) / eye_distance))
    yaw_ratio = offset / (eye_distance / 2)
    roll_score = float(np.clip(1.0 - roll / 45.0, 0.0, 1.0))
    yaw_score = float(np.clip(1.0 - yaw_ratio, 0.0, 1.0))
    return roll_score * yaw_score


def face_quality(image: Image, face: Face) -> FaceQuality:
    return FaceQuality(
        size=_size_score(face),
        sharpness=_sharpness_score(image, face),
        frontal=_frontal_score(face),
        detector=float(np.clip(face.score, 0.0, 1.0)),
    )
