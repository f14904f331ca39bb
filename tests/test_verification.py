from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktopapp.core.verification import calibrate

unit = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


def test_known_example() -> None:
    scores = [0.95, 0.97, 0.93, 0.80, 0.85, 0.91]
    same = [True, True, True, False, False, False]
    result = calibrate(scores, same, threshold=0.92)
    assert result.pairs == 6
    assert result.accuracy_at_threshold == 1.0
    assert result.best_accuracy == 1.0
    assert result.best_threshold == pytest.approx(0.92)
    assert result.tar_at_far_1e3 == 1.0
    worse = calibrate(scores, same, threshold=0.96)
    assert worse.accuracy_at_threshold == pytest.approx(4 / 6)


def test_overlapping_scores() -> None:
    result = calibrate([0.9, 0.5, 0.8, 0.7], [True, True, False, False], threshold=0.6)
    assert result.best_accuracy == 0.75
    assert result.tar_at_far_1e3 == 0.5  # only the 0.9 pair beats the best impostor (0.8)


def test_empty() -> None:
    assert calibrate([], [], 0.5).best_threshold is None


@given(
    genuine=st.lists(st.floats(0.6, 1.0), min_size=1, max_size=40),
    impostor=st.lists(st.floats(-1.0, 0.59), min_size=1, max_size=40),
)
def test_separable_sets_are_split_in_the_gap(genuine: list[float], impostor: list[float]) -> None:
    result = calibrate(genuine + impostor, [True] * len(genuine) + [False] * len(impostor), 0.0)
    assert result.best_accuracy == 1.0
    assert result.best_threshold is not None
    assert max(impostor) < result.best_threshold <= min(genuine)
    assert result.tar_at_far_1e3 == 1.0


@given(st.lists(st.tuples(unit, st.booleans()), min_size=1, max_size=60), unit)
def test_best_is_at_least_as_good_as_any_given_threshold(
    pairs: list[tuple[float, bool]], threshold: float
) -> None:
    scores = [s for s, _ in pairs]
    same = [y for _, y in pairs]
    result = calibrate(scores, same, threshold)
    assert result.best_accuracy is not None and result.accuracy_at_threshold is not None
    assert result.best_accuracy >= result.accuracy_at_threshold
    assert 0.0 <= result.best_accuracy <= 1.0
