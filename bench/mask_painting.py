"""What painting the masks costs a frame, on the boxes the analyser really asks to mask.

Run from the repository root::

    .venv/bin/python bench/mask_painting.py                 # a table per source
    .venv/bin/python bench/mask_painting.py --frames 60 --json

Each source (the pipeline bench's moving six-face picture, ``vtest.avi`` and ``crowd.mp4``) is
fed to one ``FrameAnalyser`` at default settings in repeat mode, and every call it makes to
``mask_frame`` is kept in memory (never on disk): the frame, the face boxes, the person boxes
(motion, held tracks, the persons of the frame before, the second look) and the style. Then
each call is timed again on its own (CPU milliseconds, ``time.process_time``, the median of
REPEATS). It reports, a frame: the boxes, the pixels of the boxes' grown areas summed (what
painting box by box covers) and their union (what must be covered), the CPU time, and the
pixels inside the areas left equal to the source in all channels (by chance: a pixel equal to
the mean of its block).

Only the public ``mask_frame`` and the long-standing ``_grown`` are used, so the same script
run with PYTHONPATH at another checkout measures that checkout's painting on the same frames.
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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from desktopapp.core import pipeline, privacy
from desktopapp.core.benchmark import SyntheticSource
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.sources import Frame, SourceKind, SourceSpec, iter_frames

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
VIDEOS = {
    "vtest.avi": TESTDATA / "video" / "vtest.avi",
    "crowd.mp4": TESTDATA / "video" / "crowd.mp4",
}
SIX_FACES = "six faces"
REPEATS = 5
ANALYSIS_FPS = 10.0


@dataclasses.dataclass(frozen=True)
class MaskCall:
    """One call of the analyser to mask_frame."""

    image: np.ndarray
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def areas(self) -> list[tuple[int, int, int, int]]:
        height, width = self.image.shape[:2]
        boxes = self.args[0]
        margin = self.kwargs.get("margin", privacy.FACE_MARGIN)
        person_margin = self.kwargs.get("person_margin", privacy.PERSON_MARGIN)
        return [
            *(privacy._grown(b, person_margin, width, height) for b in self.kwargs["persons"]),
            *(privacy._grown(b, margin, width, height) for b in boxes),
        ]

    def covered(self) -> np.ndarray:
        inside = np.zeros(self.image.shape[:2], dtype=bool)
        for left, top, right, bottom in self.areas():
            if right > left and bottom > top:
                inside[top:bottom, left:right] = True
        return inside


def _six_face_frames(frames: int) -> Iterator[Frame]:
    from bench.pipeline import load_six_faces  # noqa: PLC0415
    from bench.vision import letterbox  # noqa: PLC0415

    source = SyntheticSource(letterbox(load_six_faces()))
    for index in range(frames):
        yield Frame(source.frame_at(index), index, index / ANALYSIS_FPS, time.monotonic())


def _video_frames(video: Path, frames: int) -> Iterator[Frame]:
    next_shown = 0.0
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(video), loop=False)):
        if frame.timestamp + 1e-6 >= next_shown:  # fed at the analysis rate, as live
            next_shown += 1.0 / ANALYSIS_FPS
            yield frame
            frames -= 1
            if frames <= 0:
                return


def record(frames: Iterator[Frame]) -> list[MaskCall]:
    """Every mask_frame call of a default repeat-mode analyser over ``frames``."""
    engine = engine_for_mode(VisionConfig(feature_processes=0), Mode.REPEAT)
    analyser = pipeline.FrameAnalyser(1, engine, pipeline.PipelineConfig(mode=Mode.REPEAT))
    calls: list[MaskCall] = []
    real = pipeline.mask_frame

    def recording(image: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        calls.append(MaskCall(image.copy(), args, kwargs))
        return real(image, *args, **kwargs)

    with mock.patch.object(pipeline, "mask_frame", recording):
        for frame in frames:
            analyser.process(frame)
    return calls


def measure(calls: Sequence[MaskCall]) -> dict[str, Any]:
    cpu_ms, boxes, summed, union, unchanged = [], [], [], [], []
    for call in calls:
        times = []
        for _ in range(REPEATS):
            start = time.process_time()
            shown = privacy.mask_frame(call.image, *call.args, **call.kwargs)
            times.append((time.process_time() - start) * 1000.0)
        cpu_ms.append(statistics.median(times))
        areas = call.areas()
        boxes.append(len(areas))
        summed.append(sum(max(0, r - x) * max(0, b - y) for x, y, r, b in areas))
        covered = call.covered()
        union.append(int(np.count_nonzero(covered)))
        same = np.all(shown == call.image, axis=2) & covered
        unchanged.append(int(np.count_nonzero(same)))
    return {
        "frames": len(calls),
        "boxes_a_frame": round(statistics.fmean(boxes), 1),
        "pixels_summed_a_frame": round(statistics.fmean(summed)),
        "pixels_covered_a_frame": round(statistics.fmean(union)),
        "cpu_ms_a_frame": round(statistics.fmean(cpu_ms), 3),
        "unchanged_share_of_covered": round(sum(unchanged) / max(1, sum(union)), 5),
    }


def run(frames: int) -> dict[str, Any]:
    sources: dict[str, Iterator[Frame]] = {SIX_FACES: _six_face_frames(frames)}
    sources.update({name: _video_frames(path, frames) for name, path in VIDEOS.items()})
    results = {name: measure(record(source)) for name, source in sources.items()}
    return {"sources": results, "load_average": os.getloadavg()}


def _table(result: dict[str, Any]) -> str:
    keys = list(next(iter(result["sources"].values())))
    lines = ["| source | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 1) + "|"]
    for name, values in result["sources"].items():
        lines.append(f"| {name} | " + " | ".join(str(values[k]) for k in keys) + " |")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    lines.append(f"load average: {load}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="analysed frames per source")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.frames < 1:
        print("--frames must be at least 1", file=sys.stderr)
        return 2
    result = run(args.frames)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
