"""Per-camera analysis: frame -> masked frame -> tracks -> TrackClosed events (DESIGN "A frame's
life").

The masked frame is produced right after detection and is the only picture that leaves this
module (in crowd mode not even that: a drawing of icons). Features are computed only for a
track's best shots (BestShots gates the embedder), and the source frame is zero-filled once
analysed: after ``process`` returns, feature vectors, attributes and coarse positions are all
that is left of it.

Modes with person detection (modes.PRESETS) track persons as well as faces: each person's foot
point goes through the camera's counting lines (with hysteresis, core.counting) and zones, and
a closed person track carries its path and line crossings.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

from desktopapp.core.counting import (
    CongestionLevel,
    CongestionThresholds,
    CountingLine,
    Crossing,
    LineCounter,
    Zone,
    congestion_levels,
    count_in_zones,
)
from desktopapp.core.crowd import draw_icons
from desktopapp.core.floor import FloorCalibration, Position, Space
from desktopapp.core.modes import PRESETS, Mode
from desktopapp.core.privacy import MaskStyle, Polygon, UnmaskGrant, mask_frame
from desktopapp.core.sources import (
    CameraSource,
    Frame,
    SourceError,
    SourceKind,
    SourceSpec,
    iter_frames,
    redact_url,
)
from desktopapp.core.tracking import BestShots, Track, Tracker, TrackerConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.features import normalise
from desktopapp.core.vision.quality import face_quality
from desktopapp.core.vision.schedule import detect_faces
from desktopapp.core.vision.types import (
    Attributes,
    Face,
    FaceEmbedder,
    Gender,
    Image,
    Vector,
    age_band,
)

log = logging.getLogger(__name__)

# At most this many attribute estimates per track: the median of a few good shots is steadier
# than one, and more only costs time.
MAX_ATTRIBUTE_SAMPLES = 5
# A track's last features are awaited when it closes; a child this late has a problem.
FEATURE_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    mode: Mode = Mode.REPEAT
    mask_style: MaskStyle = MaskStyle.PIXELATE
    polygons: tuple[Polygon, ...] = ()
    analysis_fps: float = 10.0
    best_shots: int = 3
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    # Persons walk through the picture for longer and are hidden by each other more often
    # than faces; their paths stand where their feet are.
    person_tracker: TrackerConfig = field(
        default_factory=lambda: TrackerConfig(min_iou=0.15, max_missing_seconds=1.5, anchor="foot")
    )
    # What the operator drew for the camera (core.store.cameras.Camera).
    zones: tuple[Zone, ...] = ()
    lines: tuple[CountingLine, ...] = ()
    calibration: FloorCalibration | None = None
    congestion: CongestionThresholds = field(default_factory=CongestionThresholds)

    def __post_init__(self) -> None:
        if not 0.1 <= self.analysis_fps <= 60:
            raise ValueError("analysis rate must be between 0.1 and 60 frames per second")
        if not 1 <= self.best_shots <= 10:
            raise ValueError("best shots per person must be between 1 and 10")


@dataclass(frozen=True, slots=True)
class MaskedFrame:
    """What the UI may show: the masked picture and counters. ``masked`` is False only while an
    administrator's audited UnmaskGrant is in force for this camera."""

    camera_id: int
    image: Image
    index: int
    timestamp: float
    faces: int
    active_tracks: int
    masked: bool = True
    persons: int = 0
    # People standing in each zone now, and its congestion level (crowd mode shows them).
    zone_counts: tuple[tuple[str, int, CongestionLevel], ...] = ()
    # Crossings per line since the camera started: (line, in, out).
    line_counts: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class AttributeSummary:
    age_years: float
    gender: Gender
    gender_confidence: float
    samples: int

    @property
    def age_band(self) -> str:
        return age_band(self.age_years)


@dataclass(frozen=True, slots=True)
class TrackClosed:
    """A person left a camera's view. The only record of them the pipeline hands on."""

    camera_id: int
    track_id: int
    first_seen: float
    last_seen: float
    hits: int
    feature: Vector | None  # mean of the best templates, L2-normalised
    templates: tuple[tuple[float, Vector], ...]  # (quality, feature), best first
    attributes: AttributeSummary | None
    path: tuple[tuple[float, float, float], ...]  # (timestamp, x, y), normalised, ~1 Hz
    kind: Literal["face", "person"] = "face"
    crossings: tuple[Crossing, ...] = ()  # the counting lines this person crossed


@dataclass(slots=True)
class _TrackState:
    # Features arrive from the embedder as futures; without an embedder (attribute-only modes)
    # the shots still gate attribute estimates.
    shots: BestShots[Future[Vector] | None]
    attributes: list[Attributes] = field(default_factory=list)


def summarise(samples: list[Attributes]) -> AttributeSummary | None:
    if not samples:
        return None
    males = sum(1 for a in samples if a.gender is Gender.MALE)
    gender = Gender.MALE if males * 2 >= len(samples) else Gender.FEMALE
    agreeing = [a.gender_confidence for a in samples if a.gender is gender]
    return AttributeSummary(
        age_years=float(statistics.median(a.age_years for a in samples)),
        gender=gender,
        gender_confidence=float(np.mean(agreeing)),
        samples=len(samples),
    )


def _submit(embedder: FaceEmbedder, image: Image, face: Face) -> Future[Vector]:
    """The feature as a future: computed elsewhere by embedders that can (RemoteEmbedder),
    right now by the others."""
    submit = getattr(embedder, "submit", None)
    if submit is not None:
        future: Future[Vector] = submit(image, face)
        return future
    done: Future[Vector] = Future()
    done.set_result(embedder.embed(image, face))
    return done


def _result(future: Future[Vector]) -> Vector | None:
    """A shot's feature once its track has closed; a failed one is logged and left out."""
    try:
        return future.result(timeout=FEATURE_TIMEOUT_S)
    except Exception:
        log.exception("a face feature could not be computed")
        return None


class FrameAnalyser:
    """The synchronous core of one camera's analysis. Owned by one thread."""

    def __init__(self, camera_id: int, engine: VisionEngine, config: PipelineConfig):
        if engine.detector is None and engine.persons is None:
            raise ValueError("the pipeline needs a face or a person detector")
        self.camera_id = camera_id
        self.engine = engine
        self.config = config
        self.preset = PRESETS[config.mode]
        self.keeps_features = self.preset.keeps_features and engine.embedder is not None
        self.tracker = Tracker(config.tracker)
        self.person_tracker = Tracker(config.person_tracker)
        self.counters = [LineCounter(line) for line in config.lines]
        self._crossings: dict[int, list[Crossing]] = {}
        self._states: dict[int, _TrackState] = {}
        self.frames = 0
        self.faces = 0
        self.persons = 0
        self.tracks_closed = 0
        self._unmask: UnmaskGrant | None = None
        self._closing: list[tuple[Track, _TrackState | None]] = []
        self._closed_persons: list[TrackClosed] = []

    def set_unmasked(self, grant: UnmaskGrant | None) -> None:
        """Show this camera unmasked under ``grant`` (see privacy.authorise_unmasked_view), or
        mask again with None."""
        if grant is not None and grant.camera_id != self.camera_id:
            raise ValueError("the grant is for another camera")
        self._unmask = grant

    def process(self, frame: Frame) -> tuple[MaskedFrame, list[TrackClosed]]:
        image = frame.image
        height, width = image.shape[:2]
        persons = self.engine.persons.detect(image) if self.engine.persons else []
        # Persons first: the face detector searches small faces where persons stand.
        found = persons if self.engine.persons else None
        faces = detect_faces(self.engine.detector, image, found) if self.engine.detector else []
        boxes = [(f.x, f.y, f.w, f.h) for f in faces]
        person_boxes = [(p.x, p.y, p.w, p.h) for p in persons]
        positions = [
            Position.of_box(b, (width, height), self.config.calibration) for b in person_boxes
        ]
        levels = self._zones(positions)
        unmasked = self._unmask is not None
        if self.preset.icons_only:
            space = Space.FLOOR if self.config.calibration is not None else Space.IMAGE
            shown = draw_icons(
                (width, height),
                positions,
                self.config.zones,
                {name: level for name, _count, level in levels},
                space,
            )
        elif unmasked:
            shown = image.copy()
        else:
            hidden = boxes + (person_boxes if self.preset.mask_persons else [])
            shown = mask_frame(image, hidden, self.config.polygons, self.config.mask_style)
        self.tracker.set_frame_size((width, height))
        update = self.tracker.update(boxes, frame.timestamp)
        if self.engine.detector is not None:
            self._faces(image, faces, update.assignments, frame.timestamp)
        for track in update.closed:
            self._closing.append((track, self._states.pop(track.track_id, None)))
        active = {t.track_id for t in self.tracker.active}
        for track_id in [t for t in self._states if t not in active]:
            del self._states[track_id]
        if self.engine.persons is not None:
            self._persons(person_boxes, positions, frame.timestamp, (width, height))
        closed = self._ready_closed() + self._closed_persons
        self._closed_persons = []
        self.frames += 1
        self.faces += len(faces)
        self.persons += len(persons)
        masked = MaskedFrame(
            camera_id=self.camera_id,
            image=shown,
            index=frame.index,
            timestamp=frame.timestamp,
            faces=len(faces),
            active_tracks=len(self.tracker.active) + len(self.person_tracker.active),
            masked=not unmasked or self.preset.icons_only,
            persons=len(persons),
            zone_counts=levels,
            line_counts=tuple((c.line.name, c.in_count, c.out_count) for c in self.counters),
        )
        # The picture is done with: wipe it so no copy of the unmasked frame lingers.
        image.fill(0)
        return masked, closed

    def _zones(self, positions: list[Position]) -> tuple[tuple[str, int, CongestionLevel], ...]:
        if not self.config.zones or self.engine.persons is None:
            return ()
        counts = count_in_zones(self.config.zones, positions)
        levels = congestion_levels(counts, self.config.congestion)
        return tuple((name, counts[name], levels[name]) for name in counts)

    def _faces(
        self, image: Image, faces: list[Face], assignments: dict[int, int], timestamp: float
    ) -> None:
        hits = {track.track_id: track.hits for track in self.tracker.active}
        for index, face in enumerate(faces):
            track_id = assignments[index]
            # A detection that has not yet become a track is often noise, and would cost a
            # feature (~100 ms) for nothing.
            if hits.get(track_id, 0) < self.config.tracker.min_hits:
                continue
            state = self._states.get(track_id)
            if state is None:
                state = self._states[track_id] = _TrackState(BestShots(k=self.config.best_shots))
            scores = face_quality(image, face)
            # Below the size floor features and ages are noise: mask and track only.
            if scores.size <= 0.0:
                continue
            quality = scores.overall
            if not state.shots.wants(quality, timestamp):
                continue
            embedder = self.engine.embedder if self.keeps_features else None
            if embedder is not None and getattr(embedder, "busy", False):
                continue  # the feature processes are saturated: a later shot takes this place
            if self.engine.attributes is not None and len(state.attributes) < MAX_ATTRIBUTE_SAMPLES:
                state.attributes.append(self.engine.attributes.estimate(image, face))
            feature = _submit(embedder, image, face) if embedder is not None else None
            evicted = state.shots.offer(quality, timestamp, feature)
            if evicted is not None:
                evicted.cancel()

    def _persons(
        self,
        boxes: list[tuple[float, float, float, float]],
        positions: list[Position],
        timestamp: float,
        frame_size: tuple[int, int],
    ) -> None:
        self.person_tracker.set_frame_size(frame_size)
        update = self.person_tracker.update(boxes, timestamp)
        for index, track_id in update.assignments.items():
            for counter in self.counters:
                crossing = counter.update(track_id, timestamp, positions[index])
                if crossing is not None:
                    self._crossings.setdefault(track_id, []).append(crossing)
        for track in update.closed:
            self._closed_persons.append(self._close_person(track))

    def _close_person(self, track: Track) -> TrackClosed:
        for counter in self.counters:
            counter.forget(track.track_id)
        crossings = tuple(self._crossings.pop(track.track_id, ()))
        return self._closed(track, None, (), None, kind="person", crossings=crossings)

    def finish(self, timestamp: float) -> list[TrackClosed]:
        """End of the stream: close every open track, waiting for its last features."""
        for track in self.tracker.close_all(timestamp):
            self._closing.append((track, self._states.pop(track.track_id, None)))
        self._states.clear()
        persons = [self._close_person(t) for t in self.person_tracker.close_all(timestamp)]
        return self._ready_closed(wait=True) + persons

    def _ready_closed(self, *, wait: bool = False) -> list[TrackClosed]:
        """Closed tracks whose features have all arrived (all of them with ``wait``): the
        analysis thread never waits on a feature while frames are coming in."""
        ready: list[tuple[Track, _TrackState | None]] = []
        waiting: list[tuple[Track, _TrackState | None]] = []
        for track, state in self._closing:
            pending = state is not None and any(
                f is not None and not f.done() for _, f in state.shots.items
            )
            (waiting if pending and not wait else ready).append((track, state))
        self._closing = waiting
        return [self._close(track, state) for track, state in ready]

    def _close(self, track: Track, state: _TrackState | None) -> TrackClosed:
        templates: tuple[tuple[float, Vector], ...] = ()
        feature: Vector | None = None
        attributes = None
        if state is not None:
            templates = tuple(
                (q, v)
                for q, f in state.shots.items
                if f is not None and (v := _result(f)) is not None
            )
            if templates:
                feature = normalise(np.mean([v for _, v in templates], axis=0))
            attributes = summarise(state.attributes)
        return self._closed(track, feature, templates, attributes)

    def _closed(
        self,
        track: Track,
        feature: Vector | None,
        templates: tuple[tuple[float, Vector], ...],
        attributes: AttributeSummary | None,
        **extra: Any,
    ) -> TrackClosed:
        self.tracks_closed += 1
        return TrackClosed(
            camera_id=self.camera_id,
            track_id=track.track_id,
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            hits=track.hits,
            feature=feature,
            templates=templates,
            attributes=attributes,
            path=tuple(track.path),
            **extra,
        )


class CameraWorker:
    """One camera's analysis thread: newest frame in, masked frame and events out.

    Callbacks run on this worker thread; the UI wraps them in queued Qt signals. A failing frame
    is logged and skipped: one bad frame never stops a camera.
    """

    def __init__(
        self,
        camera_id: int,
        source: CameraSource,
        engine: VisionEngine,
        config: PipelineConfig,
        *,
        on_frame: Callable[[MaskedFrame], None],
        on_closed: Callable[[TrackClosed], None],
    ):
        self.analyser = FrameAnalyser(camera_id, engine, config)
        self.source = source
        self.config = config
        self._on_frame = on_frame
        self._on_closed = on_closed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"analysis-{camera_id}", daemon=True)
        self._fps = 0.0

    @property
    def fps(self) -> float:
        return self._fps

    def start(self) -> None:
        # OpenCV's own thread pool would fan every resize out over all cores and fight the
        # other cameras' workers; each worker is the unit of parallelism instead.
        cv2.setNumThreads(1)
        self.source.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self.source.stop(timeout)

    def _run(self) -> None:
        interval = 1.0 / self.config.analysis_fps
        last_timestamp = 0.0
        started = time.monotonic()
        while not self._stop.is_set():
            frame = self.source.latest(timeout=0.5)
            if frame is None:
                continue
            began = time.monotonic()
            try:
                masked, closed = self.analyser.process(frame)
            except Exception:
                log.exception("camera %s: frame %d failed", self.analyser.camera_id, frame.index)
                continue
            last_timestamp = frame.timestamp
            self._on_frame(masked)
            for event in closed:
                self._on_closed(event)
            elapsed = time.monotonic() - began
            self._fps = self.analyser.frames / max(1e-6, time.monotonic() - started)
            self._stop.wait(max(0.0, interval - elapsed))
        for event in self.analyser.finish(last_timestamp):
            self._on_closed(event)


def preview_frame(
    spec: SourceSpec, engine: VisionEngine, config: PipelineConfig, timeout: float = 8.0
) -> MaskedFrame:
    """One masked frame from ``spec``, for the camera dialog's "Test connection".

    Raises SourceError with a plain sentence when no picture arrives in time.
    """
    if spec.kind in (SourceKind.FILE, SourceKind.DEMO):
        frame = next(iter_frames(spec, max_frames=1), None)
    else:
        with CameraSource(spec, realtime=True, open_timeout=timeout) as source:
            frame = source.latest(timeout=timeout)
            message = source.status().message
        if frame is None:
            raise SourceError(message or f"no picture from {redact_url(spec.location)}")
    if frame is None:
        raise SourceError(f"no picture in {spec.location}")
    preview = VisionEngine(detector=engine.detector, persons=engine.persons)
    masked, _ = FrameAnalyser(-1, preview, config).process(frame)
    return masked
