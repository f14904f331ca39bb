"""Soak benchmark: four cameras through the real analysis pipeline and visit recorder, for a
long stretch, to show that memory stays flat and nothing is lost.

Run from the repository root::

    .venv/bin/python bench/soak.py                 # 30 minutes, Markdown tables
    .venv/bin/python bench/soak.py --minutes 5     # shorter
    .venv/bin/python bench/soak.py --json          # one JSON object

Headless, as the app runs them: per camera a ``CameraSource`` (two demo cameras and two
cameras playing ``testdata/video/vtest.avi`` in a loop), a ``CameraWorker`` with its own
repeat-mode engine (detection, masking, tracking, face features in a child process, age and
gender), and one ``StoreWriter`` holding the ``VisitRecorder`` that records every closed track
in a temporary data folder (deleted afterwards). The video files are not paced: they play as
fast as the machine decodes, several times faster than real time, and the analyser takes the
newest frame (the ring overwrites the others: "dropped" counts those, by design). Their frame
times run on across loops of the video from the start of the run, so their tracks land on
today's dates. The demo cameras are paced (15 fps): unpaced, a visit of the demo person would
pass between two analysed frames and no track would form, and they are what produces visits.
The recorder's clock runs ``STORE_SPEED`` times faster than the cameras' (one store hour a
minute), so the demo person's appearances 15 s apart become visits a quarter of an hour apart
(not one long visit), and after a day of store time the retention sweep deletes visitors.
Every ``--housekeeping-minutes`` the workspace's hourly job runs (retention sweep and daily
backup, replaced when the sweep deleted anything) as the GUI's timer would, at store time.

Reported: resident memory of this process, and with its child processes (the feature
processes), right after the models loaded, at the end of the warm-up ("start") and at the end;
the slope of a least-squares line through the samples after the warm-up (MB per hour of wall
time; flat memory has a slope near zero); per camera frames received, analysed and dropped;
tracks closed, visits recorded, records given up by the writer. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import keyring  # noqa: E402
import keyring.backends.fail  # noqa: E402

from desktopapp.core.benchmark import children_of  # noqa: E402
from desktopapp.core.config import Settings, VisionConfig  # noqa: E402
from desktopapp.core.modes import Mode, engine_for_mode  # noqa: E402
from desktopapp.core.notice import (  # noqa: E402
    NoticeProfile,
    NoticeStore,
    require_complete_notice,
)
from desktopapp.core.pipeline import (  # noqa: E402
    CameraWorker,
    MaskedFrame,
    PipelineConfig,
    TrackClosed,
)
from desktopapp.core.sources import (  # noqa: E402
    CameraSource,
    Frame,
    SourceKind,
    SourceSpec,
    SourceStatus,
)
from desktopapp.core.store.crypto import Cipher, load_key  # noqa: E402
from desktopapp.core.store.db import DB_FILE, open_database  # noqa: E402
from desktopapp.core.store.visits import VisitStore  # noqa: E402
from desktopapp.core.store.writer import StoreWriter  # noqa: E402
from desktopapp.core.vision.engine import VisionEngine  # noqa: E402
from desktopapp.core.vision.types import Role  # noqa: E402
from desktopapp.core.visits import Recorded, RecorderConfig, VisitRecorder  # noqa: E402
from desktopapp.core.workspace import Workspace  # noqa: E402

TESTDATA = Path(os.environ.get("RAITEN_TESTDATA", ROOT.parent / "shared" / "testdata"))
VIDEO: Final = TESTDATA / "video" / "vtest.avi"
MB: Final = 1024 * 1024
STORE_SPEED: Final = 60.0
# The notice a store in repeat mode would have in force; retention is a day of store time.
NOTICE: Final = NoticeProfile(
    operator="Soak benchmark operator",
    store="Soak benchmark store",
    purpose="Repeat-visit analysis: face feature data is matched to recognise returning visitors.",
    items=["face feature data", "visit date and time", "estimated age band and gender"],
    contact="benchmark",
    policy_url="https://example.invalid/policy",
    feedback_url="https://example.invalid/feedback",
    retention_days=1,
    mode=Mode.REPEAT,
    language="en",
)


class StoreClock:
    """An unpaced video camera whose frame times (seconds of video, running on across loops)
    start at ``base``, the epoch time at which the run started, as a camera's would."""

    def __init__(self, source: CameraSource, base: float):
        self.source = source
        self._base = base
        self.video_seconds = 0.0

    def start(self) -> None:
        self.source.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.source.stop(timeout)

    def status(self) -> SourceStatus:
        return self.source.status()

    def latest(self, timeout: float | None = None) -> Frame | None:
        frame = self.source.latest(timeout)
        if frame is None:
            return None
        self.video_seconds = frame.timestamp
        return dataclasses.replace(frame, timestamp=self._base + frame.timestamp)


def rss_bytes(pid: int) -> int:
    """Resident set of one process (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds since the cameras started
    rss: int  # this process
    rss_total: int  # with its descendants


def sample(started: float) -> Sample:
    me = os.getpid()
    own = rss_bytes(me)
    return Sample(time.monotonic() - started, own, own + sum(map(rss_bytes, children_of(me))))


def slope_mb_per_hour(samples: Sequence[Sample], attribute: str) -> float:
    if len(samples) < 3:
        return float("nan")
    hours = np.array([s.at for s in samples]) / 3600.0
    megabytes = np.array([getattr(s, attribute) for s in samples], dtype=float) / MB
    return float(np.polyfit(hours, megabytes, 1)[0])


def make_sources(base: float) -> list[tuple[str, CameraSource | StoreClock]]:
    demo = SourceSpec(SourceKind.DEMO, "demo", loop=True)
    video = SourceSpec(SourceKind.FILE, str(VIDEO), loop=True)
    return [
        ("demo", CameraSource(demo, name="soak 1", realtime=True)),
        ("file", StoreClock(CameraSource(video, name="soak 2", realtime=False), base)),
        ("demo", CameraSource(demo, name="soak 3", realtime=True)),
        ("file", StoreClock(CameraSource(video, name="soak 4", realtime=False), base)),
    ]


def video_seconds(source: CameraSource | StoreClock, wall: float) -> float:
    """Camera time covered: a video's position across loops, a paced camera's wall time."""
    return source.video_seconds if isinstance(source, StoreClock) else wall


def open_soak_recorder(data_dir: Path, vision: VisionConfig, base: float) -> VisitRecorder:
    """``open_recorder``'s recorder with its clock running STORE_SPEED times faster."""

    def store_time(t: float) -> datetime:
        return datetime.fromtimestamp(base + (t - base) * STORE_SPEED, UTC)

    db = open_database(data_dir)
    notice = require_complete_notice(NoticeStore(db))
    embedder = VisionEngine.configured(vision, [Role.FACE_FEATURES]).embedder
    return VisitRecorder(
        VisitStore(db, Cipher(load_key(data_dir))),
        RecorderConfig.for_notice(notice.profile, embedder),
        to_datetime=store_time,
        now=lambda: store_time(time.time()),
    )


@contextlib.contextmanager
def data_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="raiten-soak-"))
    try:
        yield folder / "data"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(
    minutes: float, *, warmup_minutes: float | None = None, housekeeping_minutes: float = 5.0
) -> dict[str, Any]:
    """The soak, ``minutes`` long after loading; a dict of the results."""
    if not VIDEO.is_file():
        raise FileNotFoundError(f"{VIDEO} is missing (set RAITEN_TESTDATA)")
    # Never the developer's keyring: the temporary folder gets a key file.
    keyring.set_keyring(keyring.backends.fail.Keyring())
    seconds = minutes * 60.0
    warmup = min(seconds / 5, 120.0) if warmup_minutes is None else warmup_minutes * 60.0
    interval = max(1.0, min(10.0, seconds / 60))
    vision = VisionConfig(threads=1)
    config = PipelineConfig(mode=Mode.REPEAT, analysis_fps=30.0)
    with data_folder() as data_dir:
        workspace = Workspace(data_dir, Settings())
        workspace.save_notice(NOTICE, "bench:soak")
        base = time.time()
        sources = make_sources(base)
        engines = [engine_for_mode(vision, Mode.REPEAT) for _ in sources]
        writer: StoreWriter[VisitRecorder] = StoreWriter(
            lambda: open_soak_recorder(data_dir, vision, base), path=data_dir / DB_FILE
        )
        writer.ready()
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def counted(future: Future[Recorded]) -> None:
            with lock:
                outcomes["lost" if future.exception() else future.result().outcome] += 1

        def on_closed(event: TrackClosed) -> None:
            writer.submit(lambda recorder: recorder.record(event)).add_done_callback(counted)

        def on_frame(_frame: MaskedFrame) -> None:
            """The live view would paint it; the soak only needs it to exist."""

        workers = [
            # CameraWorker is annotated with CameraSource but uses only start/stop/latest.
            CameraWorker(
                camera,
                cast(CameraSource, source),
                engine,
                config,
                on_frame=on_frame,
                on_closed=on_closed,
            )
            for camera, ((_kind, source), engine) in enumerate(
                zip(sources, engines, strict=True), start=1
            )
        ]
        loaded = sample(time.monotonic())
        started = time.monotonic()
        samples: list[Sample] = []
        housekeeping = 0
        try:
            for worker in workers:
                worker.start()
            next_housekeeping = started + housekeeping_minutes * 60.0
            while (now := time.monotonic()) - started < seconds:
                samples.append(sample(started))
                if now >= next_housekeeping:
                    store_now = base + (time.time() - base) * STORE_SPEED
                    workspace.run_retention(now=datetime.fromtimestamp(store_now, UTC))
                    housekeeping += 1
                    next_housekeeping = now + housekeeping_minutes * 60.0
                time.sleep(min(interval, max(0.0, started + seconds - time.monotonic())))
            samples.append(sample(started))
            statuses = [source.status() for _kind, source in sources]
            analysed = [worker.analyser.frames for worker in workers]
            covered = [video_seconds(s, time.monotonic() - started) for _k, s in sources]
        finally:
            for worker in workers:
                worker.stop(timeout=0.0)
            for worker in workers:
                worker.stop()
        writer.close()
        health = writer.health()
        db = open_database(data_dir)
        held = int(db.execute("SELECT COUNT(*) FROM visit").fetchone()[0])
        folded = int(
            db.execute("SELECT COALESCE(SUM(visits), 0) FROM stat_visit_hour").fetchone()[0]
        )
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        db.conn.close()
        workspace.close()
    after_warmup = [s for s in samples if s.at >= warmup] or samples[-3:]
    start, end = after_warmup[0], samples[-1]
    elapsed = end.at
    return {
        "soak.minutes": round(elapsed / 60, 2),
        "soak.warmup_minutes": round(warmup / 60, 2),
        "soak.cpu_count": os.cpu_count(),
        "soak.load_average": [round(v, 2) for v in os.getloadavg()],
        "soak.cameras": [kind for kind, _source in sources],
        "soak.rss_loaded_mb": round(loaded.rss / MB, 1),
        "soak.rss_start_mb": round(start.rss / MB, 1),
        "soak.rss_end_mb": round(end.rss / MB, 1),
        "soak.rss_slope_mb_per_hour": round(slope_mb_per_hour(after_warmup, "rss"), 2),
        "soak.rss_total_start_mb": round(start.rss_total / MB, 1),
        "soak.rss_total_end_mb": round(end.rss_total / MB, 1),
        "soak.rss_total_slope_mb_per_hour": round(slope_mb_per_hour(after_warmup, "rss_total"), 2),
        "soak.samples": len(samples),
        "soak.frames_received": [s.frames for s in statuses],
        "soak.frames_analysed": analysed,
        "soak.frames_dropped": [s.dropped for s in statuses],
        "soak.analysis_fps": [round(n / elapsed, 2) for n in analysed],
        "soak.camera_hours": [round(s / 3600, 2) for s in covered],
        "soak.store_hours": round((time.time() - base) * STORE_SPEED / 3600, 1),
        "soak.source_states": [s.state.value for s in statuses],
        "soak.tracks_closed": sum(outcomes.values()),
        "soak.outcomes": dict(outcomes),
        "soak.visits_recorded": outcomes.get("visit", 0),
        "soak.visits_held_at_end": held,
        "soak.visits_folded_into_statistics": folded,
        "soak.records_lost": outcomes.get("lost", 0) + health.dropped + health.pending,
        "soak.housekeeping_runs": housekeeping,
        "soak.integrity": integrity,
        "soak.platform": f"{platform.system()}-{platform.machine()}",
    }


def markdown(result: dict[str, Any]) -> str:
    cameras = result["soak.cameras"]
    lines = [
        f"## Soak: {len(cameras)} cameras for {result['soak.minutes']} min "
        f"(warm-up {result['soak.warmup_minutes']} min; {result['soak.cpu_count']} cores, "
        f"load {result['soak.load_average']})",
        "",
        "| measure | value |",
        "|---|---|",
        f"| RSS after loading models (MB) | {result['soak.rss_loaded_mb']} |",
        f"| RSS start → end (MB) | {result['soak.rss_start_mb']} → {result['soak.rss_end_mb']} |",
        f"| RSS slope (MB/hour) | {result['soak.rss_slope_mb_per_hour']} |",
        f"| RSS with feature processes, start → end (MB) | {result['soak.rss_total_start_mb']} → "
        f"{result['soak.rss_total_end_mb']} |",
        f"| RSS with feature processes, slope (MB/hour) | "
        f"{result['soak.rss_total_slope_mb_per_hour']} |",
        f"| frames received | {sum(result['soak.frames_received'])} |",
        f"| frames analysed | {sum(result['soak.frames_analysed'])} |",
        f"| frames dropped | {sum(result['soak.frames_dropped'])} |",
        f"| tracks closed | {result['soak.tracks_closed']} |",
        f"| visits recorded | {result['soak.visits_recorded']} (held at the end "
        f"{result['soak.visits_held_at_end']}, swept into statistics "
        f"{result['soak.visits_folded_into_statistics']}) |",
        f"| store time covered (hours) | {result['soak.store_hours']} |",
        f"| records lost | {result['soak.records_lost']} |",
        f"| housekeeping runs (sweep + backup) | {result['soak.housekeeping_runs']} |",
        f"| database integrity | {result['soak.integrity']} |",
        "",
        "| camera | source | state | received | analysed | dropped | analysis fps | camera hours |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for index, kind in enumerate(cameras):
        lines.append(
            f"| {index + 1} | {kind} | {result['soak.source_states'][index]} "
            f"| {result['soak.frames_received'][index]} "
            f"| {result['soak.frames_analysed'][index]} "
            f"| {result['soak.frames_dropped'][index]} "
            f"| {result['soak.analysis_fps'][index]} "
            f"| {result['soak.camera_hours'][index]} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the soak")
    parser.add_argument("--warmup-minutes", type=float, default=None, help="default: a fifth")
    parser.add_argument(
        "--housekeeping-minutes", type=float, default=5.0, help="sweep + backup every N minutes"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = run(
        args.minutes,
        warmup_minutes=args.warmup_minutes,
        housekeeping_minutes=args.housekeeping_minutes,
    )
    print(json.dumps(result) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
