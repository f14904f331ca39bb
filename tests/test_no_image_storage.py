"""G-03 and G-12: pictures are never stored, and only masked pictures leave the pipeline.

Every file opened for writing while the pipeline runs is recorded by an audit hook (PEP 578);
only the database (with its WAL/SHM/journal), the log files and, on a machine without an OS
keyring, the key-sized data key file may be written. Afterwards no new
file anywhere we can see holds image data, and no database BLOB decodes as a picture.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.pipeline import FrameAnalyser, PipelineConfig
from desktopapp.core.sources import Frame
from desktopapp.core.store.crypto import KEY_FILE
from desktopapp.core.vision.engine import VisionEngine
from tests.conftest import FACES, ROOT, SINGLE_FACE, VIDEO
from tests.test_notice import COMPLETE

IMAGE_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"GIF8",
    b"RIFF",  # WebP / AVI
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class WriteWatch:
    """Audit hooks cannot be removed, so one hook records only while ``active``."""

    def __init__(self) -> None:
        self.active = False
        self.opened: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[object, ...]) -> None:
        if not self.active or event != "open" or len(args) < 3:
            return
        path, mode, flags = args[0], args[1], args[2]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and bool(flags & WRITE_FLAGS)
        )
        if writing and isinstance(path, str | bytes | os.PathLike):
            self.opened.append(os.fsdecode(path))


_WATCH = WriteWatch()


@pytest.fixture
def watch() -> Iterator[WriteWatch]:
    _WATCH.opened.clear()
    _WATCH.active = True
    try:
        yield _WATCH
    finally:
        _WATCH.active = False


def _allowed(path: str, data_dir: Path) -> bool:
    resolved = Path(path).resolve()
    if resolved.parent == data_dir.resolve() and resolved.name.startswith("raiten.db"):
        return True  # the database, its -wal, -shm and -journal
    if resolved == (data_dir / KEY_FILE).resolve():
        # Without an OS keyring the data key lives in a file: 32 random bytes, base64.
        return resolved.stat().st_size <= 64
    return data_dir.resolve() / "logs" in resolved.parents


def _new_image_files(roots: list[Path], since: float, foreign: tuple[Path, ...] = ()) -> list[Path]:
    """Image files changed since ``since`` under ``roots``, except under ``foreign`` folders."""
    # A foreign folder is left out where the walk reaches it: checking each file against each
    # folder (hundreds of a run's temporary folders, thousands of files in a checkout's .venv)
    # took minutes.
    skipped = set(foreign)
    found = []
    for root in roots:
        if any(root.is_relative_to(other) for other in foreign):
            continue
        # os.walk, unlike rglob, passes over a folder another process removes meanwhile (the
        # temporary folders of tests and benchmarks running beside this one).
        for top, folders, names in os.walk(root):
            folders[:] = [name for name in folders if Path(top) / name not in skipped]
            for path in (Path(top) / name for name in names):
                if path in skipped:
                    continue
                try:
                    if not path.is_file() or path.stat().st_mtime < since:
                        continue
                    with path.open("rb") as handle:
                        head = handle.read(16)
                except OSError:
                    continue
                if head.startswith(IMAGE_MAGIC):
                    found.append(path)
    return found


def _blobs_that_are_images(db_path: Path) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        hits = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes) and (
                        value.startswith(IMAGE_MAGIC)
                        or cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED)
                        is not None
                    ):
                        hits.append(table)
        return hits
    finally:
        conn.close()


def test_headless_analysis_writes_no_picture(
    watch: WriteWatch,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    assert main(["notice", "set", str(notice), "--data-dir", str(data_dir)]) == 0
    started = time.time() - 1
    watch.opened.clear()
    code = main(["analyse", str(VIDEO), str(FACES), "--data-dir", str(data_dir), "--json"])
    assert code == 0, capsys.readouterr().err
    written = sorted(set(watch.opened))
    assert written, "the audit hook saw no write at all: it is not watching"
    forbidden = [p for p in written if not _allowed(p, data_dir)]
    assert forbidden == []
    roots = [data_dir, Path(tempfile.gettempdir()), ROOT]
    # Other pytest runs on this machine (a developer's, a second checkout's) write their own
    # test pictures into their own base folders; this run's folder is still scanned.
    own = tmp_path_factory.getbasetemp()
    # Other pytest runs, and this run's other tests (the hook's control writes a picture).
    others = tuple(p for p in own.parent.glob("pytest-*") if p != own)
    others += tuple(p for p in own.iterdir() if p != tmp_path)
    assert _new_image_files(roots, started, others) == []
    assert _blobs_that_are_images(data_dir / "raiten.db") == []


def test_a_clip_of_the_test_faces_writes_nothing(watch: WriteWatch, engine: VisionEngine) -> None:
    """A clip built in memory from the face images, through the analyser alone."""
    analyser = FrameAnalyser(1, engine, PipelineConfig())
    index = 0
    for name in SINGLE_FACE:
        image = cv2.imread(str(FACES / name))
        factor = min(640 / image.shape[1], 480 / image.shape[0])
        small = cv2.resize(image, None, fx=factor, fy=factor)
        canvas = np.zeros((480, 640, 3), np.uint8)
        canvas[: small.shape[0], : small.shape[1]] = small
        for _ in range(8):  # ~0.8 s of each face
            analyser.process(Frame(canvas.copy(), index, index / 10, 0.0))
            index += 1
    analyser.finish(index / 10 + 5)
    assert analyser.faces >= len(SINGLE_FACE) * 8 - 8
    assert watch.opened == []


def test_the_hook_does_catch_a_written_picture(watch: WriteWatch, tmp_path: Path) -> None:
    """The watch itself works: a picture written by hand is seen and found."""
    started = time.time() - 1
    target = tmp_path / "leak.png"
    ok, encoded = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    assert ok
    with open(target, "wb") as handle:
        handle.write(encoded.tobytes())
    assert str(target) in watch.opened
    assert _new_image_files([tmp_path], started) == [target]


def test_anonymise_writes_only_its_masked_copy(
    watch: WriteWatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Use case 5 is the one exception to G-03: OUT, and nothing else, holds pictures, and every
    frame of it is masked wherever the reference (two detectors agreeing, bench/masking.py)
    finds a person or a face in the source."""
    from bench.masking import ReferenceDetectors, obscured  # noqa: PLC0415
    from tests.test_anonymise import read_all, write_clip  # noqa: PLC0415

    data_dir = tmp_path / "data"
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    assert main(["notice", "set", str(notice), "--data-dir", str(data_dir)]) == 0
    source = write_clip(tmp_path / "source.avi", frames=8, start=100)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "copy.avi"
    started = time.time() - 1
    watch.opened.clear()
    assert main(["anonymise", str(source), str(out), "--data-dir", str(data_dir)]) == 0
    written = sorted(set(watch.opened))
    assert written, "the audit hook saw no write at all: it is not watching"
    # The video itself is written by OpenCV's FFmpeg, below Python: the folders are checked.
    assert [p for p in written if not _allowed(p, data_dir)] == []
    assert sorted(out_dir.iterdir()) == [out]
    own = tmp_path_factory.getbasetemp()
    # Other pytest runs, and this run's other tests (the hook's control writes a picture).
    others = tuple(p for p in own.parent.glob("pytest-*") if p != own)
    others += tuple(p for p in own.iterdir() if p != tmp_path)
    roots = [data_dir, Path(tempfile.gettempdir()), ROOT]
    assert _new_image_files(roots, started, (*others, source.parent)) == []
    # The test's own source clip aside, OUT (an AVI: RIFF) is the one new picture file.
    assert [p for p in _new_image_files([tmp_path], started) if p != source] == [out]
    assert _blobs_that_are_images(data_dir / "raiten.db") == []

    detectors = ReferenceDetectors()
    persons = 0
    for shown, original in zip(read_all(out), read_all(source), strict=True):
        reference = detectors.reference(original)
        for box in reference.persons:
            assert obscured(shown, original, box), box
        for box in reference.faces:
            assert obscured(shown, original, box), box
        persons += len(reference.persons)
    assert persons >= 8  # the check had people to look at
