"""Purchases from the POS (G-05): time, register, amount and category, never member data.

A POS export is a CSV file with a header row. This module reads it in the encodings and
delimiters Japanese registers write, keeps only four things of each sale (when, which register,
how much, which department) and drops every other column, telling the operator which and why:

* personal by header: member, loyalty or point card numbers and customer IDs (``member_id``),
  card numbers (``card``), names and kana (``name``), phone (``phone``), e-mail (``email``),
  addresses and postcodes (``address``), birthdays (``birth``), English and Japanese spellings;
* personal by value: a column with an innocent header ("memo") but an e-mail address or phone
  number in any row is dropped as ``email`` or ``phone``;
* anything else that is not one of the four mapped columns (``unmapped``): free text can hold
  names that no pattern recognises, so nothing is kept just because it looked harmless.

A dropped column's values never leave the parser: they are not stored, logged, put in messages
or exceptions, or returned in a preview. Only their headers are reported.

A purchase is linked to a visit only when exactly one customer visit of the store was seen by
the register's camera (``register_camera``) within the tolerance of the sale: a wrong link is
worse than none, since spend and conversion statistics would silently blame the wrong visit.
Staff and opted-out visitors never get purchases.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import hashlib
import io
import json
import logging
import math
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from itertools import islice
from pathlib import Path
from typing import Literal

import sqlite_utils

from desktopapp.core.notice import NoticeStore
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import immediate_transaction
from desktopapp.core.store.zones import CameraZones, camera_zones

log = logging.getLogger(__name__)

DropReason = Literal["member_id", "card", "name", "phone", "email", "address", "birth", "unmapped"]

RowProblemCode = Literal[
    "field_count",
    "time_empty",
    "time_unreadable",
    "date_empty",
    "date_unreadable",
    "amount_empty",
    "amount_not_number",
]
_ROW_MESSAGES: dict[RowProblemCode, str] = {
    "field_count": "the row has {found} fields where the header has {expected}",
    "time_empty": "the time of sale is empty",
    "time_unreadable": "the time of sale cannot be read",
    "date_empty": "the date is empty",
    "date_unreadable": "the date cannot be read",
    "amount_empty": "the amount is empty",
    "amount_not_number": "the amount is not a number",
}

DEFAULT_TOLERANCE = timedelta(minutes=2)
SAMPLE_ROWS = 10
# Enough lines for csv.Sniffer to see the pattern; it slows down badly on large samples.
_SNIFF_CHARS = 8192
_DELIMITERS = (",", "\t", ";")
# Outside this range a "year" is a misread number, and the local-time conversion of years
# before 1970 fails on some platforms.
_YEARS = range(1970, 3000)
_MAX_AMOUNT = 1e12


class PosImportError(Exception):
    """The file cannot be used at all; ``str()`` says why in one plain English sentence.

    ``code`` names the problem and ``params`` its details (never a value of the file), so that
    the GUI can say it in the operator's language."""

    def __init__(self, message: str, code: str, **params: str):
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Header names in the file. ``date`` is set when the date and the time of day of a sale
    are in separate columns (``time`` is then the time-of-day column)."""

    time: str
    amount: str
    register: str | None
    category: str | None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class DroppedColumn:
    header: str
    reason: DropReason


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int  # 1-based line of the file where the row starts
    code: RowProblemCode
    found: int = 0  # fields found, for "field_count"
    expected: int = 0  # fields the header names, for "field_count"

    @property
    def message(self) -> str:
        """In English, for the command line and the log; never quotes a value of the file."""
        return _ROW_MESSAGES[self.code].format(found=self.found, expected=self.expected)


@dataclass(frozen=True, slots=True)
class PosPreview:
    """What the import would keep. With a mapping, the kept columns are the mapped ones; without
    one (no time or amount column recognised), every column that is not personal, so that the
    operator can choose. ``sample_rows`` holds only the kept columns, named by ``kept``."""

    encoding: str
    delimiter: str
    headers: tuple[str, ...]
    mapping: ColumnMapping | None
    dropped: tuple[DroppedColumn, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    total_rows: int
    kept: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PosImportResult:
    import_id: int
    imported: int
    linked: int
    problems: tuple[RowProblem, ...]
    dropped: tuple[DroppedColumn, ...]


_REASON_WORDS: dict[DropReason, str] = {
    "member_id": "member or customer numbers",
    "card": "card numbers",
    "name": "names",
    "phone": "phone numbers",
    "email": "e-mail addresses",
    "address": "addresses",
    "birth": "birth dates",
    "unmapped": "data that is not imported",
}

# Matched against the compact header (see _compact), in this order: "会員名" is a name before
# it is a member field, "メールアドレス" an e-mail before it is an address.
_HEADER_REASONS: tuple[tuple[DropReason, re.Pattern[str]], ...] = (
    ("email", re.compile(r"mail|メール|メアド")),
    (
        "phone",
        re.compile(r"phone|mobile|tel(?:no|num|number|番号)?\d*$|^fax|fax$|電話|携帯|連絡先"),
    ),
    ("birth", re.compile(r"birth|^dob$|誕生|生年月日|生まれ")),
    (
        "address",
        re.compile(
            r"address|^addr|addr$|zip|post(?:al)?code|^postal|住所|郵便|〒|所在地|番地"
            r"|都道府県|市区町村|届け?先"
        ),
    ),
    (
        "name",
        re.compile(
            r"^(?:full|first|last|given|family|middle|sur|fore|customer|member|client|buyer"
            r"|user|card|cardholder|holder)?names?$|kana|furigana|氏名|名前|フリガナ|ふりがな"
            r"|カナ|^[姓名]$|^(?:せい|めい|セイ|メイ)$|宛名|顧客名|会員名|お客様名|購入者"
        ),
    ),
    (
        "member_id",
        re.compile(
            r"member|loyalty|pointcard|ポイントカード|ポイント(?:番号|no|id)|customer|^cust"
            r"|client|userid|会員|顧客|お客様|客番|客id|客コード"
        ),
    ),
    ("card", re.compile(r"card|credit|^pan$|カード|クレジット")),
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Column roles: exact compact headers in order of preference, then parts a header may contain.
_STAMP_HEADERS = (
    _names(
        "datetime timestamp 日時 取引日時 売上日時 販売日時 会計日時 精算日時 購入日時 "
        "transactiondatetime saledatetime salesdatetime soldat purchasedat"
    ),
    _names("日時 datetime timestamp"),
)
_CLOCK_HEADERS = (
    _names(
        "time 時刻 時間 取引時刻 売上時刻 販売時刻 会計時刻 取引時間 "
        "transactiontime saletime salestime"
    ),
    _names("時刻 time"),
)
_DATE_HEADERS = (
    _names(
        "date 日付 取引日 売上日 販売日 会計日 営業日 年月日 "
        "transactiondate saledate salesdate businessdate"
    ),
    _names("日付 date"),
)
_AMOUNT_HEADERS = (
    _names(
        "税込金額 税込売上金額 税込合計 税込合計金額 売上金額 合計金額 取引金額 会計金額 支払金額 "
        "お会計 金額 合計 売上 amount total totalamount grandtotal sales salesamount saleamount "
        "price totalprice"
    ),
    _names("税込 金額 合計 amount total"),
)
_REGISTER_HEADERS = (
    _names(
        "register registerno registernumber registerid pos posno posid till tillno terminal "
        "terminalno terminalid lane checkout レジ レジ番号 レジno レジid レジ名 pos番号 pos端末 "
        "端末 端末番号 端末no"
    ),
    _names("レジ register 端末 till"),
)
_CATEGORY_HEADERS = (
    _names(
        "category categoryname department departmentname dept 部門 部門名 部門コード カテゴリ "
        "カテゴリー カテゴリ名 カテゴリー名 分類 分類名 大分類 中分類 小分類 商品分類 商品カテゴリ "
        "商品区分 class"
    ),
    _names("部門 カテゴリ 分類 category department"),
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Dash-like characters people type in phone numbers; NFKC leaves these alone.
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ー", "-"))
# Japanese numbers (03-1234-5678, 090 1234 5678, (03)1234-5678, 09012345678) and international
# ones (+81-90-1234-5678). The digit count is checked separately. Not preceded by a digit, "+"
# or "-", so the "+09:00" of an ISO time or the middle of a longer code never matches.
_PHONE = re.compile(
    r"(?<![\d+-])(?:"
    r"\+\d{1,3}[-\s]?(?:\(0\)\s?)?\d{1,4}[-\s]?\d{1,4}[-\s]?\d{4}"
    r"|\(0\d{1,4}\)\s?\d{1,4}-\d{4}"
    r"|0\d{1,4}([-\s])\d{1,4}\1\d{3,4}"
    r"|0[1-9]\d{8,9}"
    r")(?![\d-])"
)

_YMD = r"(?P<y>\d{4})[-/.年](?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:\s*\([月火水木金土日]\))?"
_YMD_COMPACT = r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})"
_HMS = r"(?P<h>\d{1,2})[:時](?P<mi>\d{1,2})(?:[:分](?P<s>\d{1,2})(?:\.(?P<f>\d{1,6})\d*)?)?[分秒]?"
_HMS_COMPACT = r"(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?"
_ZONE = r"(?:\s*(?P<z>Z|[+-]\d{2}:?\d{2}))?"
_STAMPS = (
    re.compile(_YMD + r"\s*T?\s*" + _HMS + _ZONE),
    re.compile(_YMD_COMPACT + r"\s*T?\s*" + _HMS_COMPACT + _ZONE),
)
_DATES = (re.compile(_YMD), re.compile(_YMD_COMPACT))
_CLOCKS = (re.compile(_HMS), re.compile(_HMS_COMPACT))

_AMOUNT_POINT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
# 12,50 or 1.234,50: the decimal comma of files from semicolon-delimited locales.
_AMOUNT_COMMA = re.compile(r"\d{1,3}(?:\.\d{3})*,\d{1,2}|\d+,\d{1,2}")
_MINUS = "-−▲△"
# In Shift_JIS the yen sign is byte 0x5C, which cp932 decodes as a backslash.
_CURRENCY = "¥$\\"


# --- reading the file ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Table:
    encoding: str
    delimiter: str
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # non-blank records: (first line, fields)
    sha256: str  # of the file's bytes


def _norm(text: str) -> str:
    """Full-width digits, letters and signs as ASCII (NFKC), surrounding space removed."""
    return unicodedata.normalize("NFKC", text).strip()


def _compact(header: str) -> str:
    return re.sub(r"[\s_\-./・:()\[\]#]+", "", unicodedata.normalize("NFKC", header).casefold())


def _read_text(path: Path) -> tuple[str, str, str]:
    """(text, encoding, SHA-256 of the bytes)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PosImportError(
            f"The file {path.name} cannot be read ({exc.strerror}).",
            "unreadable",
            file=path.name,
            reason=str(exc.strerror or exc),
        ) from exc
    text: str | None = None
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(bom):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise PosImportError(
                    f"The file starts like {encoding} text but is not valid {encoding}.",
                    "bad_encoding",
                    encoding=encoding,
                ) from exc
            break
    else:
        # Shift_JIS/cp932 decodes almost any byte soup, so UTF-8 must be tried first; Japanese
        # text in cp932 is practically never valid UTF-8.
        for encoding in ("utf-8", "cp932"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        raise PosImportError(
            "The file is not text in UTF-8 or Shift_JIS (cp932), the encodings POS exports use.",
            "not_text",
        )
    if "\x00" in text:
        raise PosImportError("The file holds binary data, not CSV text.", "binary")
    return text, encoding, hashlib.sha256(raw).hexdigest()


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV records with the line each starts on (quoted fields may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise PosImportError(
                f"Line {end + 1} cannot be read as CSV ({exc}).", "csv_syntax", line=str(end + 1)
            ) from exc
        start, end = end + 1, reader.line_num
        if any(field.strip() for field in fields):
            yield start, fields


def _header_cells(fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(cell.replace("\ufeff", "").strip() for cell in fields)


def _choose_delimiter(text: str, mapping: ColumnMapping | None) -> str:
    """The delimiter whose header row holds the columns to import; failing that, the one
    giving the most columns. csv.Sniffer goes first but is easily fooled by commas in amounts
    or a lone tab, so its answer is checked like any other candidate."""
    sample = text[:_SNIFF_CHARS]
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    candidates = [sniffed] if sniffed else []
    candidates += [d for d in _DELIMITERS if d != sniffed]
    widest, width = candidates[0], 0
    for delimiter in candidates:
        first = next(_records(text, delimiter), None)
        headers = _header_cells(first[1]) if first else ()
        if _usable_header(headers, mapping):
            return delimiter
        if len(headers) > width:
            widest, width = delimiter, len(headers)
    return widest


def _usable_header(headers: tuple[str, ...], mapping: ColumnMapping | None) -> bool:
    if mapping is not None:
        return all(name in headers for name in _mapped_names(mapping))
    stamp, clock, day, amount = _locate(headers, _personal_headers(headers))
    return amount is not None and (stamp, clock, day) != (None, None, None)


def _load(path: Path, mapping: ColumnMapping | None) -> _Table:
    text, encoding, sha256 = _read_text(path)
    delimiter = _choose_delimiter(text, mapping)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise PosImportError("The file is empty.", "empty")
    headers = _header_cells(first[1])
    if len(headers) < 2:
        raise PosImportError(
            "Only one column was found: the file needs at least a time and an amount column, "
            "separated by commas, tabs or semicolons.",
            "one_column",
        )
    # A file without a header row would make a sale (an e-mail or phone number even) a
    # "column name" that is reported and stored.
    if any(_stamp(cell) or _date(cell) or (cell and _value_reason(cell)) for cell in headers):
        raise PosImportError(
            "The first line holds data, not column names: the file needs a header row.",
            "no_header",
        )
    rows = tuple((line, tuple(fields)) for line, fields in records)
    if not rows:
        raise PosImportError("The file has column names but no sales.", "no_rows")
    return _Table(encoding, delimiter, headers, rows, sha256)


def _fit(fields: tuple[str, ...], width: int) -> tuple[str, ...] | None:
    """The row's fields, or None if it does not have one per column. Trailing empty fields
    (spreadsheets add them) are tolerated."""
    if len(fields) == width:
        return fields
    if len(fields) > width and not any(f.strip() for f in fields[width:]):
        return fields[:width]
    return None


def _well_formed(table: _Table) -> Iterator[tuple[int, tuple[str, ...]]]:
    width = len(table.headers)
    for line, fields in table.rows:
        fitted = _fit(fields, width)
        if fitted is not None:
            yield line, fitted


# --- which columns are kept -----------------------------------------------------------------


def _header_reason(header: str) -> DropReason | None:
    compact = _compact(header)
    for reason, pattern in _HEADER_REASONS:
        if pattern.search(compact):
            return reason
    return None


def _personal_headers(headers: Sequence[str]) -> dict[int, DropReason]:
    found: dict[int, DropReason] = {}
    for index, header in enumerate(headers):
        reason = _header_reason(header)
        if reason is not None:
            found[index] = reason
    return found


def _value_reason(value: str) -> DropReason | None:
    """``email`` or ``phone`` if the value holds an e-mail address or a phone number."""
    text = unicodedata.normalize("NFKC", value)
    if "@" in text and _EMAIL.search(text):
        return "email"
    for match in _PHONE.finditer(text.translate(_DASHES)):
        number = match.group()
        digits = sum(c.isdigit() for c in number)
        if (9 <= digits <= 15) if number.startswith("+") else (10 <= digits <= 11):
            return "phone"
    return None


def _value_reasons(
    rows: Sequence[tuple[int, tuple[str, ...]]], columns: Iterable[int]
) -> dict[int, DropReason]:
    """Columns with an e-mail address or phone number in any row: one is enough."""
    pending = set(columns)
    found: dict[int, DropReason] = {}
    for _line, fields in rows:
        for index in list(pending):
            value = fields[index]
            reason = _value_reason(value) if value.strip() else None
            if reason is not None:
                found[index] = reason
                pending.discard(index)
        if not pending:
            break
    return found


def _find(
    compacts: Sequence[str], free: Iterable[int], headers: tuple[Sequence[str], Sequence[str]]
) -> int | None:
    """The first free column whose header is the most preferred exact name, else the first
    containing one of the parts."""
    exact, parts = headers
    candidates = list(free)
    for name in exact:
        for index in candidates:
            if compacts[index] == name:
                return index
    for part in parts:
        for index in candidates:
            if part in compacts[index]:
                return index
    return None


def _locate(
    headers: Sequence[str], excluded: Iterable[int]
) -> tuple[int | None, int | None, int | None, int | None]:
    """By header: (date-and-time column, time-of-day column, date column, amount column)."""
    compacts = [_compact(h) for h in headers]
    taken = set(excluded)

    def find(names: tuple[Sequence[str], Sequence[str]]) -> int | None:
        found = _find(compacts, (i for i in range(len(headers)) if i not in taken), names)
        if found is not None:
            taken.add(found)
        return found

    stamp = find(_STAMP_HEADERS)
    clock = find(_CLOCK_HEADERS) if stamp is None else None
    day = find(_DATE_HEADERS) if stamp is None else None
    return stamp, clock, day, find(_AMOUNT_HEADERS)


@dataclass(frozen=True, slots=True)
class _Columns:
    time: int
    date: int | None
    amount: int
    register: int | None
    category: int | None

    @property
    def parsed(self) -> set[int]:
        """Columns whose values are stored only as a time or a number, never as text."""
        return {i for i in (self.time, self.date, self.amount) if i is not None}

    @property
    def used(self) -> set[int]:
        return self.parsed | {i for i in (self.register, self.category) if i is not None}

    def mapping(self, headers: tuple[str, ...]) -> ColumnMapping:
        def name(index: int | None) -> str | None:
            return None if index is None else headers[index]

        return ColumnMapping(
            time=headers[self.time],
            amount=headers[self.amount],
            register=name(self.register),
            category=name(self.category),
            date=name(self.date),
        )


def _mapped_names(mapping: ColumnMapping) -> list[str]:
    names = [mapping.time, mapping.amount, mapping.register, mapping.category, mapping.date]
    return [name for name in names if name is not None]


def _holds_dates(rows: Sequence[tuple[int, tuple[str, ...]]], column: int) -> bool:
    """Whether a "time" column carries the date as well (judged on its first values)."""
    values = [fields[column] for _line, fields in rows if fields[column].strip()][:SAMPLE_ROWS]
    return bool(values) and sum(_stamp(v) is not None for v in values) * 2 > len(values)


def _guess(
    headers: tuple[str, ...],
    personal: dict[int, DropReason],
    rows: Sequence[tuple[int, tuple[str, ...]]],
) -> tuple[int, int | None, int] | None:
    """(time, date, amount) columns from the headers, or None if either is not found."""
    stamp, clock, day, amount = _locate(headers, personal)
    if amount is None:
        return None
    if stamp is not None:
        return stamp, None, amount
    if clock is not None and day is not None and not _holds_dates(rows, clock):
        return clock, day, amount
    time_column = clock if clock is not None else day
    return None if time_column is None else (time_column, None, amount)


def _explicit(
    headers: tuple[str, ...], mapping: ColumnMapping, personal: dict[int, DropReason]
) -> _Columns:
    if not mapping.time or not mapping.amount:
        raise PosImportError(
            "Choose the columns with the time of sale and the amount.", "choose_columns"
        )
    names = _mapped_names(mapping)
    if len(set(names)) != len(names):
        raise PosImportError("Each column can be used for one thing only.", "column_twice")
    for name in names:
        if name not in headers:
            raise PosImportError(
                f"The file has no column named '{name}'.", "no_such_column", name=name
            )
        reason = personal.get(headers.index(name))
        if reason is not None:
            raise PosImportError(
                f"The column '{name}' holds {_REASON_WORDS[reason]} and is never imported.",
                "personal_column",
                name=name,
                reason=reason,
            )

    def index(name: str | None) -> int | None:
        return None if name is None else headers.index(name)

    return _Columns(
        time=headers.index(mapping.time),
        date=index(mapping.date),
        amount=headers.index(mapping.amount),
        register=index(mapping.register),
        category=index(mapping.category),
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    columns: _Columns | None
    dropped: tuple[DroppedColumn, ...]
    kept: tuple[int, ...]  # column indexes whose values may be shown or stored, in file order


def _plan(table: _Table, mapping: ColumnMapping | None, *, required: bool) -> _Plan:
    headers = table.headers
    everything = range(len(headers))
    personal = _personal_headers(headers)
    rows = list(_well_formed(table))
    columns: _Columns | None
    if mapping is not None:
        columns = _explicit(headers, mapping, personal)
        flagged = _value_reasons(
            rows, (i for i in everything if i not in personal and i not in columns.parsed)
        )
        for index in (columns.register, columns.category):
            if index is not None and index in flagged:
                raise PosImportError(
                    f"The column '{headers[index]}' holds {_REASON_WORDS[flagged[index]]} "
                    "and is never imported.",
                    "personal_column",
                    name=headers[index],
                    reason=flagged[index],
                )
    else:
        guessed = _guess(headers, personal, rows)
        parsed = {i for i in guessed if i is not None} if guessed else set()
        flagged = _value_reasons(
            rows, (i for i in everything if i not in personal and i not in parsed)
        )
        if guessed is None:
            if required:
                raise _unmapped_error(headers, personal)
            columns = None
        else:
            compacts = [_compact(h) for h in headers]
            free = [i for i in everything if i not in personal and i not in flagged]
            register = _find(compacts, (i for i in free if i not in parsed), _REGISTER_HEADERS)
            category = _find(
                compacts, (i for i in free if i not in parsed | {register}), _CATEGORY_HEADERS
            )
            time_column, date_column, amount = guessed
            columns = _Columns(time_column, date_column, amount, register, category)
    dropped: list[DroppedColumn] = []
    kept: list[int] = []
    for index in everything:
        reason = personal.get(index) or flagged.get(index)
        if reason is None and columns is not None and index not in columns.used:
            reason = "unmapped"
        if reason is None:
            kept.append(index)
        else:
            dropped.append(DroppedColumn(headers[index], reason))
    return _Plan(columns, tuple(dropped), tuple(kept))


def _unmapped_error(headers: tuple[str, ...], personal: dict[int, DropReason]) -> PosImportError:
    stamp, clock, day, _amount_column = _locate(headers, personal)
    if (stamp, clock, day) == (None, None, None):
        return PosImportError(
            "No column with the time of sale was found (headers such as 日時, 取引日時, "
            "datetime, or 日付 and 時刻).",
            "no_time_column",
        )
    return PosImportError(
        "No column with the amount was found (headers such as 金額, 合計, amount or total).",
        "no_amount_column",
    )


# --- values ---------------------------------------------------------------------------------


def _day(groups: dict[str, str | None]) -> date | None:
    year, month, day = (int(groups[k] or 0) for k in ("y", "mo", "d"))
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _clock(groups: dict[str, str | None]) -> time | None:
    fraction = (groups.get("f") or "0").ljust(6, "0")
    try:
        return time(
            int(groups["h"] or 0), int(groups["mi"] or 0), int(groups.get("s") or 0), int(fraction)
        )
    except ValueError:
        return None


def _zone(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[-2:])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _stamp(text: str) -> datetime | None:
    """A date with a time of day (aware if the text names its offset), or None."""
    value = _norm(text)
    for pattern in _STAMPS:
        match = pattern.fullmatch(value)
        if match is None:
            continue
        groups = match.groupdict()
        day, clock = _day(groups), _clock(groups)
        if day is None or clock is None:
            return None
        try:
            zone = _zone(groups["z"])
        except ValueError:
            return None
        return datetime.combine(day, clock, zone)
    return None


def _date(text: str) -> date | None:
    value = _norm(text)
    for pattern in _DATES:
        match = pattern.fullmatch(value)
        if match is not None:
            return _day(match.groupdict())
    # Spreadsheets often write a date cell as midnight: "2026/11/22 0:00:00".
    stamp = _stamp(value)
    return None if stamp is None else stamp.date()


def _time_of_day(text: str) -> time | None:
    value = _norm(text)
    for pattern in _CLOCKS:
        match = pattern.fullmatch(value)
        if match is not None:
            return _clock(match.groupdict())
    stamp = _stamp(value)  # a time cell written with a dummy date
    return None if stamp is None else stamp.time()


def _utc(moment: datetime, tz: tzinfo | None) -> datetime | None:
    """A POS writes local time: naive times are taken in ``tz`` (default: this PC's zone)."""
    try:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
        return moment.astimezone(UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _amount(text: str) -> float | None:
    value = _norm(text).replace(" ", "")
    # A phone number is not an amount, even if it is all digits.
    if not value or _value_reason(value):
        return None
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1]
    value = value.removesuffix("円")
    while value[:1] and value[0] in _MINUS + _CURRENCY + "+":
        negative = negative or value[0] in _MINUS
        value = value[1:]
    if _AMOUNT_POINT.fullmatch(value):
        number = float(value.replace(",", ""))
    elif _AMOUNT_COMMA.fullmatch(value):
        number = float(value.replace(".", "").replace(",", "."))
    else:
        return None
    if not math.isfinite(number) or number >= _MAX_AMOUNT:
        return None
    return -number if negative else number


def _purchase(
    fields: tuple[str, ...], columns: _Columns, tz: tzinfo | None
) -> tuple[str, str, float, str] | RowProblemCode:
    """(at, register, amount, category) of a row, or what is wrong with it."""
    if columns.date is None:
        if not fields[columns.time].strip():
            return "time_empty"
        moment = _stamp(fields[columns.time])
        if moment is None:
            return "time_unreadable"
    else:
        if not fields[columns.date].strip():
            return "date_empty"
        if not fields[columns.time].strip():
            return "time_empty"
        day, clock = _date(fields[columns.date]), _time_of_day(fields[columns.time])
        if day is None:
            return "date_unreadable"
        if clock is None:
            return "time_unreadable"
        moment = datetime.combine(day, clock)
    at = _utc(moment, tz)
    if at is None:
        return "time_unreadable"
    if not fields[columns.amount].strip():
        return "amount_empty"
    amount = _amount(fields[columns.amount])
    if amount is None:
        return "amount_not_number"
    register = "" if columns.register is None else _norm(fields[columns.register])
    category = "" if columns.category is None else _norm(fields[columns.category])
    return at.isoformat(), register, amount, category


def _shown(value: str) -> str:
    """A sample cell as shown to the operator: blank if it holds contact data (possible only
    in a time or amount column, which are parsed rather than checked column-wide)."""
    return "" if _value_reason(value) else value.strip()


# --- public API -----------------------------------------------------------------------------


def preview_pos_csv(path: Path) -> PosPreview:
    """What importing ``path`` would do, with the best-guess mapping; nothing is written."""
    table = _load(path, None)
    plan = _plan(table, None, required=False)
    samples = tuple(
        tuple(_shown(fields[i]) for i in plan.kept)
        for _line, fields in islice(_well_formed(table), SAMPLE_ROWS)
    )
    return PosPreview(
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=table.headers,
        mapping=None if plan.columns is None else plan.columns.mapping(table.headers),
        dropped=plan.dropped,
        sample_rows=samples,
        total_rows=len(table.rows),
        kept=tuple(table.headers[i] for i in plan.kept),
    )


def find_store(db: sqlite_utils.Database, store: str) -> int | None:
    """The id of the store named ``store``, if there is one."""
    row = db.conn.execute("SELECT id FROM store WHERE name = ?", (store.strip(),)).fetchone()
    return None if row is None else int(row[0])


def find_or_create_store(db: sqlite_utils.Database, name: str, now: datetime) -> int:
    """The named store, created under the database's one operator (G-06) if new; the operator
    comes from the notice in force when there is none yet. Runs in the caller's transaction;
    PosImportError when there is neither an operator nor a notice to take one from."""
    found = find_store(db, name)
    if found is not None:
        return found
    conn = db.conn
    row = conn.execute("SELECT id FROM operator ORDER BY id LIMIT 1").fetchone()
    if row is None:
        notice = NoticeStore(db).current()
        operator = notice.profile.operator if notice is not None else ""
        if not operator:
            raise PosImportError(
                f"There is no store named '{name}' and no operator yet: save the notice "
                "profile before importing purchases.",
                "no_operator",
                store=name,
            )
        cursor = conn.execute(
            "INSERT INTO operator (name, share_gallery, created_at) VALUES (?, 0, ?)",
            (operator, now.isoformat()),
        )
        operator_id = int(cursor.lastrowid or 0)
    else:
        operator_id = int(row[0])
    cursor = conn.execute(
        "INSERT INTO store (operator_id, name, created_at) VALUES (?, ?, ?)",
        (operator_id, name, now.isoformat()),
    )
    log.info("store %r created", name)
    return int(cursor.lastrowid or 0)


def import_pos_csv(
    db: sqlite_utils.Database,
    path: Path,
    *,
    store: str,
    mapping: ColumnMapping | None = None,
    tolerance: timedelta = DEFAULT_TOLERANCE,
    tz: tzinfo | None = None,
    actor: str,
    audit: AuditLog,
) -> PosImportResult:
    """Import the sales of ``path`` into ``store`` in one transaction and link them to visits.

    Rows that cannot be read are reported with their line and skipped; PosImportError if the
    file cannot be used at all, and then nothing is written. Times without an offset are local
    time in ``tz`` (default: this PC's zone)."""
    if tolerance < timedelta(0):
        raise ValueError("the tolerance cannot be negative")
    name = store.strip()
    if not name:
        raise PosImportError("A store name is needed to import purchases.", "no_store")
    table = _load(path, mapping)
    plan = _plan(table, mapping, required=True)
    columns = plan.columns
    assert columns is not None  # required=True raised otherwise
    purchases: list[tuple[str, str, float, str]] = []
    problems: list[RowProblem] = []
    width = len(table.headers)
    for line, raw in table.rows:
        fields = _fit(raw, width)
        if fields is None:
            problems.append(RowProblem(line, "field_count", len(raw), width))
            continue
        outcome = _purchase(fields, columns, tz)
        if isinstance(outcome, str):
            problems.append(RowProblem(line, outcome))
        else:
            purchases.append(outcome)
    now = datetime.now(UTC)
    dropped_json = json.dumps(
        [{"header": d.header, "reason": d.reason} for d in plan.dropped], ensure_ascii=False
    )
    conn = db.conn
    with immediate_transaction(conn):
        earlier = conn.execute(
            "SELECT imported_at FROM pos_import WHERE sha256 = ? ORDER BY id LIMIT 1",
            (table.sha256,),
        ).fetchone()
        if earlier is not None:
            when = datetime.fromisoformat(earlier[0]).astimezone(tz)
            raise PosImportError(
                f"This file was imported already on {when:%Y-%m-%d %H:%M}; importing it again "
                "would count every sale twice.",
                "already_imported",
                when=f"{when:%Y-%m-%d %H:%M}",
            )
        store_id = find_or_create_store(db, name, now)
        cursor = conn.execute(
            "INSERT INTO pos_import (imported_at, source_file, rows, dropped_columns_json, "
            "sha256) VALUES (?, ?, ?, ?, ?)",
            (now.isoformat(), path.name, len(purchases), dropped_json, table.sha256),
        )
        import_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO purchase (import_id, store_id, at, register, amount, category) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(import_id, store_id, *purchase) for purchase in purchases],
        )
        linked = _link(conn, store_id, tolerance, import_id)
    result = PosImportResult(import_id, len(purchases), linked, tuple(problems), plan.dropped)
    audit.append(
        actor,
        "pos.import",
        {
            "file": path.name,
            "store": name,
            "import_id": import_id,
            "imported": result.imported,
            "linked": linked,
            "problems": len(problems),
            "dropped": [d.header for d in plan.dropped],
        },
    )
    log.info(
        "POS import %d: %d purchases, %d linked, %d rows skipped, %d columns dropped",
        import_id,
        result.imported,
        linked,
        len(problems),
        len(plan.dropped),
    )
    return result


def _link(
    conn: sqlite3.Connection, store_id: int, tolerance: timedelta, import_id: int | None
) -> int:
    """Link the store's unlinked purchases (of one import, or all) to visits; see the module
    docstring for the rule. Runs inside the caller's transaction."""
    watchers: dict[str, tuple[int, str | None]] = {
        str(register): (int(camera), zone)
        for register, camera, zone in conn.execute(
            "SELECT register, camera_id, zone FROM register_camera WHERE store_id = ?",
            (store_id,),
        )
    }
    if not watchers:
        return 0
    # A register watched by one zone of its camera: only points inside that zone count. A zone
    # removed from the camera since is treated as the whole picture rather than as nowhere.
    shapes = camera_zones(conn, (camera for camera, _zone in watchers.values()))
    areas: dict[str, str | None] = {
        register: zone
        if zone and any(z.name == zone for z in shapes.get(camera, CameraZones()).zones)
        else None
        for register, (camera, zone) in watchers.items()
    }
    # A file without a register column is from a store with one register: if the store maps
    # exactly one, that is the one.
    sole = next(iter(watchers)) if len(watchers) == 1 else None
    sql = "SELECT id, at, register FROM purchase WHERE store_id = ? AND visit_id IS NULL"
    params: list[object] = [store_id]
    if import_id is not None:
        sql += " AND import_id = ?"
        params.append(import_id)
    wanted: list[tuple[int, datetime, str]] = []
    for purchase_id, at, register in conn.execute(sql, params):
        watched = register if register in watchers else sole if register == "" else None
        if watched is not None:
            wanted.append((int(purchase_id), datetime.fromisoformat(at), watched))
    if not wanted:
        return 0
    # One query for the whole span rather than one per purchase: path_point has no index on
    # time, so each query would scan it.
    margin = tolerance + timedelta(seconds=1)
    earliest = min(at for _id, at, _register in wanted) - margin
    latest = max(at for _id, at, _register in wanted) + margin
    used = sorted({watchers[register][0] for _id, _at, register in wanted})
    points: dict[int, list[tuple[datetime, int, float, float]]] = {camera: [] for camera in used}
    for camera, at, visit_id, x, y in conn.execute(
        f"""SELECT pp.camera_id, pp.at, pp.visit_id, pp.x, pp.y FROM path_point AS pp
        JOIN visit AS v ON v.id = pp.visit_id
        LEFT JOIN visitor AS p ON p.id = v.visitor_id
        WHERE v.store_id = ? AND pp.camera_id IN ({", ".join("?" * len(used))})
            AND pp.at >= ? AND pp.at <= ?
            AND (v.visitor_id IS NULL OR p.kind = 'customer')""",
        (store_id, *used, earliest.isoformat(), latest.isoformat()),
    ):
        points[int(camera)].append((datetime.fromisoformat(at), int(visit_id), x, y))
    for seen in points.values():
        seen.sort()
    links: list[tuple[int, int]] = []
    for purchase_id, at, register in wanted:
        seen = points[watchers[register][0]]
        area, camera_shapes = areas[register], shapes.get(watchers[register][0], CameraZones())
        start = bisect.bisect_left(seen, at - tolerance, key=lambda point: point[0])
        stop = bisect.bisect_right(seen, at + tolerance, key=lambda point: point[0])
        visits = {
            visit_id
            for _at, visit_id, x, y in seen[start:stop]
            if area is None or any(z.name == area for z in camera_shapes.containing(x, y))
        }
        if len(visits) == 1:
            links.append((visits.pop(), purchase_id))
    conn.executemany("UPDATE purchase SET visit_id = ? WHERE id = ?", links)
    return len(links)


def link_purchases(db: sqlite_utils.Database, store_id: int, tolerance: timedelta) -> int:
    """(Re)link the store's unlinked purchases to visits, e.g. after visits were recorded or a
    register was given a camera; returns how many were linked. Existing links are kept."""
    if tolerance < timedelta(0):
        raise ValueError("the tolerance cannot be negative")
    with immediate_transaction(db.conn):
        linked = _link(db.conn, store_id, tolerance, None)
    log.info("linked %d purchases of store %d to visits", linked, store_id)
    return linked


@dataclass(frozen=True, slots=True)
class RegisterCamera:
    """``camera_id`` watches ``register`` of ``store``; with ``zone``, only visits seen inside
    that zone of the camera's picture (the checkout) are linked to its sales."""

    store: str
    register: str
    camera_id: int
    zone: str | None = None


def register_cameras(db: sqlite_utils.Database) -> list[RegisterCamera]:
    rows = db.execute(
        "SELECT store.name, register, camera_id, zone FROM register_camera "
        "JOIN store ON store.id = register_camera.store_id ORDER BY store.name, register"
    ).fetchall()
    return [RegisterCamera(str(s), str(r), int(c), z) for s, r, c, z in rows]


def set_register_camera(
    db: sqlite_utils.Database, store: str, register: str, camera_id: int, zone: str | None = None
) -> None:
    """Record that ``camera_id`` (as in path_point.camera_id) watches ``register`` of the
    existing store ``store``, optionally only in ``zone``. ValueError for an unknown store or
    an empty register."""
    label = _norm(register)
    if not label:
        raise ValueError("a register needs a name or number")
    if camera_id < 1:
        raise ValueError("camera numbers start at 1")
    zone = zone.strip() if zone and zone.strip() else None
    with immediate_transaction(db.conn):
        store_id = find_store(db, store)
        if store_id is None:
            raise ValueError(f"there is no store named '{store.strip()}'")
        db.conn.execute(
            "INSERT INTO register_camera (store_id, register, camera_id, zone) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (store_id, register) DO UPDATE SET camera_id = excluded.camera_id, "
            "zone = excluded.zone",
            (store_id, label, camera_id, zone),
        )
    log.info("register %r of store %d is watched by camera %d", label, store_id, camera_id)


def remove_register_camera(db: sqlite_utils.Database, store: str, register: str) -> None:
    """Forget which camera watches ``register``; links already made stay."""
    with immediate_transaction(db.conn):
        store_id = find_store(db, store)
        if store_id is not None:
            db.conn.execute(
                "DELETE FROM register_camera WHERE store_id = ? AND register = ?",
                (store_id, _norm(register)),
            )
