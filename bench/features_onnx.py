"""dlib's ResNet on dlib against the same network converted to ONNX, on labelled photos.

Run from the repository root::

    .venv/bin/python bench/features_onnx.py                  # faces-calib, Markdown
    .venv/bin/python bench/features_onnx.py --folder DIR --json

For every photo the face is found as ``raiten calibrate --folder`` finds it (Raiten's default
detector on the padded photo, the largest face), and both embedders (``dlib-resnet128`` and
``dlib-resnet128-onnx``, one thread each, as in the feature child process) turn it into an
L2-normalised vector. It reports:

- the cosine between the two vectors of each face (min, mean): the ONNX model is meant to
  give dlib's vectors, so every calibrated figure of dlib-resnet128 holds for it;
- genuine and impostor pairs matched at the manifest's threshold with each, and the pairs
  whose decision differs between the two;
- CPU milliseconds per face of each embedder (``time.process_time``: this process's CPU on
  every thread), landmarks and chip included, and the ONNX path's steps: the 5-point
  landmarks, dlib's ``get_face_chip`` and the network on onnxruntime.

CPU time is shared with whatever else runs: the machine's load average is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from desktopapp.core.calibration import (
    false_matches_at,
    false_non_matches_at,
    labelled_photos,
    pair_scores,
    photo_face,
)
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.vision.engine import load_backend
from desktopapp.core.vision.features import CHIP_PADDING, CHIP_SIZE, OnnxResNetEmbedder
from desktopapp.core.vision.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[1]
FACES_CALIB = ROOT.parent / "shared" / "testdata" / "faces-calib"
DLIB_ID = "dlib-resnet128"
ONNX_ID = "dlib-resnet128-onnx"


def _cpu_ms(call: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.process_time()
    result = call(*args)
    return result, (time.process_time() - start) * 1000.0


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "median": statistics.median(values)}


def run(folder: Path) -> dict[str, Any]:
    registry = ModelRegistry.load()
    detector = engine_for_mode(VisionConfig(feature_processes=0), Mode.REPEAT).detector
    assert detector is not None
    dlib_embedder = load_backend(registry, registry.get(DLIB_ID), threads=1)
    onnx_embedder: OnnxResNetEmbedder = load_backend(registry, registry.get(ONNX_ID), threads=1)
    # The conversion is compared chip for chip; averaging with the mirror image is a separate
    # choice of the default model, measured by `raiten calibrate --folder`.
    onnx_embedder.mirrored = False
    identities: list[str] = []
    vectors: dict[str, list[Any]] = {DLIB_ID: [], ONNX_ID: []}
    times: dict[str, list[float]] = {k: [] for k in (DLIB_ID, ONNX_ID, "landmarks", "chip", "net")}
    for photo in labelled_photos(folder):
        found = photo_face(detector, photo.path)
        if found is None:
            continue
        image, face = found
        identities.append(photo.identity)
        for model_id, embedder in ((DLIB_ID, dlib_embedder), (ONNX_ID, onnx_embedder)):
            vector, ms = _cpu_ms(embedder.embed, image, face)
            vectors[model_id].append(vector)
            times[model_id].append(ms)
        # The ONNX path step by step, as OnnxResNetEmbedder.embed takes it.
        (rgb, shape), ms = _cpu_ms(onnx_embedder._shape, image, face)
        times["landmarks"].append(ms)
        get_face_chip = onnx_embedder._dlib.get_face_chip
        chip, ms = _cpu_ms(get_face_chip, rgb, shape, CHIP_SIZE, CHIP_PADDING)
        times["chip"].append(ms)
        _, ms = _cpu_ms(onnx_embedder._session.run, None, {"chip": chip[np.newaxis]})
        times["net"].append(ms)
    a = np.asarray(vectors[DLIB_ID], np.float32)
    b = np.asarray(vectors[ONNX_ID], np.float32)
    cosines = np.sum(a * b, axis=1)
    threshold = float(registry.get(ONNX_ID).options["threshold"])
    decisions: dict[str, Any] = {}
    scores = {}
    for model_id, features in ((DLIB_ID, a), (ONNX_ID, b)):
        genuine, impostor = pair_scores(identities, features)
        scores[model_id] = (genuine, impostor)
        decisions[model_id] = {
            "genuine_matched": int(genuine.size - false_non_matches_at(genuine, threshold).errors),
            "genuine_pairs": int(genuine.size),
            "impostor_matched": false_matches_at(impostor, threshold).errors,
            "impostor_pairs": int(impostor.size),
        }
    flips = sum(
        int(
            np.count_nonzero((scores[DLIB_ID][i] >= threshold) != (scores[ONNX_ID][i] >= threshold))
        )
        for i in range(2)
    )
    return {
        "folder": str(folder),
        "faces": len(identities),
        "cosine": {"min": float(cosines.min()), "mean": float(cosines.mean())},
        "threshold": threshold,
        "decisions": decisions,
        "pairs_decided_differently": flips,
        "cpu_ms_per_face": {k: _summary(v) for k, v in times.items()},
        "load_average": os.getloadavg(),
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['faces']} faces of {result['folder']}",
        f"cosine dlib vs ONNX: min {result['cosine']['min']:.7f}, "
        f"mean {result['cosine']['mean']:.7f}",
        "",
        f"| at threshold {result['threshold']} | genuine matched | impostors matched |",
        "| --- | --- | --- |",
    ]
    for model_id, d in result["decisions"].items():
        lines.append(
            f"| {model_id} | {d['genuine_matched']} / {d['genuine_pairs']} | "
            f"{d['impostor_matched']} / {d['impostor_pairs']} |"
        )
    lines += [
        f"pairs decided differently: {result['pairs_decided_differently']}",
        "",
        "| CPU ms per face | mean | median |",
        "| --- | --- | --- |",
    ]
    for step, s in result["cpu_ms_per_face"].items():
        lines.append(f"| {step} | {s['mean']:.1f} | {s['median']:.1f} |")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"load average: {load}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FACES_CALIB)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"no such folder: {args.folder}", file=sys.stderr)
        return 2
    result = run(args.folder)
    print(json.dumps(result, indent=2) if args.json else _markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
