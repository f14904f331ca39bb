"""File faults: truncated, damaged, empty and mislabelled videos; pictures that are empty, not
pictures, cut short or far too large. Each is refused with a code the UI words in Japanese and
English (the command line exits 2 with one line); nothing crashes. A video camera that loops is
analysed on every pass (its time runs on; the tracker refuses time going backwards)."""

from __future__ import annotations

import logging
import struct
import threading
import zlib
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktopapp.cli import main
from desktopapp.core.images import MAX_FILE_BYTES, ImageReadError, read_image
from desktopapp.core.pipeline import CameraWorker, MaskedFrame, PipelineConfig
from desktopapp.core.sources import (
    CameraSource,
    SourceError,
    SourceKind,
    SourceProblem,
    SourceSpec,
    SourceState,
    iter_frames,
)
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.ui.error_texts import ErrorTexts
from tests.conftest import FACES, VIDEO
from tests.reliability.conftest import ATTRIBUTES_PROFILE
from tests.streams import wait_for

pytestmark = pytest.mark.timeout(90)

VTEST_FRAMES = 795


def _video(kind: str, folder: Path) -> Path:
    path = folder / f"{kind.replace(' ', '-')}.avi"
    data = VIDEO.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[:100_000])
    elif kind == "zero bytes":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n" * 50, encoding="utf-8")
    elif kind == "garbage inside":
        # The header survives, a stretch of the frames is noise.
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(range(256)) * 400 + data[middle + 102_400 :])
    elif kind == "folder":
        path.mkdir()
    return path


VIDEO_FAULTS = {
    "truncated": SourceProblem.FILE_INCOMPLETE,
    "zero bytes": SourceProblem.FILE_EMPTY,
    "text": SourceProblem.FILE_NOT_VIDEO,
    "missing": SourceProblem.FILE_UNREADABLE,
    "folder": SourceProblem.FOLDER,
}


@pytest.mark.parametrize("kind", list(VIDEO_FAULTS))
def test_a_bad_video_file_is_refused_with_its_code(kind: str, tmp_path: Path) -> None:
    path = _video(kind, tmp_path)
    with pytest.raises(SourceError) as caught:
        list(iter_frames(SourceSpec(SourceKind.FILE, str(path))))
    assert caught.value.problem is VIDEO_FAULTS[kind]
    assert caught.value.params["file"] == str(path)
    with CameraSource(SourceSpec(SourceKind.FILE, str(path)), realtime=False) as source:
        assert wait_for(lambda: source.status().state is SourceState.FAILED, 20)
        assert source.status().problem is VIDEO_FAULTS[kind]


def test_a_video_with_garbage_inside_plays_what_can_be_decoded(tmp_path: Path) -> None:
    path = _video("garbage inside", tmp_path)
    try:
        frames = sum(1 for _ in iter_frames(SourceSpec(SourceKind.FILE, str(path))))
    except SourceError as exc:  # or says it is damaged, after the frames it could read
        assert exc.problem in {SourceProblem.FILE_INCOMPLETE, SourceProblem.FILE_UNDECODABLE}
    else:
        assert frames > VTEST_FRAMES // 2


@pytest.mark.parametrize("kind", ["truncated", "zero bytes", "text"])
def test_the_command_line_refuses_a_bad_video_in_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    profile = tmp_path / "notice.toml"
    profile.write_text(_toml(ATTRIBUTES_PROFILE.model_dump()), encoding="utf-8")
    assert main(["notice", "set", str(profile), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    path = _video(kind, tmp_path)
    assert main(["analyse", str(path), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and len(err.splitlines()) == 1


def _toml(profile: dict[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, int):
            return str(v)
        return '"' + str(v).replace('"', '\\"') + '"'

    return "\n".join(
        f"{key} = {value(v)}" for key, v in profile.items() if v is not None and v != {}
    )


def test_a_looping_video_camera_is_analysed_on_every_pass(
    engine: VisionEngine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    escaped: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", escaped.append)
    caplog.set_level(logging.ERROR)
    stamps: list[float] = []

    def on_frame(frame: MaskedFrame) -> None:
        stamps.append(frame.timestamp)

    source = CameraSource(SourceSpec(SourceKind.FILE, str(VIDEO), loop=True), realtime=False)
    worker = CameraWorker(
        1,
        source,
        VisionEngine(detector=engine.detector),
        PipelineConfig(analysis_fps=60),
        on_frame=on_frame,
        on_closed=lambda _event: None,
    )
    worker.start()
    try:
        # Past the end of the first pass (79.5 s of video) and well into the second.
        assert wait_for(lambda: bool(stamps) and stamps[-1] > 100.0, 60)
    finally:
        worker.stop()
    assert stamps == sorted(stamps), "time never goes backwards"
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    assert not escaped


# --- pictures ---------------------------------------------------------------------------------


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` but holds almost nothing: a decompression bomb
    is refused by what it declares, before anything is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _picture(kind: str, folder: Path) -> Path:
    path = folder / f"{kind.replace(' ', '-')}.jpg"
    if kind == "zero bytes":
        path.write_bytes(b"")
    elif kind == "not a picture":
        path.write_text("名前,電話\n山田,090-0000-0000\n", encoding="utf-8")
    elif kind == "huge (declared)":
        path = path.with_suffix(".png")
        path.write_bytes(_png_header(50_000, 50_000))
    elif kind == "over 100 megapixels":
        path = path.with_suffix(".png")
        path.write_bytes(_png_header(12_000, 9_000))
    elif kind == "over 200 MB":
        with path.open("wb") as handle:  # sparse: takes no disk space
            handle.truncate(MAX_FILE_BYTES + 1)
    elif kind == "cut short":
        data = (FACES / "obama.jpg").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


PICTURE_FAULTS = {
    "zero bytes": ("empty", "空です"),
    "not a picture": ("not_image", "読める画像ではありません"),
    "cut short": ("not_image", "読める画像ではありません"),
    "huge (declared)": ("too_many_pixels", "画素"),
    "over 100 megapixels": ("too_many_pixels", "画素"),
    "over 200 MB": ("too_big", "大きすぎ"),
    "missing": ("unreadable", "開けません"),
}


@pytest.mark.parametrize("kind", list(PICTURE_FAULTS))
def test_a_bad_picture_is_refused_with_its_code(kind: str, tmp_path: Path) -> None:
    path = _picture(kind, tmp_path)
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    assert caught.value.problem == PICTURE_FAULTS[kind][0]
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("kind", ["zero bytes", "not a picture", "huge (declared)"])
def test_the_command_line_refuses_a_bad_picture_in_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _picture(kind, tmp_path)
    assert main(["compare", str(path), str(FACES / "obama.jpg")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(path) in err and len(err.splitlines()) == 1


@pytest.mark.gui
@pytest.mark.parametrize("kind", list(PICTURE_FAULTS))
def test_a_bad_picture_is_worded_in_japanese(
    kind: str, tmp_path: Path, qapp: QApplication, japanese: None, qtbot: QtBot
) -> None:
    path = _picture(kind, tmp_path)
    with pytest.raises(ImageReadError) as caught:
        read_image(path)
    text = ErrorTexts().error(caught.value)
    assert PICTURE_FAULTS[kind][1] in text and str(path) in text, text


@pytest.mark.gui
@pytest.mark.parametrize("kind", list(VIDEO_FAULTS))
def test_a_bad_video_is_worded_in_japanese(
    kind: str, tmp_path: Path, qapp: QApplication, japanese: None
) -> None:
    path = _video(kind, tmp_path)
    with pytest.raises(SourceError) as caught:
        list(iter_frames(SourceSpec(SourceKind.FILE, str(path))))
    text = ErrorTexts().error(caught.value)
    assert str(path) in text and not text.isascii(), text
