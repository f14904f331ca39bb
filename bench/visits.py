"""Visits benchmark: how many visits and person tracks repeat mode makes of real footage, where
one person's track broken into pieces would count them several times (issue 18).

Run from the repository root::

    .venv/bin/python bench/visits.py                      # vtest.avi and crowd.mp4, a table
    .venv/bin/python bench/visits.py --json               # one JSON object
    .venv/bin/python bench/visits.py --video FILE ...     # other videos

Each video goes once through the real ``FrameAnalyser`` of repeat mode, with the models the
app loads for it (person and face detection, features in this process, age and gender), and
every event it closes through the real ``VisitRecorder`` on a SQLite file in a temporary
folder. Reported per video: person tracks (all, and those lasting a second or more), visits
recorded, events only counted (a faceless glimpse under ``MIN_FACELESS_VISIT_S``, or a face
no body held seen for less than ``MIN_BODILESS_FACE_VISIT_S``; the faces among them apart),
and this process's CPU time per frame. What to compare them with: crowd.mp4 has 20-24 people
counted by hand (tests/ground_truth/crowd_people.toml); in vtest.avi roughly 35-45 people walk
through (an estimate from contact sheets, docs/decisions.md). Nothing is written but the
temporary database.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.identity import bench_recorder  # noqa: E402
from bench.machine import machine  # noqa: E402
from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig, TrackClosed  # noqa: E402
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames  # noqa: E402
from desktopapp.core.vision.engine import VisionEngine  # noqa: E402

VIDEOS = ROOT.parent / "shared" / "testdata" / "video"
DEFAULT = (VIDEOS / "vtest.avi", VIDEOS / "crowd.mp4")


def run_video(video: Path, engine: VisionEngine) -> dict[str, Any]:
    """One video's figures (see the module docstring)."""
    assert engine.embedder is not None
    analyser = FrameAnalyser(1, engine, PipelineConfig(Mode.REPEAT))
    events: list[TrackClosed] = []
    timestamp = 0.0
    started = time.process_time()
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(video))):
        timestamp = frame.timestamp
        events += analyser.process(frame)[1]
    events += analyser.finish(timestamp + 5.0)
    cpu = time.process_time() - started
    with tempfile.TemporaryDirectory(prefix="raiten-visits-") as tmp:
        data = Path(tmp)
        recorder = bench_recorder(data, engine, "Footage")
        outcomes = [recorder.record(event).outcome for event in events]
        recorder.store.db.close()
    persons = [e for e in events if e.kind == "person"]
    kinds = [e.kind for e in events]
    return {
        "video": video.name,
        "frames": analyser.frames,
        "person_tracks": len(persons),
        "person_tracks_1s": sum(e.last_seen - e.first_seen >= 1.0 for e in persons),
        "visits": outcomes.count("visit"),
        "counted_only": outcomes.count("counted"),
        # Of those, faces no body held seen briefly (visits.MIN_BODILESS_FACE_VISIT_S).
        "faces_counted_only": sum(
            k == "face" and o == "counted" for k, o in zip(kinds, outcomes, strict=True)
        ),
        "cpu_ms_per_frame": round(1000 * cpu / max(1, analyser.frames), 1),
    }


def run(videos: Sequence[Path], person_model: str | None = None) -> dict[str, Any]:
    vision = VisionConfig(feature_processes=0, person_detection=person_model)
    engine = engine_for_mode(vision, Mode.REPEAT)
    return {
        **machine(),
        "person_model": person_model or "default",
        "videos": [run_video(video, engine) for video in videos],
    }


def markdown(result: dict[str, Any]) -> str:
    rows = [
        "| video | frames | person tracks | of 1 s or more | visits | counted only "
        "| of them faces | CPU ms/frame |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in result["videos"]:
        rows.append(
            f"| {v['video']} | {v['frames']} | {v['person_tracks']} | {v['person_tracks_1s']} "
            f"| {v['visits']} | {v['counted_only']} | {v['faces_counted_only']} "
            f"| {v['cpu_ms_per_frame']} |"
        )
    rows.append(f"\nload at start {result['machine.loadavg_start']}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--video", type=Path, nargs="+", default=list(DEFAULT))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--person-model", help="a person model of the manifest (default: its default)"
    )
    args = parser.parse_args(argv)
    missing = [str(v) for v in args.video if not v.is_file()]
    if missing:
        print(f"bench/visits.py: no video at {', '.join(missing)}", file=sys.stderr)
        return 2
    result = run(args.video, args.person_model)
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
