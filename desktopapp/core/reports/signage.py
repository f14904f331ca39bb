"""The sign at the store entrance (G-02, G-16): what the notice profile says, on one page.

The page is laid out once, as filled vector paths and lines of text in A4 points, and the same
layout is drawn into the PDF and, for the GUI's live preview, into a bitmap in memory: what the
operator sees is what prints. A3 is the A4 layout scaled up.

The sign's wording lives here in two catalogues (ja, en) with the same keys. It is document
content chosen per print, independent of the UI language, so it does not go through Qt's
translations. Japanese needs a TrueType font embedded in the PDF: IPAex Gothic ships in
``resources/fonts`` and sets the English sign too, so both look alike.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import _rl_renderPM  # type: ignore[import-not-found]
from PIL import Image
from reportlab.graphics.barcode.qr import QrCodeWidget  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A3, A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFError, TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from desktopapp.core.modes import PRESETS, Mode
from desktopapp.core.notice import NoticeProfile, NoticeVersion, SignTexts
from desktopapp.core.reports.files import write_atomically
from desktopapp.core.resources import resources_dir

log = logging.getLogger(__name__)

Language = Literal["ja", "en"]
# "ja+en": the bilingual sign, Japanese above English in every part.
SignLanguage = Literal["ja", "en", "ja+en"]
SIGN_LANGUAGES: tuple[SignLanguage, ...] = ("ja", "en", "ja+en")
PaperSize = Literal["A4", "A3"]

# Long texts shrink rather than flow onto a second sheet: a sign is one sheet on a door. A shop
# without a website gets a second page, the full policy, which the first page points to.

FONT_NAME = "IPAexGothic"
FONT_FILE = Path("fonts") / "ipaexg.ttf"

CATALOGUE: dict[Language, dict[str, str]] = {
    "ja": {
        "title": "カメラ画像の利用について",
        "headline_matching": "顔認証カメラ作動中",
        "headline_analysis": "画像解析カメラ作動中",
        "label_operator": "設置者",
        "label_purpose": "利用目的",
        "label_matching": "顔認証",
        "label_items": "取得する情報",
        "label_images": "カメラ画像",
        "label_retention": "保存期間",
        "label_sharing": "第三者提供",
        "label_contact": "お問い合わせ",
        "face_matching": "顔特徴量を抽出・照合し、再来店を判定します。",
        "images_deleted": "カメラ画像は処理後ただちに破棄し、保存しません。",
        "retention_first": "顔特徴量は初回来店日から{days}日間保存し、その後削除します。",
        "retention_last": "顔特徴量は最終来店日から{days}日間保存し、その後削除します。",
        "no_features": "顔特徴量は保存しません。",
        "sharing": (
            "第三者への提供、共同利用、会員カード・ポイントカード等との紐付けは行いません。"
        ),
        "policy": "詳しい取扱いはこちら",
        "feedback": "ご意見はこちら",
        "stamp": "告知内容 第{version}版 · {date}",
        "policy_on_page_2": "詳しい取扱いは2ページ目をご覧ください。",
        "feedback_at_contact": "ご意見はお問い合わせ先で承ります。",
        "policy_title": "カメラ画像の取扱いについて（詳細）",
        "label_accuracy": "照合の精度",
        "accuracy": (
            "顔特徴量の照合は100%正確ではなく、別の方を同じ方と判定したり、同じ方を別の方と"
            "判定したりすることがあります。"
        ),
        "label_requests": "ご本人の請求",
        "requests": (
            "ご自身のデータの開示・削除・利用停止は、お問い合わせ先または店頭でお申し出ください。"
            "その場でご本人のデータを探し、ご希望に応じて削除し、以後の分析の対象外とします。"
        ),
        "label_feedback": "ご意見",
        "page": "{page}/{pages}ページ",
    },
    "en": {
        "title": "Camera images in use",
        "headline_matching": "Face recognition camera in operation",
        "headline_analysis": "Image analysis camera in operation",
        "label_operator": "Operator",
        "label_purpose": "Purpose",
        "label_matching": "Face matching",
        "label_items": "What we collect",
        "label_images": "Camera images",
        "label_retention": "Retention",
        "label_sharing": "Sharing",
        "label_contact": "Contact",
        "face_matching": (
            "Face feature data is extracted and matched to recognise returning visitors."
        ),
        "images_deleted": "Images are deleted immediately after processing and never stored.",
        "retention_first": (
            "Feature data is kept for {days} days from the first visit, then deleted."
        ),
        "retention_last": "Feature data is kept for {days} days from the last visit, then deleted.",
        "no_features": "No feature data is kept.",
        "sharing": (
            "No provision to third parties, no joint use, "
            "no linkage with membership or point cards."
        ),
        "policy": "Full details",
        "feedback": "Your opinions",
        "stamp": "Notice version {version} · {date}",
        "policy_on_page_2": "Full details are on page 2.",
        "feedback_at_contact": "Please give us your opinions at the contact point.",
        "policy_title": "How we handle camera images (full policy)",
        "label_accuracy": "Accuracy",
        "accuracy": (
            "Face matching is not 100% accurate: different people may be counted as one "
            "visitor, or one person as two."
        ),
        "label_requests": "Your requests",
        "requests": (
            "To see, delete or stop the use of data about you, ask at the contact point or at "
            "the counter. We find your data there and then, delete it if you wish, and leave "
            "you out of future analysis."
        ),
        "label_feedback": "Opinions",
        "page": "page {page} of {pages}",
    },
}
BRAND = "Raiten"

# Colours as 0xRRGGBB: navy and signal yellow read well from a distance and in grey print.
NAVY = 0x12305A
YELLOW = 0xF5C400
INK = 0x1A1A1A
MUTED = 0x5B616A
WHITE = 0xFFFFFF
PANEL = 0xEDF1F6
RULE = 0xC9D2DE
HIGHLIGHT = 0xFFF1BF

PAGE_WIDTH, PAGE_HEIGHT = float(A4[0]), float(A4[1])
MARGIN = 42.0  # 15 mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BAND_HEIGHT = 128.0
PICTOGRAM = 100.0
LABEL_WIDTH = 100.0
PILL_HEIGHT = 22.0
GUTTER = 14.0
BODY_X = MARGIN + LABEL_WIDTH + GUTTER
BODY_WIDTH = MARGIN + CONTENT_WIDTH - BODY_X
BODY_SIZE = 14.0
MIN_SIZE = 5.0  # small print, still legible up close; the QR code leads to the rest
LEADING = 1.5
ROW_GAP = 4.0  # above and below the rule between rows, at the least
MAX_ROW_GAP = 18.0
QR_SIZE = 90.0  # 32 mm on A4, 45 mm on A3
PANEL_PAD = 12.0
PANEL_HEIGHT = QR_SIZE + 2 * PANEL_PAD
BLOCK_GAP = 6.0
STAMP_SIZE = 8.0
BOLD_STROKE = 0.035  # outline width for bold text, in font sizes
BEZIER_ARC = 0.5522847498  # control-point distance of a quarter circle, in radii

# Japanese line breaking (kinsoku): these may not begin a line, those may not end one.
_NO_LINE_START = frozenset(
    "、。，．,.・：:；;？?！!」』）)】〕〉》］]｝}ー々ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
)
_NO_LINE_END = frozenset("「『（(【〔〈《［[｛{")

_font_lock = threading.Lock()

_PAPER: dict[PaperSize, tuple[float, float]] = {
    "A4": (float(A4[0]), float(A4[1])),
    "A3": (float(A3[0]), float(A3[1])),
}


class SignageError(Exception):
    """No sign can be made; ``str()`` says why in one sentence."""


class SignTextsMissingError(SignageError):
    """The notice has no text in ``language`` (the UI words it)."""

    def __init__(self, message: str, language: Language):
        super().__init__(message)
        self.language = language


@dataclass(frozen=True, slots=True)
class SignageOptions:
    language: SignLanguage = "ja"
    size: PaperSize = "A4"

    def __post_init__(self) -> None:
        if self.language not in SIGN_LANGUAGES:
            raise ValueError(f"sign language must be ja, en or ja+en, not {self.language!r}")
        if self.size not in _PAPER:
            raise ValueError(f"paper size must be A4 or A3, not {self.size!r}")


# A path is a sequence of (operator, coordinates): M move, L line, C curve, Z close.
Op = tuple[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class _Shape:
    ops: tuple[Op, ...]
    fill: int


@dataclass(frozen=True, slots=True)
class _Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    color: int
    bold: bool = False  # outlined as well as filled: IPAex Gothic has a single weight


@dataclass(frozen=True, slots=True)
class _Paragraph:
    text: str
    kind: Literal["plain", "bullet", "highlight"] = "plain"


@dataclass(frozen=True, slots=True)
class _Row:
    field: str  # named when it cannot fit
    label: str
    paragraphs: Sequence[_Paragraph]


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    indent: float
    paragraph: _Paragraph
    first: bool  # first line of its paragraph


@dataclass(frozen=True, slots=True)
class _Page:
    items: tuple[_Shape | _Text, ...]
    title: str
    author: str
    subject: str


def signage_pages(notice: NoticeVersion) -> int:
    """How many pages the sign has: two when the full policy is printed (no policy URL)."""
    return 1 if notice.profile.policy_url else 2


def signage_pdf(notice: NoticeVersion, options: SignageOptions) -> bytes:
    """The whole PDF, in memory."""
    pages = _layout(notice, options.language)
    width, height = _PAPER[options.size]
    scale = width / PAGE_WIDTH
    buffer = io.BytesIO()
    # Without initialFontName every page names Helvetica, a font no PDF embeds.
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1, initialFontName=FONT_NAME)
    canvas.setTitle(pages[0].title)
    canvas.setAuthor(pages[0].author)
    canvas.setSubject(pages[0].subject)
    canvas.setCreator(BRAND)
    for page in pages:
        canvas.scale(scale, scale)
        for item in page.items:
            if isinstance(item, _Shape):
                path = canvas.beginPath()
                _trace(item.ops, path.moveTo, path.lineTo, path.curveTo, path.close)
                canvas.setFillColorRGB(*_rgb(item.fill))
                canvas.drawPath(path, stroke=0, fill=1)
            else:
                canvas.setFillColorRGB(*_rgb(item.color))
                canvas.setStrokeColorRGB(*_rgb(item.color))
                canvas.setLineWidth(item.size * BOLD_STROKE)
                canvas.setFont(FONT_NAME, item.size)
                canvas.drawString(item.x, item.y, item.text, mode=2 if item.bold else 0)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def signage_preview_png(
    notice: NoticeVersion, options: SignageOptions, width_px: int = 600, page_index: int = 0
) -> bytes:
    """Page ``page_index`` as a PNG ``width_px`` wide, drawn in memory and never written to
    disk (G-03 allows no stored pictures besides the PDF the operator asked for)."""
    if not 16 <= width_px <= 8000:
        raise ValueError(f"preview width must be 16 to 8000 pixels, not {width_px}")
    page = _layout(notice, options.language)[page_index]
    width, height = _PAPER[options.size]
    zoom = width_px / PAGE_WIDTH
    state = _rl_renderPM.gstate(width_px, round(width_px * height / width), bg=WHITE)
    state.ctm = (zoom, 0, 0, zoom, 0, 0)
    for item in page.items:
        if isinstance(item, _Shape):
            state.pathBegin()
            _trace(item.ops, state.moveTo, state.lineTo, state.curveTo, state.pathClose)
            state.fillColor = item.fill
            state.pathFill()
        else:
            state.fillColor = state.strokeColor = item.color
            state.strokeWidth = item.size * BOLD_STROKE
            state.textRenderMode = 2 if item.bold else 0
            state.setFont(FONT_NAME, item.size)
            state.drawString(item.x, item.y, item.text)
    image = Image.frombytes("RGB", (state.width, state.height), state.pixBuf)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_signage(path: Path, notice: NoticeVersion, options: SignageOptions) -> None:
    """Write the PDF to ``path`` whole or not at all: a half-written sign must not replace a
    good one."""
    data = signage_pdf(notice, options)
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise SignageError(f"cannot write the sign to {path}: {exc.strerror or exc}") from exc
    log.info(
        "sign for notice version %d written to %s (%s, %s)",
        notice.version,
        path,
        options.language,
        options.size,
    )


def _languages(language: SignLanguage) -> tuple[Language, ...]:
    return ("ja", "en") if language == "ja+en" else (language,)


def _words(profile: NoticeProfile, languages: Sequence[Language]) -> list[SignTexts]:
    """The notice's words in each of the sign's languages; a sign never borrows another
    language's text, so a missing translation stops the print."""
    words = []
    for language in languages:
        found = profile.texts_in(language)
        if found is None:
            name = {"ja": "Japanese", "en": "English"}[language]
            names = ", and the operator and store names" if language == "en" else ""
            raise SignTextsMissingError(
                f"the notice has no {name} text yet: fill in the purpose, items and contact"
                f"{names} in {name} (Settings, Notice)",
                language,
            )
        words.append(found)
    return words


def _joined(languages: Sequence[Language], key: str, separator: str = " ") -> str:
    return separator.join(CATALOGUE[language][key] for language in languages)


def _paragraphs(
    texts: Iterable[str], kind: Literal["plain", "bullet", "highlight"] = "plain"
) -> list[_Paragraph]:
    """Each text once, in order: a name spelt alike in both languages is printed once."""
    seen: list[str] = []
    for text in texts:
        if text and text not in seen:
            seen.append(text)
    return [_Paragraph(text, kind) for text in seen]


def _content_rows(
    profile: NoticeProfile, languages: Sequence[Language], words: Sequence[SignTexts], full: bool
) -> list[_Row]:
    """The labelled rows of the sign (``full``: of the policy page as well)."""
    matching = profile.mode is Mode.REPEAT

    def each(key: str) -> list[str]:
        return [CATALOGUE[language][key] for language in languages]

    if PRESETS[profile.mode].keeps_features:
        key = "retention_first" if profile.retention_from == "first" else "retention_last"
        retention = [t.format(days=profile.retention_days) for t in each(key)]
    else:
        retention = each("no_features")
    names = [w.operator for w in words] + [w.store for w in words]
    rows = [
        _Row("operator", _joined(languages, "label_operator"), _paragraphs(names)),
        _Row("purpose", _joined(languages, "label_purpose"), _paragraphs(w.purpose for w in words)),
    ]
    if matching:
        # The face-matching statement has a row of its own, so a long purpose cannot shrink it.
        rows.append(
            _Row(
                "face_matching",
                _joined(languages, "label_matching"),
                _paragraphs(each("face_matching"), "highlight"),
            )
        )
    rows += [
        _Row(
            "items",
            _joined(languages, "label_items"),
            _paragraphs((i for w in words for i in w.items), "bullet"),
        ),
        _Row("images", _joined(languages, "label_images"), _paragraphs(each("images_deleted"))),
        _Row("retention", _joined(languages, "label_retention"), _paragraphs(retention)),
        _Row("sharing", _joined(languages, "label_sharing"), _paragraphs(each("sharing"))),
    ]
    if full:
        if matching:
            rows.append(
                _Row(
                    "accuracy", _joined(languages, "label_accuracy"), _paragraphs(each("accuracy"))
                )
            )
        rows.append(
            _Row("requests", _joined(languages, "label_requests"), _paragraphs(each("requests")))
        )
    rows.append(
        _Row("contact", _joined(languages, "label_contact"), _paragraphs(w.contact for w in words))
    )
    if full:
        feedback = [profile.feedback_url] if profile.feedback_url else each("feedback_at_contact")
        rows.append(_Row("feedback", _joined(languages, "label_feedback"), _paragraphs(feedback)))
    return rows


def _layout(notice: NoticeVersion, language: SignLanguage) -> list[_Page]:
    profile = notice.profile
    problems = profile.problems()
    if problems:
        raise SignageError(
            "the notice profile is incomplete, so no sign can be printed: " + "; ".join(problems)
        )
    _register_font()
    languages = _languages(language)
    words = _words(profile, languages)
    first = CATALOGUE[languages[0]]
    matching = profile.mode is Mode.REPEAT
    headline_key = "headline_matching" if matching else "headline_analysis"
    if len(languages) == 1:
        title, headline = first["title"], first[headline_key]
    else:
        # Bilingual: the message in Japanese above, in English below.
        title, headline = (CATALOGUE[lang][headline_key] for lang in languages)
    items: list[_Shape | _Text] = []
    band_bottom = _band(items, title, headline, BAND_HEIGHT)

    panel_bottom = MARGIN + 14
    rows_top = band_bottom - 20
    rows_bottom = panel_bottom + PANEL_HEIGHT + 18
    rows = _content_rows(profile, languages, words, full=False)
    items += _rows(rows, rows_top, rows_top - rows_bottom)
    if profile.policy_url:
        policy_block = (_joined(languages, "policy", " / "), [profile.policy_url])
    else:
        policy_block = (_joined(languages, "policy", " / "), _each(languages, "policy_on_page_2"))
    if profile.feedback_url:
        feedback_block = (_joined(languages, "feedback", " / "), [profile.feedback_url])
    else:
        feedback_block = (
            _joined(languages, "feedback", " / "),
            _each(languages, "feedback_at_contact"),
        )
    items += _links_panel(panel_bottom, profile.policy_url or None, [policy_block, feedback_block])

    pages = 1 if profile.policy_url else 2
    stamp = _stamp(items, notice, languages, 1, pages)
    page_one = _Page(
        tuple(items),
        title=f"{first['title']} — {words[0].store}",
        author=words[0].operator,
        subject=stamp,
    )
    if pages == 1:
        return [page_one]
    # No website: the full policy, printed as page 2.
    policy_items: list[_Shape | _Text] = []
    # Bilingual: the title in Japanese above, in English below; otherwise the store's name.
    second = CATALOGUE["en"]["policy_title"] if len(languages) > 1 else words[0].store
    band_bottom = _band(policy_items, first["policy_title"], second, BAND_HEIGHT * 0.7)
    top = band_bottom - 20
    full_rows = _content_rows(profile, languages, words, full=True)
    policy_items += _rows(full_rows, top, top - MARGIN - 8)
    _stamp(policy_items, notice, languages, 2, pages)
    page_two = _Page(
        tuple(policy_items),
        title=first["policy_title"],
        author=words[0].operator,
        subject=stamp,
    )
    return [page_one, page_two]


def _each(languages: Sequence[Language], key: str) -> list[str]:
    return [CATALOGUE[language][key] for language in languages]


def _band(items: list[_Shape | _Text], title: str, headline: str, height: float) -> float:
    """The navy band at the top with the pictogram; returns its bottom."""
    band_bottom = PAGE_HEIGHT - MARGIN - height
    items.append(_Shape(_round_rect(MARGIN, band_bottom, CONTENT_WIDTH, height, 10), NAVY))
    pictogram = PICTOGRAM * height / BAND_HEIGHT
    inset = (height - pictogram) / 2
    items.extend(_camera_pictogram(MARGIN + inset, band_bottom + inset, pictogram))
    title_x = MARGIN + inset + pictogram + 20
    title_width = MARGIN + CONTENT_WIDTH - 18 - title_x
    title_size = _fit(title, 30 * height / BAND_HEIGHT, title_width)
    headline_size = _fit(headline, 22 * height / BAND_HEIGHT, title_width)
    middle = band_bottom + height / 2
    items.append(_Text(title_x, middle + 10, title, title_size, WHITE, bold=True))
    headline_y = middle - 10 - 0.8 * headline_size
    items.append(_Text(title_x, headline_y, headline, headline_size, YELLOW, bold=True))
    return band_bottom


def _stamp(
    items: list[_Shape | _Text],
    notice: NoticeVersion,
    languages: Sequence[Language],
    page: int,
    pages: int,
) -> str:
    text = CATALOGUE[languages[0]]
    date = notice.created_at.astimezone().strftime("%Y-%m-%d")
    stamp = text["stamp"].format(version=notice.version, date=date)
    if pages > 1:
        stamp += " · " + text["page"].format(page=page, pages=pages)
    items.append(_Text(MARGIN, MARGIN - 16, stamp, STAMP_SIZE, MUTED))
    brand_x = MARGIN + CONTENT_WIDTH - _width(BRAND, STAMP_SIZE)
    items.append(_Text(brand_x, MARGIN - 16, BRAND, STAMP_SIZE, MUTED))
    return stamp


def _row_lines(row: _Row, size: float) -> list[_Line]:
    lines = []
    for paragraph in row.paragraphs:
        indent = 0.9 * size if paragraph.kind == "bullet" else 0.0
        wrapped = _wrap(paragraph.text, size, BODY_WIDTH - indent)
        lines += [_Line(t, indent, paragraph, i == 0) for i, t in enumerate(wrapped)]
    return lines


def _row_height(lines: Sequence[_Line], size: float) -> float:
    return max(PILL_HEIGHT, LEADING * size) + (len(lines) - 1) * LEADING * size


def _rows(rows: Sequence[_Row], top: float, space: float) -> list[_Shape | _Text]:
    """The labelled rows from ``top`` down; the tallest row shrinks until all fit in ``space``,
    so one very long field gets small type while the others stay readable."""
    sizes = [BODY_SIZE] * len(rows)
    wrapped: dict[tuple[int, float], list[_Line]] = {}
    while True:
        for index, size in enumerate(sizes):
            if (index, size) not in wrapped:
                wrapped[index, size] = _row_lines(rows[index], size)
        lines = [wrapped[index, size] for index, size in enumerate(sizes)]
        heights = [_row_height(ls, s) for ls, s in zip(lines, sizes, strict=True)]
        spare = space - sum(heights) - (len(rows) - 1) * (2 * ROW_GAP + 1)
        if spare >= 0:
            break
        shrinkable = [i for i, size in enumerate(sizes) if size > MIN_SIZE]
        if not shrinkable:
            longest = rows[max(range(len(rows)), key=heights.__getitem__)].field
            raise SignageError(f"the notice text is too long for one sign: shorten the {longest}")
        # The row taking most room at the largest type gives way first.
        sizes[max(shrinkable, key=lambda i: heights[i] * sizes[i])] -= 0.5
    # Short texts spread out rather than leave a hole above the panel.
    gap = min(ROW_GAP + spare / (2 * (len(rows) - 1)), MAX_ROW_GAP)

    items: list[_Shape | _Text] = []
    y = top
    for index, (row, row_lines, size, height) in enumerate(
        zip(rows, lines, sizes, heights, strict=True)
    ):
        if index:
            y -= gap
            items.append(_Shape(_rect(MARGIN, y - 1, CONTENT_WIDTH, 1), RULE))
            y -= 1 + gap
        step = LEADING * size
        first_centre = y - max(PILL_HEIGHT, step) / 2
        items.append(
            _Shape(
                _round_rect(MARGIN, first_centre - PILL_HEIGHT / 2, LABEL_WIDTH, PILL_HEIGHT, 11),
                NAVY,
            )
        )
        label_size = _fit(row.label, 11.5, LABEL_WIDTH - 18)
        label_x = MARGIN + (LABEL_WIDTH - _width(row.label, label_size)) / 2
        label_y = first_centre - 0.35 * label_size
        items.append(_Text(label_x, label_y, row.label, label_size, WHITE, bold=True))
        for number, line in enumerate(row_lines):
            centre = first_centre - number * step
            baseline = centre - 0.35 * size
            kind = line.paragraph.kind
            if kind == "highlight":
                band = _rect(BODY_X - 6, centre - step / 2, BODY_WIDTH + 6, step)
                items.append(_Shape(band, HIGHLIGHT))
            elif kind == "bullet" and line.first:
                dot = _ellipse(BODY_X + 0.3 * size, centre, 0.17 * size, 0.17 * size)
                items.append(_Shape(dot, NAVY))
            color, bold = (NAVY, True) if kind == "highlight" else (INK, False)
            items.append(_Text(BODY_X + line.indent, baseline, line.text, size, color, bold))
        y -= height
    return items


def _links_panel(
    bottom: float, qr_value: str | None, blocks: Sequence[tuple[str, list[str]]]
) -> list[_Shape | _Text]:
    """The QR code to the policy (when there is a web address) beside labelled blocks: where
    the full policy is and where to send opinions."""
    items: list[_Shape | _Text] = [
        _Shape(_round_rect(MARGIN, bottom, CONTENT_WIDTH, PANEL_HEIGHT, 10), PANEL)
    ]
    x = MARGIN + PANEL_PAD
    if qr_value:
        items += [
            _Shape(_rect(MARGIN + PANEL_PAD, bottom + PANEL_PAD, QR_SIZE, QR_SIZE), WHITE),
            _qr_code(qr_value, MARGIN + PANEL_PAD, bottom + PANEL_PAD, QR_SIZE),
        ]
        x += QR_SIZE + 16
    width = MARGIN + CONTENT_WIDTH - PANEL_PAD - x
    size = 13.0
    while True:
        wrapped = [
            (label, [line for value in values for line in _wrap(value, size, width)])
            for label, values in blocks
        ]
        label_size = 0.85 * size
        height = sum(
            LEADING * (label_size + size * len(lines)) for _, lines in wrapped
        ) + BLOCK_GAP * (len(wrapped) - 1)
        if height <= PANEL_HEIGHT - 2 * PANEL_PAD or size <= MIN_SIZE:
            break
        size -= 0.5
    if height > PANEL_HEIGHT - 2 * PANEL_PAD:
        raise SignageError("the policy and feedback addresses are too long to fit on the sign")
    y = bottom + PANEL_HEIGHT - PANEL_PAD - (PANEL_HEIGHT - 2 * PANEL_PAD - height) / 2
    for label, lines in wrapped:
        y -= LEADING * label_size
        items.append(_Text(x, y + 0.3 * label_size, label, label_size, NAVY, bold=True))
        for line in lines:
            y -= LEADING * size
            items.append(_Text(x, y + 0.3 * size, line, size, INK))
        y -= BLOCK_GAP
    return items


@functools.lru_cache(maxsize=8)
def _qr_code(value: str, x: float, y: float, size: float) -> _Shape:
    """One path of all dark modules: drawn as a single fill, adjacent modules leave no
    hairline seams in the bitmap preview. Cached: a live preview redraws it on every edit."""
    widget = QrCodeWidget(value, barLevel="M", barBorder=3, barWidth=size, barHeight=size)
    ops: list[Op] = []
    for rect in widget.draw().contents:
        if rect.fillColor is not None:
            ops += _rect(x + rect.x, y + rect.y, rect.width, rect.height)
    return _Shape(tuple(ops), INK)


def _camera_pictogram(x: float, y: float, size: float) -> list[_Shape]:
    """A wall-mounted security camera, navy on a yellow tile, drawn in a 100-unit square."""

    def to_page(points: Iterable[tuple[float, float]]) -> tuple[Op, ...]:
        ops: list[Op] = []
        for u, v in points:
            ops.append(("L" if ops else "M", (x + u * size / 100, y + v * size / 100)))
        return (*ops, ("Z", ()))

    def along_axis(offset: float, length: float, height: float) -> tuple[Op, ...]:
        # Tilted 20 degrees down to the right, the way such cameras look at the floor.
        cos, sin = 0.9396926, -0.3420201
        cx, cy = 52 + offset * cos, 58 + offset * sin
        a, b = length / 2, height / 2
        corners = ((-a, -b), (a, -b), (a, b), (-a, b))
        return to_page((cx + u * cos - v * sin, cy + u * sin + v * cos) for u, v in corners)

    return [
        _Shape(_round_rect(x, y, size, size, size * 0.12), YELLOW),
        _Shape(to_page([(10, 24), (21, 24), (21, 68), (10, 68)]), NAVY),  # wall plate
        _Shape(to_page([(21, 39), (48, 39), (48, 48), (21, 48)]), NAVY),  # arm
        _Shape(along_axis(0, 54, 28), NAVY),  # body
        _Shape(along_axis(25, 3, 28), YELLOW),  # gap before the hood
        _Shape(along_axis(30.5, 9, 34), NAVY),  # hood
    ]


def _register_font() -> None:
    """Load IPAex Gothic once per process; several threads may ask at the same time."""
    with _font_lock:
        if FONT_NAME in pdfmetrics.getRegisteredFontNames():
            return
        path = resources_dir() / FONT_FILE
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path)))
        except (OSError, TTFError) as exc:
            raise SignageError(
                f"the sign's font {path} is missing or damaged; reinstall Raiten"
            ) from exc
        log.debug("font %s loaded from %s", FONT_NAME, path)


def _width(text: str, size: float) -> float:
    return _em_width(text) * size


@functools.lru_cache(maxsize=16384)
def _em_width(text: str) -> float:
    """Width at 1 pt. Shrinking a long text re-wraps the same words at every size it tries."""
    return float(pdfmetrics.stringWidth(text, FONT_NAME, 1))


def _fit(text: str, size: float, width: float) -> float:
    """``size``, or smaller so that one line of ``text`` fits ``width``."""
    natural = _width(text, size)
    return size if natural <= width else size * width / natural


def _tokens(text: str) -> list[str]:
    """Break opportunities: each wide (Japanese) character stands alone, runs of narrow
    characters are words, and every space is a token of its own."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace() or unicodedata.east_asian_width(char) in ("W", "F"):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(" " if char.isspace() and char != "\u3000" else char)
        else:
            word += char
    if word:
        tokens.append(word)
    return tokens


def _wrap(text: str, size: float, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``: Japanese breaks between characters (not
    before closing punctuation nor after opening brackets), other text between words, and a
    word wider than a line (an address) between characters."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line: list[str] = []
        used = 0.0
        for token in _tokens(paragraph):
            units = token if not token.isspace() and _width(token, size) > width else [token]
            for unit in units:
                advance = _width(unit, size)
                if unit.isspace() and not line:
                    continue
                if not line or used + advance <= width:
                    line.append(unit)
                    used += advance
                    continue
                carry = [] if unit.isspace() else _kinsoku_carry(line, unit)
                if carry and _width("".join(carry), size) + advance > width:
                    line += carry
                    carry = []
                lines.append("".join(line).rstrip())
                line = [] if unit.isspace() else [*carry, unit]
                used = _width("".join(line), size)
        lines.append("".join(line).rstrip())
    return lines


def _kinsoku_carry(line: list[str], token: str) -> list[str]:
    """What must leave the end of ``line`` to go down with ``token``: the last character when
    ``token`` may not begin a line, and opening brackets, which may not end one."""
    carry: list[str] = []
    if token in _NO_LINE_START and len(line) > 1 and not line[-1].isspace():
        carry.append(line.pop())
    while len(line) > 1 and line[-1] in _NO_LINE_END:
        carry.insert(0, line.pop())
    return carry


def _trace(
    ops: Iterable[Op],
    move: Callable[[float, float], object],
    line: Callable[[float, float], object],
    curve: Callable[[float, float, float, float, float, float], object],
    close: Callable[[], object],
) -> None:
    """Replay a path on a PDF path object or a bitmap graphics state alike."""
    draw: dict[str, Callable[..., object]] = {"M": move, "L": line, "C": curve, "Z": close}
    for operator, coordinates in ops:
        draw[operator](*coordinates)


def _rgb(color: int) -> tuple[float, float, float]:
    return ((color >> 16 & 0xFF) / 255, (color >> 8 & 0xFF) / 255, (color & 0xFF) / 255)


def _rect(x: float, y: float, w: float, h: float) -> tuple[Op, ...]:
    return (
        ("M", (x, y)),
        ("L", (x + w, y)),
        ("L", (x + w, y + h)),
        ("L", (x, y + h)),
        ("Z", ()),
    )


def _round_rect(x: float, y: float, w: float, h: float, r: float) -> tuple[Op, ...]:
    r = min(r, w / 2, h / 2)
    k = r * (1 - BEZIER_ARC)
    return (
        ("M", (x + r, y)),
        ("L", (x + w - r, y)),
        ("C", (x + w - k, y, x + w, y + k, x + w, y + r)),
        ("L", (x + w, y + h - r)),
        ("C", (x + w, y + h - k, x + w - k, y + h, x + w - r, y + h)),
        ("L", (x + r, y + h)),
        ("C", (x + k, y + h, x, y + h - k, x, y + h - r)),
        ("L", (x, y + r)),
        ("C", (x, y + k, x + k, y, x + r, y)),
        ("Z", ()),
    )


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> tuple[Op, ...]:
    kx, ky = rx * BEZIER_ARC, ry * BEZIER_ARC
    return (
        ("M", (cx + rx, cy)),
        ("C", (cx + rx, cy + ky, cx + kx, cy + ry, cx, cy + ry)),
        ("C", (cx - kx, cy + ry, cx - rx, cy + ky, cx - rx, cy)),
        ("C", (cx - rx, cy - ky, cx - kx, cy - ry, cx, cy - ry)),
        ("C", (cx + kx, cy - ry, cx + rx, cy - ky, cx + rx, cy)),
        ("Z", ()),
    )
