"""bench/vision.py runs end to end on a tiny scale; timings are only checked to exist."""

from __future__ import annotations

import json

import pytest

from bench import vision as bench

pytestmark = pytest.mark.skipif(
    not bench.FACES_DIR.is_dir() or not bench.VIDEO.is_file(), reason="test data not present"
)


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    measured: dict[str, object] = bench.run(
        repeats=1, video_frame_count=1, images=["t1.jpg", "astronaut.png"]
    )
    return measured


def test_headline_numbers_are_positive(result: dict[str, object]) -> None:
    for key in (
        "vision.detect_ms",
        "vision.detect_ms_centerface",
        "vision.feature_ms",
        "vision.attributes_ms",
        "vision.detect_p90_ms",
        "vision.detect_p90_ms_centerface",
        "vision.feature_p90_ms",
        "vision.attributes_p90_ms",
    ):
        value = result[key]
        assert isinstance(value, float) and value > 0, key


def test_every_detector_is_timed_at_each_thread_count(result: dict[str, object]) -> None:
    assert result["vision.frames"] == 3
    for model_id in bench.DETECTORS:
        for threads in bench.THREADS:
            assert result[f"vision.detect.{model_id}.t{threads}.samples"] == 3


def test_face_counts_per_image(result: dict[str, object]) -> None:
    for image, expected in (("t1.jpg", 6), ("t1.jpg@640w", 6), ("astronaut.png", 1)):
        assert result[f"vision.faces.{image}.expected"] == expected
        for model_id in bench.DETECTORS:
            count = result[f"vision.faces.{image}.{model_id}"]
            assert isinstance(count, int) and count >= 0
    assert result["vision.faces.vtest.avi.expected"] is None
    assert all(isinstance(result[f"vision.faces.vtest.avi.{m}"], int) for m in bench.DETECTORS)


def test_reports_render(result: dict[str, object]) -> None:
    table = bench.markdown(result)
    assert "| detect (per frame) | centerface |" in table
    assert "| t1.jpg@640w | 6 |" in table
    assert json.loads(json.dumps(result)) == result
