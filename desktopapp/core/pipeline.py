"""Per-camera analysis: frame -> masked frame -> tracks -> TrackClosed events (DESIGN "A frame's
life").

The masked frame is produced right after detection and is the only picture that leaves this
module (in crowd mode not even that: a drawing of icons). Every mode that shows a picture
detects persons, and masks each whole person, each face and whatever moves (core.motion); a
track the detectors lose keeps its mask for ``mask_hold_seconds`` (see ``_held``), so a person
missed for a few frames is not shown. Features are computed only for a
track's best shots (BestShots gates the embedder), and the source frame is zero-filled once
analysed: after ``process`` returns, feature vectors, attributes and coarse positions are all
that is left of it.

The person tracks are analysed as well: each person's foot point goes through the camera's
counting lines (with hysteresis, core.counting) and zones, and a closed person track carries its
path and line crossings. In the modes where faces make visits, each face is attached to the body
that holds it (core.bodies): a person's visit takes its path from the body and its identity from
the face, and a face no body held is a visit of its own (or, seen only briefly, counted:
core.visits). A face the detector misses for a few frames is found again near where it was
lost (core.face_tracking).
"""

from __future__ import annotations

import dataclasses
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

from desktopapp.core.bodies import BodyFaces, merged, seen
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
from desktopapp.core.face_tracking import FaceRecovery, FaceTracker
from desktopapp.core.floor import FloorCalibration, Position, Space
from desktopapp.core.modes import PRESETS, Mode
from desktopapp.core.motion import MotionMasks
from desktopapp.core.person_tracking import (
    PersonTracker,
    PersonTrackerConfig,
    tracking_detections,
)
from desktopapp.core.priority import lower_this_thread
from desktopapp.core.privacy import MaskStyle, Polygon, mask_frame
from desktopapp.core.sources import (
    CameraSource,
    Frame,
    SourceError,
    SourceKind,
    SourceSpec,
    SourceState,
    SourceStatus,
    iter_frames,
    redact_url,
)
from desktopapp.core.tracking import (
    BestShots,
    Box,
    Track,
    Tracker,
    TrackerConfig,
    TrackUpdate,
    iou_matrix,
)
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.features import normalise
from desktopapp.core.vision.persons import (
    SQUARES,
    SsdLitePersonDetector,
    cut_by_a_square,
    is_wide,
)
from desktopapp.core.vision.quality import face_quality
from desktopapp.core.vision.schedule import detect_faces, refine_face, start_stream
from desktopapp.core.vision.types import (
    Attributes,
    Face,
    FaceEmbedder,
    Gender,
    Image,
    Person,
    Vector,
    age_band,
)

log = logging.getLogger(__name__)

# How far a box not seen for a while may have moved other than its track predicts, in box widths
# a second: a track seen once has no velocity yet, and a walker crossing the picture covers up
# to about 9 face widths a second (1.4 m/s, a 16 cm face); one seen twice or more may turn or
# change pace. Never more than SPREAD_MAX widths either side.
SPREAD_UNKNOWN = 8.0
SPREAD_KNOWN = 2.0
SPREAD_MAX = 2.0

# How often "Test connection" looks whether the camera has answered or failed, in seconds.
_PREVIEW_POLL_S = 0.1

# At most this many attribute estimates per track: the median of a few good shots is steadier
# than one, and more only costs time.
MAX_ATTRIBUTE_SAMPLES = 5
# A track's last features are awaited when it closes; a child this late has a problem.
FEATURE_TIMEOUT_S = 30.0
# Analysis failing for this long takes the camera's last picture off the screen: a frozen
# picture would pass for a live one.
FAILING_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    mode: Mode = Mode.REPEAT
    mask_style: MaskStyle = MaskStyle.PIXELATE
    polygons: tuple[Polygon, ...] = ()
    analysis_fps: float = 10.0
    # A track's probe is the mean of its best shots: 5 rather than 3 found 0.69 of the repeat
    # pairs of bench/identity.py (seed 1) instead of 0.59, and 8 no more.
    best_shots: int = 5
    # Files (batch analysis) wait for the feature processes when they are saturated; a live
    # camera cannot wait, so it defers the shot and takes a later one of the same track.
    wait_for_features: bool = False
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    # A face the detector missed for a while is found again near where it was lost
    # (core.face_tracking; docs/decisions.md, face fragments).
    face_recovery: FaceRecovery = field(default_factory=FaceRecovery)
    # Persons walk through the picture for longer and are hidden by each other more often
    # than faces (two-stage association: core.person_tracking); their paths stand where their
    # feet are. A person lost for up to 4 s is found again by place and clothing colours
    # (docs/decisions.md, fragments).
    person_tracker: PersonTrackerConfig = field(
        default_factory=lambda: PersonTrackerConfig(
            min_iou=0.15,
            max_missing_seconds=1.5,
            anchor="foot",
            recover_widths_per_second=0.75,
            recover_missing_seconds=4.0,
            max_colour_distance=0.5,
        )
    )
    # What the operator drew for the camera (core.store.cameras.Camera).
    zones: tuple[Zone, ...] = ()
    lines: tuple[CountingLine, ...] = ()
    calibration: FloorCalibration | None = None
    congestion: CongestionThresholds = field(default_factory=CongestionThresholds)
    # How long a face or person the detectors lost stays masked where its track predicts it:
    # on crowd.mp4 at 10 frames a second, 1 s covers 90 % of the spells in which a tracked
    # person or face went undetected, 1.5 s 99 % (docs/decisions.md).
    mask_hold_seconds: float = 1.5
    # What moves is masked too (core.motion): a backstop for persons the detector misses.
    motion_masks: bool = True
    # Faces are looked for in every n-th frame (None: every frame in a mode where a face track
    # becomes a visit, every other frame where faces are only masked). In the frames between,
    # every face track stays masked where its motion carries it, as a lost track is held, and
    # the persons around the faces are masked in every frame anyway. Face detection is the
    # largest cost of a frame; but shots from every other frame gave worse identities on
    # bench/identity.py, so visits keep every frame (docs/decisions.md, issue 15).
    face_detection_every: int | None = None
    # With whole_frame_persons_every 1, the masking's second look at the left and right squares
    # of a wide frame takes one square a frame, in turn; the persons masked in the frame before
    # stay masked one frame longer.
    alternate_squares: bool = True
    # The person detector searches the whole frame in one frame of this many (1 or 2). With 1,
    # it searches the whole frame and one square of a wide frame (alternate_squares) in every
    # frame, the whole on the full network. With 2, the whole frame in one frame, both squares
    # in the next, all on the network's cheaper copy: every frame is searched everywhere, for
    # about half the CPU (the largest cost of a frame). Boxes cut by a square's inner side are
    # masked but not tracked; a person cut by both squares (wider than their overlap) is
    # carried from the frame before for the zones and counts (docs/decisions.md, issue 15).
    whole_frame_persons_every: int = 2

    def __post_init__(self) -> None:
        if not 0.1 <= self.analysis_fps <= 60:
            raise ValueError("analysis rate must be between 0.1 and 60 frames per second")
        if not 1 <= self.best_shots <= 10:
            raise ValueError("best shots per person must be between 1 and 10")
        if self.face_detection_every is not None and not 1 <= self.face_detection_every <= 10:
            raise ValueError("faces must be looked for in one frame of every 1 to 10")
        if self.whole_frame_persons_every not in (1, 2):
            raise ValueError(
                "persons must be looked for in the whole of every frame or of one in two"
            )
        longest = min(self.tracker.max_missing_seconds, self.person_tracker.max_missing_seconds)
        if not 0 <= self.mask_hold_seconds <= longest:
            # A track that has closed has no box left to mask.
            raise ValueError(f"the mask hold must be between 0 and {longest} seconds")


# A person found in the frame before and a box found now overlapping this much are one person.
SAME_PERSON_IOU = 0.3


@dataclass(frozen=True, slots=True)
class Detections:
    """What the detectors found in one frame (FrameAnalyser.detect)."""

    persons: list[Person]  # for tracking and counting
    to_mask: list[Person]  # every person masking covers (persons and more)
    faces: list[Face] | None  # None: faces were not looked for in this frame
    # False: persons were looked for in the two squares of a wide frame, not in the whole.
    whole: bool = True


@dataclass(frozen=True, slots=True)
class MaskedFrame:
    """What the UI may show: the masked picture (or crowd mode's icons) and counters."""

    camera_id: int
    image: Image
    index: int
    timestamp: float
    faces: int
    active_tracks: int
    persons: int = 0
    # Boxes masked though no detector found them in this frame (lost tracks held, _held).
    held: int = 0
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
        self.start_stream()
        self.preset = PRESETS[config.mode]
        self.keeps_features = self.preset.keeps_features and engine.embedder is not None
        self.face_every = config.face_detection_every or (1 if self.preset.face_visits else 2)
        self.tracker = FaceTracker(config.tracker, config.face_recovery)
        self.motion = MotionMasks() if config.motion_masks else None
        self.person_tracker = PersonTracker(config.person_tracker)
        threshold = engine.embedder.threshold if self.keeps_features and engine.embedder else None
        self.bodies = (
            BodyFaces(threshold)
            if self.preset.face_visits and engine.persons is not None and engine.detector
            else None
        )
        self.counters = [LineCounter(line) for line in config.lines]
        self._crossings: dict[int, list[Crossing]] = {}
        self._states: dict[int, _TrackState] = {}
        self.frames = 0
        self.faces = 0
        self.persons = 0
        self.tracks_closed = 0
        self._closing: list[tuple[Track, _TrackState | None]] = []
        self._closed_persons: list[TrackClosed] = []
        # Faces found at the last face detection (shown between detections too).
        self._faces_seen = 0
        # Persons masked in the frame before, masked once more when the squares alternate.
        self._masked_before: list[Box] = []
        # Persons found in the frame before (carried where a frame searched the squares alone).
        self._persons_before: list[Person] = []

    def start_stream(self) -> None:
        """A new video or photo begins: a face search by need starts its schedule afresh
        (the first frame searched whole: a photo has no later frame to catch up in)."""
        start_stream(self.engine.detector)

    def process(
        self, frame: Frame, found: Detections | None = None
    ) -> tuple[MaskedFrame, list[TrackClosed]]:
        """The masked frame and the tracks that ended. ``found``: what ``detect`` found in this
        frame, when the caller ran it ahead (anonymise overlaps frames' detections); detected
        here otherwise. The source picture is zero-filled before this returns or raises: no
        copy of the unmasked frame lingers."""
        try:
            return self._process(frame, found or self.detect(frame.image, self.frames))
        finally:
            frame.image.fill(0)

    def detect(
        self,
        image: Image,
        number: int,
        found_persons: tuple[list[Person], list[Person]] | None = None,
    ) -> Detections:
        """The detectors' findings in frame ``number`` (0-based, as ``frames`` counts): the only
        step that keeps no state between frames (but a face search by need: ``detect_faces``),
        so frames may be detected ahead, in parallel. ``found_persons``: what ``detect_persons``
        found in this frame, when the caller ran it apart."""
        persons, to_mask = found_persons or self.detect_persons(image, number)
        # A frame too narrow for squares was searched whole (detect_for_masking).
        whole = self.searched_whole(number) or not is_wide(image.shape[1], image.shape[0])
        if self.engine.detector is None or number % self.face_every:
            return Detections(persons, to_mask, None, whole)
        # Persons first: the face detector searches small faces where persons stand (every
        # person the masking looks for, so that search by need misses no face it would mask).
        where = to_mask if self.engine.persons else None
        faces = detect_faces(self.engine.detector, image, where)
        return Detections(persons, to_mask, faces, whole)

    def searched_whole(self, number: int) -> bool:
        """Whether persons are looked for in the whole of frame ``number`` (else in the squares
        of a wide frame alone). Only a detector with a look at the squares (SSDLite) does
        without the whole frame."""
        return (
            self.config.whole_frame_persons_every == 1
            or number % 2 == 0
            or not isinstance(self.engine.persons, SsdLitePersonDetector)
        )

    def _process(self, frame: Frame, found: Detections) -> tuple[MaskedFrame, list[TrackClosed]]:
        image = frame.image
        height, width = image.shape[:2]
        to_mask = found.to_mask
        persons = found.persons + ([] if found.whole else self._carried(found.persons))
        self._persons_before = persons
        looks_for_faces = found.faces is not None
        faces = found.faces or []
        if looks_for_faces:
            self._faces_seen = len(faces)
        boxes = [(f.x, f.y, f.w, f.h) for f in faces]
        person_boxes = [(p.x, p.y, p.w, p.h) for p in persons]
        self.tracker.set_frame_size((width, height))
        # Between face detections the face tracks are left alone: they are held (masked where
        # they are heading) and not counted as missed.
        update = (
            self.tracker.update(boxes, frame.timestamp)
            if looks_for_faces
            else TrackUpdate({}, [], 0)
        )
        # The tracker also takes the persons found only for masking: sure ones open tracks,
        # unsure ones keep people hidden by others on theirs.
        tracked = tracking_detections(
            to_mask
            if found.whole
            else [p for p in to_mask if not cut_by_a_square(p, width, height)]
        )
        tracked_boxes = [(p.x, p.y, p.w, p.h) for p in tracked]
        self.person_tracker.set_frame_size((width, height))
        person_update = self.person_tracker.update(
            tracked_boxes, frame.timestamp, [p.score for p in tracked], image
        )
        held_faces = self._held(self.tracker, frame.timestamp)
        held_persons = self._held(self.person_tracker, frame.timestamp)
        analysed = self.engine.persons is not None
        positions = [
            Position.of_box(b, (width, height), self.config.calibration) for b in person_boxes
        ]
        levels = self._zones(positions) if analysed else ()
        if self.preset.icons_only:
            space = Space.FLOOR if self.config.calibration is not None else Space.IMAGE
            shown = draw_icons(
                (width, height),
                positions,
                self.config.zones,
                {name: level for name, _count, level in levels},
                space,
            )
        else:
            moving = self.motion.boxes(image) if self.motion is not None else []
            masked_persons = [(p.x, p.y, p.w, p.h) for p in to_mask]
            shown = mask_frame(
                image,
                boxes + held_faces,
                self.config.polygons,
                self.config.mask_style,
                persons=moving + masked_persons + self._masked_before + held_persons,
            )
            if self.config.alternate_squares or self.config.whole_frame_persons_every > 1:
                self._masked_before = masked_persons
        if self.engine.detector is not None:
            self._faces(image, faces, update.assignments, frame.timestamp)
        if self.bodies is not None and looks_for_faces:
            self.bodies.attach(
                seen(self.person_tracker, person_update, tracked_boxes),
                seen(self.tracker, update, boxes),
            )
        for track in update.closed:
            self._closing.append((track, self._states.pop(track.track_id, None)))
        active = {t.track_id for t in self.tracker.active}
        for track_id in [t for t in self._states if t not in active]:
            del self._states[track_id]
        if analysed:
            feet = [
                Position.of_box(b, (width, height), self.config.calibration) for b in tracked_boxes
            ]
            self._persons(person_update, feet, frame.timestamp)
        closed = self._visits(self._ready_closed() + self._closed_persons)
        self._closed_persons = []
        self.frames += 1
        self.faces += len(faces)
        self.persons += len(persons)
        masked = MaskedFrame(
            camera_id=self.camera_id,
            image=shown,
            index=frame.index,
            timestamp=frame.timestamp,
            faces=self._faces_seen,
            active_tracks=len(self.tracker.active) + len(self.person_tracker.active),
            persons=len(persons),
            held=len(held_faces) + len(held_persons),
            zone_counts=levels,
            line_counts=tuple((c.line.name, c.in_count, c.out_count) for c in self.counters),
        )
        return masked, closed

    def _carried(self, found: list[Person]) -> list[Person]:
        """In a frame whose persons were looked for in the squares alone, the persons found in
        the frame before that no box found now stands for: those cut by both squares, and
        those the squares' look missed (counted one frame longer, as the masking masks them)."""
        if not self._persons_before:
            return []
        if not found:
            return list(self._persons_before)
        before = np.array([(p.x, p.y, p.w, p.h) for p in self._persons_before], np.float64)
        now = np.array([(p.x, p.y, p.w, p.h) for p in found], np.float64)
        overlaps = iou_matrix(before, now).max(axis=1)
        return [
            p
            for p, iou in zip(self._persons_before, overlaps, strict=True)
            if iou < SAME_PERSON_IOU
        ]

    def detect_persons(self, image: Image, number: int) -> tuple[list[Person], list[Person]]:
        """(persons for tracking and counting, persons to mask): a detector that can look
        harder for masking (SsdLitePersonDetector.detect_for_masking) does so."""
        detector = self.engine.persons
        if detector is None:
            return [], []
        for_masking = getattr(detector, "detect_for_masking", None)
        if for_masking is not None:
            found: tuple[list[Person], list[Person]]
            if self.config.whole_frame_persons_every > 1:
                whole = self.searched_whole(number)
                found = for_masking(image, () if whole else SQUARES, whole=whole, cheap=True)
            elif self.config.alternate_squares:
                found = for_masking(image, (number % len(SQUARES),))
            else:
                found = for_masking(image, SQUARES)
            return found
        persons = detector.detect(image)
        return persons, persons

    def _held(self, tracker: Tracker, timestamp: float) -> list[Box]:
        """Boxes still masked for the tracks not seen in this frame (lost by the detector, or
        between face detections) less than mask_hold_seconds ago: the union of the last box and
        where its velocity carries it, as the person may have stopped or walked on, grown by how
        far they may have gone otherwise."""
        held: list[Box] = []
        for track in tracker.lost(timestamp, self.config.mask_hold_seconds):
            x, y, w, h = track.box
            px, py, _, _ = track.predicted_box(timestamp)
            rate = SPREAD_KNOWN if track.hits >= 2 else SPREAD_UNKNOWN
            spread = w * min(SPREAD_MAX, rate * (timestamp - track.last_seen))
            left, top = min(x, px) - spread, min(y, py) - spread
            right, bottom = max(x, px) + w + spread, max(y, py) + h + spread
            held.append((left, top, right - left, bottom - top))
        return held

    def _zones(self, positions: list[Position]) -> tuple[tuple[str, int, CongestionLevel], ...]:
        if not self.config.zones:
            return ()
        counts = count_in_zones(self.config.zones, positions)
        levels = congestion_levels(counts, self.config.congestion)
        return tuple((name, counts[name], levels[name]) for name in counts)

    def _faces(
        self, image: Image, faces: list[Face], assignments: dict[int, int], timestamp: float
    ) -> None:
        hits = {track.track_id: track.hits for track in self.tracker.active}

        def held(index: int) -> int:
            state = self._states.get(assignments[index])
            return len(state.shots.items) if state is not None else 0

        # When the feature processes have room for only some faces, the people with the fewest
        # shots go first: otherwise those already well shot keep taking the room (each wants
        # best_shots) and a person in a crowd may leave with none.
        for index in sorted(range(len(faces)), key=held):
            face, track_id = faces[index], assignments[index]
            # A detection that has not yet become a track is often noise, and would cost a
            # feature (~100 ms) for nothing.
            if hits.get(track_id, 0) < self.config.tracker.min_hits:
                continue
            state = self._states.get(track_id)
            if state is None:
                state = self._states[track_id] = _TrackState(BestShots(k=self.config.best_shots))
            if state.shots.too_soon(timestamp):
                continue  # no shot taken now, so its quality (a crop's sharpness) is not needed
            scores = face_quality(image, face)
            # Below the size floor features and ages are noise: mask and track only.
            if scores.size <= 0.0:
                continue
            quality = scores.overall
            if not state.shots.wants(quality, timestamp):
                continue
            embedder = self.engine.embedder if self.keeps_features else None
            if embedder is not None and not self._room_for(embedder):
                # Not offered, so the track still wants a shot: a later frame takes this place.
                continue
            # Features and estimates take the landmarks the threshold was calibrated with.
            shot = refine_face(self.engine.detector, image, face)
            if self.engine.attributes is not None and len(state.attributes) < MAX_ATTRIBUTE_SAMPLES:
                state.attributes.append(self.engine.attributes.estimate(image, shot))
            feature = _submit(embedder, image, shot) if embedder is not None else None
            evicted = state.shots.offer(quality, timestamp, feature)
            if evicted is not None:
                evicted.cancel()

    def _room_for(self, embedder: FaceEmbedder) -> bool:
        """Whether the embedder can take a face now, waiting for it in batch analysis."""
        if not getattr(embedder, "busy", False):
            return True
        if not self.config.wait_for_features:
            return False
        if embedder.wait_until_free(FEATURE_TIMEOUT_S):  # type: ignore[attr-defined]
            return True
        log.error("the feature processes took no face for %.0f s", FEATURE_TIMEOUT_S)
        return False

    def _persons(self, update: TrackUpdate, positions: list[Position], timestamp: float) -> None:
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
        ended = self.person_tracker.close_all(timestamp)
        persons = [self._close_person(t) for t in ended] if self.engine.persons else []
        return self._visits(self._ready_closed(wait=True) + persons)

    def _visits(self, events: list[TrackClosed]) -> list[TrackClosed]:
        """With bodies and faces attached, one event per person whose tracks have all closed."""
        if self.bodies is None:
            return events
        for event in events:
            (self.bodies.body_closed if event.kind == "person" else self.bodies.face_closed)(event)
        return [merged(person, self.config.best_shots) for person in self.bodies.settled()]

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
    is logged and skipped: one bad frame never stops a camera, and its picture is never shown.
    When analysis keeps failing for FAILING_SECONDS, ``on_failing`` is told why (the UI then
    takes the last picture away and says so); the next analysed frame ends that.
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
        on_failing: Callable[[str], None] | None = None,
    ):
        self.analyser = FrameAnalyser(camera_id, engine, config)
        self._on_failing = on_failing
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
        lower_this_thread()
        interval = 1.0 / self.config.analysis_fps
        last_timestamp = 0.0
        started = time.monotonic()
        failing_since: float | None = None
        told = False
        while not self._stop.is_set():
            frame = self.source.latest(timeout=0.5)
            if frame is None:
                continue
            began = time.monotonic()
            try:
                masked, closed = self.analyser.process(frame)
            except Exception as exc:
                log.exception("camera %s: frame %d failed", self.analyser.camera_id, frame.index)
                failing_since = began if failing_since is None else failing_since
                if not told and began - failing_since >= FAILING_SECONDS and self._on_failing:
                    self._on_failing(f"{type(exc).__name__}: {exc}")
                    told = True
                self._stop.wait(interval)
                continue
            failing_since, told = None, False
            last_timestamp = frame.timestamp
            self._on_frame(masked)
            for event in closed:
                self._on_closed(event)
            elapsed = time.monotonic() - began
            self._fps = self.analyser.frames / max(1e-6, time.monotonic() - started)
            self._stop.wait(max(0.0, interval - elapsed))
        for event in self.analyser.finish(last_timestamp):
            self._on_closed(event)


def _first_picture(source: CameraSource, timeout: float) -> tuple[Frame | None, SourceStatus]:
    """The source's first frame, or None once its first attempt has failed or ``timeout`` s
    have passed. The first failure already says why; waiting for its retries would only keep
    the operator in front of a dialog that has nothing more to tell."""
    deadline = time.monotonic() + timeout
    while True:
        frame = source.latest(timeout=max(0.0, min(_PREVIEW_POLL_S, deadline - time.monotonic())))
        status = source.status()
        if frame is not None:
            return frame, status
        if status.state in (SourceState.RECONNECTING, SourceState.FAILED):
            # a frame published just before the stream failed still counts
            return source.latest(), status
        if time.monotonic() >= deadline:
            return None, status


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
            frame, status = _first_picture(source, timeout)
        if frame is None:
            if status.problem is not None:
                raise SourceError(status.message, status.problem, status.params)
            raise SourceError(status.message or f"no picture from {redact_url(spec.location)}")
    if frame is None:
        raise SourceError(f"no picture in {spec.location}")
    preview = VisionEngine(detector=engine.detector, persons=engine.persons)
    # One frame shows no motion: the motion model would call all of it new and mask it whole.
    still = dataclasses.replace(config, motion_masks=False)
    masked, _ = FrameAnalyser(-1, preview, still).process(frame)
    return masked
