"""Camera work runs below the UI's priority (core.priority): the capture and analysis threads of
a live camera and the feature processes, so that the UI thread gets a core at once while four
cameras keep both busy."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import Mode, engine_for_mode
from desktopapp.core.pipeline import CameraWorker, MaskedFrame, PipelineConfig
from desktopapp.core.priority import NICE_STEP
from desktopapp.core.sources import CameraSource, SourceKind, SourceSpec
from desktopapp.core.vision.remote import RemoteEmbedder
from tests.conftest import VIDEO
from tests.streams import wait_for

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="a nice level per thread is Linux's"
)


def _nice(native_id: int | None) -> int:
    assert native_id is not None
    return os.getpriority(os.PRIO_PROCESS, native_id)


def test_a_cameras_threads_and_the_feature_processes_run_below_the_ui() -> None:
    ui = _nice(threading.get_native_id())
    lowered = min(19, ui + NICE_STEP)
    engine = engine_for_mode(VisionConfig(), Mode.REPEAT)
    source = CameraSource(SourceSpec(SourceKind.FILE, str(VIDEO)), realtime=True)
    frames: list[MaskedFrame] = []
    worker = CameraWorker(
        1, source, engine, PipelineConfig(), on_frame=frames.append, on_closed=lambda _e: None
    )
    worker.start()
    try:
        assert wait_for(lambda: len(frames) >= 3, 60), "no frame was analysed"
        assert _nice(worker._thread.native_id) == lowered
        assert source._thread is not None
        assert _nice(source._thread.native_id) == lowered
        assert isinstance(engine.embedder, RemoteEmbedder)
        children = list(engine.embedder._pool.executor._processes)  # type: ignore[attr-defined]
        assert children and all(_nice(pid) >= lowered for pid in children)
    finally:
        worker.stop()
    # The caller (the UI thread in the app) keeps its own priority.
    assert _nice(threading.get_native_id()) == ui
