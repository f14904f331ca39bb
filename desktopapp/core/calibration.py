"""Calibrating the open-set decision on labelled photos: one folder per person.

A folder of folders (the folder's name is the identity) is turned into one feature per photo;
scores of photos of different people are impostor comparisons, of the same person genuine
ones. Tight crops (a TV still cut to the face) leave the detector no context, so every photo
is padded before detection.

Cameras do not take portraits: by default each photo is first seen as a cheap camera would
see it (``CameraQuality``: the face 55-90 px wide, a soft lens, sensor noise, strong JPEG),
and its feature is the probe a track of those shots makes (``MatchPolicy.probe``). Impostor
scores are higher at that quality than between the photos as taken, so a threshold chosen
on the photos understates the false matches of a store's camera (docs/decisions.md
"Calibrated at camera quality"). Every picture stays in memory.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.images import IMAGE_SUFFIXES, read_image
from desktopapp.core.matching import MatchPolicy
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.quality import face_quality
from desktopapp.core.vision.types import Face, FaceDetector, FaceEmbedder, Image, Vector

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
    return cast(Image, cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE))


def photo_face(detector: FaceDetector, path: Path) -> tuple[Image, Face] | None:
    """The padded photo and its largest face, or None when no face is found."""
    image = padded(read_image(path))
    faces = detector.detect(image)
    if not faces:
        log.info("no face in %s", path)
        return None
    return image, max(faces, key=lambda f: f.area)


def binomial_upper_bound(errors: int, trials: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen ``errors`` times in ``trials``.

    The rate p with P(X <= errors | trials, p) = 1 - confidence, found by bisection on the
    binomial distribution (no statistics package needed). With no error it is
    1 - (1 - confidence) ** (1 / trials), about 3 / trials at 95 % (the rule of three).
    """
    if trials < 1 or not 0 <= errors <= trials or not 0.0 < confidence < 1.0:
        raise ValueError("need 0 <= errors <= trials, trials >= 1 and 0 < confidence < 1")
    alpha = 1.0 - confidence
    if errors == trials:
        return 1.0
    if errors == 0:
        return -math.expm1(math.log(alpha) / trials)

    def cdf(p: float) -> float:
        log_p, log_q = math.log(p), math.log1p(-p)
        base = math.lgamma(trials + 1)
        return sum(
            math.exp(
                base
                - math.lgamma(k + 1)
                - math.lgamma(trials - k + 1)
                + k * log_p
                + (trials - k) * log_q
            )
            for k in range(errors + 1)
        )

    low, high = errors / trials, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        if cdf(middle) > alpha:
            low = middle
        else:
            high = middle
    return high


@dataclass(frozen=True, slots=True)
class RateAt:
    """How a threshold decides a set of comparisons: errors, trials, rate and its bound."""

    threshold: float
    errors: int
    trials: int

    @property
    def rate(self) -> float:
        return self.errors / self.trials if self.trials else 0.0

    @property
    def upper_95(self) -> float:
        return binomial_upper_bound(self.errors, self.trials) if self.trials else 1.0


def false_matches_at(impostor: Sequence[float] | NDArray[np.float64], threshold: float) -> RateAt:
    """Impostor comparisons at or above ``threshold`` (the decision matches at ``>=``)."""
    scores = np.asarray(impostor, dtype=np.float64)
    return RateAt(threshold, int(np.count_nonzero(scores >= threshold)), int(scores.size))


def false_non_matches_at(
    genuine: Sequence[float] | NDArray[np.float64], threshold: float
) -> RateAt:
    scores = np.asarray(genuine, dtype=np.float64)
    return RateAt(threshold, int(np.count_nonzero(scores < threshold)), int(scores.size))


def threshold_for(
    impostor: Sequence[float] | NDArray[np.float64], target: float, step: float = 0.001
) -> float:
    """The lowest threshold, on a ``step`` grid, whose false-match rate's 95 % upper bound is
    at most ``target``; when the data cannot show a rate that low even with no false match
    (fewer than about 3 / target impostor comparisons), the lowest one with no false match
    at all. Chosen from impostor scores alone, never by best accuracy, so that a set of
    genuine pairs cannot pull it towards more false matches."""
    scores = np.sort(np.asarray(impostor, dtype=np.float64))
    if scores.size == 0:
        raise ValueError("need impostor comparisons to choose a threshold")
    supported = binomial_upper_bound(0, scores.size) <= target
    chosen = 1.0
    # Downwards from 1: false matches only grow as the threshold falls.
    for threshold in np.arange(round(1.0 / step), 0, -1) * step:
        errors = scores.size - int(np.searchsorted(scores, threshold, side="left"))
        if supported:
            fits = errors <= target * scores.size and (
                binomial_upper_bound(errors, scores.size) <= target
            )
        else:
            fits = errors == 0
        if not fits:
            break
        chosen = round(float(threshold), 6)
    return chosen


# The per-comparison false-match rate (95 % upper bound) the shipped threshold is chosen for,
# at camera quality (docs/decisions.md "Precision-first matching", "Calibrated at camera
# quality"): dlib at 0.957 already misses 0.46 of faces-calib's genuine pairs there.
TARGET_FALSE_MATCH_RATE = 4.5e-4


@dataclass(frozen=True, slots=True)
class FolderFeatures:
    """One feature per photo in which a face was found, with its identity."""

    identities: tuple[str, ...]
    features: NDArray[np.float32]
    no_face: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class CameraQuality:
    """How a cheap entrance camera sees a face: one shot per face width, each with its own
    lens blur, sensor noise and JPEG quality drawn from these ranges (the ranges of
    bench/identity.py's clips), as many shots as a track keeps (PipelineConfig.best_shots).
    ``seed`` makes a calibration repeatable."""

    face_widths: tuple[int, ...] = (50, 60, 70, 80, 90)
    blur_sigma: tuple[float, float] = (0.6, 1.4)
    noise_sigma: tuple[float, float] = (3.0, 7.0)
    jpeg_quality: tuple[int, int] = (35, 60)
    seed: int = 0


def camera_shots(
    detector: FaceDetector,
    image: Image,
    face: Face,
    camera: CameraQuality,
    rng: np.random.Generator,
) -> list[tuple[Image, Face]]:
    """The photo's face as ``camera`` would show it, one shot per face width: each shot is
    the whole (padded) photo scaled, softened, noised and JPEG-compressed, and the face the
    detector finds in it (a shot in which it finds none is left out)."""
    shots: list[tuple[Image, Face]] = []
    for width in camera.face_widths:
        scale = width / face.w
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        soft = cv2.GaussianBlur(small.astype(np.float32), (0, 0), rng.uniform(*camera.blur_sigma))
        noise = np.asarray(rng.normal(0.0, rng.uniform(*camera.noise_sigma), soft.shape))
        soft += noise.astype(np.float32)
        quality = int(rng.integers(camera.jpeg_quality[0], camera.jpeg_quality[1] + 1))
        _, encoded = cv2.imencode(
            ".jpg", np.clip(soft, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        shot = padded(cast(Image, cv2.imdecode(encoded, cv2.IMREAD_COLOR)))
        faces = detector.detect(shot)
        if faces:
            shots.append((shot, max(faces, key=lambda f: f.area)))
    return shots


def camera_probe(
    embedder: FaceEmbedder, shots: list[tuple[Image, Face]], policy: MatchPolicy
) -> Vector | None:
    """The feature a track of ``shots`` matches on, as the recorder forms it."""
    found = policy.probe(
        (face_quality(shot, face).overall, embedder.embed(shot, face)) for shot, face in shots
    )
    return None if found is None else found[0]


def folder_features(
    engine: VisionEngine, folder: Path, camera: CameraQuality | None = None
) -> FolderFeatures:
    """Features of the largest face in every photo of a labelled folder: of the photo as
    taken, or (``camera``) the probe of the photo's shots at camera quality. A photo with no
    face found, or no shot good enough to match on, is listed in ``no_face``."""
    if engine.detector is None or engine.embedder is None:
        raise RuntimeError("calibration needs a face detector and a feature model")
    identities: list[str] = []
    features: list[Vector] = []
    no_face: list[Path] = []
    rng = np.random.default_rng(camera.seed if camera is not None else 0)
    policy = MatchPolicy(threshold=engine.embedder.threshold)
    for photo in labelled_photos(folder):
        found = photo_face(engine.detector, photo.path)
        feature: Vector | None = None
        if found is not None and camera is None:
            feature = engine.embedder.embed(*found)
        elif found is not None and camera is not None:
            shots = camera_shots(engine.detector, *found, camera, rng)
            feature = camera_probe(engine.embedder, shots, policy)
        if feature is None:
            no_face.append(photo.path)
            continue
        identities.append(photo.identity)
        features.append(feature)
    return FolderFeatures(
        tuple(identities),
        np.asarray(features, np.float32).reshape(-1, engine.embedder.dim),
        tuple(no_face),
    )


def pair_scores(
    identities: Sequence[str], features: NDArray[np.float32]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(genuine, impostor) cosine scores of every pair of photos."""
    labels = np.asarray(identities)
    upper = np.triu_indices(len(labels), 1)
    scores = (features @ features.T)[upper].astype(np.float64)
    same = (labels[:, None] == labels[None, :])[upper]
    return scores[same], scores[~same]


def visitor_impostor_scores(
    identities: Sequence[str], features: NDArray[np.float32], max_templates: int = 5
) -> NDArray[np.float64]:
    """Scores of each photo against every other person as a visitor holding that person's
    photos (at most ``max_templates``) as templates, scored by their mean, as
    ``MatchPolicy`` scores visitors."""
    labels = np.asarray(identities)
    scores = features @ features.T
    people = sorted(set(identities))
    members = {p: np.flatnonzero(labels == p)[:max_templates] for p in people}
    rows = [
        float(scores[i, members[p]].mean())
        for i in range(len(labels))
        for p in people
        if p != labels[i]
    ]
    return np.asarray(rows, np.float64)


@dataclass(frozen=True, slots=True)
class SplitHalf:
    """A threshold chosen on one half of the people, measured on the other half."""

    calibrated_on: int  # identities
    threshold: float
    false_matches: RateAt  # on the other half's impostor pairs
    false_non_matches: RateAt


@dataclass(frozen=True, slots=True)
class FolderCalibration:
    photos: int
    identities: int
    no_face: int
    genuine: int
    impostor: int
    active: RateAt  # false matches at the active threshold
    active_non_matches: RateAt
    active_accuracy: float
    visitor_active: RateAt  # per visitor (mean over templates) at the active threshold
    target: float
    threshold: float  # chosen for the target
    chosen: RateAt
    chosen_non_matches: RateAt
    chosen_accuracy: float
    split: tuple[SplitHalf, SplitHalf]


def _accuracy(genuine: NDArray[np.float64], impostor: NDArray[np.float64], t: float) -> float:
    right = np.count_nonzero(genuine >= t) + np.count_nonzero(impostor < t)
    return float(right / (genuine.size + impostor.size))


def calibrate_folder(
    found: FolderFeatures, active_threshold: float, target: float = TARGET_FALSE_MATCH_RATE
) -> FolderCalibration:
    """False-match rate at the active threshold, the threshold for ``target``, and a split
    check: the threshold chosen on half the people (alternate identities in name order),
    measured on the other half, both ways."""
    genuine, impostor = pair_scores(found.identities, found.features)
    if genuine.size == 0 or impostor.size == 0:
        raise ValueError("calibration needs at least two photos of one person and two people")
    chosen = threshold_for(impostor, target)
    people = sorted(set(found.identities))
    halves = (set(people[0::2]), set(people[1::2]))
    split: list[SplitHalf] = []
    for calibrated, evaluated in (halves, halves[::-1]):
        own = [i for i, p in enumerate(found.identities) if p in calibrated]
        other = [i for i, p in enumerate(found.identities) if p in evaluated]
        _, own_impostor = pair_scores([found.identities[i] for i in own], found.features[own])
        other_genuine, other_impostor = pair_scores(
            [found.identities[i] for i in other], found.features[other]
        )
        t = threshold_for(own_impostor, target)
        split.append(
            SplitHalf(
                len(calibrated),
                t,
                false_matches_at(other_impostor, t),
                false_non_matches_at(other_genuine, t),
            )
        )
    return FolderCalibration(
        photos=len(found.identities) + len(found.no_face),
        identities=len(people),
        no_face=len(found.no_face),
        genuine=int(genuine.size),
        impostor=int(impostor.size),
        active=false_matches_at(impostor, active_threshold),
        active_non_matches=false_non_matches_at(genuine, active_threshold),
        active_accuracy=_accuracy(genuine, impostor, active_threshold),
        visitor_active=false_matches_at(
            visitor_impostor_scores(found.identities, found.features), active_threshold
        ),
        target=target,
        threshold=chosen,
        chosen=false_matches_at(impostor, chosen),
        chosen_non_matches=false_non_matches_at(genuine, chosen),
        chosen_accuracy=_accuracy(genuine, impostor, chosen),
        split=(split[0], split[1]),
    )
