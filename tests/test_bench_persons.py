"""bench/persons.py runs end to end on a tiny scale; timings are only checked to exist."""

from __future__ import annotations

import json

import cv2
import pytest

from bench import persons as bench

pytestmark = pytest.mark.skipif(not bench.VIDEO.is_file(), reason="test data not present")


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    threads = cv2.getNumThreads()
    measured: dict[str, object] = bench.run(repeats=1, video_frame_count=1, pipeline_frames=5)
    assert cv2.getNumThreads() == threads, "the benchmark must restore OpenCV's thread count"
    return measured


def test_every_detector_is_timed_at_each_thread_count(result: dict[str, object]) -> None:
    assert result["persons.frames"] == 1
    for model_id in (result["persons.model"], bench.HOG):
        for threads in bench.THREADS:
            assert result[f"persons.detect.{model_id}.t{threads}.samples"] == 1
    for key in ("persons.detect_ms", "persons.detect_ms_hog", "persons.detect_p90_ms"):
        value = result[key]
        assert isinstance(value, float) and value > 0, key


def test_persons_are_counted(result: dict[str, object]) -> None:
    assert isinstance(result[f"persons.found.{result['persons.model']}"], int)
    assert isinstance(result[f"persons.found.{bench.HOG}"], int)


def test_reports_render(result: dict[str, object]) -> None:
    table = bench.markdown(result)
    assert f"| detect (per frame) | {result['persons.model']} | 2 |" in table
    assert f"| detect (per frame) | {bench.HOG} | 1 |" in table
    assert json.loads(json.dumps(result)) == result


def test_the_passer_by_pipeline_is_timed(result: dict[str, object]) -> None:
    for threads in bench.THREADS:
        fps = result[f"persons.pipeline.t{threads}.fps"]
        assert isinstance(fps, float) and fps > 0
    assert "frames/s" in bench.markdown(result)
