"""The figures of a period as one CSV file for Excel, and the incident report (G-15) as CSV.

UTF-8 with a byte-order mark (Excel then reads Japanese correctly), CRLF line ends, and
sections one after another: what the file covers (period, store, the notice versions in force),
then each aggregate table with a title row and a header row, separated by an empty row.

Only aggregates are written (G-06): no visitor ID, feature, path coordinate of a person or
picture. Counts below k are written as "<k" (G-07), and a rate or amount computed from such a
count as "hidden", since with the other figures it would give the count away; so is any count
that would let a small one be worked out from a total (``core.suppression``).

The wording lives here in two catalogues (ja, en) with the same keys: it is document content
chosen per export, independent of the UI language, like the entrance sign's.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal

from desktopapp.core.analytics import (
    VISIT_KINDS,
    Analytics,
    Bucket,
    Figures,
    IncidentReport,
    Period,
    suppressed,
)
from desktopapp.core.reports.files import write_atomically
from desktopapp.core.store.statistics import HEAT_CELLS
from desktopapp.core.suppression import Disclosure, Key, is_small

log = logging.getLogger(__name__)

Language = Literal["ja", "en"]
Row = Sequence[str]

CATALOGUE: dict[Language, dict[str, str]] = {
    "ja": {
        "title": "来店分析 集計データ",
        "from": "開始",
        "to": "終了（この時刻を含まない）",
        "store": "店舗",
        "all_stores": "全店舗",
        "notice": "告知内容の版",
        "no_notice": "なし",
        "generated": "作成日時",
        "small_groups": "少数の保護",
        "small_note": (
            "{k}件未満の件数は「<{k}」、そこから求めた割合・金額と、合計からの引き算で"
            "少数の件数がわかってしまう件数は「非表示」と記載しています。"
            "来店者ID・顔特徴量・個人の動線は含みません。"
        ),
        "daily_note": (
            "来店回数・滞在時間・動線は協定世界時の0時（日本時間9時）で区切った日ごとに"
            "集計しています。"
        ),
        "days": "日の区切り",
        "hidden": "非表示",
        "over_time_hour": "来店数の推移（1時間ごと）",
        "over_time_day": "来店数の推移（日ごと）",
        "over_time_week": "来店数の推移（週ごと、月曜始まり）",
        "col_hour": "日時",
        "col_day": "日付",
        "col_week": "週の初日",
        "col_visits": "来店数",
        "col_new": "新規",
        "col_repeat": "再来店",
        "totals": "期間合計",
        "col_repeat_rate": "再来店率（本人確認できた来店のうち）",
        "col_unknown": "本人不明の来店",
        "col_unknown_identity": "本人不明",
        "col_unknown_share": "本人不明の割合",
        "col_false_repeats": "誤照合の見込み件数",
        "col_converted": "購買あり",
        "col_conversion": "購買率",
        "frequency": "来店回数別",
        "col_visit_number": "何回目の来店か",
        "demographics": "年代・性別",
        "col_age": "年代",
        "col_gender": "性別",
        "dwell": "滞在時間",
        "col_dwell": "滞在時間（分）",
        "spend": "年代・性別ごとの購買",
        "col_spend": "購買額",
        "lines": "通過人数（カメラ画像上に設定した計数線、1時間ごとの集計の合計）",
        "col_line": "計数線",
        "col_in": "入（線の始点から終点を見て左側から右側へ）",
        "col_out": "出（右側から左側へ）",
        "people": "計数した人数（人数計測・混雑状況などのモード）",
        "zones": "エリアごとの滞在（カメラ画像上に設定したエリア）",
        "col_zone": "エリア",
        "col_zone_dwell": "平均滞在時間（分）",
        "heat": "動線（各カメラ画像を{n}×{n}に分けたマスごとの来店数）",
        "floor_heat": "店内図上の動線（位置合わせしたカメラすべて、"
        "店内図を{n}×{n}に分けたマスごとの来店数）",
        "col_camera": "カメラ",
        "col_column": "列（左から）",
        "col_row": "行（上から）",
        "female": "女性",
        "male": "男性",
        "unknown": "不明",
        "incident_title": "保有している個人データの件数（漏えい等の報告用）",
        "incident_notice": "告知内容の版（作成時点）",
        "incident_summary": "種類ごとの件数",
        "incident_months": "月ごとの件数",
        "col_kind": "種類",
        "col_count": "件数",
        "col_oldest": "最も古い記録",
        "col_newest": "最も新しい記録",
        "col_month": "月",
        "all_records": "合計",
        "customer_visitors": "来店者ID（顧客）",
        "staff_visitors": "来店者ID（従業員）",
        "dnt_visitors": "拒否登録（オプトアウト）",
        "feature_templates": "顔特徴量",
        "identified_visits": "来店者IDつきの来店記録",
        "path_points": "動線の点",
        "linked_purchases": "来店に紐付いた購買",
    },
    "en": {
        "title": "Visit analysis: figures",
        "from": "From",
        "to": "To (not included)",
        "store": "Store",
        "all_stores": "All stores",
        "notice": "Notice version(s) in force",
        "no_notice": "none",
        "generated": "Created",
        "small_groups": "Small groups",
        "small_note": (
            'Counts below {k} are written as "<{k}"; rates or amounts computed from them, and '
            'counts that would let a small one be worked out from a total, as "hidden". No '
            "visitor ID, feature data or path of a person is included."
        ),
        "daily_note": (
            "Visit number, time in the store and floor cells are kept by day, from 00:00 UTC "
            "(09:00 in Japan)."
        ),
        "days": "Days",
        "hidden": "hidden",
        "over_time_hour": "Visits by hour",
        "over_time_day": "Visits by day",
        "over_time_week": "Visits by week (from Monday)",
        "col_hour": "Hour",
        "col_day": "Date",
        "col_week": "Week from",
        "col_visits": "Visits",
        "col_new": "New",
        "col_repeat": "Repeat",
        "totals": "Period totals",
        "col_repeat_rate": "Repeat rate (of identified visits)",
        "col_unknown": "Visits of unknown identity",
        "col_unknown_identity": "Unknown identity",
        "col_unknown_share": "Unknown share",
        "col_false_repeats": "Expected false repeats",
        "col_converted": "With a purchase",
        "col_conversion": "Conversion",
        "frequency": "Visits by visit number",
        "col_visit_number": "Visit number",
        "demographics": "Age band and gender",
        "col_age": "Age band",
        "col_gender": "Gender",
        "dwell": "Time in the store",
        "col_dwell": "Minutes",
        "spend": "Purchases by age band and gender",
        "col_spend": "Amount",
        "lines": "Line crossings (counting lines drawn on each camera's picture; hourly counts "
        "added up)",
        "col_line": "Line",
        "col_in": "In (from the left of the line to its right, seen from its start)",
        "col_out": "Out (from its right to its left)",
        "people": "People counted (passer-by, crowd level and other counting modes)",
        "zones": "Time in zones (areas drawn on each camera's picture)",
        "col_zone": "Zone",
        "col_zone_dwell": "Mean time in the zone (minutes)",
        "heat": "Where visitors went (visits per cell, each camera's picture cut into {n} × {n})",
        "floor_heat": "Where visitors went on the floor plan (every calibrated camera; visits "
        "per cell, the plan cut into {n} × {n})",
        "col_camera": "Camera",
        "col_column": "Column (from left)",
        "col_row": "Row (from top)",
        "female": "female",
        "male": "male",
        "unknown": "unknown",
        "incident_title": "Personal records held (for a breach report)",
        "incident_notice": "Notice version in force",
        "incident_summary": "Records by kind",
        "incident_months": "Records by month",
        "col_kind": "Record",
        "col_count": "Count",
        "col_oldest": "Oldest",
        "col_newest": "Newest",
        "col_month": "Month",
        "all_records": "All records",
        "customer_visitors": "Visitor IDs (customers)",
        "staff_visitors": "Visitor IDs (staff)",
        "dnt_visitors": "Opt-outs (do not track)",
        "feature_templates": "Face feature templates",
        "identified_visits": "Visits with a visitor ID",
        "path_points": "Path points",
        "linked_purchases": "Purchases linked to a visit",
    },
}

_BUCKET_FORMAT: dict[Bucket, str] = {
    "hour": "%Y-%m-%d %H:%M",
    "day": "%Y-%m-%d",
    "week": "%Y-%m-%d",
}


class ExportError(Exception):
    """An export could not be written; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What an export wrote, for the caller to show and audit."""

    path: Path
    format: Literal["csv", "pdf"]
    language: Language
    period: Period
    store: str | None  # the store's name; None for all stores
    notice_versions: tuple[int, ...]
    tables: int
    suppressed_cells: int  # cells written as "<k" or hidden
    bytes: int


@dataclass(frozen=True, slots=True)
class _Table:
    title: str
    header: Row
    rows: Sequence[Row]


class _Cells:
    """The text of one export's cells, counting those it hides (G-07)."""

    def __init__(self, disclosure: Disclosure, hidden: str):
        self.disclosure = disclosure
        self.hidden_text = hidden
        self.hidden = 0

    def count(self, key: Key) -> str:
        """A count of the period's figures: "<k" when small, "hidden" when hidden to protect
        another cell."""
        self.hidden += self.disclosure.hidden(key)
        return self.disclosure.text(key, self.hidden_text)

    def small(self, value: int) -> str:
        """A count that adds up to nothing published (a floor cell): "<k" when small."""
        self.hidden += is_small(value, self.disclosure.k)
        return suppressed(value, self.disclosure.k)

    def derived(self, text: str, *keys: Key) -> str:
        """``text``, a figure computed from the counts of ``keys``, unless one is hidden."""
        if self.disclosure.any_hidden(*keys):
            self.hidden += 1
            return self.hidden_text
        return text


def _when(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz)
    offset = f"{local:%z}"
    return f"{local:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else ""


def _amount(value: float) -> str:
    return f"{value:.0f}" if value.is_integer() else f"{value:.2f}"


# The counts the repeat rate and its false repeats are computed from (over identified visits:
# visits less those of unknown identity), so either would give a hidden one of them away.
_REPEAT_COUNTS: tuple[Key, ...] = (("repeat",), ("visits",), ("unknown",))


def _tables(
    analytics: Analytics, figures: Figures, text: dict[str, str], cells: _Cells
) -> list[_Table]:
    def words(value: str) -> str:
        return text.get(value, value)  # gender and "unknown"; age bands stay as they are

    names = analytics.camera_names()  # cameras by the names the operator gave them
    bucket = figures.bucket
    visits, repeats = figures.repeat.visits, figures.repeat.repeat_visits
    unknown, identified = figures.repeat.unknown_visits, figures.repeat.identified_visits
    converted = figures.conversion.converted
    tables = [
        _Table(
            text[f"over_time_{bucket}"],
            (
                text[f"col_{bucket}"],
                text["col_visits"],
                text["col_new"],
                text["col_repeat"],
                text["col_unknown_identity"],
            ),
            [
                (
                    f"{b.start:{_BUCKET_FORMAT[bucket]}}",
                    cells.count(("bucket", i, "visits")),
                    *(cells.count(("bucket", i, kind)) for kind in VISIT_KINDS),
                )
                for i, b in enumerate(figures.over_time)
            ],
        ),
        _Table(
            text["totals"],
            (
                text["col_visits"],
                text["col_repeat"],
                text["col_repeat_rate"],
                text["col_unknown"],
                text["col_unknown_share"],
                text["col_false_repeats"],
                text["col_converted"],
                text["col_conversion"],
            ),
            [
                (
                    cells.count(("visits",)),
                    cells.count(("repeat",)),
                    cells.derived(_rate(repeats, identified), *_REPEAT_COUNTS),
                    cells.count(("unknown",)),
                    cells.derived(_rate(unknown, visits), ("unknown",), ("visits",)),
                    cells.derived(f"{figures.repeat.expected_false_repeats:.2f}", *_REPEAT_COUNTS),
                    cells.count(("converted",)),
                    cells.derived(_rate(converted, visits), ("converted",), ("visits",)),
                )
            ],
        ),
        _Table(
            text["frequency"],
            (text["col_visit_number"], text["col_visits"]),
            [
                (cell.label, cells.count(("frequency", i)))
                for i, cell in enumerate(figures.frequency)
            ],
        ),
        _Table(
            text["demographics"],
            (text["col_age"], text["col_gender"], text["col_visits"]),
            [
                (
                    words(cell.age_band),
                    words(cell.gender),
                    cells.count(("segment", cell.age_band, cell.gender)),
                )
                for cell in figures.demographics
            ],
        ),
        _Table(
            text["dwell"],
            (text["col_dwell"], text["col_visits"]),
            [(cell.label, cells.count(("dwell", i))) for i, cell in enumerate(figures.dwell)],
        ),
        _Table(
            text["spend"],
            (
                text["col_age"],
                text["col_gender"],
                text["col_visits"],
                text["col_converted"],
                text["col_conversion"],
                text["col_spend"],
            ),
            [
                (
                    words(cell.age_band),
                    words(cell.gender),
                    cells.count(("segment", cell.age_band, cell.gender)),
                    cells.count(("converted", cell.age_band, cell.gender)),
                    cells.derived(
                        _rate(cell.converted, cell.visits),
                        ("converted", cell.age_band, cell.gender),
                        ("segment", cell.age_band, cell.gender),
                    ),
                    # The amount is what the converted visits spent: hidden with their count.
                    cells.derived(_amount(cell.spend), ("converted", cell.age_band, cell.gender)),
                )
                for cell in figures.spend
            ],
        ),
        _Table(
            text["zones"],
            (text["col_camera"], text["col_zone"], text["col_visits"], text["col_zone_dwell"]),
            [
                (
                    names.get(zone.camera_id, str(zone.camera_id)),
                    zone.zone,
                    cells.count(("zone", zone.camera_id, zone.zone)),
                    cells.derived(
                        f"{zone.mean_dwell_seconds / 60:.1f}", ("zone", zone.camera_id, zone.zone)
                    ),
                )
                for zone in figures.zones
            ],
        ),
    ]
    tables.append(
        _Table(
            text["lines"],
            (text["col_camera"], text["col_line"], text["col_in"], text["col_out"]),
            [
                (
                    names.get(line.camera_id, str(line.camera_id)),
                    line.line,
                    cells.count(("line", line.camera_id, line.line, "in")),
                    cells.count(("line", line.camera_id, line.line, "out")),
                )
                for line in figures.lines
            ]
            + [("", text["people"], cells.count(("people",)), "")],
        )
    )
    heat_rows = []
    period = figures.period
    for camera in analytics.heatmap_cameras(period):
        heatmap = analytics.heatmap(period, camera)
        for y, row in enumerate(heatmap.cells):
            heat_rows += [
                (names.get(camera, str(camera)), str(x + 1), str(y + 1), cells.small(visits))
                for x, visits in enumerate(row)
                if visits
            ]
    tables.append(
        _Table(
            text["heat"].format(n=HEAT_CELLS),
            (text["col_camera"], text["col_column"], text["col_row"], text["col_visits"]),
            heat_rows,
        )
    )
    floor = analytics.floor_heatmap(period)
    tables.append(
        _Table(
            text["floor_heat"].format(n=HEAT_CELLS),
            (text["col_column"], text["col_row"], text["col_visits"]),
            [
                (str(x + 1), str(y + 1), cells.small(visits))
                for y, row in enumerate(floor.cells)
                for x, visits in enumerate(row)
                if visits
            ],
        )
    )
    return tables


def _csv_bytes(rows: Sequence[Row]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    # The byte-order mark tells Excel the file is UTF-8; without it Japanese turns to mojibake.
    return buffer.getvalue().encode("utf-8-sig")


def _write(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _layout(title: str, about: Sequence[Row], tables: Sequence[_Table]) -> list[Row]:
    rows: list[Row] = [(title,), *about]
    for table in tables:
        rows += [(), (table.title,), table.header, *table.rows]
    return rows


def write_csv(
    path: Path, analytics: Analytics, period: Period, language: Language
) -> ExportSummary:
    """Write the period's aggregates to ``path`` (whole or not at all); ExportError when the
    file cannot be written."""
    text = CATALOGUE[language]
    figures = analytics.figures(period)
    cells = _Cells(figures.disclosure(analytics.k), text["hidden"])
    names = {store.store_id: store.name for store in analytics.stores()}
    store = names.get(period.store_id) if period.store_id is not None else None
    versions = analytics.notice_versions(period)
    tables = _tables(analytics, figures, text, cells)
    about: list[Row] = [
        (text["from"], _when(period.start, analytics.tz)),
        (text["to"], _when(period.end, analytics.tz)),
        (text["store"], store or text["all_stores"]),
        (text["notice"], ", ".join(map(str, versions)) or text["no_notice"]),
        (text["generated"], _when(datetime.now(UTC), analytics.tz)),
        (text["small_groups"], text["small_note"].format(k=analytics.k)),
        (text["days"], text["daily_note"]),
    ]
    data = _csv_bytes(_layout(text["title"], about, tables))
    _write(path, data)
    log.info("CSV export of %s written to %s (%s)", period, path, language)
    return ExportSummary(
        path=path,
        format="csv",
        language=language,
        period=period,
        store=store,
        notice_versions=versions,
        tables=len(tables),
        suppressed_cells=cells.hidden,
        bytes=len(data),
    )


def write_incident_csv(
    path: Path, report: IncidentReport, language: Language, tz: tzinfo | None = None
) -> None:
    """Write the incident report (G-15) to ``path``. Its counts are exact: they describe what
    is held, not groups of people, so nothing is suppressed."""
    text = CATALOGUE[language]

    def moment(value: datetime | None) -> str:
        return _when(value, tz) if value is not None else ""

    def kind(name: str) -> str:
        return text.get(name, name)

    about: list[Row] = [
        (text["generated"], moment(report.generated_at)),
        (
            text["incident_notice"],
            str(report.notice_version) if report.notice_version else text["no_notice"],
        ),
    ]
    header = (text["col_kind"], text["col_count"], text["col_oldest"], text["col_newest"])
    summary = [
        (kind(r.kind), str(r.total), moment(r.oldest), moment(r.newest)) for r in report.records
    ]
    summary.append(
        (text["all_records"], str(report.total), moment(report.oldest), moment(report.newest))
    )
    months = [
        (kind(r.kind), month.month, str(month.count))
        for r in report.records
        for month in r.by_month
    ]
    tables = [
        _Table(text["incident_summary"], header, summary),
        _Table(
            text["incident_months"],
            (text["col_kind"], text["col_month"], text["col_count"]),
            months,
        ),
    ]
    _write(path, _csv_bytes(_layout(text["incident_title"], about, tables)))
    log.info("incident report written to %s (%d records)", path, report.total)
