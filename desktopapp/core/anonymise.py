"""Use case 5, incidental capture: an anonymised copy of a video file (``raiten anonymise``).

The one place Raiten writes pictures (G-03), and only masked ones: every frame goes through the
live view's own FrameAnalyser (incidental-capture mode: faces and whole persons masked, lost
tracks held), none is skipped, and only its masked output reaches the writer. The copy carries
no audio (cv2.VideoWriter writes a picture track only) and none of the source's metadata (the
container is written afresh). It is written to a hidden file beside OUT and renamed over OUT
only when complete, so a failure half-way leaves no half-masked file and an existing OUT intact.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from desktopapp.core.images import IMAGE_SUFFIXES
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import Detections, FrameAnalyser, PipelineConfig
from desktopapp.core.privacy import MaskStyle
from desktopapp.core.sources import Frame, SourceError, SourceKind, SourceSpec, iter_frames
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.schedule import ScheduledFaceDetector
from desktopapp.core.vision.types import Image, Person

log = logging.getLogger(__name__)

MODE = Mode.INCIDENTAL
# Container by OUT's suffix -> FourCC that OpenCV's bundled FFmpeg writes on every platform.
CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
FALLBACK_FPS = 25.0
# The next frames are detected in worker threads while this thread decodes, tracks, masks and
# encodes: both cores work on one file. A frame waits in memory, unmasked, only until its turn
# (as in a live camera's ring of frames). Persons are found in two threads (the detector keeps no
# state between frames); a face search by need remembers the frame before, so faces are searched
# by one more thread, frame after frame, once the frame's persons are known. Detecting each frame
# in turn instead kept anonymise on one core (33 ms of detection a frame on vtest.avi, 3.5 ms of
# the rest) while deface took two: 2.3 times faster than deface on a loaded machine, not 2.5.
DETECTION_THREADS = 2
FRAMES_AHEAD = 2


class AnonymiseError(Exception):
    """Input the operator can fix (``str()`` is one plain sentence)."""


@dataclass(frozen=True, slots=True)
class AnonymiseResult:
    frames: int
    faces: int  # face detections over all frames
    persons: int  # person detections over all frames
    seconds: float  # time taken
    fps: float  # frames anonymised per second

    def as_dict(self) -> dict[str, float | int]:
        return {
            "frames": self.frames,
            "faces": self.faces,
            "persons": self.persons,
            "seconds": self.seconds,
            "fps": self.fps,
        }


def check_paths(source: Path, out: Path, *, force: bool = False) -> None:
    """Raise AnonymiseError for a source that is missing, unreadable or a picture, and for an
    output that exists (unless ``force``), has no video suffix, or whose folder cannot be
    written."""
    if not source.exists():
        raise AnonymiseError(f"no such file {source}")
    if source.is_dir():
        raise AnonymiseError(f"{source} is a folder, not a video file")
    if not os.access(source, os.R_OK):
        raise AnonymiseError(f"cannot read {source}: permission denied")
    if source.suffix.lower() in IMAGE_SUFFIXES:
        raise AnonymiseError(f"{source} is a picture, not a video")
    if out.suffix.lower() not in CODECS:
        raise AnonymiseError(f"{out} must end in {', '.join(sorted(CODECS))}")
    if out.exists():
        if out.resolve() == source.resolve():
            raise AnonymiseError(f"{out} is the source itself: choose another output file")
        if not force:
            raise AnonymiseError(f"{out} exists: use --force to replace it")
        if out.is_dir():
            raise AnonymiseError(f"{out} is a folder")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise AnonymiseError(f"the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AnonymiseError(f"cannot write to the folder {folder}: permission denied")


def _source_fps(source: Path) -> float:
    capture = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()
    return fps if math.isfinite(fps) and 0.0 < fps <= 1000.0 else FALLBACK_FPS


def _open_writer(partial: Path, out: Path, fps: float, first: Image) -> cv2.VideoWriter:
    height, width = first.shape[:2]
    fourcc = cv2.VideoWriter.fourcc(*CODECS[out.suffix.lower()])
    writer = cv2.VideoWriter(str(partial), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise AnonymiseError(f"cannot write a video to {out}")
    return writer


def _detect_after(
    analyser: FrameAnalyser,
    image: Image,
    number: int,
    persons: Future[tuple[list[Person], list[Person]]],
) -> Detections:
    """Frame ``number``'s detections, once its persons have been found in another thread."""
    return analyser.detect(image, number, persons.result())


def anonymise(
    source: Path,
    out: Path,
    engine: VisionEngine,
    *,
    style: MaskStyle = MaskStyle.PIXELATE,
    force: bool = False,
    progress: Callable[[int], None] | None = None,
) -> AnonymiseResult:
    """Write ``out``: ``source`` with every face and person masked, frame by frame.

    ``engine`` is the incidental-capture mode's (modes.engine_for_mode). ``progress`` is
    called with the number of frames written so far.
    """
    check_paths(source, out, force=force)
    fps = _source_fps(source)
    analyser = FrameAnalyser(0, engine, PipelineConfig(mode=MODE, mask_style=style))
    in_order = isinstance(engine.detector, ScheduledFaceDetector)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")
    writer: cv2.VideoWriter | None = None
    pending: deque[tuple[Frame, Future[Detections]]] = deque()
    started = time.perf_counter()
    try:
        with (
            ThreadPoolExecutor(DETECTION_THREADS, thread_name_prefix="anonymise") as pool,
            ThreadPoolExecutor(
                1 if in_order else DETECTION_THREADS, thread_name_prefix="anonymise-faces"
            ) as faces_pool,
        ):

            def write_ready(waiting: int) -> None:
                nonlocal writer
                while len(pending) > waiting:
                    frame, found = pending[0]
                    shown, _closed = analyser.process(frame, found.result())
                    pending.popleft()
                    if writer is None:
                        writer = _open_writer(partial, out, fps, shown.image)
                    writer.write(shown.image)
                    if progress is not None:
                        progress(analyser.frames)

            spec = SourceSpec(SourceKind.FILE, str(source), loop=False)
            for number, frame in enumerate(iter_frames(spec)):
                persons = pool.submit(analyser.detect_persons, frame.image, number)
                found = faces_pool.submit(_detect_after, analyser, frame.image, number, persons)
                pending.append((frame, found))
                write_ready(FRAMES_AHEAD)
            write_ready(0)
        if writer is None:
            raise AnonymiseError(f"{source} holds no picture")
        writer.release()
        writer = None
        os.replace(partial, out)
    except SourceError as exc:
        raise AnonymiseError(str(exc)) from exc
    finally:
        for frame, found in pending:
            found.cancel()
            frame.image.fill(0)
        if writer is not None:
            writer.release()
        partial.unlink(missing_ok=True)
    seconds = time.perf_counter() - started
    log.info("anonymised %s: %d frames in %.1f s", source.name, analyser.frames, seconds)
    return AnonymiseResult(
        frames=analyser.frames,
        faces=analyser.faces,
        persons=analyser.persons,
        seconds=round(seconds, 2),
        fps=round(analyser.frames / seconds, 2) if seconds > 0 else 0.0,
    )
