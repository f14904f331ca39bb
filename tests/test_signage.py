"""G-02 and G-16: the entrance sign says everything the notice says, in either language, on
one page, with a QR code that decodes to the policy; the preview is the print, in memory."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from desktopapp.cli import main
from desktopapp.core.notice import NoticeProfile, NoticeVersion
from desktopapp.core.reports.signage import (
    CATALOGUE,
    Language,
    PaperSize,
    SignageError,
    SignageOptions,
    SignTextsMissingError,
    signage_pages,
    signage_pdf,
    signage_preview_png,
    write_signage,
)
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import open_database
from tests.test_no_image_storage import WriteWatch
from tests.test_notice import COMPLETE

# Noon UTC is the same calendar day in every time zone the stamp might be printed in.
CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAGE_POINTS = {"A4": (595, 842), "A3": (842, 1191)}
STATEMENTS = {
    "ja": [
        "カメラ画像は処理後ただちに破棄し、保存しません",
        "第三者への提供、共同利用、会員カード・ポイントカード等との紐付けは行いません",
        "顔特徴量は初回来店日から180日間保存し、その後削除します",
        "告知内容第3版·2026-11-22",
    ],
    "en": [
        "Images are deleted immediately after processing",
        "No provision to third parties, no joint use, no linkage with membership or point cards",
        "Feature data is kept for 180 days from the first visit, then deleted",
        "Notice version 3 · 2026-11-22",
    ],
}
FACE_MATCHING = {
    "ja": "顔特徴量を抽出・照合し、再来店を判定します",
    "en": "Face feature data is extracted and matched to recognise returning visitors",
}
NO_FEATURES = {"ja": "顔特徴量は保存しません", "en": "No feature data is kept"}

_WATCH = WriteWatch()


# The same notice in English, as the settings' "The notice in English" holds it.
ENGLISH = """
[texts.en]
operator = "Sample Shoten Co., Ltd."
store = "Shibuya store"
purpose = "To analyse repeat visits: face feature data is matched to recognise returning visitors."
items = ["face feature data", "date and time of visits", "estimated age band and gender"]
contact = "Customer desk 03-0000-0000"
"""
BILINGUAL = COMPLETE + ENGLISH
_JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff01-\uff60]")


def _notice(**changes: object) -> NoticeVersion:
    profile = NoticeProfile.model_validate(tomllib.loads(BILINGUAL) | changes)
    return NoticeVersion(3, CREATED, profile)


def _squash(text: str) -> str:
    # pdftotext turns line ends and U+3000 into breaks: compare without any whitespace.
    return "".join(text.split())


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _text(pdf: Path) -> str:
    return _squash(_run("pdftotext", str(pdf), "-"))


def _page_points(pdf: Path) -> tuple[int, int]:
    found = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", _run("pdfinfo", str(pdf)))
    assert found is not None
    return round(float(found[1])), round(float(found[2]))


def _pages(pdf: Path) -> int:
    found = re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf)))
    assert found is not None
    return int(found[1])


def _qr_codes(pdf: Path) -> list[str]:
    stem = pdf.with_suffix("")
    _run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(stem))
    image = cv2.imread(str(stem.with_suffix(".png")))
    found, texts, _, _ = cv2.QRCodeDetector().detectAndDecodeMulti(image)
    return list(texts) if found else []


def _decode(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.parametrize("size", ["A4", "A3"])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_sign_says_everything_the_notice_says(
    tmp_path: Path, language: Language, size: PaperSize
) -> None:
    notice = _notice()
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, notice, SignageOptions(language, size))

    text = _text(pdf)
    profile = notice.profile
    words = profile.texts_in(language)
    assert words is not None
    fields = [words.operator, words.store, words.purpose, *words.items, words.contact]
    fields += [profile.policy_url, profile.feedback_url, str(profile.retention_days)]
    for expected in [*fields, *STATEMENTS[language], FACE_MATCHING[language], "Raiten"]:
        assert _squash(expected) in text, expected
    # A sign speaks one language: none of the other's statements, and English has no kana.
    other = "en" if language == "ja" else "ja"
    for foreign in [*STATEMENTS[other], FACE_MATCHING[other]]:
        assert _squash(foreign) not in text, foreign
    if language == "en":
        assert not _JAPANESE.search(text), _JAPANESE.findall(text)[:10]
    assert _pages(pdf) == 1
    assert _page_points(pdf) == PAGE_POINTS[size]
    assert _qr_codes(pdf) == [profile.policy_url]
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    assert fonts, "no font in the PDF"
    for row in fonts:
        assert "IPAexGothic" in row and row.split()[-5] == "yes", row  # the emb column


def test_catalogues_have_the_same_keys() -> None:
    assert set(CATALOGUE["ja"]) == set(CATALOGUE["en"])


@pytest.mark.parametrize("language", ["ja", "en"])
def test_without_repeat_analysis_no_feature_data_is_kept(
    tmp_path: Path, language: Language
) -> None:
    notice = _notice(mode="attributes", retention_days=0, purpose="年代別に来店者を数えるため")
    notice.profile.texts["en"].purpose = "To count visitors by age"
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, notice, SignageOptions(language))
    text = _text(pdf)
    assert _squash(NO_FEATURES[language]) in text
    assert _squash(FACE_MATCHING[language]) not in text
    assert "180" not in text


def test_retention_counted_from_the_last_visit(tmp_path: Path) -> None:
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, _notice(retention_from="last"), SignageOptions("ja"))
    assert "最終来店日から180日間保存" in _text(pdf)


def test_an_incomplete_notice_is_refused_by_name(tmp_path: Path) -> None:
    notice = _notice(contact="", policy_url="ask at the counter")
    for make in (signage_pdf, signage_preview_png):
        with pytest.raises(SignageError) as caught:
            make(notice, SignageOptions())
        assert "missing contact" in str(caught.value)
        assert "policy_url must be a web address" in str(caught.value)
    with pytest.raises(SignageError):
        write_signage(tmp_path / "sign.pdf", notice, SignageOptions())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "purpose",
    [
        "".join(f"顔の特徴量を照合する目的その{i}として来店傾向を分析します。" for i in range(80)),
        " ".join(f"Face features are matched for reason number {i} of many." for i in range(80)),
    ],
    ids=["ja", "en"],
)
def test_a_very_long_purpose_fits_on_one_page(tmp_path: Path, purpose: str) -> None:
    purpose = purpose[:2000]
    notice = _notice(purpose=purpose)
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, notice, SignageOptions("ja"))
    assert _pages(pdf) == 1
    text = _text(pdf)
    assert _squash(purpose) in text
    assert _squash(FACE_MATCHING["ja"]) in text
    lines = [line.strip() for line in _run("pdftotext", str(pdf), "-").splitlines()]
    assert not [line for line in lines if line.startswith(("、", "。"))]  # kinsoku
    width, height = PAGE_POINTS["A4"]
    boxes = re.findall(
        r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"',
        _run("pdftotext", "-bbox", str(pdf), "-"),
    )
    assert boxes
    for x_min, y_min, x_max, y_max in boxes:
        assert 20 < float(x_min) < float(x_max) < width - 20
        assert 10 < float(y_min) < float(y_max) < height - 10


def test_too_much_text_for_one_sign_is_refused() -> None:
    with pytest.raises(SignageError, match="shorten the purpose"):
        signage_pdf(_notice(purpose="顔" * 20000), SignageOptions())


def test_the_preview_is_the_print_drawn_in_memory(tmp_path: Path) -> None:
    notice = _notice()
    _WATCH.opened.clear()
    _WATCH.active = True
    try:
        ja = _decode(signage_preview_png(notice, SignageOptions("ja"), 600))
        en = _decode(signage_preview_png(notice, SignageOptions("en"), 600))
        a3 = _decode(signage_preview_png(notice, SignageOptions("ja", "A3"), 300))
    finally:
        _WATCH.active = False
    assert _WATCH.opened == []  # G-03: the preview never touches the disk

    assert ja.shape == en.shape == (849, 600, 3)
    assert a3.shape == (424, 300, 3)
    assert ja.std() > 40 and en.std() > 40  # not blank
    # The title is white on the navy band: glyphs must be there, and differ by language.
    heading = (slice(60, 120), slice(170, 560))
    assert (ja[heading] > 200).all(axis=2).sum() > 1500
    assert np.abs(ja[heading].astype(int) - en[heading].astype(int)).mean() > 10

    # What the operator previews is what prints.
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, notice, SignageOptions("ja"))
    stem = str(tmp_path / "print")
    _run(
        "pdftoppm",
        "-scale-to-x",
        "600",
        "-scale-to-y",
        "849",
        "-png",
        "-singlefile",
        str(pdf),
        stem,
    )
    printed = cv2.imread(stem + ".png")
    assert printed.shape == ja.shape

    # Two rasterisers smooth edges differently; an eighth of the size compares the drawing.
    def small(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, (75, 106), interpolation=cv2.INTER_AREA).astype(int)

    assert np.abs(small(printed) - small(ja)).mean() < 3
    assert np.abs(small(printed) - small(en)).mean() > 6


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _set_notice(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> list[str]:
    toml = tmp_path / "notice.toml"
    toml.write_text(text, encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["notice", "set", str(toml), *data]) == 0
    capsys.readouterr()
    return data


def test_cli_prints_the_sign_and_audits_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _set_notice(capsys, tmp_path, BILINGUAL)
    out_pdf = tmp_path / "signs" / "entrance.pdf"
    out_pdf.parent.mkdir()
    _WATCH.opened.clear()
    _WATCH.active = True
    try:
        code, out, err = _cli(capsys, "signage", "--out", str(out_pdf), "--json", *data)
    finally:
        _WATCH.active = False
    assert code == 0, err
    result = json.loads(out)
    assert result == {
        "file": str(out_pdf.resolve()),
        "version": 1,
        "language": "ja",
        "size": "A4",
        "pages": 1,
    }
    assert out_pdf.read_bytes().startswith(b"%PDF")
    assert [p.name for p in out_pdf.parent.iterdir()] == ["entrance.pdf"]  # no temporary left
    # G-03: besides the PDF asked for, only the database and the logs were written.
    data_dir = (tmp_path / "data").resolve()
    for path in map(Path, set(_WATCH.opened)):
        resolved = path.resolve()
        assert resolved.parent == out_pdf.parent.resolve() or data_dir in resolved.parents, path

    entries = AuditLog(open_database(tmp_path / "data")).entries(action="signage.print")
    assert [e.details for e in entries] == [
        {"version": 1, "language": "ja", "size": "A4", "file": "entrance.pdf"}
    ]
    assert entries[0].actor.startswith("cli:")

    code, out, err = _cli(
        capsys, "signage", "--out", str(out_pdf), "--lang", "en", "--size", "A3", *data
    )
    assert code == 0, err
    assert out.count("\n") == 1 and "entrance.pdf" in out
    assert _page_points(out_pdf) == PAGE_POINTS["A3"]
    assert "Camera images in use" in _run("pdftotext", str(out_pdf), "-")


def test_cli_without_a_notice_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_pdf = tmp_path / "sign.pdf"
    code, out, err = _cli(
        capsys, "signage", "--out", str(out_pdf), "--data-dir", str(tmp_path / "data"), "--json"
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no notice profile" in err
    assert not out_pdf.exists()


def test_cli_with_an_incomplete_notice_names_what_is_missing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    incomplete = "\n".join(line for line in COMPLETE.splitlines() if not line.startswith("contact"))
    data = _set_notice(capsys, tmp_path, incomplete)
    out_pdf = tmp_path / "sign.pdf"
    code, out, err = _cli(capsys, "signage", "--out", str(out_pdf), *data)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "missing contact" in err
    assert not out_pdf.exists()


def test_cli_cannot_write_the_file_exits_2_without_an_audit_entry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _set_notice(capsys, tmp_path, COMPLETE)
    code, out, err = _cli(
        capsys, "signage", "--out", str(tmp_path / "no-such-folder" / "sign.pdf"), *data
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "cannot write the sign" in err
    assert AuditLog(open_database(tmp_path / "data")).entries(action="signage.print") == []


def test_a_bilingual_sign_has_japanese_above_english(tmp_path: Path) -> None:
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, _notice(), SignageOptions("ja+en"))
    text = _text(pdf)
    assert _pages(pdf) == 1
    for ja, en in zip(STATEMENTS["ja"][:3], STATEMENTS["en"][:3], strict=True):
        assert text.index(_squash(ja)) < text.index(_squash(en))
    assert _squash("Sample Shoten Co., Ltd.") in text and _squash("株式会社サンプル商店") in text


def test_a_sign_without_its_language_is_refused_in_plain_words() -> None:
    japanese_only = _notice(texts={})
    with pytest.raises(SignTextsMissingError) as caught:
        signage_pdf(japanese_only, SignageOptions("en"))
    assert caught.value.language == "en"
    with pytest.raises(SignTextsMissingError):
        signage_pdf(japanese_only, SignageOptions("ja+en"))
    # English words typed in kanji do not make an English sign.
    kanji_names = _notice()
    kanji_names.profile.texts["en"].operator = ""
    with pytest.raises(SignTextsMissingError):
        signage_pdf(kanji_names, SignageOptions("en"))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_shop_without_a_website_prints_the_full_policy_as_page_two(
    tmp_path: Path, language: Language
) -> None:
    notice = _notice(policy_url="", feedback_url="")
    assert signage_pages(notice) == 2
    pdf = tmp_path / "sign.pdf"
    write_signage(pdf, notice, SignageOptions(language))
    assert _pages(pdf) == 2
    first = _squash(_run("pdftotext", "-f", "1", "-l", "1", str(pdf), "-"))
    second = _squash(_run("pdftotext", "-f", "2", "-l", "2", str(pdf), "-"))
    text = CATALOGUE[language]
    assert _squash(text["policy_on_page_2"]) in first
    assert _squash(text["feedback_at_contact"]) in first
    assert _qr_codes(pdf) == [], "no QR code without an address"
    words = notice.profile.texts_in(language)
    assert words is not None
    for expected in [text["policy_title"], text["requests"], text["accuracy"], words.contact]:
        assert _squash(expected) in second, expected
    assert _squash(words.purpose) in second
