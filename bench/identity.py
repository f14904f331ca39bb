"""Identity benchmark: repeat analysis measured on entrance-camera footage, not on photos.

Run from the repository root::

    .venv/bin/python bench/identity.py                       # Markdown table
    .venv/bin/python bench/identity.py --json                # one JSON object
    .venv/bin/python bench/identity.py --folder DIR --seed 7 # a held-out set of people

It builds clips in memory from a folder of labelled photos (one sub-folder per person, as
``testdata/faces-calib``): each visit is one person walking through the demo camera's shop
towards the camera, the face growing from about 50 to 70-100 px, with a cheap camera's lens
blur, sensor noise and JPEG compression, and a different light on every visit. People come
back on later "days" with a different photo of themselves. The real analyser
(``FrameAnalyser`` with repeat mode's models as the app loads them: face and person detection,
features, age and gender, so faces are attached to the bodies the person tracker follows) and
the real recorder
(``VisitRecorder`` on a SQLite file in a temporary folder) turn the clips into visits, and the
visits are compared with the truth:

- visits, repeat visits and distinct visitors, recorded against true;
- pairwise precision and recall over recorded visits: a pair of visits given one visitor is
  right when both are one person (precision), a pair of one person's visits should be given
  one visitor (recall);
- the repeat rate (repeat visits / visits) recorded against true, in percentage points.

Features are computed in the analysis thread (``feature_processes = 0``, the in-process
embedder), which is never "busy": no shot is skipped for lack of feature capacity, so the
figures measure matching and not the live pipeline's load shedding. Nothing is written but the
temporary database.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402
from desktopapp.core.calibration import labelled_photos, photo_face  # noqa: E402
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed  # noqa: E402
from desktopapp.core.sources import DEMO_SIZE, Frame, demo_frame  # noqa: E402
from desktopapp.core.store.crypto import Cipher, load_key  # noqa: E402
from desktopapp.core.store.db import open_database  # noqa: E402
from desktopapp.core.store.retention import RetentionPolicy  # noqa: E402
from desktopapp.core.store.visits import VisitStore  # noqa: E402
from desktopapp.core.vision.engine import VisionEngine, match_margin  # noqa: E402
from desktopapp.core.vision.types import Face, Image  # noqa: E402
from desktopapp.core.visits import Recorded, RecorderConfig, VisitRecorder  # noqa: E402

log = logging.getLogger(__name__)

TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", ROOT.parent / "shared" / "testdata"))
FACES_CALIB = TESTDATA / "faces-calib"
FPS = 10.0
WALK_SECONDS = 3.0
# Visits of one day start this far apart: long enough for the tracker to close a track, short
# enough that a false match would merge into the previous person's visit (10 min gap).
VISIT_SPACING_S = 30.0
DAY_S = 86_400.0
BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FAR_FACE_PX = 50.0
NEAR_FACE_PX = (70.0, 100.0)


@dataclass(frozen=True, slots=True)
class Sprite:
    """A head cut out of a photo: colour, soft alpha, and the face box inside it."""

    colour: NDArray[np.float32]
    alpha: NDArray[np.float32]
    face: Face


@dataclass(frozen=True, slots=True)
class Appearance:
    identity: str
    photo: Path
    day: int
    start: float  # seconds since the first day's opening
    left_to_right: bool
    near_px: float
    contrast: float
    brightness: float
    blur_sigma: float
    noise_sigma: float
    jpeg_quality: int
    true_repeat: bool


def make_sprite(image: Image, face: Face, torso: tuple[int, int, int]) -> Sprite:
    """Head and shoulders: the face's surroundings in an elliptical soft mask over a plain
    torso of the given colour."""
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    side = 2.6 * face.w
    half = side / 2
    size = math.ceil(side)
    body = math.ceil(side * 1.2)
    matrix = np.array([[1.0, 0.0, half - cx], [0.0, 1.0, half - cy]])
    head = cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)
    colour = np.empty((size + body, size, 3), np.float32)
    colour[:size] = head
    colour[size:] = torso
    alpha = np.zeros(colour.shape[:2], np.float32)
    centre = (round(half), round(half))
    cv2.ellipse(alpha, centre, (round(0.75 * face.w), round(0.95 * face.h)), 0, 0, 360, 1.0, -1)
    shoulders = np.array(
        [
            [0, size + body],
            [round(0.1 * side), size],
            [round(0.9 * side), size],
            [size, size + body],
        ]
    )
    cv2.fillConvexPoly(alpha, shoulders.astype(np.int32), 1.0)
    cv2.rectangle(
        alpha, (round(half - 0.3 * face.w), centre[1]), (round(half + 0.3 * face.w), size), 1.0, -1
    )
    alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, face.w / 30))
    local = Face(half - face.w / 2, half - face.h / 2, face.w, face.h, face.score, face.landmarks)
    return Sprite(colour, alpha, local)


def plan_visits(
    identities: dict[str, list[Path]], days: int, returning: float, seed: int
) -> list[Appearance]:
    """Who comes on which day with which photo. Newcomers are spread over the days; on every
    later day, people seen before who still have an unused photo come back, as a share
    ``returning`` of that day's visits."""
    rng = np.random.default_rng(seed)
    people = sorted(identities)
    rng.shuffle(people)
    photos = {p: list(rng.permutation(identities[p])) for p in people}
    used: Counter[str] = Counter()
    seen: list[str] = []
    plan: list[Appearance] = []
    for day, newcomers in enumerate(np.array_split(np.array(people, dtype=object), days)):
        wanted = round(len(newcomers) * returning / (1.0 - returning)) if day else 0
        candidates = [p for p in seen if used[p] < len(photos[p])]
        back = list(rng.choice(candidates, size=min(wanted, len(candidates)), replace=False))
        visitors = [(str(p), False) for p in newcomers] + [(str(p), True) for p in back]
        order = rng.permutation(len(visitors))
        for slot, index in enumerate(order.tolist()):
            identity, repeat = visitors[index]
            plan.append(
                Appearance(
                    identity=identity,
                    photo=Path(photos[identity][used[identity]]),
                    day=day,
                    start=day * DAY_S + slot * VISIT_SPACING_S,
                    left_to_right=bool(rng.integers(2)),
                    near_px=float(rng.uniform(*NEAR_FACE_PX)),
                    contrast=float(rng.uniform(0.8, 1.2)),
                    brightness=float(rng.uniform(-25, 25)),
                    blur_sigma=float(rng.uniform(0.6, 1.4)),
                    noise_sigma=float(rng.uniform(3.0, 7.0)),
                    jpeg_quality=int(rng.integers(35, 60)),
                    true_repeat=repeat,
                )
            )
            used[identity] += 1
        seen.extend(str(p) for p in newcomers)
    return plan


def render(
    scene: Image, sprite: Sprite, visit: Appearance, share: float, rng: np.random.Generator
) -> Image:
    """One camera frame of ``visit`` at ``share`` (0..1) of the walk."""
    width, height = DEMO_SIZE
    face_px = FAR_FACE_PX + share * (visit.near_px - FAR_FACE_PX)
    x = 80 + share * (width - 160) if visit.left_to_right else width - 80 - share * (width - 160)
    # Closer to the camera (a bigger face) stands lower in a camera mounted above eye level.
    y = 150 + (face_px - FAR_FACE_PX) * 1.5 + 3 * math.sin(2 * math.pi * 2 * share)
    scale = face_px / sprite.face.w
    fcx = sprite.face.x + sprite.face.w / 2
    fcy = sprite.face.y + sprite.face.h / 2
    matrix = np.array([[scale, 0.0, x - fcx * scale], [0.0, scale, y - fcy * scale]])
    colour = cv2.warpAffine(sprite.colour, matrix, (width, height), flags=cv2.INTER_AREA)
    alpha = cv2.warpAffine(sprite.alpha, matrix, (width, height), flags=cv2.INTER_LINEAR)
    lit = colour * visit.contrast + visit.brightness
    frame = scene.astype(np.float32)
    frame += alpha[:, :, None] * (lit - frame)
    # A cheap camera: soft lens, sensor noise, strong JPEG.
    frame = cv2.GaussianBlur(frame, (0, 0), visit.blur_sigma)
    frame += rng.normal(0.0, visit.noise_sigma, frame.shape).astype(np.float32)
    raw = np.clip(frame, 0, 255).astype(np.uint8)
    _, encoded = cv2.imencode(".jpg", raw, [cv2.IMWRITE_JPEG_QUALITY, visit.jpeg_quality])
    decoded: Image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return decoded


def pairwise(labels: list[str], predicted: list[str]) -> tuple[float, float, int, int]:
    """Pairwise precision and recall of ``predicted`` clusters against ``labels``, with the
    number of pairs wrongly joined and wrongly split."""
    same_true = same_pred = both = 0
    for (la, pa), (lb, pb) in itertools.combinations(zip(labels, predicted, strict=True), 2):
        truth, guess = la == lb, pa == pb
        same_true += truth
        same_pred += guess
        both += truth and guess
    precision = both / same_pred if same_pred else 1.0
    recall = both / same_true if same_true else 1.0
    return precision, recall, same_pred - both, same_true - both


def bench_recorder(data: Path, engine: VisionEngine, store: str) -> VisitRecorder:
    """A repeat-mode recorder on a new database in ``data``, matching as ``engine`` does, its
    clock at BASE plus the footage's seconds."""
    assert engine.embedder is not None
    return VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator="Bench",
            store=store,
            mode=Mode.REPEAT,
            retention=RetentionPolicy(90),
            model=engine.embedder.info.model_id,
            threshold=engine.embedder.threshold,
            margin=match_margin(VisionConfig()),
            dim=engine.embedder.dim,
        ),
        to_datetime=lambda t: BASE + timedelta(seconds=t),
        now=lambda: BASE,
    )


def run(
    folder: Path = FACES_CALIB,
    *,
    seed: int = 1,
    days: int = 3,
    returning: float = 0.4,
    people: int | None = None,
    threshold: float | None = None,
    features_model: str | None = None,
) -> dict[str, Any]:
    """The benchmark's figures as a flat dict (see the module docstring); ``features_model``
    names a face features model of the manifest or of the local one (a registered pack)
    instead of the default."""
    started = time.perf_counter()
    info = machine()
    photos = labelled_photos(folder)
    identities: dict[str, list[Path]] = {}
    for photo in photos:
        identities.setdefault(photo.identity, []).append(photo.path)
    if people is not None:
        chosen = np.random.default_rng(seed).choice(sorted(identities), people, replace=False)
        identities = {str(p): identities[str(p)] for p in chosen}
    plan = plan_visits(identities, days, returning, seed)
    # Repeat mode's models as the app loads them with default settings (person detection,
    # attributes, the face search by need), the features computed in this process.
    vision = VisionConfig(feature_processes=0, face_features=features_model)
    engine = engine_for_mode(vision, Mode.REPEAT)
    assert engine.detector is not None and engine.embedder is not None
    if threshold is not None:
        engine.embedder.threshold = threshold
    rng = np.random.default_rng(seed + 1)
    scene = demo_frame(0)  # the demo camera's shop, empty
    torso_colours = {p: tuple(int(c) for c in rng.integers(30, 220, 3)) for p in identities}
    sprites: dict[Path, Sprite | None] = {}
    analyser = FrameAnalyser(0, engine, PipelineConfig(mode=Mode.REPEAT))
    with tempfile.TemporaryDirectory(prefix="raiten-identity-") as tmp:
        data = Path(tmp)
        recorder = bench_recorder(data, engine, "Entrance")
        results: list[tuple[TrackClosed, Recorded]] = []
        frames = 0
        frames_per_walk = round(WALK_SECONDS * FPS)
        for visit in plan:
            if visit.photo not in sprites:
                found = photo_face(engine.detector, visit.photo)
                sprites[visit.photo] = (
                    make_sprite(found[0], found[1], torso_colours[visit.identity])
                    if found
                    else None
                )
            sprite = sprites[visit.photo]
            timestamps = [visit.start + i / FPS for i in range(frames_per_walk)]
            # One empty frame after the walk lets the tracker close the track.
            timestamps.append(timestamps[-1] + 2.5)
            for index, timestamp in enumerate(timestamps):
                if sprite is not None and index < frames_per_walk:
                    image = render(scene, sprite, visit, index / (frames_per_walk - 1), rng)
                else:
                    image = scene.copy()
                frame = Frame(image, frames, timestamp, time.monotonic())
                _, closed = analyser.process(frame)
                frames += 1
                results.extend((event, recorder.record(event)) for event in closed)
        results.extend((event, recorder.record(event)) for event in analyser.finish(1e9))
        recorder.store.db.close()
    return {
        **info,
        **_score(plan, results, frames),
        "identity.seconds": round(time.perf_counter() - started, 1),
        "identity.folder": str(folder),
        "identity.seed": seed,
        "identity.days": days,
        "identity.threshold": engine.embedder.threshold,
        "identity.features_model": engine.embedder.info.model_id,
    }


def _appearance_of(plan: list[Appearance], event: TrackClosed) -> Appearance | None:
    for visit in plan:
        if visit.start - 1 <= event.first_seen <= visit.start + WALK_SECONDS + 1:
            return visit
    return None


def _score(
    plan: list[Appearance], results: list[tuple[TrackClosed, Recorded]], frames: int
) -> dict[str, Any]:
    labels: list[str] = []
    predicted: list[str] = []
    visits = repeats = spurious = 0
    covered: set[int] = set()
    for event, recorded in results:
        visit = _appearance_of(plan, event)
        if visit is None:
            spurious += recorded.outcome == "visit"
            continue
        if recorded.visitor_id is None:
            continue
        covered.add(id(visit))
        labels.append(visit.identity)
        predicted.append(recorded.visitor_id)
        if recorded.outcome == "visit":
            visits += 1
            repeats += recorded.is_repeat
    # Units are tracks that reached a visitor: a walk split into two tracks given two visitors
    # is a split pair like any other.
    precision, recall, joined, split = pairwise(labels, predicted)
    true_repeats = sum(v.true_repeat for v in plan)
    true_rate = true_repeats / len(plan)
    rate = repeats / visits if visits else 0.0
    return {
        "identity.frames": frames,
        "identity.true_visits": len(plan),
        "identity.true_repeats": true_repeats,
        "identity.true_visitors": len({v.identity for v in plan}),
        "identity.visits": visits,
        "identity.repeats": repeats,
        "identity.visitors": len(set(predicted)),
        "identity.walks_without_visit": len(plan) - len(covered),
        "identity.spurious_visits": spurious,
        "identity.pairwise_precision": round(precision, 4),
        "identity.pairwise_recall": round(recall, 4),
        "identity.pairs_wrongly_joined": joined,
        "identity.pairs_wrongly_split": split,
        "identity.true_repeat_rate_pct": round(100 * true_rate, 2),
        "identity.repeat_rate_pct": round(100 * rate, 2),
        "identity.repeat_rate_error_pts": round(100 * abs(rate - true_rate), 2),
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("visits", result["identity.visits"], result["identity.true_visits"]),
        ("repeat visits", result["identity.repeats"], result["identity.true_repeats"]),
        ("distinct visitors", result["identity.visitors"], result["identity.true_visitors"]),
        ("walks without a visit", result["identity.walks_without_visit"], 0),
        ("spurious visits (no person)", result["identity.spurious_visits"], 0),
        ("pairwise precision", result["identity.pairwise_precision"], "1.00"),
        ("pairwise recall", result["identity.pairwise_recall"], ">= 0.95"),
        ("pairs wrongly joined", result["identity.pairs_wrongly_joined"], 0),
        ("pairs wrongly split", result["identity.pairs_wrongly_split"], 0),
        (
            "repeat rate %",
            result["identity.repeat_rate_pct"],
            result["identity.true_repeat_rate_pct"],
        ),
        ("repeat rate error (points)", result["identity.repeat_rate_error_pts"], "<= 2"),
    ]
    lines = [
        f"Identity on footage: {result['identity.folder']}, seed {result['identity.seed']}, "
        f"{result['identity.days']} days, {result['identity.features_model']} at threshold "
        f"{result['identity.threshold']}, "
        f"{result['identity.frames']} frames in {result['identity.seconds']} s "
        f"(load {result['machine.loadavg_start']})",
        "",
        "| figure | recorded | true / target |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {got} | {want} |" for name, got, want in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--folder", type=Path, default=FACES_CALIB, help="one sub-folder per person"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument(
        "--returning", type=float, default=0.4, help="share of repeat visits on later days"
    )
    parser.add_argument("--people", type=int, default=None, help="a random subset of the people")
    parser.add_argument(
        "--threshold", type=float, default=None, help="override the model's threshold"
    )
    parser.add_argument(
        "--features-model",
        default=None,
        help="a face features model id instead of the default (a registered pack's too)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(
        args.folder,
        seed=args.seed,
        days=args.days,
        returning=args.returning,
        people=args.people,
        threshold=args.threshold,
        features_model=args.features_model,
    )
    print(json.dumps(result) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
