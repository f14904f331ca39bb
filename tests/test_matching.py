"""Gallery: open-set decisions, templates per visitor, the automatic IVF index, the maths of
false repeats, and real face features end to end."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from desktopapp.core.matching import (
    EXACT_LIMIT,
    EXACT_RETURN,
    REBUILD_GROWTH,
    Gallery,
    MatchResult,
    expected_false_repeats,
    false_match_rate,
)
from desktopapp.core.verification import largest_face_feature
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Image, Vector
from tests.conftest import FACES

DIM = 32
Matrix = NDArray[np.float32]


def unit(rows: Matrix) -> Matrix:
    normalised: Matrix = (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)
    return normalised


def random_unit(rng: np.random.Generator, count: int, dim: int = DIM) -> Matrix:
    return unit(rng.standard_normal((count, dim), dtype=np.float32))


def near(vector: Vector, rng: np.random.Generator, sigma: float = 0.02) -> Vector:
    """A noisy copy: cosine ~0.99 with ``vector`` at DIM 32, sigma 0.02."""
    return unit(vector + sigma * rng.standard_normal(vector.shape, dtype=np.float32))


def clustered(
    rng: np.random.Generator, visitors: int, per_visitor: int = 3, dim: int = DIM
) -> list[tuple[str, Vector, float]]:
    """(visitor id, feature, quality) rows: each visitor a random centre plus noise."""
    centres = random_unit(rng, visitors, dim)
    return [
        (f"v{v}", near(centres[v], rng, 0.05), float(rng.random()))
        for v in range(visitors)
        for _ in range(per_visitor)
    ]


def built(
    rows: list[tuple[str, Vector, float]], threshold: float, exact_limit: int = EXACT_LIMIT
) -> Gallery:
    """A gallery made by adding ``rows`` one by one."""
    gallery = Gallery(rows[0][1].shape[0], threshold, exact_limit=exact_limit)
    for visitor_id, feature, quality in rows:
        gallery.add(visitor_id, feature, quality)
    return gallery


# --- open-set decision ------------------------------------------------------------------


def test_empty_gallery_is_new_with_score_minus_one() -> None:
    gallery = Gallery(DIM, threshold=0.9)
    probe = random_unit(np.random.default_rng(0), 1)[0]
    result = gallery.search(probe)
    assert result == MatchResult(None, -1.0, -1.0)
    assert not result.is_match
    assert gallery.search_many(random_unit(np.random.default_rng(1), 3)) == [result] * 3
    assert gallery.search_many(np.empty((0, DIM), dtype=np.float32)) == []
    assert (gallery.visitors, gallery.templates, len(gallery)) == (0, 0, 0)


def test_above_threshold_with_margin_matches() -> None:
    rng = np.random.default_rng(1)
    a, b = random_unit(rng, 2)
    gallery = Gallery(DIM, threshold=0.9)
    gallery.add("a", a, 1.0)
    gallery.add("b", b, 1.0)
    result = gallery.search(near(a, rng))
    assert result.visitor_id == "a" and result.is_match
    assert result.score >= 0.9
    assert result.runner_up == pytest.approx(float(near(a, rng, 0) @ b), abs=0.1)
    assert result.score - result.runner_up >= 0.02


def test_above_threshold_without_margin_is_new() -> None:
    rng = np.random.default_rng(2)
    a = random_unit(rng, 1)[0]
    gallery = Gallery(DIM, threshold=0.9, margin=0.02)
    gallery.add("a", a, 1.0)
    gallery.add("twin", near(a, rng, 0.001), 1.0)
    result = gallery.search(near(a, rng, 0.005))
    assert result.visitor_id is None
    assert result.score >= 0.9 and result.runner_up >= 0.9
    assert result.score - result.runner_up < 0.02


def test_below_threshold_is_new() -> None:
    rng = np.random.default_rng(3)
    gallery = Gallery(DIM, threshold=0.9)
    for i, vector in enumerate(random_unit(rng, 10)):
        gallery.add(f"v{i}", vector, 1.0)
    result = gallery.search(random_unit(rng, 1)[0])
    assert result.visitor_id is None
    assert -1.0 < result.score < 0.9
    assert result.runner_up <= result.score


def test_one_visitor_runner_up_is_minus_one_and_own_templates_do_not_count() -> None:
    rng = np.random.default_rng(4)
    a = random_unit(rng, 1)[0]
    gallery = Gallery(DIM, threshold=0.9)
    for _ in range(3):
        gallery.add("a", near(a, rng), 1.0)
    result = gallery.search(a)
    assert result.visitor_id == "a"
    assert result.runner_up == -1.0


def test_bad_input_is_rejected() -> None:
    gallery = Gallery(DIM, threshold=0.9)
    with pytest.raises(ValueError, match="dimension"):
        gallery.add("a", np.ones(DIM + 1, dtype=np.float32), 1.0)
    with pytest.raises(ValueError, match="non-zero"):
        gallery.add("a", np.zeros(DIM, dtype=np.float32), 1.0)
    with pytest.raises(ValueError, match="finite"):
        gallery.search(np.full(DIM, np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="quality"):
        gallery.add("a", np.ones(DIM, dtype=np.float32), float("nan"))
    with pytest.raises(ValueError):
        Gallery(DIM, threshold=0.9, max_templates=0)
    assert gallery.templates == 0


# --- templates per visitor --------------------------------------------------------------


def test_templates_are_capped_and_the_best_kept_best_first() -> None:
    rng = np.random.default_rng(5)
    vectors = random_unit(rng, 9)
    gallery = Gallery(DIM, threshold=0.9, max_templates=5)
    qualities = [0.5, 0.1, 0.9, 0.3, 0.7, 0.05, 0.8, 0.3, 0.35]
    kept = [gallery.add("a", v, q) for v, q in zip(vectors, qualities, strict=True)]
    # 0.05 is worse than the worst kept (0.1); 0.8 replaces 0.1; 0.3 ties the worst: not kept;
    # 0.35 replaces the 0.3.
    assert kept == [True, True, True, True, True, False, True, False, True]
    templates = gallery.templates_of("a")
    assert [q for q, _ in templates] == pytest.approx([0.9, 0.8, 0.7, 0.5, 0.35])
    for (_, vector), index in zip(templates, [2, 6, 4, 0, 8], strict=True):
        np.testing.assert_allclose(vector, vectors[index], atol=1e-6)
    assert (gallery.visitors, gallery.templates, len(gallery)) == (1, 5, 5)
    # The replaced templates no longer match; the kept ones do.
    assert gallery.search(vectors[1]).visitor_id is None
    assert gallery.search(vectors[6]).visitor_id == "a"
    assert gallery.templates_of("nobody") == []


def test_remove_drops_all_of_a_visitors_templates_and_keeps_the_others_intact() -> None:
    rng = np.random.default_rng(6)
    rows = clustered(rng, visitors=6, per_visitor=3)
    # Interleave the visitors so that removal moves other visitors' rows into the holes.
    rows = [rows[i] for i in rng.permutation(len(rows))]
    gallery = built(rows, threshold=0.8)
    assert gallery.remove("v2") == 3
    assert gallery.remove("v2") == 0
    assert gallery.remove("nobody") == 0
    assert (gallery.visitors, gallery.templates) == (5, 15)
    assert gallery.templates_of("v2") == []
    for visitor_id, feature, _ in rows:
        found = gallery.search(feature).visitor_id
        assert found == (None if visitor_id == "v2" else visitor_id)
    for visitor_id in {row[0] for row in rows} - {"v2"}:
        assert len(gallery.templates_of(visitor_id)) == 3


def test_a_big_purge_gives_memory_back_and_keeps_the_rest_searchable() -> None:
    rng = np.random.default_rng(11)
    rows = clustered(rng, visitors=400, per_visitor=2)
    gallery = built(rows, threshold=0.8)
    capacity = len(gallery._vectors)  # the matrix's rows, live or not
    for visitor in range(390):
        gallery.remove(f"v{visitor}")
    assert gallery.templates == 20
    assert len(gallery._vectors) < capacity // 4
    for visitor_id, feature, _ in rows[-20:]:
        assert gallery.search(feature).visitor_id == visitor_id


# --- the automatic index ----------------------------------------------------------------


def probes_for(
    rows: list[tuple[str, Vector, float]], rng: np.random.Generator, count: int
) -> Matrix:
    """Half noisy copies of gallery templates (returning), half random vectors (new)."""
    picks = rng.integers(0, len(rows), size=count // 2)
    returning = np.stack([near(rows[i][1], rng, 0.05) for i in picks])
    return np.vstack([returning, random_unit(rng, count - count // 2)])


def test_switches_to_ivf_past_exact_limit_with_the_same_decisions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(7)
    rows = clustered(rng, visitors=1000, per_visitor=3)
    caplog.set_level(logging.INFO, logger="desktopapp.core.matching")
    ann = built(rows, threshold=0.8, exact_limit=2000)
    exact = built(rows, threshold=0.8, exact_limit=10**9)
    assert (ann.index_kind, exact.index_kind) == ("ivf", "exact")
    assert sum("built IVF index" in r.message for r in caplog.records) == 1

    probes = probes_for(rows, rng, 1000)
    ann_results = ann.search_many(probes)
    exact_results = exact.search_many(probes)
    same = [a.visitor_id == e.visitor_id for a, e in zip(ann_results, exact_results, strict=True)]
    assert np.mean(same) >= 0.99
    assert np.mean([r.is_match for r in exact_results[:500]]) > 0.95
    assert not any(r.is_match for r in exact_results[500:])
    # One probe at a time answers as the batch does.
    assert [ann.search(p) for p in probes[:50]] == ann_results[:50]


def test_removals_in_ivf_mode_are_honoured_and_shrinking_returns_to_exact(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(8)
    rows = clustered(rng, visitors=1000, per_visitor=3)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    gallery = built(rows, threshold=0.8, exact_limit=2000)
    assert gallery.index_kind == "ivf"
    removed = {f"v{i}" for i in range(0, 1000, 7)}
    for visitor_id in removed:
        assert gallery.remove(visitor_id) == 3
    assert gallery.index_kind == "ivf"  # 3000 - 429 templates: still above the limit
    features = np.stack([feature for _, feature, _ in rows])
    found = [r.visitor_id for r in gallery.search_many(features)]
    for (visitor_id, _, _), answer in zip(rows, found, strict=True):
        # Exact copies score 1.0 with their own template, ~0 with anyone else's.
        assert answer == (None if visitor_id in removed else visitor_id)

    caplog.set_level(logging.INFO, logger="desktopapp.core.matching")
    survivors = sorted({row[0] for row in rows} - removed)
    below = int(EXACT_RETURN * 2000) // 3 - 1
    for visitor_id in survivors[below:]:
        gallery.remove(visitor_id)
    assert gallery.templates < EXACT_RETURN * 2000
    assert gallery.index_kind == "exact"
    assert any("back to exact search" in r.message for r in caplog.records)
    for visitor_id in survivors[:below]:
        assert gallery.search(gallery.templates_of(visitor_id)[0][1]).visitor_id == visitor_id


def test_ivf_index_is_rebuilt_when_the_gallery_outgrows_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(9)
    rows = clustered(rng, visitors=150, per_visitor=3)
    caplog.set_level(logging.INFO, logger="desktopapp.core.matching")
    gallery = built(rows, threshold=0.8, exact_limit=100)
    builds = [r.message for r in caplog.records if "built IVF index" in r.message]
    # Built at 101 templates, re-trained past REBUILD_GROWTH × 101.
    assert len(builds) == 2 and REBUILD_GROWTH * 101 < 450
    assert "101 templates" in builds[0] and f"{REBUILD_GROWTH * 101 + 1} templates" in builds[1]
    for visitor_id, feature, _ in rows[::10]:
        assert gallery.search(feature).visitor_id == visitor_id


def test_from_templates_equals_incremental_adds() -> None:
    rng = np.random.default_rng(10)
    rows = clustered(rng, visitors=400, per_visitor=4)
    # Some visitors get more rows than they may keep, including ties.
    rows += [(f"v{v}", near(rows[4 * v][1], rng), 0.5) for v in range(0, 400, 3) for _ in range(3)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    probes = probes_for(rows, rng, 400)
    for exact_limit in (10**9, 1000):
        incremental = built(rows, threshold=0.8, exact_limit=exact_limit)
        bulk = Gallery.from_templates(rows, DIM, 0.8, exact_limit=exact_limit)
        assert bulk.index_kind == incremental.index_kind
        assert (bulk.visitors, bulk.templates) == (incremental.visitors, incremental.templates)
        for visitor_id in {row[0] for row in rows}:
            mine, theirs = bulk.templates_of(visitor_id), incremental.templates_of(visitor_id)
            assert [q for q, _ in mine] == [q for q, _ in theirs]
            np.testing.assert_allclose(
                np.stack([v for _, v in mine]), np.stack([v for _, v in theirs]), atol=1e-6
            )
        bulk_results = bulk.search_many(probes)
        incremental_results = incremental.search_many(probes)
        if exact_limit == 10**9:
            for a, b in zip(bulk_results, incremental_results, strict=True):
                assert a.visitor_id == b.visitor_id
                assert a.score == pytest.approx(b.score, abs=1e-5)
                assert a.runner_up == pytest.approx(b.runner_up, abs=1e-5)
        else:  # IVF indexes trained on different orders of the same rows
            same = [
                a.visitor_id == b.visitor_id
                for a, b in zip(bulk_results, incremental_results, strict=True)
            ]
            assert np.mean(same) >= 0.99


def test_from_no_rows_is_an_empty_gallery() -> None:
    gallery = Gallery.from_templates([], DIM, 0.9)
    assert gallery.templates == 0 and gallery.index_kind == "exact"


# --- false repeats ----------------------------------------------------------------------


def test_expected_false_repeats_values() -> None:
    assert expected_false_repeats(0, 0.01) == 0.0
    assert expected_false_repeats(1, 0.01) == pytest.approx(0.01)
    assert expected_false_repeats(10, 0.5) == pytest.approx(1 - 0.5**10)
    assert expected_false_repeats(1000, 1e-6) == pytest.approx(1000 * 1e-6, rel=1e-3)
    assert expected_false_repeats(1_000_000, 1e-12) == pytest.approx(1e-6, rel=1e-6)
    assert expected_false_repeats(5, 1.0) == 1.0
    assert expected_false_repeats(5, 0.0) == 0.0
    for bad in ((-1, 0.1), (1, -0.1), (1, 1.5)):
        with pytest.raises(ValueError):
            expected_false_repeats(*bad)


@given(
    visitors=st.integers(min_value=0, max_value=10**7),
    more=st.integers(min_value=0, max_value=10**6),
    fmr=st.floats(min_value=0.0, max_value=1.0),
)
def test_expected_false_repeats_properties(visitors: int, more: int, fmr: float) -> None:
    rate = expected_false_repeats(visitors, fmr)
    assert 0.0 <= rate <= 1.0
    assert rate <= visitors * fmr * (1 + 1e-9) + 1e-300  # never above the linear estimate
    assert expected_false_repeats(visitors + more, fmr) >= rate  # grows with the gallery
    assert rate == pytest.approx(1 - (1 - fmr) ** visitors, abs=1e-9)


def test_false_match_rate_values() -> None:
    assert false_match_rate([0.1, 0.95, 0.5, 0.93], 0.92) == 0.5
    assert false_match_rate([0.92, 0.1], 0.92) == 0.5  # the decision matches at >=
    assert false_match_rate([0.1] * 1000, 0.92) == pytest.approx(0.003)  # rule of three
    assert false_match_rate([0.1], 0.92) == 1.0  # 3/1 capped
    with pytest.raises(ValueError):
        false_match_rate([], 0.92)


@given(
    scores=st.lists(st.floats(min_value=-1.0, max_value=1.0), min_size=1, max_size=200),
    threshold=st.floats(min_value=-1.0, max_value=1.0),
)
def test_false_match_rate_properties(scores: list[float], threshold: float) -> None:
    rate = false_match_rate(scores, threshold)
    measured = sum(s >= threshold for s in scores) / len(scores)
    assert 0.0 < rate <= 1.0
    if measured > 0:
        assert rate == pytest.approx(measured)
    else:
        assert rate == pytest.approx(min(1.0, 3 / len(scores)))


# --- real features ----------------------------------------------------------------------

ENROLLED = ["obama.jpg", "biden.jpg", "astronaut.png", "messi5.jpg", "Tom_Hanks_54745.png"]
OBAMA_PROBES = ["obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"]


@pytest.mark.skipif(not FACES.is_dir(), reason="test data not present")
def test_real_features_find_obama_and_nobody_for_a_stranger(
    engine: VisionEngine, face_image: dict[str, Image]
) -> None:
    assert engine.embedder is not None
    gallery = Gallery(engine.embedder.dim, engine.embedder.threshold)
    visitor_of: dict[str, str] = {}
    for name in ENROLLED:
        feature = largest_face_feature(engine, face_image[name])
        assert feature is not None, name
        visitor_of[name] = f"visitor-{len(visitor_of)}"
        assert gallery.add(visitor_of[name], feature, 1.0)
    for name in OBAMA_PROBES:
        feature = largest_face_feature(engine, face_image[name])
        assert feature is not None, name
        result = gallery.search(feature)
        assert result.visitor_id == visitor_of["obama.jpg"], (name, result)
    stranger = largest_face_feature(engine, face_image["t1.jpg"])
    assert stranger is not None
    result = gallery.search(stranger)
    assert result.visitor_id is None, result
    assert result.score < engine.embedder.threshold
