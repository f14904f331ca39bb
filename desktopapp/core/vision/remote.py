"""An embedder running in a child process.

dlib's own ResNet runtime (dlib-resnet128) holds the GIL for its whole ~90 ms per face, so
in-process every other camera's thread and the UI thread waited for it (bench/pipeline.py
measured UI stalls of ~1 s). The default, the same network on onnxruntime, takes ~8 ms of CPU
and releases the GIL in the network, but not in dlib's landmarks and chip (~1.6 ms). Here the
analysis thread sends the face's surroundings to a child process and waits on a pipe, which
releases the GIL. Only the crop around one face crosses the pipe — in memory, never on disk —
and both copies are zero-filled as soon as the feature is back.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import numpy as np

from desktopapp.core.priority import lower_this_process
from desktopapp.core.vision.backends import load_backend
from desktopapp.core.vision.faces import check_image
from desktopapp.core.vision.registry import ModelEntry, ModelRegistry
from desktopapp.core.vision.types import Face, Image, ModelInfo, Vector

log = logging.getLogger(__name__)

# Context around the box that the landmark model and the aligner use (dlib pads chips by 25 %).
CROP_MARGIN = 0.6

_child_embedder: Any = None


def _exit_with_parent() -> None:
    """Ends this child when the process that started it ends, however it ended.

    The pool's workers wait on a queue whose pipe they hold both ends of, so they never see
    the parent go: after a crash or a kill of the app each stayed, idle, holding its model
    (about 175 MB) until the machine restarted."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _child_init(models_dir: str, model_id: str) -> None:
    global _child_embedder  # noqa: PLW0603 - one embedder per child process, by design

    _exit_with_parent()
    lower_this_process()
    registry = ModelRegistry.load(Path(models_dir))
    _child_embedder = load_backend(registry, registry.get(model_id), threads=1)


def _child_dim() -> int:
    return int(_child_embedder.dim)


def _child_embed(crop: Image, face: Face) -> Vector:
    try:
        vector: Vector = _child_embedder.embed(crop, face)
        return vector
    finally:
        crop.fill(0)


class _Pool:
    """Child processes shared by every camera, and how many faces are queued for them."""

    def __init__(self, models_dir: Path, model_id: str, processes: int):
        self.executor = ProcessPoolExecutor(
            max_workers=processes,
            # spawn: a forked child would inherit Qt and camera threads mid-flight.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_child_init,
            initargs=(str(models_dir), model_id),
        )
        self.lock = threading.Lock()
        # Notified whenever a queued face is done, for callers that wait for room.
        self.freed = threading.Condition(self.lock)
        self.pending = 0
        # Two queued per child keeps each busy without letting a backlog of stale shots grow.
        self.capacity = 2 * processes


class _Pools:
    """One pool per (models dir, model, size)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        atexit.register(self.shutdown)

    def get(self, models_dir: Path, model_id: str, processes: int) -> _Pool:
        key = (str(models_dir), model_id, processes)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _Pool(models_dir, model_id, processes)
            return pool

    def shutdown(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.executor.shutdown(wait=False, cancel_futures=True)
            self._pools.clear()


POOLS = _Pools()


class RemoteEmbedder:
    def __init__(self, registry: ModelRegistry, entry: ModelEntry, processes: int):
        # Verify here, so a damaged file is reported by the caller, not inside a child.
        registry.verified_paths(entry)
        self.info: ModelInfo = entry.info
        self.threshold = float(entry.options.get("threshold", 0.5))
        self._pool = POOLS.get(registry.models_dir, entry.model_id, processes)
        self.dim: int = self._pool.executor.submit(_child_dim).result(timeout=120)
        log.info("%s runs in %d child process(es)", entry.model_id, processes)

    @property
    def busy(self) -> bool:
        """More faces queued than the children can take now: a live camera defers the shot
        (a later one of the same person takes its place)."""
        with self._pool.lock:
            return self._pool.pending >= self._pool.capacity

    def wait_until_free(self, timeout: float) -> bool:
        """Block until the children can take another face (batch analysis of files never
        drops a shot); False if they are still saturated after ``timeout`` seconds."""
        pool = self._pool
        with pool.freed:
            return pool.freed.wait_for(lambda: pool.pending < pool.capacity, timeout)

    def submit(self, image: Image, face: Face) -> Future[Vector]:
        """The feature, computed in a child while the caller goes on with the next frame."""
        image = check_image(image)
        height, width = image.shape[:2]
        pad_x, pad_y = face.w * CROP_MARGIN, face.h * CROP_MARGIN
        left = max(0, int(face.x - pad_x))
        top = max(0, int(face.y - pad_y))
        right = min(width, int(face.x + face.w + pad_x) + 1)
        bottom = min(height, int(face.y + face.h + pad_y) + 1)
        # A copy: the caller wipes its frame right after, before the pool has pickled this.
        crop = image[top:bottom, left:right].copy()
        shifted = Face(
            face.x - left,
            face.y - top,
            face.w,
            face.h,
            face.score,
            (face.landmarks - np.array([left, top], np.float32)).astype(np.float32),
        )
        pool = self._pool
        with pool.lock:
            pool.pending += 1
        future = pool.executor.submit(_child_embed, crop, shifted)

        def done(_: Future[Vector]) -> None:
            crop.fill(0)
            with pool.freed:
                pool.pending -= 1
                pool.freed.notify_all()

        future.add_done_callback(done)
        return future

    def embed(self, image: Image, face: Face) -> Vector:
        return self.submit(image, face).result()
