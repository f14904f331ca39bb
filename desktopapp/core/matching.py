"""The gallery of pseudonymous visitors and the open-set decision: returning visitor or new.

Features are L2-normalised float32 vectors, so a score is a cosine similarity computed as an
inner product. Each visitor keeps at most ``max_templates`` templates (the best by quality);
a visitor's score is the maximum or the mean over its templates (``MatchPolicy`` says which,
and which tracks become templates). A probe is taken as a returning visitor
only when the best visitor scores at least ``threshold`` *and* beats the second-best visitor
by ``margin``; otherwise it is a new person. The margin turns "two visitors look alike" into
"new" rather than a coin toss between them.

Staff and do-not-track people live in their own ``Gallery`` instances owned by the caller
(search those first, then the customer gallery); nothing here is specific to them.

Index. Up to ``exact_limit`` templates the search is exact: faiss's brute-force inner-product
kernel (``faiss.knn``, what ``IndexFlatIP`` runs, straight on the gallery's own matrix) with one
OpenMP thread for a single probe. numpy's matrix-vector product is as fast on an idle machine,
but its multi-threaded BLAS stalls on two busy cores (p90 of several ms at 10k templates,
``bench/store.py``). Past ``exact_limit`` the gallery builds a FAISS IVF-Flat index (inverted
lists over k-means cells, inner product) and searches ``IVF_NPROBE`` cells. HNSW was measured
too and lost on build time: ~30 s over 100k clustered templates and, extrapolated from 400k
in ~170 s, over 7 minutes for 1M on two cores, while the gallery is rebuilt from the database
at every start; IVF-Flat builds 1M in ~20 s and meets the latency and recall targets. IVF
also deletes for real (a hash-table direct map), so there are no tombstones to collect. The
index is rebuilt (re-trained) when the gallery has grown ``REBUILD_GROWTH`` times past the
size it was trained on, because its lists then grow long and searches slow down; the gallery
returns to exact search when it shrinks below ``EXACT_RETURN`` × ``exact_limit`` (hysteresis,
so that churn near the limit does not rebuild every few calls). Builds happen inside the
call that crossed the line and hold the lock; they are logged with their duration.

Storage. The master copy of every template is one float32 matrix whose rows ("slots") are
dense: removing a template moves the last row into the hole, so exact search never scans dead
rows, and the matrix shrinks after a big purge. The IVF index keys its entries by slot and is
told about every move. Memory is about ``templates × dim × 4`` bytes plus the visitor maps,
twice that with the IVF index, which keeps its own copy (measured at 1M 128-d templates:
~570 MB exact, ~1.2 GB with IVF).

Thread safety: one lock around every mutation and search; searches are short, so readers
queue behind it rather than share it.

Expected false repeats. Every comparison with a stranger is a chance of a false match, so
the probability that a new person is wrongly taken as returning grows with the gallery:
``expected_false_repeats`` computes it from a per-visitor false-match rate that
``false_match_rate`` measures on impostor scores.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Literal, cast

import faiss
import numpy as np
from numpy.typing import NDArray

from desktopapp.core.vision.quality import MATCH_MIN_QUALITY
from desktopapp.core.vision.types import Vector

log = logging.getLogger(__name__)

# Exact search (single-threaded faiss brute force) takes ~0.1-0.2 ms per probe at 10k
# templates and 4-7 ms at 100k on the 2-core target (bench/store.py); the IVF index keeps
# under the 0.5 ms target from here on, at recall@1 1.0 for returning visitors.
EXACT_LIMIT = 10_000
# Back to exact search below this fraction of ``exact_limit``.
EXACT_RETURN = 0.75
# Re-train the IVF index when the gallery has grown this many times past its training size.
REBUILD_GROWTH = 4
# IVF cells probed per search. On the benchmark's 1M templates recall@1 of returning visitors
# measured 1.0 at 8 and 0.96 at 4; 16 leaves headroom for real features, which spread less
# evenly, at ~0.7 ms per probe against the 2 ms target.
IVF_NPROBE = 16
# k-means on at most this many points per cell, 10 iterations: keeps a 1M build ~15 s.
_TRAIN_POINTS_PER_CELL = 64
_TRAIN_ITERATIONS = 10
_TRAIN_SEED = 1234

# How a visitor's templates make its score: the best one, or their mean.
VisitorScore = Literal["max", "mean"]


@dataclass(frozen=True, slots=True)
class MatchResult:
    visitor_id: str | None
    """The matched visitor; None when the probe is a new person."""
    score: float
    """The best visitor's score (max over its templates); -1.0 when the gallery is empty."""
    runner_up: float
    """The second-best visitor's score; -1.0 when there is none."""

    @property
    def is_match(self) -> bool:
        return self.visitor_id is not None


_NO_MATCH = MatchResult(None, -1.0, -1.0)


def _unit_rows(vectors: NDArray[np.floating], dim: int) -> NDArray[np.float32]:
    """``vectors`` (n, dim) as float32 rows of length 1; rejects wrong shapes, NaN and zeros."""
    rows = np.asarray(vectors, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] != dim:
        raise ValueError(f"expected vectors of dimension {dim}, got shape {rows.shape}")
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))[:, np.newaxis]
    # A NaN or infinite component makes the norm NaN or infinite too.
    if not np.all((norms > 0) & np.isfinite(norms)):
        raise ValueError("feature vectors must be finite and non-zero")
    # Callers send normalised features already; normalising again is cheap and keeps
    # "score = cosine" true whatever they send.
    return np.ascontiguousarray(rows / norms, dtype=np.float32)


@contextmanager
def _one_openmp_thread() -> Iterator[None]:
    """FAISS without OpenMP parallelism in the calling thread, for one-vector operations.

    faiss opens an OpenMP parallel region even for one vector; on two busy cores its join
    waits for a descheduled thread. Measured under load: adding one vector to the IVF index
    took 8-16 ms instead of 0.1 ms, and an exact search of one probe over 10k templates 22 ms
    instead of 0.2 ms. OpenMP's thread count belongs to the calling thread, so this does not
    slow index builds or batches running in other threads.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def ivf_cells(templates: int) -> int:
    """How many k-means cells the IVF index over ``templates`` templates has.

    About sqrt(n), so that a cell holds about as many templates as there are cells and a
    search compares the probe with (1 + ``IVF_NPROBE``) × sqrt(n) vectors (17k at 1M
    templates, under 2 % of them). faiss wants at least 39 training points a cell.
    """
    return max(1, min(round(math.sqrt(templates)), templates // 39))


class _IvfIndex:
    """FAISS IVF-Flat over inner product whose ids are the gallery's slots."""

    def __init__(self, vectors: NDArray[np.float32]) -> None:
        started = time.perf_counter()
        count, dim = vectors.shape
        cells = ivf_cells(count)
        quantizer = faiss.IndexFlatIP(dim)
        self._index = faiss.IndexIVFFlat(quantizer, dim, cells, faiss.METRIC_INNER_PRODUCT)
        # Centroids on the unit sphere: the vectors are assigned to cells by inner product.
        self._index.cp.spherical = True
        self._index.cp.niter = _TRAIN_ITERATIONS
        self._index.cp.seed = _TRAIN_SEED
        sample_size = min(count, cells * _TRAIN_POINTS_PER_CELL)
        if sample_size < count:
            rng = np.random.default_rng(_TRAIN_SEED)
            sample = vectors[np.sort(rng.choice(count, sample_size, replace=False))]
        else:
            sample = vectors
        self._index.train(sample)
        # A hash-table direct map makes removing one id O(1) instead of a scan of all lists
        # (faiss's type stubs lack the DirectMap enum).
        self._index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        self._index.add_with_ids(vectors, np.arange(count, dtype=np.int64))
        self._index.nprobe = min(IVF_NPROBE, cells)
        self.built_size = count
        log.info(
            "built IVF index: %d templates, %d cells, nprobe %d, %.2f s",
            count,
            cells,
            self._index.nprobe,
            time.perf_counter() - started,
        )

    def add(self, slot: int, vector: Vector) -> None:
        with _one_openmp_thread():
            self._index.add_with_ids(vector[np.newaxis], np.array([slot], dtype=np.int64))

    def remove(self, slot: int) -> None:
        with _one_openmp_thread():
            # With a hash-table direct map faiss removes by IDSelectorArray only.
            self._index.remove_ids(faiss.IDSelectorArray(np.array([slot], dtype=np.int64)))

    def search(
        self, probes: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        scores, slots = self._index.search(probes, k)
        return scores, slots


class Gallery:
    """Visitors' templates and the open-set decision; see the module docstring."""

    def __init__(
        self,
        dim: int,
        threshold: float,
        margin: float = 0.02,
        max_templates: int = 5,
        exact_limit: int = EXACT_LIMIT,
        *,
        score: VisitorScore = "max",
    ) -> None:
        if dim < 1 or max_templates < 1 or exact_limit < 0 or margin < 0:
            raise ValueError("dim and max_templates must be >= 1, exact_limit and margin >= 0")
        self.dim = dim
        self.threshold = threshold
        self.margin = margin
        self.max_templates = max_templates
        self.exact_limit = exact_limit
        self.score = score
        # The first visitor that is not the best shows up within max_templates + 1 results of
        # an exact search; twice that leaves room for an approximate index's misorderings.
        self._k = 2 * max_templates + 1
        self._lock = threading.Lock()
        # Rows [0, _size) are live; the capacity grows geometrically so adds are amortised O(1).
        self._vectors = np.empty((0, dim), dtype=np.float32)
        self._quality = np.empty(0, dtype=np.float32)
        self._size = 0
        self._owner: list[str] = []
        self._slots: dict[str, list[int]] = {}  # best quality first
        self._ivf: _IvfIndex | None = None

    @classmethod
    def from_templates(
        cls,
        rows: Iterable[tuple[str, Vector, float]],
        dim: int,
        threshold: float,
        *,
        margin: float = 0.02,
        max_templates: int = 5,
        exact_limit: int = EXACT_LIMIT,
        score: VisitorScore = "max",
    ) -> Gallery:
        """A gallery holding ``rows`` (visitor id, feature, quality), as the database keeps them.

        Keeps the same templates as adding the rows one by one would (each visitor's best
        ``max_templates``, the earlier row winning a tie) but builds the matrix and the index
        once.
        """
        gallery = cls(dim, threshold, margin, max_templates, exact_limit, score=score)
        columns = list(zip(*rows, strict=True))
        if not columns:
            return gallery
        ids, vectors, qualities = columns
        # Vectorised grouping: a million rows is a normal start-up, and Python loops over them
        # would cost seconds.
        codes: dict[str, int] = {}
        group = np.fromiter(
            (codes.setdefault(visitor_id, len(codes)) for visitor_id in ids),
            dtype=np.int64,
            count=len(ids),
        )
        quality = np.asarray(qualities, dtype=np.float32)
        if not np.all(np.isfinite(quality)):
            raise ValueError("qualities must be finite")
        # By visitor, then best first; lexsort is stable, so the earlier row wins a tie, as in
        # add(). Each visitor's rank then keeps its best max_templates.
        order = np.lexsort((-quality, group))
        counts = np.bincount(group)
        starts = np.cumsum(counts) - counts
        rank = np.arange(len(order)) - np.repeat(starts, counts)
        keep = order[rank < max_templates]
        try:
            # A sub-array dtype makes fromiter fill an (n, dim) float32 matrix row by row: one
            # copy, several times faster than np.stack over a million small arrays.
            matrix = np.fromiter(
                (vectors[row] for row in keep.tolist()),
                dtype=np.dtype((np.float32, dim)),
                count=len(keep),
            )
        except ValueError as exc:
            raise ValueError(f"expected vectors of dimension {dim}: {exc}") from exc
        names = list(codes)
        kept = np.minimum(counts, max_templates)
        ends = np.cumsum(kept).tolist()
        gallery._vectors = _unit_rows(cast(NDArray[np.float32], matrix), dim)
        gallery._quality = quality[keep]
        gallery._size = len(keep)
        gallery._owner = [names[code] for code in group[keep].tolist()]
        gallery._slots = {
            name: list(range(end - size, end))
            for name, size, end in zip(names, kept.tolist(), ends, strict=True)
        }
        if gallery._size > gallery.exact_limit:
            gallery._ivf = _IvfIndex(gallery._vectors)
        return gallery

    @property
    def visitors(self) -> int:
        with self._lock:
            return len(self._slots)

    @property
    def templates(self) -> int:
        with self._lock:
            return self._size

    def __len__(self) -> int:
        return self.templates

    @property
    def index_kind(self) -> str:
        """Which search serves probes now: "exact" (brute force) or "ivf" (FAISS IVF-Flat)."""
        with self._lock:
            return "exact" if self._ivf is None else "ivf"

    def templates_of(self, visitor_id: str) -> list[tuple[float, Vector]]:
        """(quality, feature) of each of the visitor's templates, best first."""
        with self._lock:
            return [
                (float(self._quality[slot]), self._vectors[slot].copy())
                for slot in self._slots.get(visitor_id, [])
            ]

    def add(self, visitor_id: str, feature: Vector, quality: float) -> bool:
        """Adds a template; whether it was kept.

        A visitor with ``max_templates`` templates keeps the new one only if it is strictly
        better than its worst one, which it then replaces.
        """
        vector = _unit_rows(np.asarray(feature)[np.newaxis], self.dim)[0]
        if not math.isfinite(quality):
            raise ValueError(f"quality must be finite, got {quality}")
        with self._lock:
            slots = self._slots.setdefault(visitor_id, [])
            if len(slots) < self.max_templates:
                slot = self._append(visitor_id, vector, quality)
                slots.append(slot)
            else:
                slot = slots[-1]
                # Compared as stored (float32), so ties resolve as in from_templates.
                if np.float32(quality) <= self._quality[slot]:
                    return False
                self._vectors[slot] = vector
                self._quality[slot] = quality
                if self._ivf is not None:
                    self._ivf.remove(slot)
                    self._ivf.add(slot, vector)
            slots.sort(key=lambda s: -self._quality[s])
            if self._size > (
                self.exact_limit if self._ivf is None else REBUILD_GROWTH * self._ivf.built_size
            ):
                self._ivf = _IvfIndex(self._vectors[: self._size])
            return True

    def remove(self, visitor_id: str) -> int:
        """Removes all of a visitor's templates; how many there were."""
        with self._lock:
            slots = self._slots.pop(visitor_id, [])
            # Highest slot first: the row moved into a hole is then never one of this
            # visitor's, whose remaining slots are all lower.
            for slot in sorted(slots, reverse=True):
                self._delete_slot(slot)
            # Give the memory back after a big purge (retention), keeping room to grow.
            if len(self._vectors) > 64 and self._size < len(self._vectors) // 4:
                capacity = max(64, 2 * self._size)
                self._vectors = self._vectors[:capacity].copy()
                self._quality = self._quality[:capacity].copy()
            if self._ivf is not None and self._size < EXACT_RETURN * self.exact_limit:
                log.info("back to exact search: %d templates", self._size)
                self._ivf = None
            return len(slots)

    def search(self, probe: Vector) -> MatchResult:
        """The open-set decision for one probe feature."""
        return self.search_many(np.asarray(probe)[np.newaxis])[0]

    def search_many(self, probes: NDArray[np.float32]) -> list[MatchResult]:
        """The open-set decision for each row of ``probes``, searched as one batch."""
        if len(probes) == 0:
            return []
        queries = _unit_rows(probes, self.dim)
        # A batch is worth OpenMP threads; one probe (the pipeline's call) is not.
        threads = _one_openmp_thread() if len(queries) == 1 else nullcontext()
        with self._lock, threads:
            if self._size == 0:
                return [_NO_MATCH] * len(queries)
            if self._ivf is not None:
                scores, slots = self._ivf.search(queries, self._k)
            else:
                # Brute force over the live rows, in place (no copy into an index).
                scores, slots = faiss.knn(
                    queries, self._vectors[: self._size], self._k, faiss.METRIC_INNER_PRODUCT
                )
            return [
                self._decide(q, s, i)
                for q, s, i in zip(queries, scores.tolist(), slots.tolist(), strict=True)
            ]

    def scores_at_least(self, probe: Vector, minimum: float) -> list[tuple[str, float]]:
        """(visitor, score) of every visitor scoring at least ``minimum``, best first.

        Exhaustive (every template, never the approximate index) and without the margin rule:
        for a person asking what is held about them, a missed candidate costs more than an
        extra one.
        """
        query = _unit_rows(np.asarray(probe)[np.newaxis], self.dim)[0]
        best: dict[str, float] = {}
        with self._lock:
            scores = self._vectors[: self._size] @ query
            for slot in np.flatnonzero(scores >= minimum).tolist():
                owner = self._owner[slot]
                best[owner] = max(best.get(owner, minimum), float(scores[slot]))
        return sorted(best.items(), key=lambda item: item[1], reverse=True)

    def _append(self, visitor_id: str, vector: Vector, quality: float) -> int:
        if self._size == len(self._vectors):
            capacity = max(64, 2 * len(self._vectors))
            grown = np.empty((capacity, self.dim), dtype=np.float32)
            grown[: self._size] = self._vectors[: self._size]
            self._vectors = grown
            self._quality = np.resize(self._quality, capacity)
        slot = self._size
        self._vectors[slot] = vector
        self._quality[slot] = quality
        self._owner.append(visitor_id)
        self._size += 1
        if self._ivf is not None:
            self._ivf.add(slot, vector)
        return slot

    def _delete_slot(self, slot: int) -> None:
        """Frees ``slot`` by moving the last row into it."""
        last = self._size - 1
        if self._ivf is not None:
            self._ivf.remove(slot)
        if slot != last:
            moved = self._owner[last]
            self._vectors[slot] = self._vectors[last]
            self._quality[slot] = self._quality[last]
            self._owner[slot] = moved
            siblings = self._slots[moved]
            siblings[siblings.index(last)] = slot
            if self._ivf is not None:
                self._ivf.remove(last)
                self._ivf.add(slot, self._vectors[slot])
        self._owner.pop()
        self._size = last

    def _decide(self, query: Vector, scores: Sequence[float], slots: Sequence[int]) -> MatchResult:
        """Best and runner-up visitors from results sorted best first, then the decision."""
        if self.score == "mean":
            return self._decide_by_mean(query, slots)
        best_id: str | None = None
        best = runner_up = -1.0
        for score, slot in zip(scores, slots, strict=True):
            if slot < 0:  # faiss pads with -1 when fewer than k templates were found
                break
            owner = self._owner[slot]
            if best_id is None:
                best_id, best = owner, score
            elif owner != best_id:
                runner_up = score
                break
        return self._decision(best_id, best, runner_up)

    def _decide_by_mean(self, query: Vector, slots: Sequence[int]) -> MatchResult:
        """Visitors among the nearest templates, each scored by the mean over all of its
        templates: one lucky template of a stranger no longer decides alone."""
        candidates = dict.fromkeys(self._owner[slot] for slot in slots if slot >= 0)
        ranked = sorted(
            (
                (float(np.mean(self._vectors[self._slots[owner]] @ query)), owner)
                for owner in candidates
            ),
            reverse=True,
        )
        if not ranked:
            return _NO_MATCH
        runner_up = ranked[1][0] if len(ranked) > 1 else -1.0
        return self._decision(ranked[0][1], ranked[0][0], runner_up)

    def _decision(self, best_id: str | None, best: float, runner_up: float) -> MatchResult:
        matched = best_id is not None and best >= self.threshold and best - runner_up >= self.margin
        return MatchResult(best_id if matched else None, best, runner_up)


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """The open-set operating point: when a track is a returning visitor, and what it leaves
    in the gallery (docs/decisions.md "Precision-first matching").

    - Only shots of quality ``min_quality`` or better (``vision.quality``) make the probe,
      their mean, L2-normalised; a track with none has no usable face and no identity.
    - A visitor's score is the mean (or max) of the probe's cosine with its templates; a match
      needs ``threshold`` and ``margin`` over the runner-up.
    - A track leaves one template, its probe: a new visitor always, a returning one only when
      the match was confident (``threshold + confident_margin``), so that a borderline match,
      the likeliest to be a stranger, never teaches the gallery a second face.
    """

    threshold: float
    margin: float = 0.02
    min_quality: float = MATCH_MIN_QUALITY
    confident_margin: float = 0.01
    max_templates: int = 5
    score: VisitorScore = "mean"

    def probe(self, shots: Iterable[tuple[float, Vector]]) -> tuple[Vector, float] | None:
        """(feature, quality) of a track from its (quality, feature) shots, or None when no
        shot is good enough to match on."""
        usable = [(q, np.asarray(v, np.float32)) for q, v in shots if q >= self.min_quality]
        if not usable:
            return None
        mean = np.mean([v for _, v in usable], axis=0)
        norm = float(np.linalg.norm(mean))
        if not math.isfinite(norm) or norm == 0.0:
            return None
        return (mean / norm).astype(np.float32), max(q for q, _ in usable)

    def keeps_template(self, result: MatchResult) -> bool:
        """Whether the track that gave ``result`` adds its probe to the visitor's templates."""
        return not result.is_match or result.score >= self.threshold + self.confident_margin

    def gallery(self, rows: Iterable[tuple[str, Vector, float]], dim: int) -> Gallery:
        return Gallery.from_templates(
            rows,
            dim,
            self.threshold,
            margin=self.margin,
            max_templates=self.max_templates,
            score=self.score,
        )


# The margin over the runner-up for a model whose manifest entry and settings name none.
DEFAULT_MARGIN = 0.02
# The per-pair false-match rate assumed for a model whose manifest entry and settings name
# none: the order of magnitude calibration measured for dlib at its default threshold.
DEFAULT_FALSE_MATCH_RATE = 1e-4


def expected_false_repeats(visitors: int, per_pair_false_match_rate: float) -> float:
    """Probability that a new person is wrongly taken as a returning visitor.

    A new person is compared with every visitor; each comparison independently matches by
    mistake with probability fmr (``per_pair_false_match_rate``), so the chance that at least
    one does is ``1 - (1 - fmr) ** visitors``, about ``visitors × fmr`` while that is small.
    fmr is per visitor, i.e. measured on max-over-templates scores; a per-template rate with
    ``visitors`` = templates gives an upper bound. The margin rule only lowers the real rate,
    so this is the worst case the UI can show for the current gallery size.
    """
    if visitors < 0 or not 0.0 <= per_pair_false_match_rate <= 1.0:
        raise ValueError("visitors must be >= 0 and the false-match rate within [0, 1]")
    if per_pair_false_match_rate == 1.0:
        return 1.0 if visitors else 0.0
    # log1p/expm1 keep precision when fmr is tiny (1e-9 × 1e6 visitors).
    return -math.expm1(visitors * math.log1p(-per_pair_false_match_rate))


def false_match_rate(impostor_scores: Sequence[float], threshold: float) -> float:
    """Per-pair false-match rate at ``threshold`` from scores of different-people pairs.

    The fraction of impostor scores at or above the threshold (the decision matches at
    ``>=``). When none is, the measured 0 would claim a perfect model; the rule of three gives
    3 / n instead, the 95 % upper confidence bound for an event never seen in n trials, so the
    expected false repeats are never understated for lack of data.
    """
    scores = np.asarray(impostor_scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("need at least one impostor score")
    false_matches = int(np.count_nonzero(scores >= threshold))
    if false_matches == 0:
        return min(1.0, 3.0 / scores.size)
    return false_matches / scores.size
