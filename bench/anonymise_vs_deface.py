"""`raiten anonymise` against the peer `deface` (CenterFace) at its defaults, on the same file,
side by side in one run.

Run from the repository root::

    .venv/bin/python bench/anonymise_vs_deface.py                  # Markdown table
    .venv/bin/python bench/anonymise_vs_deface.py --json           # one JSON object
    .venv/bin/python bench/anonymise_vs_deface.py --runs 5 SRC     # another video

Each command runs as a whole process, as an operator would run it, alternately (raiten, deface,
raiten, deface, …) after one untimed warm-up of each, so a machine whose speed drifts slows both
alike; the ratio is taken pair by pair and its median quoted. Time is wall-clock; CPU and peak
memory come from the operating system's accounting of each finished process (``os.wait4``).
DESIGN's target: raiten at least 2.5 times faster than deface.

`raiten anonymise` runs under the notice gate, so a temporary data folder gets a complete
notice first (``raiten notice set``); it is removed afterwards, with both outputs.

Beside the speed, the quality of each output: the faces a reference detector (yuface at the
video's full resolution, every ``--every``-th frame) still finds in it, per frame, against the
faces it finds in the source (0 left is the goal; bench/masking.py measures the full recall).
deface needs its own dependencies (imageio, imageio-ffmpeg, scikit-image, tqdm) in the venv; it is
reported as missing otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cv2

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.vision.backends import load_backend  # noqa: E402
from desktopapp.core.vision.registry import ModelRegistry  # noqa: E402
from desktopapp.core.vision.types import FaceDetector  # noqa: E402

log = logging.getLogger(__name__)

TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", "/work/shared/testdata"))
DEFAULT_SOURCE = TESTDATA / "video" / "vtest.avi"
TARGET_SPEEDUP: Final = 2.5
# A complete notice for use case 5 (incidental capture), as `raiten notice set` reads it.
NOTICE: Final = """
operator = "Bench Co."
store = "Bench store"
purpose = "Road footage kept once passers-by are unrecognisable."
items = ["video with every face and person obscured"]
contact = "bench@example.com"
policy_url = "https://example.com/privacy"
feedback_url = "https://example.com/feedback"
retention_days = 30
retention_from = "first"
mode = "incidental"
language = "en"
"""


@dataclass(frozen=True, slots=True)
class Timed:
    wall_s: float
    cpu_s: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_timed(command: Sequence[str], env: dict[str, str]) -> Timed:
    """``command`` as a whole process: wall time, and CPU and peak memory from os.wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        # -m puts the working folder first on the path: run from the raiten tree itself.
        process = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, cwd=env.get("PYTHONPATH") or None
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Timed(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            peak_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def deface_command() -> list[str] | None:
    found = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    return [found] if Path(found).is_file() else None


def deface_works(command: Sequence[str], env: dict[str, str]) -> str | None:
    """None when deface starts; else the last line of its complaint (a missing dependency)."""
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["deface --help failed"])[-1]


def faces_left(path: Path, detector: FaceDetector, every: int) -> dict[str, float]:
    """Faces the reference detector finds per sampled frame of the video at ``path``."""
    capture = cv2.VideoCapture(str(path))
    frames = faces = index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if index % every == 0:
                frames += 1
                faces += len(detector.detect(image))
            index += 1
    finally:
        capture.release()
    return {
        "frames_read": index,
        "frames_sampled": frames,
        "faces_per_frame": faces / max(1, frames),
    }


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)


def run(source: Path, runs: int = 3, every: int = 5, raiten_root: Path = ROOT) -> dict[str, Any]:
    if not source.is_file():
        raise ValueError(f"no such video: {source}")
    if runs < 1 or every < 1:
        raise ValueError("runs and every must be at least 1")
    env = {**os.environ, "PYTHONPATH": str(raiten_root), "QT_QPA_PLATFORM": "offscreen"}
    result: dict[str, Any] = {
        **machine(),
        "source": str(source),
        "runs": runs,
        "raiten_root": str(raiten_root),
    }
    deface = deface_command()
    problem = "deface is not installed" if deface is None else deface_works(deface, env)
    result["deface.problem"] = problem
    with tempfile.TemporaryDirectory(prefix="raiten-anonymise-bench-") as folder:
        work = Path(folder)
        data_dir = work / "data"
        notice = work / "notice.toml"
        notice.write_text(NOTICE, encoding="utf-8")
        raiten = [sys.executable, "-m", "desktopapp", "--data-dir", str(data_dir)]
        setup = run_timed([*raiten, "notice", "set", str(notice)], env)
        if setup.returncode != 0:
            raise RuntimeError(f"raiten notice set failed: {setup.stderr.strip()}")
        ours_out, theirs_out = work / "raiten.mp4", work / "deface.mp4"
        ours = [*raiten, "anonymise", str(source), str(ours_out), "--force", "--json"]
        theirs = (
            None if deface is None or problem else [*deface, str(source), "-o", str(theirs_out)]
        )
        timed: dict[str, list[Timed]] = {"raiten": [], "deface": []}
        for number in range(runs + 1):  # the first round warms both up and is not counted
            for name, command in (("raiten", ours), ("deface", theirs)):
                if command is None:
                    continue
                log.info("%s run %d", name, number)
                done = run_timed(command, env)
                if done.returncode != 0:
                    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                    raise RuntimeError(f"{name} failed (exit {done.returncode}): {last}")
                if number:
                    timed[name].append(done)
        for name, samples in timed.items():
            if not samples:
                continue
            result[f"{name}.wall_s"] = _median([t.wall_s for t in samples])
            result[f"{name}.wall_s_all"] = [round(t.wall_s, 2) for t in samples]
            result[f"{name}.cpu_s"] = _median([t.cpu_s for t in samples])
            result[f"{name}.peak_mb"] = _median([t.peak_mb for t in samples])
        result["raiten.report"] = json.loads(timed["raiten"][-1].stdout)
        registry = ModelRegistry.load()
        reference = load_backend(registry, registry.get("yuface"), 1, {"max_side": 4096})
        result["quality.every"] = every
        result["quality.source"] = faces_left(source, reference, every)
        result["quality.raiten"] = faces_left(ours_out, reference, every)
        if timed["deface"]:
            result["quality.deface"] = faces_left(theirs_out, reference, every)
            ratios = [
                d.wall_s / r.wall_s for r, d in zip(timed["raiten"], timed["deface"], strict=True)
            ]
            result["speedup"] = _median(ratios)
            result["speedup_all"] = [round(v, 2) for v in ratios]
            result["speedup_target_met"] = result["speedup"] >= TARGET_SPEEDUP
    result["machine.loadavg_end"] = load_average()
    return result


def markdown(result: dict[str, Any]) -> str:
    source = result["quality.source"]
    lines = [
        f"## anonymise vs deface on {Path(result['source']).name}",
        "",
        f"{result['runs']} counted runs each, alternating, after one warm-up; medians. "
        f"{result['machine.cpus']} CPUs, load average {result['machine.loadavg_start']} before, "
        f"{result['machine.loadavg_end']} after.",
        "",
        "| command | wall s | runs (wall s) | CPU s | peak MB | faces left per frame |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for name, label in (("raiten", "raiten anonymise"), ("deface", "deface (defaults)")):
        if f"{name}.wall_s" not in result:
            lines.append(f"| {label} | not run: {result['deface.problem']} | | | | |")
            continue
        lines.append(
            f"| {label} | {result[f'{name}.wall_s']:.1f} "
            f"| {', '.join(f'{v:.1f}' for v in result[f'{name}.wall_s_all'])} "
            f"| {result[f'{name}.cpu_s']:.1f} | {result[f'{name}.peak_mb']:.0f} "
            f"| {result[f'quality.{name}']['faces_per_frame']:.3f} |"
        )
    lines += [
        "",
        f"Faces the reference detector finds in the source: {source['faces_per_frame']:.3f} per "
        f"frame (every {result['quality.every']}th of {source['frames_read']} frames).",
        f"raiten's own report: {json.dumps(result['raiten.report'])}",
    ]
    if "speedup" in result:
        verdict = "yes" if result["speedup_target_met"] else "**no**"
        lines.append(
            f"**Speed-up** (deface wall / raiten wall, pair by pair): {result['speedup']:.2f}x "
            f"({', '.join(f'{v:.2f}' for v in result['speedup_all'])}); "
            f"target {TARGET_SPEEDUP}x: {verdict}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--runs", type=int, default=3, help="counted runs of each command")
    parser.add_argument("--every", type=int, default=5, help="quality: every n-th frame")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--raiten-root",
        type=Path,
        default=ROOT,
        help="the repository whose raiten runs (default: this one)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = run(args.source, args.runs, args.every, args.raiten_root)
    except (ValueError, RuntimeError) as exc:
        print(f"bench/anonymise_vs_deface.py: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
