"""bench/pipeline.py runs end to end on a tiny scale; numbers are checked to exist, never for
speed (the machine running the tests may be busy)."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest

from bench import pipeline as bench

pytestmark = [
    pytest.mark.gui,
    pytest.mark.skipif(not bench.SIX_FACES.is_file(), reason="test data not present"),
]


def _bench_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith(("source ", "analysis-")) and t.is_alive()
    ]


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    before = set(_bench_threads())
    measured: dict[str, Any] = bench.run(
        cameras=(1,), seconds=3.0, warmup=1.0, gui_seconds=1.0, tuned=True, gui=True
    )
    leaked = [t.name for t in _bench_threads() if t not in before]
    assert not leaked, f"threads still running after the benchmark: {leaked}"
    return measured


def test_headline_keys(result: dict[str, Any]) -> None:
    assert result["pipeline.cpu_count"] >= 1
    assert isinstance(result["pipeline.cameras_at_10fps"], int)
    assert result["pipeline.cameras_at_10fps"] in (0, 1)
    assert set(result["pipeline.fps_per_camera"]) == {"1"}
    assert result["pipeline.fps_per_camera"]["1"] > 0
    assert result["pipeline.fps_per_camera_demo"]["1"] > 0
    for setup in bench.TUNED_SETUPS:
        assert result[f"pipeline.{setup.label}.fps_per_camera"]["1"] > 0
    assert result["ui.paint_fps"] > 0
    assert result["ui.paint_only_fps"] > 0
    assert result["ui.max_stall_ms"] >= 0
    assert result["ui_tuned.paint_fps"] > 0
    assert result["bench.total_s"] > 0


def test_every_run_is_reported(result: dict[str, Any]) -> None:
    runs = result["pipeline.runs"]
    assert [(r["source"], r["setup"]) for r in runs] == [
        ("six_faces", "default"),
        ("demo", "default"),
        *(("six_faces", s.label) for s in bench.TUNED_SETUPS),
    ]
    for run in runs:
        assert run["cameras"] == 1
        assert len(run["fps"]) == 1 and run["min_fps"] > 0
        assert run["frames_received"][0] > 0
        assert run["frames_dropped"][0] >= 0
        assert run["cpu_cores_used"] > 0
    six_faces = runs[0]
    assert six_faces["faces_per_frame"] > 0
    assert six_faces["persons_per_frame"] > 0  # the default setup runs the person detector
    assert six_faces["cpu_ms_per_frame"] > 0
    assert six_faces["features_per_s"] >= 0 and six_faces["attributes_per_s"] >= 0


def test_gui_phases(result: dict[str, Any]) -> None:
    for prefix in ("ui", "ui_tuned"):
        phases = result[f"{prefix}.phases"]
        assert set(phases) == {"live", "paint_only"}
        for numbers in phases.values():
            assert len(numbers["paint_fps"]) == 1
            assert numbers["ticks"] > 0
            assert numbers["max_stall_ms"] >= 0
        assert result[f"{prefix}.emit_drops_true_refs"] >= 0


def test_reports_render(result: dict[str, Any]) -> None:
    table = bench.markdown(result)
    assert "## Pipeline: analysis rate per camera" in table
    assert "**cameras_at_10fps**" in table
    assert "## UI (ui)" in table and "## UI (ui_tuned)" in table
    assert json.loads(json.dumps(result)) == result


def test_synthetic_source_serves_fresh_frames() -> None:
    source = bench.SyntheticSource(bench.letterbox(bench.load_six_faces()), fps=50.0, turnover=0.1)
    first, same = source.frame_at(0), source.frame_at(0)
    assert first.shape == (480, 640, 3) and first.dtype == np.uint8
    assert first is not same and np.array_equal(first, same)
    assert not np.array_equal(first, source.frame_at(1))  # the pan
    assert not np.array_equal(first, source.frame_at(5))  # the jump after a turnover
    source.start()
    try:
        frame = source.latest(timeout=2.0)
        assert frame is not None and frame.image.shape == (480, 640, 3)
        status = source.status()
        assert status.frames >= 1 and status.width == 640 and status.height == 480
    finally:
        source.stop()
    assert not [t for t in _bench_threads() if t.name == f"source {source.name}"]


def test_profile_summary_groups_stacks() -> None:
    worker = (
        "Thread._bootstrap (threading.py:1002);CameraWorker._run (desktopapp/core/pipeline.py:278)"
    )
    raw = "\n".join(
        [
            f"{worker};DlibEmbedder.embed (desktopapp/core/vision/features.py:62) 60",
            f"{worker};YuFaceDetector.detect (desktopapp/core/vision/faces.py:109);"
            "detect (yuface/__init__.py:19) 30",
            f"{worker};mask_frame (desktopapp/core/privacy.py:104) 10",
            f"{worker};Condition.wait (threading.py:331) 7",
            "<module> (pipeline.py:1);load_engines (pipeline.py:404) 5",
            "not a sample line",
        ]
    )
    summary = bench.summarise_profile(raw)
    assert summary["samples"] == 100
    assert summary["samples_waiting"] == 7 and summary["samples_main_thread"] == 5
    assert summary["categories"] == {"features (dlib)": 60.0, "detection": 30.0, "masking": 10.0}
    assert summary["self"]["DlibEmbedder.embed (features.py)"] == 60.0


def test_setup_survives_the_command_line() -> None:
    for setup in (bench.DEFAULT_SETUP, *bench.TUNED_SETUPS):
        assert bench.Setup.from_token(setup.token()) == setup


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cameras"):
        bench.run(cameras=(0,))
    with pytest.raises(ValueError, match="sources"):
        bench.run(cameras=(1,), sources=("nowhere",))
