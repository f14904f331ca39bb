"""bench/store.py runs end to end on a tiny scale; timings are only checked to exist."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from bench import store as bench


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    measured: dict[str, Any] = bench.run(
        sizes=[2000, 3000], probes=50, exact_backend_sizes=[2000], hnsw_sizes=[2000]
    )
    return measured


def test_synthetic_visitors_cluster_as_described() -> None:
    ids, features, qualities = bench.synthetic_gallery(2000, seed=0)
    assert len(ids) == len(features) == len(qualities) == 2000
    assert features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    owners = np.array(ids)
    sizes = np.unique(owners, return_counts=True)[1]
    assert sizes.min() >= 1 and sizes.max() <= bench.MAX_TEMPLATES
    scores = features[:200] @ features.T
    same = owners[:200, None] == owners[None, :]
    off_diagonal = same & ~np.eye(200, 2000, dtype=bool)
    assert 0.9 < scores[off_diagonal].mean() < 0.99
    assert abs(scores[~same].mean()) < 0.05
    probes = bench.synthetic_probes(features, 10)
    assert probes.shape == (10, bench.DIM)


def test_headline_numbers_are_positive(result: dict[str, Any]) -> None:
    for label in ("2k", "3k"):
        for key in (
            f"matching.ms_per_probe_{label}",
            f"matching.p90_ms_per_probe_{label}",
            f"matching.exact_ms_per_probe_{label}",
            f"matching.exact_p90_ms_per_probe_{label}",
            f"matching.build_s_{label}",
            f"matching.exact_build_s_{label}",
        ):
            assert isinstance(result[key], float) and result[key] > 0, key
        assert result[f"matching.visitors_{label}"] > 0
        assert result[f"matching.cells_{label}"] > 1
        for key in (f"matching.add_ms_{label}", f"matching.remove_ms_{label}"):
            assert result[key] > 0, key
    for name in ("numpy", "faiss_flat_1t", "faiss_flat"):
        assert result[f"matching.exact_{name}_ms_2k"] > 0, name
        assert result[f"matching.exact_{name}_p90_ms_2k"] > 0, name
    assert result["matching.hnsw_build_s_2k"] > 0
    assert result["matching.hnsw_ms_per_probe_2k"] > 0


def test_recall_and_agreement_are_fractions(result: dict[str, Any]) -> None:
    for key in (
        "matching.ann_recall_at_1",
        "matching.ann_recall_at_1_all",
        "matching.ann_decision_agreement",
        "matching.ann_recall_at_1_2k",
        "matching.exact_returning_matched_2k",
        "matching.hnsw_recall_at_1_2k",
    ):
        assert 0.0 <= result[key] <= 1.0, key
    # Returning probes are easy at this size: every one is a match and found by the index.
    assert result["matching.exact_returning_matched_2k"] == 1.0
    assert result["matching.ann_recall_at_1"] >= result["matching.ann_recall_at_1_all"]


def test_reports_render(result: dict[str, Any]) -> None:
    table = bench.markdown(result)
    assert "| 2k |" in table and "| 3k |" in table
    assert "faiss IndexFlatIP, 1 thread" in table and "HNSW" in table
    assert "add " in table and "remove " in table
    assert json.loads(json.dumps(result)) == result


def test_size_labels() -> None:
    assert [bench.size_label(n) for n in (10_000, 100_000, 1_000_000, 2500)] == [
        "10k",
        "100k",
        "1m",
        "2500",
    ]


def test_main_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--json", "--sizes", "1000", "--probes", "20"]
    assert bench.main([*argv, "--exact-backend-sizes", "", "--hnsw-sizes", ""]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["matching.sizes"] == [1000]
    assert printed["matching.ms_per_probe_1k"] > 0
    assert printed["matching.exact_ms_per_probe_1k"] > 0
    assert 0.0 <= printed["matching.ann_recall_at_1"] <= 1.0
    assert not any(key.startswith("matching.hnsw_build_s_") for key in printed)
