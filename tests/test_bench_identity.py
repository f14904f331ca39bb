"""bench/identity.py on a small scale: a few people on entrance-camera clips over two days,
through the real analyser and recorder. No two people may become one visitor."""

from __future__ import annotations

import pytest

from bench import identity as bench

pytestmark = pytest.mark.skipif(not bench.FACES_CALIB.is_dir(), reason="faces-calib not present")


@pytest.fixture(scope="module")
def result() -> dict[str, object]:
    measured: dict[str, object] = bench.run(seed=2, days=2, people=6, returning=0.4)
    return measured


def test_no_two_people_become_one_visitor(result: dict[str, object]) -> None:
    assert result["identity.true_visitors"] == 6
    assert result["identity.true_repeats"] >= 2, "some people come back on the second day"
    assert result["identity.pairwise_precision"] == 1.0
    assert result["identity.pairs_wrongly_joined"] == 0
    # Every walk was seen and became one of the recorded visits.
    assert result["identity.walks_without_visit"] == 0
    assert result["identity.visits"] == result["identity.true_visits"]


def test_the_table_reports_every_figure(result: dict[str, object]) -> None:
    text = bench.table(result)
    for figure in ("pairwise precision", "pairwise recall", "repeat rate error", "visits"):
        assert figure in text
