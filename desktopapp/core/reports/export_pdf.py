"""The visit analysis report as a PDF: what the aggregates of a period say, on 1 to 3 A4 pages.

Laid out with reportlab's platypus (paragraphs wrap, long tables continue on the next page)
and charts drawn as vectors with reportlab.graphics, so they print sharply and hold no picture
of anybody. Like the entrance sign, the report embeds IPAex Gothic for both languages: a PC
without Japanese fonts still shows it, and ``pdftotext`` reads it back. The wording lives here
in two catalogues (ja, en) with the same keys; it is document content chosen per export,
independent of the UI language.

Only aggregates are printed (G-06). Every count below k is shown as "<k" (G-07) and a chart
draws no bar for it, only the same "<k" label, so neither a table nor a bar height gives it
away; a rate or amount computed from such a count is shown as "—". No visitor ID, feature,
path point or image goes into the document.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import (  # type: ignore[import-untyped]
    HorizontalBarChart,
    VerticalBarChart,
)
from reportlab.graphics.charts.legends import Legend  # type: ignore[import-untyped]
from reportlab.graphics.shapes import Drawing, Line, String  # type: ignore[import-untyped]
from reportlab.lib.colors import Color, HexColor  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    BaseDocTemplate,
    Flowable,
    Frame,
    HRFlowable,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from desktopapp.core.analytics import (
    VISIT_KINDS,
    Analytics,
    Bucket,
    Cell,
    Conversion,
    DemographicCell,
    LineCount,
    Period,
    RepeatRate,
    SpendCell,
    TimeBucket,
    ZoneDwell,
)
from desktopapp.core.notice import NoticeStore, NoticeVersion
from desktopapp.core.reports.export_csv import ExportError, ExportSummary
from desktopapp.core.reports.files import write_atomically
from desktopapp.core.reports.signage import (
    FONT_NAME,
    INK,
    MUTED,
    NAVY,
    PANEL,
    RULE,
    SignageError,
    _register_font,
)
from desktopapp.core.suppression import Disclosure, Key

log = logging.getLogger(__name__)

Language = Literal["ja", "en"]

CATALOGUE: dict[Language, dict[str, str]] = {
    "ja": {
        "title": "来店分析レポート",
        "operator": "設置者",
        "store": "店舗",
        "all_stores": "全店舗",
        "period": "対象期間",
        "period_value": "{start} 〜 {end}",
        "notice": "告知内容",
        "notice_value": "第{version}版（{date}から）",
        "notice_during": "、期間中は第{versions}版",
        "no_notice": "登録なし",
        "generated": "作成日時",
        "page": "{page} / {pages}",
        "footer": "Raiten · 告知内容 第{version}版",
        "no_visits": "この期間の来店はありません。",
        "visits_heading": "来店数の推移（新規・再来店・本人不明）",
        "visits_summary": "期間中の来店数は{visits}件（新規{new}件、再来店{repeat}件）です。",
        "visits_summary_unknown": (
            "期間中の来店数は{visits}件（新規{new}件、再来店{repeat}件、本人不明{unknown}件）です。"
        ),
        "col_hour": "時間帯",
        "col_day": "日付",
        "col_week": "週（月曜から）",
        "col_visits": "来店数",
        "col_new": "新規",
        "col_repeat": "再来店",
        "hour_label": "{date} {hour}時",
        "week_label": "{date}〜",
        "repeat_heading": "再来店率",
        "repeat_rate": "再来店率",
        "repeat_band": "推定範囲（95%）",
        "col_unknown": "本人不明",
        "unknown_note": (
            "再来店率は本人確認できた来店{identified}件に対する割合です。顔が小さい・不鮮明などで"
            "本人確認できなかった来店が{unknown}件（全来店の{share}）あり、新規・再来店のどちらにも"
            "数えていません。"
        ),
        "false_repeats": "誤照合の見込み件数",
        "false_share": "誤照合の見込み",
        "repeat_method": (
            "推定範囲は再来店率の95%信頼区間（Wilson法）で、顔照合の誤り率と登録人数から"
            "別人を同一人物と取り違えた再来店が約{expected}件見込まれるため、"
            "その分だけ下限を下げています。"
        ),
        "repeat_hidden": (
            "再来店・来店・本人不明の来店のいずれかが{k}件未満（またはそれを守るため非表示）の"
            "ため、再来店率は表示しません。"
        ),
        "frequency_heading": "何回目の来店か",
        "col_frequency": "来店回数",
        "demographics_heading": "年代・性別",
        "col_age": "年代",
        "female": "女性",
        "male": "男性",
        "unknown": "不明",
        "dwell_heading": "滞在時間の分布",
        "col_dwell": "滞在時間（分）",
        "lines_heading": "通過人数",
        "col_line": "計数線",
        "col_in": "入",
        "col_out": "出",
        "people_counted": "計数した人数: {people}",
        "lines_note": "入は線の始点から終点を見て左側から右側へ、出はその逆の通過です。",
        "zones_heading": "エリアごとの滞在",
        "col_camera": "カメラ",
        "col_zone": "エリア",
        "col_zone_dwell": "平均滞在（分）",
        "conversion_heading": "購買転換と購買額",
        "no_purchases": "この期間の購買データがないため、購買転換と購買額は省略します。",
        "no_linked_purchases": (
            "この期間の購買データはありますが、来店と結び付いた購買がないため、購買転換と購買額は"
            "省略します。どのカメラがどのレジを映しているかを設定すると結び付きます。"
        ),
        "spend_chart": "年代・性別ごとの購買額",
        "col_segment": "年代・性別",
        "col_converted": "購買あり",
        "col_rate": "購買率",
        "col_spend": "購買額",
        "all_visits": "全体",
        "money": "{amount}円",
        "note_heading": "少数の集計の保護について",
        "note": (
            "個人が特定されることのないよう、{k}件未満の件数は「<{k}」と表示し、グラフでは"
            "棒を描かずに「<{k}」とだけ示しています。{k}件未満の件数から計算される割合や金額と、"
            "合計からの引き算で少数の件数がわかってしまう件数は「—」としています。このレポートには来店者ID、顔特徴量、動線の座標、人物の画像は"
            "含まれません。"
        ),
        "daily_note": (
            "何回目の来店か・滞在時間は、協定世界時の0時（日本時間9時）で区切った日ごとに"
            "集計しています。"
        ),
    },
    "en": {
        "title": "Visit analysis report",
        "operator": "Operator",
        "store": "Store",
        "all_stores": "All stores",
        "period": "Period",
        "period_value": "{start} to {end}",
        "notice": "Notice",
        "notice_value": "Version {version}, in force since {date}",
        "notice_during": "; in the period: version {versions}",
        "no_notice": "None on record",
        "generated": "Generated",
        "page": "{page} / {pages}",
        "footer": "Raiten · notice version {version}",
        "no_visits": "There were no visits in this period.",
        "visits_heading": "Visits over time (new, repeat, unknown identity)",
        "visits_summary": "{visits} visits in the period: {new} new and {repeat} repeat.",
        "visits_summary_unknown": (
            "{visits} visits in the period: {new} new, {repeat} repeat and {unknown} of unknown "
            "identity."
        ),
        "col_hour": "Hour",
        "col_day": "Day",
        "col_week": "Week from",
        "col_visits": "Visits",
        "col_new": "New",
        "col_repeat": "Repeat",
        "hour_label": "{date} {hour}:00",
        "week_label": "{date}",
        "repeat_heading": "Repeat rate",
        "repeat_rate": "Repeat rate",
        "repeat_band": "Likely range (95%)",
        "col_unknown": "Unknown identity",
        "unknown_note": (
            "The repeat rate is taken over the {identified} identified visits. {unknown} visits "
            "({share} of all) had no usable face (too small or blurred) and count as neither "
            "new nor repeat."
        ),
        "false_repeats": "Expected false repeats",
        "false_share": "False matches",
        "repeat_method": (
            "The likely range is the 95% Wilson interval of the repeat rate, its lower end "
            "lowered by the {expected} repeat visits expected to be false matches (new people "
            "taken for returning ones, given the matcher's false-match rate and the number of "
            "people enrolled)."
        ),
        "repeat_hidden": (
            "The repeat visits, the visits or the visits of unknown identity are fewer than {k} "
            "(or hidden to protect such a count): the repeat rate is not shown."
        ),
        "frequency_heading": "Visits by visit number",
        "col_frequency": "Visit number",
        "demographics_heading": "Age band and gender",
        "col_age": "Age",
        "female": "Female",
        "male": "Male",
        "unknown": "Unknown",
        "dwell_heading": "Time in store",
        "col_dwell": "Minutes",
        "lines_heading": "People counted at lines",
        "col_line": "Line",
        "col_in": "In",
        "col_out": "Out",
        "people_counted": "People counted: {people}",
        "lines_note": "In is a crossing from the left of the line to its right, seen from its "
        "start; out is the other way.",
        "zones_heading": "Time in zones",
        "col_camera": "Camera",
        "col_zone": "Zone",
        "col_zone_dwell": "Mean minutes",
        "conversion_heading": "Conversion and spend",
        "no_purchases": (
            "There are no purchase records for this period, so conversion and spend are left out."
        ),
        "no_linked_purchases": (
            "Purchases were imported for this period, but no purchases are linked to visits, so "
            "conversion and spend are left out. Say which camera watches each register to link "
            "them."
        ),
        "spend_chart": "Spend by age band and gender",
        "col_segment": "Age and gender",
        "col_converted": "Bought",
        "col_rate": "Rate",
        "col_spend": "Spend",
        "all_visits": "All visits",
        "money": "¥{amount}",
        "note_heading": "About small counts",
        "note": (
            "So that nobody can be singled out, counts below {k} are shown as <{k}, and charts "
            "draw no bar for them, only the <{k} label. Rates and amounts computed from a count "
            "below {k}, and counts that would let a small one be worked out from a total, are "
            "shown as —. This report holds no visitor ID, face feature data, "
            "path coordinates or image of a person."
        ),
        "daily_note": (
            "Visit numbers and time in store are counted by day, from 00:00 UTC (09:00 in Japan)."
        ),
    },
}
BRAND = "Raiten"
HIDDEN = "—"  # a rate or amount computed from a count below k

PAGE_WIDTH, PAGE_HEIGHT = float(A4[0]), float(A4[1])
MARGIN = 42.0  # 15 mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
BAND_HEIGHT = 58.0  # the title band on the first page
RUNNING_HEAD = 22.0  # room for the small title line on later pages
RUNNING_HEAD_SIZE = 8.0
FOOT = 26.0
CHART_HEIGHT = 136.0
MAX_BAR = 36.0  # a bar no wider than this, however few there are
SIDE_CHART_WIDTH = 300.0  # a chart with its table beside it
SIDE_GAP = 16.0
NUMBER_WIDTH = 40.0
# A long period's table is set in side-by-side column groups of about this many rows, so that
# 92 days take a third of a page rather than two pages.
FOLD_ROWS = 18
MAX_FOLDS = 4
MAX_AXIS_LABELS = 12

SKY = 0x7FA7D6  # next to navy, tells the series apart in grey print too
GREY = 0xA9B0BA
WHITE = 0xFFFFFF
SERIES = (NAVY, SKY, GREY)
UNKNOWN = "unknown"  # the age band or gender of a visit the estimator could not tell
GENDERS = ("female", "male", UNKNOWN)


class _Context:
    """One report's texts, styles and k, and a tally of what its tables hide."""

    def __init__(self, language: Language, disclosure: Disclosure):
        if language not in CATALOGUE:
            raise ValueError(f"report language must be ja or en, not {language!r}")
        try:
            _register_font()  # text widths are measured in it from the first table on
        except SignageError as exc:
            raise ExportError(str(exc)) from exc
        self.text = CATALOGUE[language]
        self.styles = _Styles.make(language)
        self.disclosure = disclosure
        self.k = disclosure.k
        self.tables = 0
        self.hidden_cells = 0

    def hidden(self, key: Key) -> bool:
        return self.disclosure.hidden(key)

    def shown(self, key: Key) -> str:
        """A count for prose: "<k", hidden, or the number with thousands separators."""
        return self.disclosure.text(key, HIDDEN, f"{self.disclosure.count(key):,}")

    def count(self, key: Key) -> str:
        """A count for a table cell, tallied when hidden."""
        self.hidden_cells += self.hidden(key)
        return self.shown(key)

    def derived(self, text: str, *keys: Key) -> str:
        """``text``, a figure computed from the counts of ``keys``, unless one of them is
        hidden: with the other figures it would give the count away."""
        if self.disclosure.any_hidden(*keys):
            self.hidden_cells += 1
            return HIDDEN
        return text

    def words(self, value: str) -> str:
        """Genders and "unknown" in the report's language; age bands stay as they are."""
        return self.text.get(value, value)

    def heading(self, key: str) -> list[Flowable]:
        return [
            Paragraph(escape(self.text[key]), self.styles.heading),
            HRFlowable(width="100%", thickness=0.8, color=_color(NAVY), spaceAfter=8),
        ]

    def paragraph(self, text: str, small: bool = False) -> Paragraph:
        return Paragraph(escape(text), self.styles.small if small else self.styles.body)

    def table(
        self,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        *,
        group: int = 0,
        labels: bool = True,
    ) -> Table:
        self.tables += 1
        return _table(header, rows, widths, self.styles, group=group, labels=labels)


@dataclass(frozen=True, slots=True)
class _Styles:
    body: ParagraphStyle
    small: ParagraphStyle
    heading: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    head: ParagraphStyle  # a table's column heading over labels
    head_number: ParagraphStyle  # over numbers

    @staticmethod
    def make(language: Language) -> _Styles:
        # CJK wrapping breaks between any two characters, which Japanese needs and English
        # must not get: it would split words.
        wrap = "CJK" if language == "ja" else None
        body = ParagraphStyle(
            "body",
            fontName=FONT_NAME,
            fontSize=9,
            leading=14,
            textColor=_color(INK),
            wordWrap=wrap,
        )
        small = ParagraphStyle("small", body, fontSize=7.5, leading=11, textColor=_color(MUTED))
        head = ParagraphStyle("head", small, fontSize=7.5, leading=9.5, textColor=_color(NAVY))
        return _Styles(
            body=body,
            small=small,
            heading=ParagraphStyle(
                "heading",
                body,
                fontSize=12.5,
                leading=17,
                textColor=_color(NAVY),
                spaceBefore=14,
                spaceAfter=2,
            ),
            label=ParagraphStyle("label", small, fontSize=8, leading=13),
            value=ParagraphStyle("value", body, fontSize=9.5, leading=13),
            head=head,
            head_number=ParagraphStyle("head_number", head, alignment=TA_RIGHT),
        )


@dataclass(frozen=True, slots=True)
class _Decor:
    """What every page prints around the story."""

    title: str
    running_head: str
    footer: str
    page: str  # "{page} / {pages}"


@dataclass(frozen=True, slots=True)
class _Report:
    data: bytes
    store: str | None
    notice_versions: tuple[int, ...]
    tables: int
    hidden_cells: int


def report_pdf(analytics: Analytics, period: Period, language: Language) -> bytes:
    """The report of ``period`` (its store, or all stores) as PDF bytes."""
    return _report(analytics, period, language).data


def write_pdf(
    path: Path, analytics: Analytics, period: Period, language: Language
) -> ExportSummary:
    """Write the report to ``path`` whole or not at all; ExportError when it cannot be made
    or written."""
    report = _report(analytics, period, language)
    try:
        write_atomically(path, report.data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    log.info("PDF report of %s written to %s (%s)", period, path, language)
    return ExportSummary(
        path=path,
        format="pdf",
        language=language,
        period=period,
        store=report.store,
        notice_versions=report.notice_versions,
        tables=report.tables,
        suppressed_cells=report.hidden_cells,
        bytes=len(report.data),
    )


def _report(analytics: Analytics, period: Period, language: Language) -> _Report:
    figures = analytics.figures(period)
    ctx = _Context(language, figures.disclosure(analytics.k))
    text = ctx.text
    tz = analytics.tz
    names = {store.store_id: store.name for store in analytics.stores()}
    store = names.get(period.store_id) if period.store_id is not None else None
    where = store or (text["all_stores"] if period.store_id is None else "—")
    notice = NoticeStore(analytics.db).current()
    versions = analytics.notice_versions(period)
    dates = _period_text(period, tz, text)
    facts = [
        (text["operator"], notice.profile.operator if notice else "—"),
        (text["store"], where),
        (text["period"], dates),
        (text["notice"], _notice_text(notice, versions, tz, text)),
        (text["generated"], _moment(datetime.now(UTC).astimezone(tz))),
    ]

    def story() -> list[Flowable]:
        ctx.tables = ctx.hidden_cells = 0  # each layout pass builds the tables anew
        flow: list[Flowable] = [_facts_table(ctx, facts)]
        if figures.repeat.visits:
            flow += _visits_section(ctx, figures.over_time, figures.bucket, tz)
            flow += _repeat_section(ctx, figures.repeat)
            flow += _cells_section(
                ctx, "frequency_heading", "col_frequency", "frequency", figures.frequency
            )
            flow += _demographics_section(ctx, figures.demographics)
            flow += _cells_section(ctx, "dwell_heading", "col_dwell", "dwell", figures.dwell)
            if figures.zones:
                flow += _zones_section(ctx, figures.zones)
            if figures.lines or figures.people:
                flow += _lines_section(ctx, figures.lines)
            flow += _conversion_section(ctx, figures.conversion, figures.spend, figures.purchases)
        else:
            flow += [Spacer(1, 18), ctx.paragraph(text["no_visits"])]
        flow.append(
            KeepTogether(
                [
                    *ctx.heading("note_heading"),
                    ctx.paragraph(text["note"].format(k=ctx.k)),
                    Spacer(1, 4),
                    ctx.paragraph(text["daily_note"], small=True),
                ]
            )
        )
        return flow

    title = text["title"]
    running_head = f"{title} · {where} · {dates}"
    if stringWidth(running_head, FONT_NAME, RUNNING_HEAD_SIZE) > CONTENT_WIDTH:
        running_head = f"{title} · {dates}"  # the first page names the store in full
    footer = text["footer"].format(version=notice.version) if notice else BRAND
    info = {
        "title": f"{title} — {where}",
        "author": notice.profile.operator if notice else BRAND,
        "subject": dates,
        "lang": language,
    }
    data = _render(story, _Decor(title, running_head, footer, text["page"]), info)
    return _Report(data, store, versions, ctx.tables, ctx.hidden_cells)


def _moment(local: datetime) -> str:
    offset = f"{local:%z}"
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _period_text(period: Period, tz: tzinfo | None, text: dict[str, str]) -> str:
    """Local dates, the last one included; times as well when the period does not run from
    midnight to midnight."""
    start, end = period.start.astimezone(tz), period.end.astimezone(tz)
    if start.time() == time() and end.time() == time() and end > start:
        first, last = start.date().isoformat(), (end - timedelta(days=1)).date().isoformat()
    else:
        first, last = f"{start:%Y-%m-%d %H:%M}", f"{end:%Y-%m-%d %H:%M}"
    return text["period_value"].format(start=first, end=last)


def _notice_text(
    notice: NoticeVersion | None, versions: tuple[int, ...], tz: tzinfo | None, text: dict[str, str]
) -> str:
    """The notice in force now, and those in force during the period when they differ."""
    if notice is None:
        return text["no_notice"]
    since = notice.created_at.astimezone(tz).date().isoformat()
    words = text["notice_value"].format(version=notice.version, date=since)
    if versions and versions != (notice.version,):
        words += text["notice_during"].format(versions=", ".join(map(str, versions)))
    return words


# --- sections ----------------------------------------------------------------------------


def _facts_table(ctx: _Context, facts: Sequence[tuple[str, str]]) -> Table:
    """Who, where, when and under which notice, on a tinted panel under the title."""
    rows = [
        [Paragraph(escape(label), ctx.styles.label), Paragraph(escape(value), ctx.styles.value)]
        for label, value in facts
    ]
    table = Table(rows, colWidths=[92, CONTENT_WIDTH - 92])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("BACKGROUND", (0, 0), (-1, -1), _color(PANEL)),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 12),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, 0), 9),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
            ]
        )
    )
    return table


def _bucket_label(start: datetime, bucket: Bucket, text: dict[str, str]) -> str:
    day = f"{start:%m/%d}"
    if bucket == "hour":
        return text["hour_label"].format(date=day, hour=f"{start:%H}")
    return text["week_label"].format(date=day) if bucket == "week" else day


def _visits_section(
    ctx: _Context, buckets: Sequence[TimeBucket], bucket: Bucket, tz: tzinfo | None
) -> list[Flowable]:
    text = ctx.text
    starts = [b.start.astimezone(tz) for b in buckets]
    labels = [_bucket_label(start, bucket, text) for start in starts]
    if bucket == "hour":  # the axis has room for the date at midnight only
        axis = [
            label if s.hour == 0 else f"{s:%H:00}" for label, s in zip(labels, starts, strict=True)
        ]
    else:
        axis = labels
    chart = _count_chart(
        ctx,
        axis,
        [[("bucket", i, kind) for i in range(len(buckets))] for kind in VISIT_KINDS],
        CONTENT_WIDTH,
        names=[text[f"col_{kind}"] for kind in VISIT_KINDS],
        stacked=True,  # new, repeat and unknown identity stack up to the visits
    )
    # The unknown count is named only when there is one: most periods of a well-placed
    # camera have none, and the plain sentence reads better.
    unknown = ctx.disclosure.count(("unknown",))
    summary = text["visits_summary_unknown" if unknown else "visits_summary"].format(
        visits=ctx.shown(("visits",)), **{kind: ctx.shown((kind,)) for kind in VISIT_KINDS}
    )
    header = [
        text[f"col_{bucket}"],
        text["col_visits"],
        *(text[f"col_{kind}"] for kind in VISIT_KINDS),
    ]
    rows = [
        [label, *(ctx.count(("bucket", i, column)) for column in ("visits", *VISIT_KINDS))]
        for i, label in enumerate(labels)
    ]
    return [
        KeepTogether([*ctx.heading("visits_heading"), ctx.paragraph(summary), Spacer(1, 6), chart]),
        Spacer(1, 8),
        _folded_table(ctx, header, rows),
    ]


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _repeat_section(ctx: _Context, rate: RepeatRate) -> list[Flowable]:
    text = ctx.text
    header = [
        text["col_visits"],
        text["col_unknown"],
        text["col_repeat"],
        text["repeat_rate"],
        text["repeat_band"],
        text["false_repeats"],
    ]
    # The band and the expected false repeats (capped at the repeat visits) are computed
    # from these counts (over identified visits: visits less those of unknown identity), so
    # they too would tell a small one apart.
    counts = (("repeat",), ("visits",), ("unknown",))
    unknown_hidden = ctx.disclosure.any_hidden(("unknown",), ("visits",))
    expected = f"{rate.expected_false_repeats:,.2f}"
    row = [
        ctx.count(("visits",)),
        # The share would tell a hidden count apart: the cell alone says "<k" or hidden.
        ctx.count(("unknown",)) + ("" if unknown_hidden else f" ({_percent(rate.unknown_share)})"),
        ctx.count(("repeat",)),
        ctx.derived(_percent(rate.rate), *counts),
        ctx.derived(f"{_percent(rate.low)} – {_percent(rate.high)}", *counts),
        ctx.derived(expected, *counts),
    ]
    widths = [CONTENT_WIDTH / len(header)] * len(header)
    table = ctx.table(header, [row], widths, labels=False)
    if any(ctx.hidden(count) for count in counts):
        note = ctx.paragraph(text["repeat_hidden"].format(k=ctx.k))
        return [KeepTogether([*ctx.heading("repeat_heading"), table, Spacer(1, 6), note])]
    chart = _rate_chart(rate, [text["repeat_rate"], text["false_share"]])
    method = ctx.paragraph(
        text["repeat_method"].format(expected=expected)
        + " "
        + text["unknown_note"].format(
            # The identified visits and the share would give a hidden unknown count away.
            identified=HIDDEN if unknown_hidden else f"{rate.identified_visits:,}",
            unknown=ctx.shown(("unknown",)),
            share=HIDDEN if unknown_hidden else _percent(rate.unknown_share),
        ),
        small=True,
    )
    return [
        KeepTogether([*ctx.heading("repeat_heading"), table, Spacer(1, 10), _beside(chart, method)])
    ]


def _cells_section(
    ctx: _Context, heading: str, column: str, name: str, cells: Sequence[Cell]
) -> list[Flowable]:
    """A distribution of visits (the disclosure's ``name`` cells): bars beside a two-column
    table."""
    labels = [c.label for c in cells]
    keys = [(name, i) for i in range(len(cells))]
    chart = _count_chart(ctx, labels, [keys], SIDE_CHART_WIDTH)
    side = CONTENT_WIDTH - SIDE_CHART_WIDTH - SIDE_GAP
    table = ctx.table(
        [ctx.text[column], ctx.text["col_visits"]],
        [[label, ctx.count(key)] for label, key in zip(labels, keys, strict=True)],
        [side - NUMBER_WIDTH - 20, NUMBER_WIDTH + 20],
    )
    return [KeepTogether([*ctx.heading(heading), _beside(chart, table)])]


def _zones_section(ctx: _Context, zones: Sequence[ZoneDwell]) -> list[Flowable]:
    """Visits that entered each zone drawn on a camera's picture, and their mean time there."""
    text = ctx.text
    rows = [
        [
            str(zone.camera_id),
            zone.zone,
            ctx.count(("zone", zone.camera_id, zone.zone)),
            ctx.derived(
                f"{zone.mean_dwell_seconds / 60:,.1f}", ("zone", zone.camera_id, zone.zone)
            ),
        ]
        for zone in zones
    ]
    header = [text["col_camera"], text["col_zone"], text["col_visits"], text["col_zone_dwell"]]
    number = NUMBER_WIDTH + 20
    widths = [number, CONTENT_WIDTH - 3 * number, number, number]
    return [KeepTogether([*ctx.heading("zones_heading"), ctx.table(header, rows, widths)])]


def _lines_section(ctx: _Context, lines: Sequence[LineCount]) -> list[Flowable]:
    """Crossings of the counting lines and the people the counting modes saw."""
    text = ctx.text
    flow: list[Flowable] = [
        *ctx.heading("lines_heading"),
        ctx.paragraph(text["people_counted"].format(people=ctx.count(("people",)))),
    ]
    if lines:
        rows = [
            [
                str(line.camera_id),
                line.line,
                ctx.count(("line", line.camera_id, line.line, "in")),
                ctx.count(("line", line.camera_id, line.line, "out")),
            ]
            for line in lines
        ]
        header = [text["col_camera"], text["col_line"], text["col_in"], text["col_out"]]
        number = NUMBER_WIDTH + 20
        widths = [number, CONTENT_WIDTH - 3 * number, number, number]
        flow += [
            Spacer(1, 6),
            ctx.table(header, rows, widths),
            Spacer(1, 4),
            ctx.paragraph(text["lines_note"], small=True),
        ]
    return [KeepTogether(flow)]


def _pivot(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Age bands in the order given and genders female, male, any other; "unknown" last."""
    bands = list(dict.fromkeys(band for band, _ in pairs if band != UNKNOWN))
    if any(band == UNKNOWN for band, _ in pairs):
        bands.append(UNKNOWN)
    seen = {gender for _, gender in pairs}
    genders = [g for g in GENDERS[:-1] if g in seen] + sorted(seen - set(GENDERS))
    if UNKNOWN in seen:
        genders.append(UNKNOWN)
    return bands, genders


def _demographics_section(ctx: _Context, cells: Sequence[DemographicCell]) -> list[Flowable]:
    text = ctx.text
    held = {(c.age_band, c.gender) for c in cells}
    bands, genders = _pivot(list(held))
    names = [ctx.words(g) for g in genders]
    labels = [ctx.words(b) for b in bands]
    series = [[("segment", b, g) if (b, g) in held else None for b in bands] for g in genders]
    chart = _count_chart(ctx, labels, series, SIDE_CHART_WIDTH, names=names)
    side = CONTENT_WIDTH - SIDE_CHART_WIDTH - SIDE_GAP
    number = min(NUMBER_WIDTH + 8, (side - 50) / len(genders))
    rows = [
        [label, *(ctx.count(("segment", b, g)) if (b, g) in held else "0" for g in genders)]
        for label, b in zip(labels, bands, strict=True)
    ]
    widths = [side - number * len(genders), *[number] * len(genders)]
    table = ctx.table([text["col_age"], *names], rows, widths)
    return [KeepTogether([*ctx.heading("demographics_heading"), _beside(chart, table)])]


def _conversion_section(
    ctx: _Context, conversion: Conversion, segments: Sequence[SpendCell], purchases: int
) -> list[Flowable]:
    text = ctx.text
    if not conversion.converted:
        why = text["no_linked_purchases"] if purchases else text["no_purchases"]
        return [KeepTogether([*ctx.heading("conversion_heading"), ctx.paragraph(why)])]

    def money(amount: float) -> str:
        return text["money"].format(amount=f"{amount:,.0f}")

    def row(label: str, visits: Key, converted: Key, spend: float) -> list[str]:
        counts = ctx.disclosure.count(visits), ctx.disclosure.count(converted)
        rate = _percent(counts[1] / counts[0]) if counts[0] else ""
        return [
            label,
            ctx.count(visits),
            ctx.count(converted),
            ctx.derived(rate, converted, visits),
            # The amount is what the converted visits spent: hidden with their count.
            ctx.derived(money(spend), converted),
        ]

    total_spend = sum(s.spend for s in segments)
    rows = [row(text["all_visits"], ("visits",), ("converted",), total_spend)]
    amounts = {(s.age_band, s.gender): s for s in segments}
    bands, genders = _pivot(list(amounts))
    for band in bands:
        for gender in genders:
            cell = amounts.get((band, gender))
            if cell is not None:
                label = f"{ctx.words(band)} {ctx.words(gender)}"
                rows.append(
                    row(label, ("segment", band, gender), ("converted", band, gender), cell.spend)
                )
    header = [
        text["col_segment"],
        text["col_visits"],
        text["col_converted"],
        text["col_rate"],
        text["col_spend"],
    ]
    number = 78.0
    table = ctx.table(header, rows, [CONTENT_WIDTH - 4 * number, *[number] * 4])
    table.setStyle(TableStyle([("LINEBELOW", (0, 1), (-1, 1), 0.8, _color(NAVY))]))

    spend = [[amounts[b, g].spend if (b, g) in amounts else 0.0 for b in bands] for g in genders]
    hidden = [
        [(b, g) in amounts and ctx.hidden(("converted", b, g)) for b in bands] for g in genders
    ]
    heading = ctx.heading("conversion_heading")
    drawable = any(
        v > 0 and not h
        for amounts_of, flags in zip(spend, hidden, strict=True)
        for v, h in zip(amounts_of, flags, strict=True)
    )
    if not drawable:  # a chart of hidden amounts only would be an empty frame
        return [KeepTogether([*heading, table])]
    chart = _bar_chart(
        [ctx.words(b) for b in bands],
        spend,
        hidden,
        HIDDEN,
        CONTENT_WIDTH,
        names=[ctx.words(g) for g in genders],
        value_format=money,
    )
    caption = ctx.paragraph(text["spend_chart"], small=True)
    return [KeepTogether([*heading, caption, chart]), Spacer(1, 8), table]


# --- tables ------------------------------------------------------------------------------


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    styles: _Styles,
    *,
    group: int = 0,
    labels: bool = True,
) -> Table:
    """Numbers right-aligned under wrapped column headings. With ``labels``, the first column
    of every ``group`` columns (or only the first) holds row labels, aligned left."""
    group = group or len(header)
    heads = [
        Paragraph(escape(h), styles.head if labels and i % group == 0 else styles.head_number)
        for i, h in enumerate(header)
    ]
    table = Table([heads, *rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
        ("FONTSIZE", (0, 1), (-1, -1), 8),
        ("LEADING", (0, 1), (-1, -1), 10),
        ("TEXTCOLOR", (0, 1), (-1, -1), _color(INK)),
        ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("BACKGROUND", (0, 0), (-1, 0), _color(PANEL)),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, _color(NAVY)),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, _color(RULE)),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
    ]
    for first in range(0, len(header), group):
        if labels:
            commands.append(("ALIGN", (first, 1), (first, -1), "LEFT"))
        if first:
            commands.append(("LINEBEFORE", (first, 0), (first, -1), 0.8, _color(RULE)))
    table.setStyle(TableStyle(commands))
    return table


def _folded_table(ctx: _Context, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A long table set in up to MAX_FOLDS column groups side by side, read down then across."""
    folds = max(1, min(MAX_FOLDS, math.ceil(len(rows) / FOLD_ROWS)))
    per_fold = math.ceil(len(rows) / folds)
    label_width = max(stringWidth(r[0], FONT_NAME, 8) for r in [header, *rows]) + 10
    numbers = len(header) - 1
    number_width = min(2 * NUMBER_WIDTH, (CONTENT_WIDTH / folds - label_width) / numbers)
    blank = [""] * len(header)
    lines = []
    for line in range(per_fold):
        cells: list[str] = []
        for fold in range(folds):
            index = fold * per_fold + line
            cells += rows[index] if index < len(rows) else blank
        lines.append(cells)
    widths = ([label_width] + [number_width] * numbers) * folds
    return ctx.table(list(header) * folds, lines, widths, group=len(header))


def _beside(left: Drawing, right: Flowable) -> Table:
    """A chart with a table or text to its right, tops aligned."""
    layout = Table(
        [[left, right]], colWidths=[left.width + SIDE_GAP, CONTENT_WIDTH - left.width - SIDE_GAP]
    )
    layout.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT_NAME),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return layout


# --- charts ------------------------------------------------------------------------------


def _color(value: int) -> Color:
    return HexColor(value)


def _drawing(width: float, height: float) -> Drawing:
    # Without initialFontName a drawing starts by selecting Helvetica, which no PDF embeds.
    return Drawing(width, height, initialFontName=FONT_NAME)


def _axis(top: float, integers: bool) -> tuple[float, float]:
    """A round maximum and step for a value axis reaching ``top``, about four gridlines."""
    top = max(top, 1.0)
    raw = top / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    multiples = (1.0, 2.0, 5.0, 10.0) if integers else (1.0, 2.0, 2.5, 5.0, 10.0)
    step = next(m * magnitude for m in multiples if m * magnitude >= raw)
    if integers:
        step = max(step, 1.0)
    return step * math.ceil(top / step - 1e-9), step


def _category_names(names: Sequence[str]) -> list[str]:
    """Every n-th name, so that a long series' axis stays readable; the table lists them all."""
    every = math.ceil(len(names) / MAX_AXIS_LABELS) if names else 1
    return [name if index % every == 0 else "" for index, name in enumerate(names)]


def _style_labels(labels: Any, size: float = 7.0) -> None:
    labels.fontName = FONT_NAME
    labels.fontSize = size
    labels.fillColor = _color(MUTED)


def _style_value_axis(axis: Any, top: float, step: float, fmt: Callable[[float], str]) -> None:
    axis.valueMin, axis.valueMax, axis.valueStep = 0, top, step
    axis.labelTextFormat = fmt
    axis.visibleGrid = True
    axis.gridStrokeColor = _color(RULE)
    axis.gridStrokeWidth = 0.4
    axis.strokeColor = None
    axis.visibleTicks = False
    _style_labels(axis.labels)


def _style_category_axis(axis: Any, names: Sequence[str]) -> None:
    axis.categoryNames = list(names)
    axis.strokeColor = _color(MUTED)
    axis.strokeWidth = 0.6
    axis.visibleTicks = False
    _style_labels(axis.labels)


def _legend(drawing: Drawing, names: Sequence[str]) -> None:
    """Colour keys in one row at the top right of ``drawing``."""
    legend = Legend()
    legend.colorNamePairs = [(_color(c), n) for c, n in zip(SERIES, names, strict=False)]
    legend.fontName = FONT_NAME
    legend.fontSize = 7.5
    legend.fillColor = _color(INK)
    legend.strokeColor = None
    legend.dx = legend.dy = 7
    legend.dxTextSpace = 4
    legend.columnMaximum = 1  # one entry per column: a single row
    legend.alignment = "right"
    legend.boxAnchor = "ne"
    legend.deltax = max(stringWidth(n, FONT_NAME, 7.5) for n in names) + 22
    legend.x, legend.y = drawing.width, drawing.height
    drawing.add(legend)


def _bar_chart(
    categories: Sequence[str],
    values: Sequence[Sequence[float]],
    hidden: Sequence[Sequence[bool]],
    hidden_label: str,
    width: float,
    *,
    names: Sequence[str] = (),
    stacked: bool = False,
    integers: bool = True,
    value_format: Callable[[float], str] = "{:,.0f}".format,
) -> Drawing:
    """Vertical bars, one colour per series, grouped or stacked.

    A hidden value is drawn as no bar and labelled ``hidden_label`` where its bar would end; in
    a stack, one label on top of the stack stands for all its hidden parts.
    """
    drawing = _drawing(width, CHART_HEIGHT)
    chart = VerticalBarChart()
    many = len(categories) > MAX_AXIS_LABELS
    chart.x, chart.y = 40.0, 30.0 if many else 16.0
    chart.width = width - chart.x - 4
    chart.height = CHART_HEIGHT - chart.y - (18.0 if names else 6.0)
    drawn = [
        [0.0 if h else v for v, h in zip(row, flags, strict=True)]
        for row, flags in zip(values, hidden, strict=True)
    ]
    chart.data = drawn
    tops = [sum(c) if stacked else max(c) for c in zip(*drawn, strict=True)]
    # Headroom in a stack, so that a label on the tallest one stays inside the plot; grouped
    # bars carry labels only where they have no height.
    top, step = _axis((1.08 if stacked else 1.0) * max(tops, default=0.0), integers)
    _style_value_axis(chart.valueAxis, top, step, value_format)
    _style_category_axis(chart.categoryAxis, _category_names(categories))
    if many:
        chart.categoryAxis.labels.angle = 45
        chart.categoryAxis.labels.boxAnchor = "ne"
        chart.categoryAxis.labels.dx, chart.categoryAxis.labels.dy = 4, -2
    if stacked:
        chart.categoryAxis.style = "stacked"
    # Widths are relative: bars of 10 and gaps that leave each bar at most MAX_BAR wide.
    per_group = 1 if stacked else len(values)
    chart.barWidth, chart.barSpacing = 10, 1
    chart.groupSpacing = max(
        3 if len(categories) > 40 else 8,
        10 * chart.width / (MAX_BAR * max(len(categories), 1)) - 11 * per_group + 1,
    )
    for index in range(len(values)):
        chart.bars[index].fillColor = _color(SERIES[index % len(SERIES)])
        chart.bars[index].strokeColor = None
    flags = [list(row) for row in hidden]
    if stacked:
        on_top = [any(column) for column in zip(*flags, strict=True)]
        flags = [[False] * len(categories) for _ in flags[:-1]] + [on_top]
    chart.barLabelFormat = "values"
    chart.barLabelArray = [[hidden_label if h else "" for h in row] for row in flags]
    narrow = chart.width / max(len(categories) * per_group, 1) < 2.2 * stringWidth(
        hidden_label, FONT_NAME, 7
    )
    _style_labels(chart.barLabels, 6.0 if narrow else 7.0)
    chart.barLabels.nudge = 5
    if narrow:  # upright, so that neighbouring labels do not run into each other
        chart.barLabels.angle = 90
        chart.barLabels.boxAnchor = "w"
        chart.barLabels.nudge = 2
    drawing.add(chart)
    if names:
        _legend(drawing, names)
    return drawing


def _count_chart(
    ctx: _Context,
    categories: Sequence[str],
    series: Sequence[Sequence[Key | None]],
    width: float,
    *,
    names: Sequence[str] = (),
    stacked: bool = False,
) -> Drawing:
    """The counts of the disclosure's ``series`` keys (None: no such cell, zero) as bars; a
    hidden count gets no bar, only a label (G-07): "<k" where every hidden one is small,
    else "hidden"."""
    d = ctx.disclosure
    hidden = [[key is not None and d.hidden(key) for key in row] for row in series]
    values = [[0.0 if key is None else float(d.count(key)) for key in row] for row in series]
    covered = [key for row in series for key in row if key is not None and d.hidden(key)]
    label = f"<{ctx.k}" if all(d.primary(key) for key in covered) else HIDDEN
    return _bar_chart(categories, values, hidden, label, width, names=names, stacked=stacked)


def _rate_chart(rate: RepeatRate, names: Sequence[str]) -> Drawing:
    """The repeat rate with its likely range as a whisker, above the share of visits that
    false matches alone would make repeats."""
    false_share = rate.expected_false_repeats / rate.visits
    row, bar = 22.0, 10.0
    drawing = _drawing(SIDE_CHART_WIDTH, row * len(names) + 18)
    chart = HorizontalBarChart()
    chart.x = max(stringWidth(n, FONT_NAME, 7.5) for n in names) + 8
    chart.y = 14.0
    chart.width = SIDE_CHART_WIDTH - chart.x - 36  # room for the label after the whisker
    chart.height = drawing.height - chart.y - 4
    chart.data = [[100 * rate.rate, 100 * false_share]]
    top, step = _axis(100 * max(rate.high, rate.rate, false_share), integers=False)
    _style_value_axis(chart.valueAxis, top, step, "{:.0f}%".format)
    _style_category_axis(chart.categoryAxis, names)
    chart.categoryAxis.reverseDirection = 1  # the first category on top
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.fillColor = _color(INK)
    # Sky rather than navy, so that the whisker shows where it crosses the bar.
    chart.bars[0].fillColor = _color(SKY)
    chart.bars[0].strokeColor = None
    chart.barWidth = bar
    chart.groupSpacing = row - bar
    chart.barLabelFormat = "values"
    chart.barLabelArray = [["", _percent(false_share)]]
    _style_labels(chart.barLabels)
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.nudge = 4
    drawing.add(chart)

    def x(share: float) -> float:
        return float(chart.x + 100 * share / top * chart.width)

    centre = chart.y + chart.height * (1 - 0.5 / len(names))
    ink = _color(INK)
    drawing.add(Line(x(rate.low), centre, x(rate.high), centre, strokeColor=ink, strokeWidth=0.9))
    for end in (rate.low, rate.high):
        drawing.add(Line(x(end), centre - 4, x(end), centre + 4, strokeColor=ink, strokeWidth=0.9))
    label = String(
        max(x(rate.high), x(rate.rate)) + 4,
        centre - 2.5,
        _percent(rate.rate),
        fontName=FONT_NAME,
        fontSize=7,
        fillColor=ink,
    )
    drawing.add(label)
    return drawing


# --- pages -------------------------------------------------------------------------------


def _decorate(canvas: Any, page: int, pages: int, decor: _Decor) -> None:
    """The title band on the first page, a running head on the others, and every footer."""
    canvas.saveState()
    if page == 1:
        bottom = PAGE_HEIGHT - MARGIN - BAND_HEIGHT
        canvas.setFillColor(_color(NAVY))
        canvas.roundRect(MARGIN, bottom, CONTENT_WIDTH, BAND_HEIGHT, 6, stroke=0, fill=1)
        canvas.setFillColor(_color(WHITE))
        canvas.setFont(FONT_NAME, 20)
        canvas.drawString(MARGIN + 18, bottom + BAND_HEIGHT / 2 - 7, decor.title)
        canvas.setFont(FONT_NAME, 9)
        canvas.drawRightString(MARGIN + CONTENT_WIDTH - 18, bottom + BAND_HEIGHT / 2 - 3, BRAND)
    else:
        canvas.setFillColor(_color(MUTED))
        canvas.setFont(FONT_NAME, RUNNING_HEAD_SIZE)
        canvas.drawString(MARGIN, PAGE_HEIGHT - MARGIN - 8, decor.running_head)
        canvas.setStrokeColor(_color(RULE))
        canvas.setLineWidth(0.6)
        rule = PAGE_HEIGHT - MARGIN - 13
        canvas.line(MARGIN, rule, MARGIN + CONTENT_WIDTH, rule)
    canvas.setStrokeColor(_color(RULE))
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, MARGIN + 12, MARGIN + CONTENT_WIDTH, MARGIN + 12)
    canvas.setFillColor(_color(MUTED))
    canvas.setFont(FONT_NAME, 7.5)
    canvas.drawString(MARGIN, MARGIN, decor.footer)
    if pages:
        number = decor.page.format(page=page, pages=pages)
        canvas.drawRightString(MARGIN + CONTENT_WIDTH, MARGIN, number)
    canvas.restoreState()


def _render(story: Callable[[], list[Flowable]], decor: _Decor, info: dict[str, str]) -> bytes:
    """Lay ``story`` out on A4 pages. Twice: the first pass counts the pages, so that the
    footers of the second can say "2 / 3"."""
    bottom = MARGIN + FOOT
    tops = {
        "first": PAGE_HEIGHT - MARGIN - BAND_HEIGHT - 6,
        "later": PAGE_HEIGHT - MARGIN - RUNNING_HEAD,
    }
    pages = 0
    data = b""
    for _ in range(2):
        buffer = io.BytesIO()
        # Without initialFontName every page names Helvetica, a font no PDF embeds.
        doc = BaseDocTemplate(
            buffer,
            pagesize=A4,
            creator=BRAND,
            initialFontName=FONT_NAME,
            pageCompression=1,
            **info,
        )

        def on_page(canvas: Any, doc: Any, pages: int = pages) -> None:
            _decorate(canvas, doc.page, pages, decor)

        doc.addPageTemplates(
            [
                PageTemplate(
                    name,
                    [
                        Frame(
                            MARGIN,
                            bottom,
                            CONTENT_WIDTH,
                            top - bottom,
                            leftPadding=0,
                            bottomPadding=0,
                            rightPadding=0,
                            topPadding=0,
                            id=name,
                        )
                    ],
                    onPage=on_page,
                )
                for name, top in tops.items()
            ]
        )
        doc.build([NextPageTemplate("later"), *story()])
        pages = doc.page
        data = buffer.getvalue()
    return data
