"""Mask recall: the share of reference faces and persons that Raiten really obscures, in what
the live view shows and in what ``raiten anonymise`` writes (issue 15, G-12).

Run from the repository root::

    .venv/bin/python bench/masking.py                 # a table per video
    .venv/bin/python bench/masking.py --json          # one JSON object
    .venv/bin/python bench/masking.py --frames 40     # the first 40 frames of each video only
    .venv/bin/python bench/masking.py --person-model nanodet-g   # another person model

The reference is worked out here, from the source frames alone, never from Raiten's output:

* **Faces**: libfacedetection (yuface) and CenterFace, two networks of different design trained
  separately, each run on the whole frame scaled so that its longer side is REFERENCE_SIDE px
  (above the source size of both videos: nothing is shrunk, small faces are enlarged), each at
  a low threshold. A reference face is a pair of boxes, one from each detector, that overlap by
  IoU >= FACE_AGREE_IOU: what one network alone finds (a false alarm, or a face the other
  misses) is left out either way, so the reference neither flatters nor punishes one
  detector's habits. Its box is the union of the pair: the stricter choice, since all of it
  must be obscured. It is fair although Raiten masks with yuface too: Raiten runs yuface at
  640 px and its own threshold on 10 frames a second and adds persons and held tracks, while
  the reference runs it larger, lower and with CenterFace's agreement, on every frame.
* **Persons**: SSDLite-MobileNetV2 run on the whole frame and on overlapping square tiles
  (so that people are seen at about the network's own scale), and OpenCV's HOG people
  detector (a linear SVM on gradients, no neural network) at REFERENCE_SIDE px. A reference
  person is a pair that overlaps by IoU >= PERSON_AGREE_IOU (HOG's boxes carry the detection
  window's margin, hence the lower value); its box is the intersection of the pair, the part
  both agree is the person.

A reference box counts as **obscured** when its detail is gone from all of it. Detail is the
band-pass of the grey picture (a difference of Gaussians at 1/48 and 1/16 of the box width: the
eyes, mouth and edges that make a face recognisable, finer than the six samples across a box
that masking leaves; a coarser band would count the few blocks of a correctly pixelated face as
kept detail). In the whole box and in each of its four halves, the shown frame must
reproduce less than KEPT_DETAIL (half) of the source's detail energy (``retained``: one minus
the error energy over the source's energy; it reaches 0.5 only with a correlation above 0.7
and a matching strength). A part whose source has almost no detail (a plain wall, a dark coat)
has nothing to hide and is not judged. So a face with one half left uncovered is a miss. An
unmasked face written through the video encoder retains 0.87-1.0 (the test checks this
control); a masked one about 0. (Correlation alone over a 3x3 grid was tried first: small
cells of a pixelated face correlate up to 0.8 by chance where a block edge meets an edge of
the face, at a fraction of its strength.)

*Shown* is FrameAnalyser's output at default settings in repeat mode, fed at its analysis rate
(10 frames a second, as the live view drops the rest); *anonymise* is ``core.anonymise`` over
every frame, read back from the file it wrote.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.anonymise import MODE as ANONYMISE_MODE  # noqa: E402
from desktopapp.core.anonymise import anonymise  # noqa: E402
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig  # noqa: E402
from desktopapp.core.sources import Frame, SourceKind, SourceSpec, iter_frames  # noqa: E402
from desktopapp.core.tracking import Box, iou_matrix  # noqa: E402
from desktopapp.core.vision.backends import load_backend  # noqa: E402
from desktopapp.core.vision.persons import HogPersonDetector, hog_info  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.types import Image  # noqa: E402

log = logging.getLogger(__name__)

TESTDATA = ROOT.parent / "shared" / "testdata" / "video"
VIDEOS = (TESTDATA / "crowd.mp4", TESTDATA / "vtest.avi")

REFERENCE_SIDE = 1280
FACE_THRESHOLDS = {"yuface": 0.5, "centerface": 0.3}
FACE_AGREE_IOU = 0.4
PERSON_AGREE_IOU = 0.3
SSD_TILE_SHARE = 0.6  # tile side as a share of the frame height; tiles overlap by a third
KEPT_DETAIL = 0.5
MIN_DETAIL = 2.0  # grey levels (standard deviation of the band-pass) below which a cell is plain
ANALYSIS_FPS = PipelineConfig().analysis_fps


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    faces: list[Box]
    persons: list[Box]


class ReferenceDetectors:
    """The reference's four detectors, configured as the module docstring says."""

    def __init__(self) -> None:
        registry = ModelRegistry.load()
        self.faces = {}
        for model_id, threshold in FACE_THRESHOLDS.items():
            entry = registry.get(model_id)
            options = {**entry.options, "min_confidence": threshold, "max_side": 10_000}
            self.faces[model_id] = load_backend(
                registry, dataclasses.replace(entry, options=options), threads=2
            )
        ssd = registry.get("ssdlite-mobilenet-v2")
        self.ssd = load_backend(registry, ssd, threads=2)
        self.hog = HogPersonDetector(hog_info(), {}, {"max_side": 10_000}, 2)

    def reference(self, image: Image) -> Reference:
        height, width = image.shape[:2]
        factor = REFERENCE_SIDE / max(height, width)
        big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        found = [
            [_scaled((f.x, f.y, f.w, f.h), 1 / factor) for f in detector.detect(big)]
            for detector in self.faces.values()
        ]
        faces = [_union(a, b) for a, b in _agreeing(found[0], found[1], FACE_AGREE_IOU)]
        ssd = self._tiled_persons(image)
        hog = [_scaled((p.x, p.y, p.w, p.h), 1 / factor) for p in self.hog.detect(big)]
        persons = [_intersection(a, b) for a, b in _agreeing(ssd, hog, PERSON_AGREE_IOU)]
        return Reference(faces, persons)

    def _tiled_persons(self, image: Image) -> list[Box]:
        height, width = image.shape[:2]
        side = round(height * SSD_TILE_SHARE)
        stride = max(1, side * 2 // 3)
        boxes: list[Box] = [(p.x, p.y, p.w, p.h) for p in self.ssd.detect(image)]
        scores = [p.score for p in self.ssd.detect(image)]
        for top in _starts(height, side, stride):
            for left in _starts(width, side, stride):
                tile = np.ascontiguousarray(image[top : top + side, left : left + side])
                for p in self.ssd.detect(tile):
                    boxes.append((p.x + left, p.y + top, p.w, p.h))
                    scores.append(p.score)
        if not boxes:
            return []
        keep = cv2.dnn.NMSBoxes([list(b) for b in boxes], scores, 0.0, 0.5)
        return [boxes[int(i)] for i in np.asarray(keep).reshape(-1)]


def _starts(length: int, side: int, stride: int) -> list[int]:
    if side >= length:
        return [0]
    starts = list(range(0, length - side, stride))
    return [*starts, length - side]


def _scaled(box: Box, factor: float) -> Box:
    return (box[0] * factor, box[1] * factor, box[2] * factor, box[3] * factor)


def _union(a: Box, b: Box) -> Box:
    left, top = min(a[0], b[0]), min(a[1], b[1])
    return (left, top, max(a[0] + a[2], b[0] + b[2]) - left, max(a[1] + a[3], b[1] + b[3]) - top)


def _intersection(a: Box, b: Box) -> Box:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    return (left, top, min(a[0] + a[2], b[0] + b[2]) - left, min(a[1] + a[3], b[1] + b[3]) - top)


def _agreeing(first: list[Box], second: list[Box], min_iou: float) -> list[tuple[Box, Box]]:
    """Pairs (one box of each list, each box used once) by falling IoU, down to ``min_iou``."""
    if not first or not second:
        return []
    overlap = iou_matrix(np.array(first, np.float64), np.array(second, np.float64))
    pairs = []
    while True:
        i, j = np.unravel_index(int(np.argmax(overlap)), overlap.shape)
        if overlap[i, j] < min_iou:
            return pairs
        pairs.append((first[i], second[j]))
        overlap[i, :] = -1
        overlap[:, j] = -1


def _band_pass(grey: NDArray[np.float32], width: float) -> NDArray[np.float32]:
    fine, coarse = max(0.7, width / 48), max(1.5, width / 16)
    result: NDArray[np.float32] = cv2.GaussianBlur(grey, (0, 0), fine) - cv2.GaussianBlur(
        grey, (0, 0), coarse
    )
    return result


def _regions(height: int, width: int) -> list[tuple[slice, slice]]:
    """The whole box and its four halves (left, right, top, bottom)."""
    whole = slice(None)
    return [
        (whole, whole),
        (whole, slice(0, width // 2)),
        (whole, slice(width // 2, None)),
        (slice(0, height // 2), whole),
        (slice(height // 2, None), whole),
    ]


def obscured(shown: Image, source: Image, box: Box) -> bool:
    """Whether ``box`` of ``shown`` keeps none of the structure of ``source`` (see the module
    docstring): in the whole box and in each of its halves, less than KEPT_DETAIL of the
    source's detail is left."""
    height, width = source.shape[:2]
    x, y, w, h = box
    left, top = max(0, int(x)), max(0, int(y))
    right, bottom = min(width, int(np.ceil(x + w))), min(height, int(np.ceil(y + h)))
    if right - left < 2 or bottom - top < 2:
        return True  # nothing of it is in the picture
    # The band-pass is taken on a window around the box so that its edge is not an edge.
    pad = round(max(w, h) / 4)
    window = (
        max(0, left - pad),
        max(0, top - pad),
        min(width, right + pad),
        min(height, bottom + pad),
    )

    def detail(image: Image) -> NDArray[np.float32]:
        crop = image[window[1] : window[3], window[0] : window[2]]
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
        band = _band_pass(grey, w)
        return band[top - window[1] : bottom - window[1], left - window[0] : right - window[0]]

    a, b = detail(shown), detail(source)
    for rows, columns in _regions(*b.shape):
        part_a, part_b = a[rows, columns].ravel(), b[rows, columns].ravel()
        if part_b.size < 4 or part_b.std() < MIN_DETAIL:
            continue  # plain in the source: nothing recognisable to hide
        if retained(part_a, part_b) >= KEPT_DETAIL:
            return False
    return True


def retained(shown: NDArray[np.float32], source: NDArray[np.float32]) -> float:
    """The share of the source's detail energy that the shown detail reproduces: 1 for an
    unchanged picture, 0 or less for a picture that has none of it (or other detail)."""
    error = float(np.square(shown - source).sum())
    return 1.0 - error / max(float(np.square(source).sum()), 1e-9)


@dataclasses.dataclass
class Tally:
    faces: int = 0
    faces_obscured: int = 0
    persons: int = 0
    persons_obscured: int = 0

    def add(self, shown: Image, source: Image, reference: Reference) -> None:
        for box in reference.faces:
            self.faces += 1
            self.faces_obscured += obscured(shown, source, box)
        for box in reference.persons:
            self.persons += 1
            self.persons_obscured += obscured(shown, source, box)

    def as_dict(self) -> dict[str, Any]:
        return {
            "faces": self.faces,
            "face_recall": round(self.faces_obscured / self.faces, 4) if self.faces else None,
            "persons": self.persons,
            "person_recall": (
                round(self.persons_obscured / self.persons, 4) if self.persons else None
            ),
        }


def _source_frames(video: Path, frames: int | None) -> Iterator[Frame]:
    return iter_frames(SourceSpec(SourceKind.FILE, str(video), loop=False), max_frames=frames)


def measure_video(
    video: Path,
    detectors: ReferenceDetectors,
    frames: int | None = None,
    person_model: str | None = None,
) -> dict[str, Any]:
    """Shown and anonymise recall on the first ``frames`` frames of ``video`` (all: None), with
    the manifest's ``person_model`` (None: its default)."""
    vision = VisionConfig(feature_processes=0, threads=2, person_detection=person_model)
    shown_engine = engine_for_mode(vision, Mode.REPEAT)
    analyser = FrameAnalyser(1, shown_engine, PipelineConfig(mode=Mode.REPEAT))
    shown, written = Tally(), Tally()
    with tempfile.TemporaryDirectory(prefix="raiten-masking-") as folder:
        clip = Path(folder) / "source.avi"
        out = Path(folder) / "anonymised.mp4"
        _copy_slice(video, clip, frames)
        started = time.perf_counter()
        result = anonymise(clip, out, engine_for_mode(vision, ANONYMISE_MODE))
        anonymise_seconds = time.perf_counter() - started
        written_frames = _source_frames(out, None)
        next_shown = 0.0
        analysed_seconds = 0.0
        for frame in _source_frames(clip, None):
            source = frame.image.copy()
            reference = detectors.reference(source)
            written_frame = next(written_frames)
            written.add(written_frame.image, source, reference)
            if frame.timestamp + 1e-6 >= next_shown:
                next_shown += 1.0 / ANALYSIS_FPS
                began = time.perf_counter()
                masked, _closed = analyser.process(frame)
                analysed_seconds += time.perf_counter() - began
                shown.add(masked.image, source, reference)
        return {
            "video": video.name,
            "frames": result.frames,
            "shown": {**shown.as_dict(), "frames": analyser.frames},
            "anonymise": written.as_dict(),
            "shown_fps": round(analyser.frames / analysed_seconds, 1),
            "anonymise_fps": round(result.frames / anonymise_seconds, 1),
        }


def _copy_slice(video: Path, clip: Path, frames: int | None) -> None:
    """The first ``frames`` of ``video`` as a lossless-enough clip (MJPG at top quality is not
    lossless; the reference and both measurements read this clip, so they see the same)."""
    capture = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        while frames is None or count < frames:
            ok, image = capture.read()
            if not ok:
                break
            if writer is None:
                size = (image.shape[1], image.shape[0])
                writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"FFV1"), fps, size)
            writer.write(image)
            count += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()


def run(
    videos: Sequence[Path] = VIDEOS, frames: int | None = None, person_model: str | None = None
) -> dict[str, Any]:
    detectors = ReferenceDetectors()
    load = load_average()
    results = [measure_video(video, detectors, frames, person_model) for video in videos]
    return {"machine": machine(), "load_average": load, "videos": results}


def _table(result: dict[str, Any]) -> str:
    lines = [
        "| video | frames | output | ref. faces | face recall | ref. persons | person recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for video in result["videos"]:
        for output in ("shown", "anonymise"):
            row = video[output]
            frames = row.get("frames", video["frames"])
            lines.append(
                f"| {video['video']} | {frames} | {output} | {row['faces']} | "
                f"{row['face_recall']} | {row['persons']} | {row['person_recall']} |"
            )
    speeds = "; ".join(
        f"{v['video']}: shown {v['shown_fps']} fps, anonymise {v['anonymise_fps']} fps"
        for v in result["videos"]
    )
    lines += ["", f"Analysis speed (this run, under the load below): {speeds}"]
    lines += [f"Load average: {result['load_average']}; {result['machine']}"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--frames", type=int, default=None, help="first N frames of each video")
    parser.add_argument(
        "--person-model", help="a person model of the manifest (default: its default)"
    )
    parser.add_argument("videos", nargs="*", type=Path, default=list(VIDEOS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.videos, args.frames, args.person_model)
    print(json.dumps(result) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
