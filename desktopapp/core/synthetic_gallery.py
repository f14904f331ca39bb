"""Synthetic face features for timing the gallery search: visitors with a few noisy templates
each, and probes half returning and half new. bench/store.py and `raiten bench` share it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from desktopapp.core.matching import MatchResult

DIM = 128
NOISE = 0.02  # per coordinate: cosine ~0.95 between two noisy copies of one centre
THRESHOLD = 0.8  # synthetic returning probes score ~0.95, strangers below 0.5
MARGIN = 0.02
MAX_TEMPLATES = 5
Matrix = NDArray[np.float32]


def _unit(rows: Matrix) -> Matrix:
    normalised: Matrix = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def synthetic_gallery(templates: int, seed: int = 0) -> tuple[list[str], Matrix, Matrix]:
    """(visitor id per template, features, qualities) for ``templates`` templates."""
    rng = np.random.default_rng(seed)
    per_visitor = rng.integers(1, MAX_TEMPLATES + 1, size=templates)
    visitors = int(np.searchsorted(np.cumsum(per_visitor), templates)) + 1
    per_visitor = per_visitor[:visitors]
    per_visitor[-1] -= int(per_visitor.sum()) - templates
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(visitors)]
    owner = np.repeat(np.arange(visitors), per_visitor)
    centres = _unit(rng.standard_normal((visitors, DIM), dtype=np.float32))
    features = centres[owner]
    features += NOISE * rng.standard_normal((templates, DIM), dtype=np.float32)
    qualities = rng.random(templates, dtype=np.float32)
    return [ids[i] for i in owner], _unit(features), qualities


def synthetic_probes(features: Matrix, count: int, seed: int = 1) -> Matrix:
    """The first half: gallery templates plus noise (returning); the rest: random (new)."""
    rng = np.random.default_rng(seed)
    returning = count // 2
    copies = features[rng.integers(0, len(features), size=returning)]
    copies = copies + NOISE * rng.standard_normal(copies.shape, dtype=np.float32)
    fresh = rng.standard_normal((count - returning, DIM), dtype=np.float32)
    return _unit(np.vstack([copies, fresh]))


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Median and 90th percentile of ``samples`` (seconds), in milliseconds."""
    values = np.asarray(samples, dtype=np.float64) * 1000.0
    return {
        "median_ms": round(float(np.median(values)), 4),
        "p90_ms": round(float(np.percentile(values, 90)), 4),
    }


def time_each(
    search: Callable[[Matrix], Any], probes: Matrix
) -> tuple[dict[str, float], list[Any]]:
    """Timings of ``search`` on each probe alone, after one untimed call, and its answers."""
    search(probes[0])
    samples: list[float] = []
    answers: list[Any] = []
    for probe in probes:
        started = time.perf_counter()
        answers.append(search(probe))
        samples.append(time.perf_counter() - started)
    return stats(samples), answers


def decision(result: MatchResult) -> str | None:
    """The visitor a gallery with THRESHOLD and MARGIN would have matched, or None (new)."""
    matched = result.score >= THRESHOLD and result.score - result.runner_up >= MARGIN
    return result.visitor_id if matched else None
