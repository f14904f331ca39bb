"""Calibrating the open-set operating point: confidence bounds, the threshold for a target
false-match rate, the match policy (quality gate, mean score, confident templates), the values
the manifest ships, and `raiten calibrate --folder` on real labelled faces."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.calibration import (
    TARGET_FALSE_MATCH_RATE,
    binomial_upper_bound,
    false_matches_at,
    labelled_photos,
    threshold_for,
)
from desktopapp.core.config import VisionConfig, load_settings
from desktopapp.core.matching import Gallery, MatchPolicy, MatchResult
from desktopapp.core.modes import Mode
from desktopapp.core.pipeline import TrackClosed
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import open_database
from desktopapp.core.store.retention import RetentionPolicy
from desktopapp.core.store.visits import VisitStore
from desktopapp.core.vision.engine import false_match_rate, match_margin
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Role
from desktopapp.core.visits import RecorderConfig, VisitRecorder
from tests.conftest import TESTDATA
from tests.test_matching import near, random_unit

FACES_CALIB = TESTDATA / "faces-calib"


@pytest.mark.parametrize(
    ("errors", "trials", "bound"),
    [
        # Clopper-Pearson one-sided 95 % upper bounds (beta quantiles, checked with scipy).
        (0, 37_654, 7.9556e-5),
        (1, 100, 0.046560),
        (5, 1000, 0.010484),
        (125, 37_654, 0.0038502),
    ],
)
def test_clopper_pearson_upper_bounds(errors: int, trials: int, bound: float) -> None:
    assert binomial_upper_bound(errors, trials) == pytest.approx(bound, rel=1e-4)


def test_bound_is_never_below_the_rate_and_rule_of_three_holds() -> None:
    for errors, trials in [(0, 10), (3, 10), (10, 10), (7, 5000)]:
        assert binomial_upper_bound(errors, trials) >= errors / trials
    assert binomial_upper_bound(0, 30_000) == pytest.approx(3 / 30_000, rel=0.01)
    with pytest.raises(ValueError):
        binomial_upper_bound(3, 2)


def test_threshold_is_chosen_by_the_impostor_bound_not_by_accuracy() -> None:
    rng = np.random.default_rng(3)
    impostor = rng.normal(0.7, 0.05, 40_000)
    chosen = threshold_for(impostor, 1e-3)
    at = false_matches_at(impostor, chosen)
    assert at.upper_95 <= 1e-3
    # One grid step lower no longer meets the target: the lowest such threshold.
    assert false_matches_at(impostor, chosen - 0.001).upper_95 > 1e-3
    # A target the data cannot show (below ~3 / n): above every impostor score.
    strict = threshold_for(impostor, 1e-6)
    assert strict > impostor.max() and false_matches_at(impostor, strict).errors == 0
    assert strict - impostor.max() <= 0.001


def test_policy_probe_uses_only_shots_above_the_quality_gate() -> None:
    rng = np.random.default_rng(5)
    good, bad = random_unit(rng, 2)
    policy = MatchPolicy(threshold=0.9, min_quality=0.4)
    probe = policy.probe([(0.8, good), (0.2, bad)])
    assert probe is not None
    feature, quality = probe
    assert quality == 0.8
    assert float(feature @ good) == pytest.approx(1.0, abs=1e-6)
    assert policy.probe([(0.3, good), (0.1, bad)]) is None, "no usable face: no identity"


def test_policy_adds_templates_only_for_new_visitors_and_confident_matches() -> None:
    policy = MatchPolicy(threshold=0.9, confident_margin=0.02)
    assert policy.keeps_template(MatchResult(None, 0.95, 0.1))  # new visitor (margin failed)
    assert policy.keeps_template(MatchResult("a", 0.93, 0.1))
    assert not policy.keeps_template(MatchResult("a", 0.91, 0.1))


def test_mean_score_does_not_let_one_lucky_template_decide() -> None:
    rng = np.random.default_rng(7)
    probe, other_a, other_b = random_unit(rng, 3)
    rows = [("v", near(probe, rng, 0.01), 1.0), ("v", other_a, 0.9), ("v", other_b, 0.8)]
    by_max = Gallery.from_templates(rows, probe.size, 0.9, score="max")
    by_mean = Gallery.from_templates(rows, probe.size, 0.9, score="mean")
    assert by_max.search(probe).visitor_id == "v"
    result = by_mean.search(probe)
    assert result.visitor_id is None
    expected = np.mean([float(probe @ vector) for _, vector in by_mean.templates_of("v")])
    assert result.score == pytest.approx(expected, abs=1e-5)
    # Several close templates still match by their mean, with the runner-up margin applied.
    close = [("w", near(probe, rng, 0.01), 1.0), ("w", near(probe, rng, 0.01), 0.9)]
    both = Gallery.from_templates(rows + close, probe.size, 0.9, score="mean")
    decided = both.search(probe)
    assert decided.visitor_id == "w" and decided.runner_up == pytest.approx(result.score, abs=1e-5)


def test_the_manifest_ships_the_measured_operating_point() -> None:
    entry = ModelRegistry.load().default(Role.FACE_FEATURES)
    options = entry.options
    assert entry.model_id == "dlib-resnet128-onnx"
    for key in ("threshold", "margin", "false_match_rate", "calibration"):
        assert key in options, key
    # The repeat rate's band reads the measured rate through the function it always used.
    assert false_match_rate(VisionConfig()) == options["false_match_rate"]
    assert match_margin(VisionConfig()) == options["margin"]
    assert false_match_rate(VisionConfig(false_match_rate=2e-3)) == 2e-3
    assert match_margin(VisionConfig(margin=0.05)) == 0.05
    # The shipped rate is a 95 % upper bound, never below what its own count of false matches
    # on the stated number of impostor pairs allows.
    measured = options["calibration"]
    bound = binomial_upper_bound(measured["false_matches"], measured["impostor_pairs"])
    assert options["false_match_rate"] == pytest.approx(bound, rel=0.01)
    assert options["false_match_rate"] <= TARGET_FALSE_MATCH_RATE


needs_calib = pytest.mark.skipif(not FACES_CALIB.is_dir(), reason="faces-calib not present")


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight people of faces-calib (test input copied in, not app output)."""
    folder = tmp_path_factory.mktemp("calib") / "people"
    people = sorted({p.identity for p in labelled_photos(FACES_CALIB)})[:8]
    for person in people:
        shutil.copytree(FACES_CALIB / person, folder / person)
    return folder


@needs_calib
def test_calibrate_folder_reports_the_rate_and_writes_it_audited(
    capsys: pytest.CaptureFixture[str], small_folder: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    args = ["calibrate", "--folder", str(small_folder), "--data-dir", str(data), "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    photos = len(labelled_photos(small_folder))
    assert report["photos"] == photos and report["identities"] == 8
    assert report["no_face"] == 0
    assert report["genuine_pairs"] + report["impostor_pairs"] == photos * (photos - 1) // 2
    assert report["false_match_rate"] == report["false_matches"] / report["impostor_pairs"]
    assert report["false_match_rate_upper_95"] >= report["false_match_rate"]
    assert report["written"] is False
    assert [half["identities"] for half in report["split"]] == [4, 4]
    assert not (data / "settings.json").exists()

    assert main([*args, "--write", "--target-fmr", "0.01"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["written"] is True
    settings = load_settings(data).vision
    assert settings.threshold == written["calibrated"]["threshold"]
    assert settings.false_match_rate == written["calibrated"]["false_match_rate_upper_95"]
    entries = [
        e
        for e in AuditLog(open_database(data)).entries(action="settings.calibrate")
        if e.action == "settings.calibrate"
    ]
    assert len(entries) == 1 and entries[0].details["threshold"] == settings.threshold
    # The written threshold is now the active one.
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == settings.threshold


@needs_calib
def test_camera_quality_is_what_the_threshold_is_chosen_at(
    capsys: pytest.CaptureFixture[str], small_folder: Path, tmp_path: Path
) -> None:
    """The same eight people as a cheap camera shows them look more alike than their photos
    as taken: impostor pairs score higher, so the threshold chosen for a false-match target is
    higher, and the report says which quality it measured."""
    data = tmp_path / "data"
    args = ["calibrate", "--folder", str(small_folder), "--data-dir", str(data), "--json"]
    reports = {}
    for quality, extra in (("camera", []), ("as taken", ["--as-taken"])):
        assert main([*args, *extra, "--target-fmr", "0.01"]) == 0
        reports[quality] = json.loads(capsys.readouterr().out)
        assert reports[quality]["quality"] == quality
    camera, taken = reports["camera"], reports["as taken"]
    assert camera["calibrated"]["threshold"] > taken["calibrated"]["threshold"]
    # The camera's shots stay in memory: nothing but the (unwritten) data folder is created.
    assert sorted(p.name for p in tmp_path.iterdir()) == (["data"] if data.exists() else [])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--write"], "--write, --target-fmr and --as-taken need --folder"),
        (["--target-fmr", "0.01"], "--write, --target-fmr and --as-taken need --folder"),
        (["--as-taken"], "--write, --target-fmr and --as-taken need --folder"),
    ],
)
def test_pairs_mode_refuses_folder_options(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], message: str
) -> None:
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("file_x,file_y,decision\n", encoding="utf-8")
    assert main(["calibrate", "--pairs", str(csv_path), *extra]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_without_people_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "only").mkdir()
    assert main(["calibrate", "--folder", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least two people" in err


def _at_cosine(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector whose cosine with the unit vector ``base`` is exactly ``cosine``."""
    other = rng.standard_normal(base.size).astype(np.float32)
    other -= float(other @ base) * base
    other /= np.linalg.norm(other)
    return (cosine * base + np.sqrt(1 - cosine**2) * other).astype(np.float32)


def _sighting(shots: list[tuple[float, np.ndarray]], day: int) -> TrackClosed:
    start = day * 86_400.0
    return TrackClosed(
        camera_id=1,
        track_id=day,
        first_seen=start,
        last_seen=start + 5,
        hits=10,
        feature=shots[0][1],
        templates=tuple(shots),
        attributes=None,
        path=((start, 0.2, 0.5),),
    )


def test_recorder_learns_templates_only_from_confident_matches(tmp_path: Path) -> None:
    data = tmp_path / "data"
    recorder = VisitRecorder(
        VisitStore(open_database(data), Cipher(load_key(data))),
        RecorderConfig(
            operator="Op",
            store="Shop",
            mode=Mode.REPEAT,
            retention=RetentionPolicy(30),
            threshold=0.9,
            dim=128,
        ),
        to_datetime=lambda t: datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=t),
    )
    rng = np.random.default_rng(11)
    face = random_unit(rng, 1, 128)[0]
    first = recorder.record(_sighting([(0.9, face)], 0))
    assert first.new_visitor and first.visitor_id is not None
    visitor = first.visitor_id

    def held() -> int:
        row = recorder.store.db.conn.execute(
            "SELECT COUNT(*) FROM template WHERE visitor_id = ?", [visitor]
        ).fetchone()
        return int(row[0])

    assert held() == 1
    borderline = recorder.record(_sighting([(0.9, _at_cosine(face, 0.905, rng))], 1))
    assert (borderline.visitor_id, borderline.is_repeat) == (visitor, True)
    assert held() == 1, "a borderline match is counted but teaches the gallery nothing"
    confident = recorder.record(_sighting([(0.9, _at_cosine(face, 0.97, rng))], 2))
    assert (confident.visitor_id, confident.is_repeat) == (visitor, True)
    assert held() == 2
    # Only blurred, tiny or turned-away shots: no identity, nothing matched or kept.
    poor = recorder.record(_sighting([(0.2, face), (0.1, face)], 3))
    assert poor.visitor_id is None and held() == 2
    # A good shot beside poor ones is matched on its own, not dragged down by their mean.
    stranger = random_unit(rng, 1, 128)[0]
    mixed = recorder.record(_sighting([(0.2, stranger), (0.8, _at_cosine(face, 0.97, rng))], 4))
    assert mixed.visitor_id == visitor
