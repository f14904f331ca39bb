"""Store benchmarks. Matching: gallery search latency, ANN recall and build cost.

Run from the repository root::

    .venv/bin/python bench/store.py            # Markdown tables
    .venv/bin/python bench/store.py --json     # one JSON object

Features are synthetic, 128-d (dlib's size) and L2-normalised: each visitor has 1-5
templates, a random centre plus noise (sigma 0.02 per coordinate), so one visitor's templates
score ~0.95 with each other and ~0 with anyone else's. Probes are half "returning" (a gallery
template plus the same noise) and half fresh random vectors ("new" people).

For each gallery size the gallery is built from scratch with ``Gallery.from_templates`` twice,
once forced to exact search and once forced to the IVF index, and each searches every probe
one at a time, as the pipeline calls it. ``matching.ms_per_probe_<size>`` is the IVF index;
``matching.exact_ms_per_probe_<size>`` is exact search. Recall@1 counts probes whose best
visitor (the top-scoring one, match or not) is the same for the index as for exact search:
``matching.ann_recall_at_1`` over returning probes, the ones whose answer matters, and
``matching.ann_recall_at_1_all`` over all probes. For a fresh random vector the best visitor is
whichever of hundreds of thousands of strangers happens to score ~0.4, a near tie that no
index short of a full scan resolves, and the decision is "new" either way; so
``matching.ann_decision_agreement`` (same open-set decision at threshold 0.8) is reported for
all probes. Headline recall and agreement are the worst over the sizes.

Adding a new visitor's template and removing a visitor are timed on the IVF gallery, one call
at a time. Two comparisons justify the choices in ``desktopapp/core/matching.py``: brute-force
search of one probe with numpy (BLAS threads) against ``faiss.IndexFlatIP`` with one OpenMP
thread and with its default count, and a raw FAISS HNSW index (build time, latency, recall).
Times are wall-clock ``time.perf_counter`` medians and 90th percentiles after one warm-up
call; other processes skew them, so the load average is reported. Memory is the growth of
the process's resident set while building the gallery (Linux with glibc only, approximate).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import load_average, machine  # noqa: E402
from desktopapp.core.matching import IVF_NPROBE, Gallery, MatchResult, ivf_cells  # noqa: E402
from desktopapp.core.synthetic_gallery import (  # noqa: E402 - shared with `raiten bench`
    DIM,
    MAX_TEMPLATES,
    Matrix,
    decision,
    stats,
    synthetic_gallery,
    synthetic_probes,
    time_each,
)

log = logging.getLogger(__name__)

SIZES = (10_000, 100_000, 1_000_000)
EXACT_BACKEND_SIZES = (10_000, 100_000)
HNSW_SIZES = (10_000, 100_000)
PROBES = 1000
# The comparison of brute-force kernels is a side measure; 200 probes keep it short.
EXACT_BACKEND_PROBES = 200
# HNSW settings compared: M=32 with efSearch=64 reaches recall@1 ~0.99 on returning probes.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 64
TOP_K = 2 * MAX_TEMPLATES + 1
UPDATES = 200  # adds and removals timed per size


def size_label(count: int) -> str:
    """10000 -> "10k", 1000000 -> "1m"."""
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000}m"
    if count % 1000 == 0:
        return f"{count // 1000}k"
    return str(count)


def _rss_bytes() -> int | None:
    """The resident set size of this process (Linux), else None.

    Freed heap is handed back to the system first (glibc's malloc_trim), or memory freed by an
    earlier measure and reused by the next would hide the next one's growth.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _build(
    ids: Sequence[str], features: Matrix, qualities: Matrix, exact_limit: int
) -> tuple[Gallery, float, float | None]:
    """A gallery from scratch, the seconds it took and the megabytes it added (approx)."""
    rows = list(zip(ids, features, qualities.tolist(), strict=True))
    gc.collect()
    before = _rss_bytes()
    started = time.perf_counter()
    # threshold -1 and margin 0: every probe "matches" its best visitor, so visitor_id names
    # the best visitor for recall; the real decision is taken from score and runner_up.
    gallery = Gallery.from_templates(
        rows, DIM, -1.0, margin=0.0, max_templates=MAX_TEMPLATES, exact_limit=exact_limit
    )
    seconds = time.perf_counter() - started
    # Measured while the rows still exist, so that freeing them does not offset the gallery.
    after = _rss_bytes()
    megabytes = None if before is None or after is None else (after - before) / 2**20
    return gallery, seconds, megabytes


def _time_updates(
    gallery: Gallery, features: Matrix, visitor_ids: Sequence[str], label: str
) -> dict[str, float]:
    """Median ms to add a new visitor's template and to remove an existing visitor (which
    moves other templates into its slots), one call at a time."""
    added: list[float] = []
    removed: list[float] = []
    for number, (feature, visitor_id) in enumerate(zip(features, visitor_ids, strict=False)):
        started = time.perf_counter()
        gallery.add(f"bench-{number}", feature, 1.0)
        added.append(time.perf_counter() - started)
        started = time.perf_counter()
        gallery.remove(visitor_id)
        removed.append(time.perf_counter() - started)
    return {
        f"matching.add_ms_{label}": stats(added)["median_ms"],
        f"matching.remove_ms_{label}": stats(removed)["median_ms"],
    }


def measure_matching(
    sizes: Sequence[int] = SIZES, probes: int = PROBES, seed: int = 0
) -> dict[str, Any]:
    """Exact and IVF search per gallery size: latency, build time, memory, recall@1."""
    result: dict[str, Any] = {
        "matching.dim": DIM,
        "matching.probes": probes,
        "matching.index": "ivf",
        "matching.nprobe": IVF_NPROBE,
    }
    recalls: list[float] = []
    recalls_all: list[float] = []
    agreements: list[float] = []
    for size in sizes:
        label = size_label(size)
        log.info("matching at %s templates", label)
        ids, features, qualities = synthetic_gallery(size, seed)
        queries = synthetic_probes(features, probes, seed + 1)
        answers: dict[str, list[MatchResult]] = {}
        for kind, exact_limit in (("exact", size), ("ivf", 0)):
            gallery, seconds, megabytes = _build(ids, features, qualities, exact_limit)
            if gallery.index_kind != kind:
                raise RuntimeError(f"expected a {kind} gallery, got {gallery.index_kind}")
            timing, answers[kind] = time_each(gallery.search, queries)
            prefix = "matching.exact_" if kind == "exact" else "matching."
            if kind == "ivf":
                first_visitors = list(dict.fromkeys(ids[: UPDATES * MAX_TEMPLATES]))[:UPDATES]
                result |= _time_updates(gallery, queries[:UPDATES], first_visitors, label)
            result[f"{prefix}ms_per_probe_{label}"] = timing["median_ms"]
            result[f"{prefix}p90_ms_per_probe_{label}"] = timing["p90_ms"]
            result[f"{prefix}build_s_{label}"] = round(seconds, 3)
            result[f"{prefix}memory_mb_{label}"] = None if megabytes is None else round(megabytes)
            del gallery
        result[f"matching.visitors_{label}"] = len(set(ids))
        result[f"matching.cells_{label}"] = ivf_cells(size)
        same = np.array(
            [
                e.visitor_id == a.visitor_id
                for e, a in zip(answers["exact"], answers["ivf"], strict=True)
            ]
        )
        agree = np.array(
            [
                decision(e) == decision(a)
                for e, a in zip(answers["exact"], answers["ivf"], strict=True)
            ]
        )
        returning = probes // 2
        recall = float(same[:returning].mean())
        recall_all = float(same.mean())
        agreement = float(agree.mean())
        result[f"matching.ann_recall_at_1_{label}"] = round(recall, 4)
        result[f"matching.ann_recall_at_1_all_{label}"] = round(recall_all, 4)
        result[f"matching.ann_decision_agreement_{label}"] = round(agreement, 4)
        result[f"matching.exact_returning_matched_{label}"] = round(
            float(np.mean([decision(e) is not None for e in answers["exact"][:returning]])), 4
        )
        recalls.append(recall)
        recalls_all.append(recall_all)
        agreements.append(agreement)
    result["matching.ann_recall_at_1"] = round(min(recalls), 4)
    result["matching.ann_recall_at_1_all"] = round(min(recalls_all), 4)
    result["matching.ann_decision_agreement"] = round(min(agreements), 4)
    return result


def _numpy_top(features: Matrix, probe: Matrix) -> NDArray[np.intp]:
    cut = len(features) - TOP_K
    return np.argpartition(features @ probe, cut)[cut:]


def _faiss_top(index: faiss.Index, probe: Matrix) -> int:
    _, found = index.search(probe[np.newaxis], TOP_K)
    return int(found[0, 0])


@contextmanager
def _faiss_threads(count: int) -> Iterator[None]:
    """FAISS's OpenMP thread count in this thread, for the duration."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def measure_exact_backends(
    sizes: Sequence[int] = EXACT_BACKEND_SIZES, probes: int = EXACT_BACKEND_PROBES, seed: int = 0
) -> dict[str, Any]:
    """Single-probe top-k by brute force: numpy's matrix-vector product (its BLAS threads)
    against faiss.IndexFlatIP with one OpenMP thread and with its default thread count."""
    result: dict[str, Any] = {"matching.exact_backend_probes": probes}
    for size in sizes:
        label = size_label(size)
        _, features, _ = synthetic_gallery(size, seed)
        queries = synthetic_probes(features, probes, seed + 1)
        flat = faiss.IndexFlatIP(DIM)
        flat.add(features)
        searches = (
            ("numpy", partial(_numpy_top, features), nullcontext()),
            ("faiss_flat_1t", partial(_faiss_top, flat), _faiss_threads(1)),
            ("faiss_flat", partial(_faiss_top, flat), nullcontext()),
        )
        for name, search, threads in searches:
            with threads:
                timing, _ = time_each(search, queries)
            result[f"matching.exact_{name}_ms_{label}"] = timing["median_ms"]
            result[f"matching.exact_{name}_p90_ms_{label}"] = timing["p90_ms"]
    return result


def measure_hnsw(
    sizes: Sequence[int] = HNSW_SIZES, probes: int = PROBES, seed: int = 0
) -> dict[str, Any]:
    """A raw FAISS HNSW index on the same data: build time, latency, recall@1 (returning)."""
    result: dict[str, Any] = {
        "matching.hnsw_m": HNSW_M,
        "matching.hnsw_ef_construction": HNSW_EF_CONSTRUCTION,
        "matching.hnsw_ef_search": HNSW_EF_SEARCH,
    }
    for size in sizes:
        label = size_label(size)
        ids, features, _ = synthetic_gallery(size, seed)
        queries = synthetic_probes(features, probes, seed + 1)
        returning = queries[: probes // 2]
        truth = [ids[i] for i in np.argmax(returning @ features.T, axis=1)]
        index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        started = time.perf_counter()
        index.add(features)
        result[f"matching.hnsw_build_s_{label}"] = round(time.perf_counter() - started, 3)
        index.hnsw.efSearch = HNSW_EF_SEARCH

        with _faiss_threads(1):  # as the gallery searches one probe
            timing, top = time_each(partial(_faiss_top, index), queries)
        result[f"matching.hnsw_ms_per_probe_{label}"] = timing["median_ms"]
        result[f"matching.hnsw_p90_ms_per_probe_{label}"] = timing["p90_ms"]
        hits = [ids[slot] == want for slot, want in zip(top[: len(truth)], truth, strict=True)]
        result[f"matching.hnsw_recall_at_1_{label}"] = round(float(np.mean(hits)), 4)
    return result


def run(
    sizes: Sequence[int] = SIZES,
    probes: int = PROBES,
    exact_backend_sizes: Sequence[int] = EXACT_BACKEND_SIZES,
    hnsw_sizes: Sequence[int] = HNSW_SIZES,
) -> dict[str, Any]:
    """Every measure: one flat dict of dotted keys."""
    started = time.perf_counter()
    result: dict[str, Any] = {
        **machine(),
        "matching.sizes": list(sizes),
    }
    result |= measure_matching(sizes, probes)
    result |= measure_exact_backends(exact_backend_sizes, min(probes, EXACT_BACKEND_PROBES))
    result |= measure_hnsw(hnsw_sizes, probes)
    result["machine.loadavg_end"] = load_average()
    result["bench.seconds"] = round(time.perf_counter() - started, 1)
    return result


def _cell(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(result: dict[str, Any]) -> str:
    """The result as Markdown tables."""
    labels = [size_label(size) for size in result["matching.sizes"]]
    lines = [
        f"Store benchmark: {result['machine.cpus']} CPUs, load average "
        f"{result['machine.loadavg_start']} -> {result['machine.loadavg_end']}, "
        f"{result['bench.seconds']} s ({result['machine.platform']}).",
        "",
        f"Gallery search, {result['matching.dim']}-d synthetic features, "
        f"{result['matching.probes']} single probes per size (half returning, half new); "
        f"IVF-Flat with sqrt(n) cells, nprobe {result['matching.nprobe']}.",
        "",
        "| templates | visitors | index | median ms | p90 ms | build s | memory MB "
        "| recall@1 returning | recall@1 all | same decision |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in labels:
        for kind, prefix in (("exact", "matching.exact_"), ("ivf", "matching.")):
            quality = (
                ["1 (reference)", "1 (reference)", "1 (reference)"]
                if kind == "exact"
                else [
                    _cell(result[f"matching.ann_recall_at_1_{label}"]),
                    _cell(result[f"matching.ann_recall_at_1_all_{label}"]),
                    _cell(result[f"matching.ann_decision_agreement_{label}"]),
                ]
            )
            index = kind if kind == "exact" else f"ivf ({result[f'matching.cells_{label}']} cells)"
            lines.append(
                f"| {label} | {result[f'matching.visitors_{label}']} | {index} "
                f"| {_cell(result[f'{prefix}ms_per_probe_{label}'])} "
                f"| {_cell(result[f'{prefix}p90_ms_per_probe_{label}'])} "
                f"| {_cell(result[f'{prefix}build_s_{label}'], 2)} "
                f"| {_cell(result[f'{prefix}memory_mb_{label}'])} | " + " | ".join(quality) + " |"
            )
    lines += [
        "",
        "IVF updates, one call at a time (median ms): "
        + ", ".join(
            f"{label}: add {_cell(result[f'matching.add_ms_{label}'])}, "
            f"remove {_cell(result[f'matching.remove_ms_{label}'])}"
            for label in labels
        )
        + ".",
    ]
    lines += [
        "",
        f"Headline: recall@1 of returning probes {result['matching.ann_recall_at_1']}, over all "
        f"probes {result['matching.ann_recall_at_1_all']}, same decision "
        f"{result['matching.ann_decision_agreement']} (worst size). Exact search found "
        + ", ".join(
            f"{result[f'matching.exact_returning_matched_{label}']:.3f} at {label}"
            for label in labels
        )
        + " of returning probes as matches at threshold 0.8.",
    ]
    backend_labels = [
        key.removeprefix("matching.exact_numpy_ms_")
        for key in result
        if key.startswith("matching.exact_numpy_ms_")
    ]
    if backend_labels:
        lines += [
            "",
            f"Exact search, single probe, {result['matching.exact_backend_probes']} probes "
            "(median / p90 ms):",
            "",
            "| templates | numpy (BLAS threads) | faiss IndexFlatIP, 1 thread "
            "| faiss IndexFlatIP, default threads |",
            "|---|---:|---:|---:|",
        ]
        for label in backend_labels:
            cells = [
                f"{_cell(result[f'matching.exact_{name}_ms_{label}'])} / "
                f"{_cell(result[f'matching.exact_{name}_p90_ms_{label}'])}"
                for name in ("numpy", "faiss_flat_1t", "faiss_flat")
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    hnsw_labels = [
        key.removeprefix("matching.hnsw_build_s_")
        for key in result
        if key.startswith("matching.hnsw_build_s_")
    ]
    if hnsw_labels:
        lines += [
            "",
            f"| HNSW (M {result['matching.hnsw_m']}, efConstruction "
            f"{result['matching.hnsw_ef_construction']}, efSearch "
            f"{result['matching.hnsw_ef_search']}), 1 search thread | build s | median ms "
            "| p90 ms "
            "| recall@1 returning |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {label} | {_cell(result[f'matching.hnsw_build_s_{label}'], 2)} "
            f"| {_cell(result[f'matching.hnsw_ms_per_probe_{label}'])} "
            f"| {_cell(result[f'matching.hnsw_p90_ms_per_probe_{label}'])} "
            f"| {_cell(result[f'matching.hnsw_recall_at_1_{label}'])} |"
            for label in hnsw_labels
        ]
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--probes", type=int, default=PROBES, help=f"default {PROBES}")
    parser.add_argument(
        "--sizes", type=_sizes, default=list(SIZES), help="gallery sizes, comma-separated"
    )
    parser.add_argument(
        "--exact-backend-sizes",
        type=_sizes,
        default=list(EXACT_BACKEND_SIZES),
        help="sizes for numpy vs faiss exact search ('' for none)",
    )
    parser.add_argument(
        "--hnsw-sizes", type=_sizes, default=list(HNSW_SIZES), help="sizes for HNSW ('' for none)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.sizes, args.probes, args.exact_backend_sizes, args.hnsw_sizes)
    print(json.dumps(result, indent=2) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
