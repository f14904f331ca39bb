"""Counting-line benchmark: Raiten's counts on the hand-counted lines of vtest.avi, and the CPU
the passer-by pipeline spends per frame to get them.

Run from the repository root::

    .venv/bin/python bench/line_counts.py          # a Markdown table
    .venv/bin/python bench/line_counts.py --json   # one JSON object
    .venv/bin/python bench/line_counts.py --person-model nanodet-g   # another person model

``tests/ground_truth/vtest_lines.toml`` holds the lines and the frame of every crossing counted
by hand. The real ``FrameAnalyser`` of passer-by mode (person detection as the masking runs it,
tracking, line counters) analyses every frame of the video once, on one thread; the quality
figure is each line's count beside the hand count (right when within one of the sure crossings,
borderline ones allowed), the speed figure this process's CPU time per frame (the detector
included), which does not depend on how busy the machine is as wall time does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktopapp.core.config import VisionConfig  # noqa: E402
from desktopapp.core.counting import CountingLine  # noqa: E402
from desktopapp.core.floor import Space  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig  # noqa: E402
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames  # noqa: E402

GROUND_TRUTH = ROOT / "tests" / "ground_truth" / "vtest_lines.toml"
VIDEO = ROOT.parent / "shared" / "testdata" / "video" / "vtest.avi"
WIDTH, HEIGHT = 768, 576


def hand_counted_lines() -> list[dict[str, Any]]:
    with GROUND_TRUTH.open("rb") as file:
        lines: list[dict[str, Any]] = tomllib.load(file)["line"]
    return lines


def run(video: Path, person_model: str | None = None) -> dict[str, Any]:
    hand = hand_counted_lines()
    lines = tuple(
        CountingLine(
            entry["name"],
            (entry["start"][0] / WIDTH, entry["start"][1] / HEIGHT),
            (entry["end"][0] / WIDTH, entry["end"][1] / HEIGHT),
            Space.IMAGE,
        )
        for entry in hand
    )
    vision = VisionConfig(feature_processes=0, threads=1, person_detection=person_model)
    engine = engine_for_mode(vision, Mode.PASSERBY)
    analyser = FrameAnalyser(1, engine, PipelineConfig(Mode.PASSERBY, lines=lines))
    timestamp = 0.0
    started = time.process_time()
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(video), loop=False)):
        timestamp = frame.timestamp
        analyser.process(frame)
    analyser.finish(timestamp + 5)
    cpu = time.process_time() - started
    result: dict[str, Any] = {
        "frames": analyser.frames,
        "cpu_ms_per_frame": round(1000 * cpu / max(1, analyser.frames), 2),
        "lines": [],
    }
    for entry, counter in zip(hand, analyser.counters, strict=True):
        row: dict[str, Any] = {"line": entry["name"], "right": True}
        for direction in ("in", "out"):
            sure, borderline = len(entry[direction]), len(entry[f"{direction}_borderline"])
            counted = getattr(counter, f"{direction}_count")
            row[direction] = {"counted": counted, "hand": sure, "borderline": borderline}
            row["right"] &= sure - 1 <= counted <= sure + borderline + 1
        result["lines"].append(row)
    return result


def markdown(result: dict[str, Any]) -> str:
    rows = [
        "| line | in: Raiten | in: hand (+borderline) | out: Raiten | out: hand (+borderline) "
        "| within ±1 |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["lines"]:
        i, o = row["in"], row["out"]
        right = "yes" if row["right"] else "NO"
        rows.append(
            f"| {row['line']} | {i['counted']} | {i['hand']} (+{i['borderline']}) "
            f"| {o['counted']} | {o['hand']} (+{o['borderline']}) | {right} |"
        )
    rows.append(f"\n{result['frames']} frames, {result['cpu_ms_per_frame']} ms of CPU per frame")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--person-model", help="a person model of the manifest (default: its default)"
    )
    args = parser.parse_args(argv)
    if not args.video.is_file():
        print(f"bench/line_counts.py: no video at {args.video}", file=sys.stderr)
        return 2
    result = run(args.video, args.person_model)
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
