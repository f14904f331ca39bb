"""Person benchmark: SSDLite-MobileNetV2 on onnxruntime vs OpenCV's HOG fallback, per frame.

Run from the repository root::

    .venv/bin/python bench/persons.py            # Markdown tables
    .venv/bin/python bench/persons.py --json     # one JSON object

The pipeline table times the passer-by mode's whole per-frame analysis on one camera (person
detection, person tracking, masking and a counting line with hysteresis) over the first
``--pipeline-frames`` frames of ``vtest.avi`` at its own 768x576, as frames analysed per second.

Detection is timed on frames of ``vtest.avi`` resized to 640x480, including the detector's own
resizing, decoding and non-maximum suppression. SSDLite runs at threads=1 and threads=2 (the
``threads`` argument of ``load_backend``: onnxruntime's intra-op threads); HOG has no such
argument, so it is timed with OpenCV's process-wide thread count (``cv2.setNumThreads``) set to
each value in turn. Times are wall-clock ``time.perf_counter`` medians and 90th percentiles,
after one untimed warm-up call; other processes on the machine skew them, so the load average
is reported too.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cv2

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from bench.vision import VIDEO, time_calls, timing_rows, video_frames  # noqa: E402 - shared with vision
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.counting import CountingLine  # noqa: E402
from desktopapp.core.floor import Space  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig  # noqa: E402
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames  # noqa: E402
from desktopapp.core.vision.backends import load_backend  # noqa: E402
from desktopapp.core.vision.persons import HogPersonDetector, hog_info  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.types import Image, PersonDetector, Role  # noqa: E402

log = logging.getLogger(__name__)

THREADS = (1, 2)
HOG = "opencv-hog-people"


def _detectors(registry: ModelRegistry, threads: int) -> dict[str, PersonDetector]:
    """The default person model and the HOG fallback, HOG on ``threads`` OpenCV threads."""
    entry = registry.default(Role.PERSON_DETECTION)
    cv2.setNumThreads(threads)
    return {
        entry.model_id: load_backend(registry, entry, threads),
        HOG: HogPersonDetector(hog_info(), {}, {}, threads),
    }


def _pipeline_fps(threads: int, count: int) -> float:
    """Frames per second of the passer-by analysis of one camera (decoding excluded)."""
    engine = engine_for_mode(VisionConfig(threads=threads), Mode.PASSERBY)
    line = CountingLine("bench", (0.44, 0.45), (0.44, 0.82), Space.IMAGE)
    analyser = FrameAnalyser(1, engine, PipelineConfig(Mode.PASSERBY, lines=(line,)))
    frames = list(iter_frames(SourceSpec(SourceKind.FILE, str(VIDEO)), max_frames=count))
    started = time.perf_counter()
    for frame in frames:
        analyser.process(frame)
    return round(len(frames) / (time.perf_counter() - started), 1)


def run(
    repeats: int = 10, video_frame_count: int = 10, pipeline_frames: int = 300
) -> dict[str, Any]:
    """Measure everything: a flat dict of dotted keys.

    ``persons.detect_ms`` (the default model) and ``persons.detect_ms_hog`` (and their
    ``_p90_ms``) are the medians at the highest thread count measured.
    """
    started = time.perf_counter()
    registry = ModelRegistry.load()
    default_model = registry.default(Role.PERSON_DETECTION).model_id
    result: dict[str, Any] = {
        **machine(),
        "persons.repeats": repeats,
        "persons.model": default_model,
    }
    frames: list[Image] = video_frames(video_frame_count)
    result["persons.frames"] = len(frames)
    opencv_threads = cv2.getNumThreads()
    try:
        for threads in THREADS:
            for model_id, detector in _detectors(registry, threads).items():
                log.info("timing %s at %d threads on %d frames", model_id, threads, len(frames))
                measured = time_calls([partial(detector.detect, f) for f in frames], repeats)
                for stat, value in measured.items():
                    result[f"persons.detect.{model_id}.t{threads}.{stat}"] = value
                if threads == max(THREADS):
                    suffix = "" if model_id == default_model else "_hog"
                    result[f"persons.detect_ms{suffix}"] = measured["median_ms"]
                    result[f"persons.detect_p90_ms{suffix}"] = measured["p90_ms"]
                    result[f"persons.found.{model_id}"] = sum(
                        len(detector.detect(f)) for f in frames
                    )
    finally:
        cv2.setNumThreads(opencv_threads)
    for threads in THREADS:
        result[f"persons.pipeline.t{threads}.fps"] = _pipeline_fps(threads, pipeline_frames)
    result["persons.pipeline.frames"] = pipeline_frames
    result["machine.loadavg_end"] = load_average()
    result["persons.seconds"] = round(time.perf_counter() - started, 1)
    return result


def markdown(result: dict[str, Any]) -> str:
    """The result as Markdown tables."""
    lines = [
        f"Person benchmark: {result['persons.frames']} frames of {VIDEO.name} at 640x480, "
        f"{result['persons.repeats']} repeats, {result['machine.cpus']} CPUs, load average "
        f"{result['machine.loadavg_start']} -> {result['machine.loadavg_end']}, "
        f"{result['persons.seconds']} s ({result['machine.platform']}).",
        "",
    ]
    lines += timing_rows(result, lambda _measure: "frame")
    lines += [
        "",
        "threads: onnxruntime intra-op threads for SSDLite, cv2.setNumThreads for HOG.",
        "",
        "| frames | " + " | ".join(k.removeprefix("persons.found.") for k in _found(result)) + " |",
        "|---:|" + "---:|" * len(_found(result)),
        f"| {result['persons.frames']} (persons found, total) | "
        + " | ".join(str(v) for v in _found(result).values())
        + " |",
        "",
        f"Passer-by analysis of one camera, {result['persons.pipeline.frames']} frames at "
        "768x576 (detection, tracking, masking, one counting line):",
        "",
        "| threads | frames/s |",
        "|---:|---:|",
        *(f"| {t} | {result[f'persons.pipeline.t{t}.fps']} |" for t in THREADS),
    ]
    return "\n".join(lines)


def _found(result: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in result.items() if k.startswith("persons.found.")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeats", type=int, default=10, help="timed passes (default 10)")
    parser.add_argument("--video-frames", type=int, default=10, help="frames from vtest.avi")
    parser.add_argument(
        "--pipeline-frames", type=int, default=300, help="frames for the pipeline table"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.repeats, args.video_frames, args.pipeline_frames)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
