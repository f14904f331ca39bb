"""One-to-one face comparison and threshold calibration on labelled pairs.

Scores are cosine similarities of L2-normalised features. Calibration measures how a
threshold would have decided a set of genuine (same person) and impostor (different people)
pairs; matching (the gallery, open-set decisions) builds on the chosen threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image, Vector

log = logging.getLogger(__name__)


def largest_face_feature(engine: VisionEngine, image: Image) -> Vector | None:
    """The feature of the biggest face in the picture, or None when there is no face."""
    if engine.detector is None or engine.embedder is None:
        raise RuntimeError("comparison needs a face detector and a feature model")
    faces = engine.detector.detect(image)
    if not faces:
        return None
    return engine.embedder.embed(image, max(faces, key=lambda f: f.area))


@dataclass(frozen=True, slots=True)
class Calibration:
    pairs: int
    accuracy_at_threshold: float | None
    best_threshold: float | None
    best_accuracy: float | None
    tar_at_far_1e3: float | None


def _accuracy(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((scores >= threshold) == same))


def calibrate(scores: Sequence[float], same: Sequence[bool], threshold: float) -> Calibration:
    """Accuracy at ``threshold``, the most accurate threshold, and TAR at FAR 1e-3.

    The best threshold is taken from the middle of the widest run of equally accurate
    candidates, so that a separable set yields the midpoint of the gap, not its edge.
    TAR at FAR 1e-3 uses the strictest threshold that lets at most 0.1 % of impostor pairs
    through; with fewer than 1000 impostor pairs that means none of them.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(same, dtype=bool)
    if s.size == 0:
        return Calibration(0, None, None, None, None)
    ordered = np.unique(s)
    candidates = np.concatenate(
        ([ordered[0] - 1e-6], (ordered[:-1] + ordered[1:]) / 2, [ordered[-1] + 1e-6])
    )
    accuracies = np.array([_accuracy(s, y, t) for t in candidates])
    best = float(accuracies.max())
    best_indices = np.flatnonzero(accuracies == best)
    # Candidates are sorted, so the tied ones form runs; the middle of the longest run wins.
    runs = np.split(best_indices, np.flatnonzero(np.diff(best_indices) != 1) + 1)
    longest = max(runs, key=len)
    low, high = candidates[longest[0]], candidates[longest[-1]]
    best_threshold = float((low + high) / 2)

    genuine, impostor = s[y], s[~y]
    tar: float | None = None
    if genuine.size and impostor.size:
        allowed = int(np.floor(impostor.size * 1e-3))
        strict = np.sort(impostor)[::-1][allowed]
        tar = float(np.mean(genuine > strict))
    return Calibration(
        pairs=int(s.size),
        accuracy_at_threshold=_accuracy(s, y, threshold),
        best_threshold=best_threshold,
        best_accuracy=best,
        tar_at_far_1e3=tar,
    )
