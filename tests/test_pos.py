"""Purchases from the POS (G-05) on real SQLite files and real CSV files in each encoding:
personal columns are dropped and their values found nowhere, bad rows are reported by line,
an import is all or nothing, purchases link to exactly one visit or none."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import tempfile
import tomllib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from hypothesis import given, settings
from hypothesis import strategies as st

from desktopapp.cli import main
from desktopapp.core.counting import Zone, ZoneKind
from desktopapp.core.floor import Space
from desktopapp.core.notice import NoticeProfile, NoticeStore
from desktopapp.core.pos import (
    ColumnMapping,
    DroppedColumn,
    DropReason,
    PosImportError,
    PosImportResult,
    RegisterCamera,
    RowProblem,
    find_store,
    import_pos_csv,
    link_purchases,
    preview_pos_csv,
    register_cameras,
    remove_register_camera,
    set_register_camera,
)
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.cameras import Camera, CameraStore
from desktopapp.core.store.crypto import Cipher, load_key
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.purge import purge_personal_data
from desktopapp.core.store.retention import RetentionPolicy, sweep
from tests.test_notice import COMPLETE

TOKYO = ZoneInfo("Asia/Tokyo")
STORE = "渋谷店"
WRITTEN = ("store", "operator", "pos_import", "purchase", "audit")


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def with_store(db: sqlite_utils.Database, name: str = STORE) -> int:
    """The operator and one store, as the recorder creates them."""
    db.conn.execute("INSERT INTO operator (name, created_at) VALUES ('Op', '2026-01-01')")
    store_id = db.conn.execute(
        "INSERT INTO store (operator_id, name, created_at) VALUES (1, ?, '2026-01-01')", (name,)
    ).lastrowid
    db.conn.commit()
    return int(store_id or 0)


def do_import(
    db: sqlite_utils.Database,
    path: Path,
    *,
    store: str = STORE,
    mapping: ColumnMapping | None = None,
) -> PosImportResult:
    return import_pos_csv(
        db, path, store=store, mapping=mapping, tz=TOKYO, actor="tester", audit=AuditLog(db)
    )


def rows(db: sqlite_utils.Database, sql: str, *params: object) -> list[tuple[object, ...]]:
    return [tuple(row) for row in db.conn.execute(sql, params)]


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {t: int(db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in WRITTEN}


def raw_bytes(data_dir: Path) -> bytes:
    """The database file and its WAL as they lie on disk."""
    wal = data_dir / (DB_FILE + "-wal")
    return (data_dir / DB_FILE).read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def jst(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 22, hour, minute, second, tzinfo=TOKYO)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# --- reading ------------------------------------------------------------------------------


def test_utf8_with_bom_and_english_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sales.csv",
        "Date Time,Register,Department,Total\r\n"
        '2026-11-22 13:05:07,1,Food,"¥1,200"\r\n'
        "2026-11-22T13:06:00+09:00,2,Drinks,-150\r\n",
        "utf-8-sig",
    )
    preview = preview_pos_csv(path)
    assert (preview.encoding, preview.delimiter, preview.total_rows) == ("utf-8-sig", ",", 2)
    assert preview.headers == ("Date Time", "Register", "Department", "Total")
    assert preview.mapping == ColumnMapping("Date Time", "Total", "Register", "Department")
    assert preview.dropped == ()
    assert preview.sample_rows[0] == ("2026-11-22 13:05:07", "1", "Food", "¥1,200")

    db = open_database(tmp_path / "data")
    with_store(db)
    result = do_import(db, path)
    assert (result.imported, result.problems, result.dropped) == (2, (), ())
    assert rows(db, "SELECT at, register, amount, category FROM purchase ORDER BY id") == [
        ("2026-11-22T04:05:07+00:00", "1", 1200.0, "Food"),
        ("2026-11-22T04:06:00+00:00", "2", -150.0, "Drinks"),  # a refund stays negative
    ]


def test_shift_jis_file_with_japanese_headers(tmp_path: Path) -> None:
    # "\\980" is how a Shift_JIS yen sign (byte 0x5C) reads back.
    path = write(
        tmp_path,
        "売上.csv",
        "売上日時,レジ番号,部門,税込金額\r\n"
        "2026/11/22 13:05,１,食品,￥１，２００\r\n"
        "2026年11月22日 13時06分,2,ﾄﾞﾘﾝｸ,\\980\r\n"
        "2026/11/22 13:07:30,2,食品,▲300\r\n",
        "cp932",
    )
    preview = preview_pos_csv(path)
    assert preview.encoding == "cp932"
    assert preview.mapping == ColumnMapping("売上日時", "税込金額", "レジ番号", "部門")

    db = open_database(tmp_path / "data")
    with_store(db)
    result = do_import(db, path)
    assert result.imported == 3
    assert rows(db, "SELECT at, register, amount, category FROM purchase ORDER BY id") == [
        ("2026-11-22T04:05:00+00:00", "1", 1200.0, "食品"),
        ("2026-11-22T04:06:00+00:00", "2", 980.0, "ドリンク"),
        ("2026-11-22T04:07:30+00:00", "2", -300.0, "食品"),
    ]


def test_tab_delimited_with_separate_date_and_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sales.tsv",
        "日付\t時刻\tレジ\t分類\t金額\n"
        "2026/11/22\t13:05\t1\t雑貨\t500\n"
        "2026/11/22(日)\t9:07:30\t1\t雑貨\t1,000円\n",
    )
    preview = preview_pos_csv(path)
    assert preview.delimiter == "\t"
    assert preview.mapping == ColumnMapping("時刻", "金額", "レジ", "分類", date="日付")
    db = open_database(tmp_path / "data")
    with_store(db)
    assert do_import(db, path).imported == 2
    assert rows(db, "SELECT at, amount FROM purchase ORDER BY id") == [
        ("2026-11-22T04:05:00+00:00", 500.0),
        ("2026-11-22T00:07:30+00:00", 1000.0),
    ]


def test_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path, "sales.csv", "time;amount;till\n2026-11-22 13:05;12,50;3\n")
    db = open_database(tmp_path / "data")
    with_store(db)
    assert do_import(db, path).imported == 1
    assert rows(db, "SELECT amount, register FROM purchase") == [(12.5, "3")]


# --- what is dropped ----------------------------------------------------------------------

PERSONAL_HEADERS: tuple[tuple[str, DropReason], ...] = (
    ("会員番号", "member_id"),
    ("member_id", "member_id"),
    ("氏名", "name"),
    ("フリガナ", "name"),
    ("email", "email"),
    ("memo", "email"),  # an innocent header over e-mail addresses
    ("電話", "phone"),
    ("note", "phone"),  # an innocent header over phone numbers
    ("住所", "address"),
    ("郵便番号", "address"),
    ("生年月日", "birth"),
    ("カード番号", "card"),
    ("商品名", "unmapped"),
)
PERSONAL_VALUES = (
    ("M9QZ0001", "LOYAL77X1", "山田太郎", "ヤマダタロウ", "hanako.x@example.jp",
     "call taro.k@example.com", "03-9876-5432", "", "東京都渋谷区神南9-8-7", "150-0041",
     "1980/04/01", "4111111111111111", "りんご"),
    ("M9QZ0002", "LOYAL77X2", "佐藤花子", "サトウハナコ", "sato.h@example.jp", "",
     "090-8765-4321", "０９０－１１２２－３３４４", "大阪府大阪市北区梅田7-7", "530-0001",
     "1975年12月24日", "5500005555555559", "みかん"),
)  # fmt: skip


def test_personal_columns_are_dropped_and_their_values_found_nowhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = ["日時", "部門", "金額", *(h for h, _ in PERSONAL_HEADERS)]
    lines = [",".join(headers)]
    for minute, values in enumerate(PERSONAL_VALUES):
        lines.append(f"2026/11/22 13:0{minute},青果,480," + ",".join(values))
    path = write(tmp_path, "export.csv", "\n".join(lines) + "\n", "cp932")
    expected = tuple(DroppedColumn(h, reason) for h, reason in PERSONAL_HEADERS)

    preview = preview_pos_csv(path)
    assert preview.dropped == expected
    assert preview.kept == ("日時", "部門", "金額")
    assert preview.sample_rows == (
        ("2026/11/22 13:00", "青果", "480"),
        ("2026/11/22 13:01", "青果", "480"),
    )

    data_dir = tmp_path / "data"
    db = open_database(data_dir)
    with_store(db)
    result = do_import(db, path)
    assert result.dropped == expected
    assert result.imported == 2
    stored = json.loads(
        db.conn.execute("SELECT dropped_columns_json FROM pos_import").fetchone()[0]
    )
    assert stored == [{"header": h, "reason": r} for h, r in PERSONAL_HEADERS]
    (entry,) = AuditLog(db).entries(action="pos.import")
    assert entry.details["dropped"] == [h for h, _ in PERSONAL_HEADERS]
    assert entry.details["file"] == "export.csv"

    on_disk = raw_bytes(data_dir)
    assert "青果".encode() in on_disk  # the scan below would find stored text
    said = (
        repr((preview, result))
        + caplog.text
        + json.dumps([e.details for e in AuditLog(db).entries()], ensure_ascii=False)
    )
    for value in (v for row in PERSONAL_VALUES for v in row if v):
        assert value.encode() not in on_disk, value
        assert value not in said, value


def test_a_header_row_that_is_data_is_refused_without_repeating_it(tmp_path: Path) -> None:
    path = write(tmp_path, "no-header.csv", "2026/11/22 13:05,1200,taro@example.jp\n")
    with pytest.raises(PosImportError, match="header row") as caught:
        preview_pos_csv(path)
    assert "taro" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "words", "code"),
    [
        (b"", "empty", "empty"),
        (b"\x81\xff\xfe\x00\xff", "UTF-8 or Shift_JIS", "not_text"),
        (b"time,amount\x00\n2026-11-22 13:05,1\n", "binary", "binary"),
        (b"time,amount\n", "no sales", "no_rows"),
        (b"just one column\nvalue\n", "one column", "one_column"),
        (b"name,email\nx,y\n", "time of sale", "no_time_column"),
        (b"time,register\n2026-11-22 13:05,1\n", "amount", "no_amount_column"),
        (b"2026/11/22 13:05,1200\n2026/11/22 13:06,300\n", "header row", "no_header"),
    ],
)
def test_unusable_files_are_one_sentence_and_write_nothing(
    tmp_path: Path, content: bytes, words: str, code: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    db = open_database(tmp_path / "data")
    with_store(db)
    before = counts(db)
    with pytest.raises(PosImportError, match=words) as caught:
        do_import(db, path)
    assert "\n" not in str(caught.value) and str(caught.value).endswith(".")
    assert caught.value.code == code  # the GUI says it in the operator's language
    assert counts(db) == before


def test_explicit_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "kasse.csv",
        "Zeitpunkt,Betrag,Kasse,Kundennummer,Warengruppe\n2026-11-22 13:05,100,K1,KD-4711,Obst\n",
    )
    preview = preview_pos_csv(path)
    assert preview.mapping is None  # nothing recognised: the operator chooses
    assert preview.kept == preview.headers  # "Kundennummer" matches no pattern and no value
    db = open_database(tmp_path / "data")
    with_store(db)
    with pytest.raises(PosImportError, match="time of sale"):
        do_import(db, path)

    mapping = ColumnMapping("Zeitpunkt", "Betrag", "Kasse", "Warengruppe")
    result = do_import(db, path, mapping=mapping)
    assert result.imported == 1
    assert result.dropped == (DroppedColumn("Kundennummer", "unmapped"),)
    assert rows(db, "SELECT register, category FROM purchase") == [("K1", "Obst")]
    assert b"KD-4711" not in raw_bytes(tmp_path / "data")

    with pytest.raises(PosImportError, match="no column named 'Uhrzeit'"):
        do_import(db, path, mapping=ColumnMapping("Uhrzeit", "Betrag", None, None))
    with pytest.raises(PosImportError, match="Choose the columns"):
        do_import(db, path, mapping=ColumnMapping("", "Betrag", None, None))


def test_a_mapping_never_imports_a_personal_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sales.csv",
        "日時,金額,会員番号,備考\n2026/11/22 13:05,100,M1,連絡 090-1111-2222\n",
    )
    db = open_database(tmp_path / "data")
    with_store(db)
    for category in ("会員番号", "備考"):
        with pytest.raises(PosImportError, match=f"'{category}' holds") as caught:
            do_import(db, path, mapping=ColumnMapping("日時", "金額", None, category))
        assert "090" not in str(caught.value)
    assert counts(db)["purchase"] == 0


# --- rows ---------------------------------------------------------------------------------


def test_malformed_rows_are_reported_by_line_and_the_rest_imported(tmp_path: Path) -> None:
    text = (
        "日時,レジ,金額,部門\n"  # 1
        "2026/11/22 13:05,1,100,食品\n"  # 2
        '2026/11/22 13:06,1,"1,200","複数\n'  # 3: a quoted field over two lines
        '行の部門"\n'  # 4
        "\n"  # 5: blank lines are not rows
        "not a time,1,100,食品\n"  # 6
        "2026/11/22 13:07,1,abc,食品\n"  # 7
        "2026/11/22 13:08,1\n"  # 8
        "2026/11/22 13:09,1,100,食品,extra\n"  # 9
        "2026/11/22 13:10,1,,食品\n"  # 10
        "2026/13/45 13:10,1,100,食品\n"  # 11
        "2026/11/22 13:11,1,100,食品,,\n"  # 12: trailing empty fields are fine
        "2026/11/22 13:12,1,300,食品\n"  # 13
    )
    path = write(tmp_path, "sales.csv", text)
    assert preview_pos_csv(path).total_rows == 10
    db = open_database(tmp_path / "data")
    with_store(db)
    result = do_import(db, path)
    assert result.imported == 4
    assert result.problems == (
        RowProblem(6, "time_unreadable"),
        RowProblem(7, "amount_not_number"),
        RowProblem(8, "field_count", 2, 4),
        RowProblem(9, "field_count", 5, 4),
        RowProblem(10, "amount_empty"),
        RowProblem(11, "time_unreadable"),
    )
    assert [p.message for p in result.problems] == [
        "the time of sale cannot be read",
        "the amount is not a number",
        "the row has 2 fields where the header has 4",
        "the row has 5 fields where the header has 4",
        "the amount is empty",
        "the time of sale cannot be read",
    ]
    assert rows(db, "SELECT amount, category FROM purchase ORDER BY id") == [
        (100.0, "食品"),
        (1200.0, "複数\n行の部門"),
        (100.0, "食品"),
        (300.0, "食品"),
    ]
    assert rows(db, "SELECT rows, source_file FROM pos_import") == [(4, "sales.csv")]


def test_a_failure_mid_transaction_writes_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sales.csv",
        "日時,金額\n2026/11/22 13:05,100\n2026/11/22 13:06,200\n2026/11/22 13:07,999\n",
    )
    db = open_database(tmp_path / "data")
    with_store(db, "他店")  # the import's store is created inside the transaction
    # A real database rule that the third purchase breaks, after the store, the import record
    # and two purchases were written.
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON purchase WHEN NEW.amount = 999 "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    before = counts(db)
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        do_import(db, path)
    assert counts(db) == before
    assert find_store(db, STORE) is None


def test_no_store_and_no_operator_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "sales.csv", "日時,金額\n2026/11/22 13:05,100\n")
    db = open_database(tmp_path / "data")
    with pytest.raises(PosImportError, match="no operator"):
        do_import(db, path)
    assert counts(db) == dict.fromkeys(WRITTEN, 0)


def test_the_store_is_found_or_created_under_the_operator(tmp_path: Path) -> None:
    def sales(minute: int) -> Path:
        return write(tmp_path, f"sales-{minute}.csv", f"日時,金額\n2026/11/22 13:{minute:02},100\n")

    db = open_database(tmp_path / "data")
    NoticeStore(db).save(NoticeProfile.model_validate(tomllib.loads(COMPLETE)))
    do_import(db, sales(5), store="新宿店")
    assert rows(db, "SELECT id, name FROM operator") == [(1, "株式会社サンプル商店")]
    do_import(db, sales(6), store="池袋店")
    do_import(db, sales(7), store="新宿店")
    assert rows(db, "SELECT operator_id, name FROM store ORDER BY id") == [
        (1, "新宿店"),
        (1, "池袋店"),
    ]
    assert rows(db, "SELECT store_id, COUNT(*) FROM purchase GROUP BY store_id") == [
        (1, 2),
        (2, 1),
    ]


# --- linking ------------------------------------------------------------------------------


def add_visit(
    db: sqlite_utils.Database,
    store_id: int,
    points: Sequence[tuple[int, datetime]],
    *,
    kind: str | None = "customer",
    xy: tuple[float, float] = (1.0, 1.0),
) -> int:
    """A visit of a visitor of ``kind`` (None: anonymous) seen at (camera, time) points, at
    ``xy`` in the camera's picture."""
    visitor_id = None
    start, end = min(t for _, t in points), max(t for _, t in points)
    if kind is not None:
        visitor_id = str(uuid.uuid4())
        db.conn.execute(
            "INSERT INTO visitor (id, operator_id, home_store_id, kind, first_seen, last_seen, "
            "expires_at) VALUES (?, 1, ?, ?, ?, ?, ?)",
            (visitor_id, store_id, kind, utc_text(start), utc_text(end),
             utc_text(end + timedelta(days=30))),
        )  # fmt: skip
    visit_id = int(
        db.conn.execute(
            "INSERT INTO visit (store_id, visitor_id, started_at, ended_at, dwell_seconds, mode) "
            "VALUES (?, ?, ?, ?, ?, 'repeat')",
            (store_id, visitor_id, utc_text(start), utc_text(end), (end - start).total_seconds()),
        ).lastrowid
        or 0
    )
    db.conn.executemany(
        "INSERT INTO path_point (visit_id, camera_id, at, x, y) VALUES (?, ?, ?, ?, ?)",
        [(visit_id, camera, utc_text(at), *xy) for camera, at in points],
    )
    db.conn.commit()
    return visit_id


def linked_visits(db: sqlite_utils.Database) -> list[object]:
    return [row[0] for row in db.conn.execute("SELECT visit_id FROM purchase ORDER BY id")]


def test_purchases_link_to_the_one_visit_seen_at_the_register(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    store_id = with_store(db)
    other_store = int(
        db.conn.execute(
            "INSERT INTO store (operator_id, name, created_at) VALUES (1, '他店', '2026')"
        ).lastrowid
        or 0
    )
    db.conn.commit()
    set_register_camera(db, STORE, "1", 7)
    set_register_camera(db, STORE, "２", 8)  # the file says "2"
    at = jst
    one = add_visit(db, store_id, [(3, at(13, 0)), (7, at(13, 5, 30))])
    add_visit(db, store_id, [(7, at(13, 5, 10))], kind="dnt")
    add_visit(db, store_id, [(7, at(13, 5, 5))], kind="staff")
    add_visit(db, other_store, [(7, at(13, 5))])
    add_visit(db, store_id, [(7, at(13, 30))])  # two visits at the register:
    add_visit(db, store_id, [(7, at(13, 31))], kind=None)  # ambiguous
    behind_staff = add_visit(db, store_id, [(7, at(14, 1))], kind=None)
    add_visit(db, store_id, [(7, at(15, 0))])  # register 2 is watched by camera 8, not 7
    late = add_visit(db, store_id, [(9, at(16, 0, 30))])  # register 3 has no camera yet
    slow = add_visit(db, store_id, [(7, at(17, 4))])  # 4 minutes after the sale
    add_visit(db, store_id, [(7, at(14, 0, 10))], kind="staff")
    path = write(
        tmp_path,
        "sales.csv",
        "日時,レジ,金額\n"
        "2026/11/22 13:05,1,100\n"
        "2026/11/22 13:30,1,100\n"
        "2026/11/22 14:00,1,100\n"
        "2026/11/22 15:00,2,100\n"
        "2026/11/22 16:00,3,100\n"
        "2026/11/22 17:00,1,100\n",
    )
    result = do_import(db, path)
    assert result.linked == 2
    assert linked_visits(db) == [one, None, behind_staff, None, None, None]
    (entry,) = AuditLog(db).entries(action="pos.import")
    assert entry.details["linked"] == 2

    set_register_camera(db, STORE, "3", 9)
    assert link_purchases(db, store_id, timedelta(minutes=2)) == 1
    assert link_purchases(db, store_id, timedelta(minutes=5)) == 1
    assert linked_visits(db) == [one, None, behind_staff, None, late, slow]


def test_a_file_without_registers_uses_the_store_single_register(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    store_id = with_store(db)
    visit = add_visit(db, store_id, [(2, jst(13, 5))])
    path = write(tmp_path, "sales.csv", "日時,金額\n2026/11/22 13:05,100\n")
    assert do_import(db, path).linked == 0  # no register has a camera
    set_register_camera(db, STORE, "1", 2)
    assert link_purchases(db, store_id, timedelta(minutes=2)) == 1
    assert linked_visits(db) == [visit]
    set_register_camera(db, STORE, "2", 5)  # with two registers, "no register" is unknown
    again = write(tmp_path, "sales-2.csv", "日時,金額\n2026/11/22 13:06,100\n")
    assert do_import(db, again).linked == 0


def test_register_camera_needs_a_store_and_a_register(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    with_store(db)
    with pytest.raises(ValueError, match="no store named"):
        set_register_camera(db, "不明店", "1", 1)
    with pytest.raises(ValueError, match="register"):
        set_register_camera(db, STORE, " ", 1)
    set_register_camera(db, STORE, "1", 1)
    set_register_camera(db, STORE, "1", 4)
    assert rows(db, "SELECT register, camera_id FROM register_camera") == [("1", 4)]


# --- purge and retention ------------------------------------------------------------------


def linked_database(tmp_path: Path) -> tuple[sqlite_utils.Database, int]:
    db = open_database(tmp_path / "data")
    store_id = with_store(db)
    set_register_camera(db, STORE, "1", 1)
    add_visit(db, store_id, [(1, jst(13, 5))])
    add_visit(db, store_id, [(1, jst(14, 5))], kind=None)
    path = write(
        tmp_path, "sales.csv", "日時,レジ,金額\n2026/11/22 13:05,1,100\n2026/11/22 14:05,1,50\n"
    )
    assert do_import(db, path).linked == 2
    return db, store_id


@pytest.mark.parametrize("keep_statistics", [True, False])
def test_purge_keeps_purchases_and_unlinks_them(tmp_path: Path, keep_statistics: bool) -> None:
    db, _ = linked_database(tmp_path)
    result = purge_personal_data(db, keep_statistics=keep_statistics)
    assert result.visits == 2
    assert rows(db, "SELECT amount, visit_id FROM purchase ORDER BY id") == [
        (100.0, None),
        (50.0, None),
    ]
    assert rows(db, "PRAGMA foreign_key_check") == []


def test_retention_unlinks_the_purchases_of_expired_visits(tmp_path: Path) -> None:
    db, _ = linked_database(tmp_path)
    swept = sweep(db, RetentionPolicy(days=30), datetime(2027, 1, 1, tzinfo=UTC))
    assert (swept.visits, swept.anonymous_visits) == (1, 1)
    assert rows(db, "SELECT amount, visit_id FROM purchase ORDER BY id") == [
        (100.0, None),
        (50.0, None),
    ]


# --- fuzzing ------------------------------------------------------------------------------

MARKER = "ZZMEMBER4711"  # the value of every personal column: it must never be stored
HEADER_SETS = (
    ("日時", "レジ", "部門", "金額", "会員番号", "memo"),
    ("time", "amount"),
    ("datetime", "register", "total", "email"),
    ("日付", "時刻", "税込金額", "氏名"),
    ("レジ", "部門"),  # no time, no amount
    ("日時", "部門"),  # no amount
)
PERSONAL = {"会員番号", "email", "氏名"}
GOOD = {
    "日時": ["2026/11/22 13:05", "2026-11-22T13:05:07+09:00", "2026年11月22日 13時05分"],
    "datetime": ["2026-11-22 13:05:07", "20261122130507"],
    "time": ["2026/11/22 13:05", "13:05"],
    "日付": ["2026/11/22", "2026-11-22"],
    "時刻": ["13:05", "9:07:30"],
    "金額": ["1,200", "¥300", "-50", "１５００", "▲20"],
    "amount": ["12.5", "(300)", "1200"],
    "total": ["0", "99"],
    "税込金額": ["￥1,000", "500円"],
    "memo": ["a@b.example", "ok"],
}
FAITHFUL = {"utf-8", "utf-8-sig", "cp932", "utf-16"}


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str, int]:
    """(file bytes, encoding, number of non-blank data rows written)."""
    headers = draw(st.sampled_from(HEADER_SETS))
    delimiter = draw(st.sampled_from([",", "\t", ";", "|"]))
    encoding = draw(st.sampled_from([*sorted(FAITHFUL), "euc-jp", "latin-1"]))
    text_cell = st.text(st.characters(blacklist_characters="\x00"), max_size=8)
    written: list[list[str]] = []
    for _ in range(draw(st.integers(0, 8))):
        width = len(headers) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        row = []
        for index in range(width):
            header = headers[index] if index < len(headers) else ""
            if header in PERSONAL:
                row.append(MARKER)
            else:
                row.append(draw(st.one_of(st.sampled_from(GOOD.get(header, ["1"])), text_cell)))
        written.append(row)
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=delimiter)
    out.writerow(headers)
    out.writerows(written)
    data_rows = sum(1 for row in written if any(cell.strip() for cell in row))
    return buffer.getvalue().encode(encoding, errors="replace"), encoding, data_rows


def check_import(content: bytes) -> tuple[PosImportResult, int] | None:
    """Import ``content`` into a fresh store; the import is whole or absent. Returns the result
    and the preview's row count, or None after a PosImportError."""
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        path = directory / "fuzz.csv"
        path.write_bytes(content)
        db = open_database(directory / "data")
        with_store(db)
        before = counts(db)
        try:
            total = preview_pos_csv(path).total_rows
        except PosImportError:
            total = -1
        try:
            result = do_import(db, path)
        except PosImportError as exc:
            assert "\n" not in str(exc)
            assert counts(db) == before
            return None
        assert total >= 0  # the import read what the preview could not
        after = counts(db)
        assert after["pos_import"] == 1 and after["purchase"] == result.imported
        assert result.imported + len(result.problems) == total
        assert MARKER.encode() not in raw_bytes(directory / "data")
        assert MARKER not in repr(result)
        db.conn.close()
        return result, total


@settings(deadline=None, max_examples=50)
@given(csv_files())
def test_fuzzed_files_import_whole_or_not_at_all(generated: tuple[bytes, str, int]) -> None:
    content, encoding, data_rows = generated
    outcome = check_import(content)
    if outcome is not None and encoding in FAITHFUL:
        assert outcome[1] == data_rows


@settings(deadline=None, max_examples=50)
@given(
    st.sampled_from([b"", "日時,金額\n".encode(), b"time,amount,register\r\n"]),
    st.binary(max_size=200),
)
def test_random_bytes_never_raise_anything_else(header: bytes, noise: bytes) -> None:
    check_import(header + noise)


# --- command line -------------------------------------------------------------------------


def notice_file(tmp_path: Path) -> Path:
    path = tmp_path / "notice.toml"
    path.write_text(COMPLETE, encoding="utf-8")
    return path


def test_cli_import_pos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["notice", "set", str(notice_file(tmp_path)), *data]) == 0
    path = write(
        tmp_path,
        "sales.csv",
        "日時,レジ,金額,会員番号\n2026/11/22 13:05,1,100,M-424242\n2026/11/22 13:06,1,x,M-434343\n",
        "cp932",
    )
    capsys.readouterr()
    code = main(["import-pos", str(path), "--store", STORE, "--json", *data])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    payload = json.loads(out)
    assert set(payload) == {"import_id", "imported", "linked", "problems", "dropped"}
    assert (payload["imported"], payload["linked"]) == (1, 0)
    assert payload["problems"] == [{"line": 3, "message": "the amount is not a number"}]
    assert payload["dropped"] == [{"header": "会員番号", "reason": "member_id"}]

    assert main(["register-camera", "--store", STORE, "1", "3", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out)["camera_id"] == 3
    assert main(["audit", "verify", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    logs = "".join(p.read_text("utf-8") for p in (tmp_path / "data" / "logs").iterdir())
    for value in ("M-424242", "M-434343"):
        assert value.encode() not in raw_bytes(tmp_path / "data")
        assert value not in logs


@pytest.mark.parametrize(
    "arguments",
    [
        ["import-pos", "{bad}", "--store", STORE],
        ["import-pos", "{good}", "--store", STORE, "--tolerance-minutes", "-1"],
        ["import-pos", "{good}", "--store", "不明店"],  # no operator or notice yet
        ["register-camera", "--store", "不明店", "1", "1"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str]
) -> None:
    files = {
        "{bad}": str(write(tmp_path, "bad.csv", "just one column\nvalue\n")),
        "{good}": str(write(tmp_path, "good.csv", "日時,金額\n2026/11/22 13:05,100\n")),
    }
    argv = [files.get(a, a) for a in arguments]
    code = main([*argv, "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("raiten: ") and err.count("\n") == 1


def test_the_same_file_twice_is_refused_and_counts_once(tmp_path: Path) -> None:
    path = write(tmp_path, "sales.csv", "日時,金額\n2026/11/22 13:05,100\n2026/11/22 13:06,250\n")
    db = open_database(tmp_path / "data")
    with_store(db)
    assert do_import(db, path).imported == 2
    before = counts(db)
    copy = write(tmp_path, "sales (1).csv", path.read_text(encoding="utf-8"))
    with pytest.raises(PosImportError, match="imported already") as caught:
        do_import(db, copy)
    assert caught.value.code == "already_imported" and caught.value.params["when"]
    assert counts(db) == before
    # A later export with one more sale is a different file and is imported.
    later = write(
        tmp_path,
        "sales-2.csv",
        "日時,金額\n2026/11/22 13:05,100\n2026/11/22 13:06,250\n2026/11/22 13:07,80\n",
    )
    assert do_import(db, later).imported == 3


def test_a_register_watched_by_a_checkout_zone_links_the_visit_inside_it(tmp_path: Path) -> None:
    db = open_database(tmp_path / "data")
    store_id = with_store(db)
    checkout = Zone(
        "レジ", ZoneKind.CHECKOUT, ((0.7, 0.0), (1.0, 0.0), (1.0, 1.0), (0.7, 1.0)), Space.IMAGE
    )
    camera = CameraStore(db, Cipher(load_key(tmp_path / "data"))).add(
        Camera("Front", SourceSpec(SourceKind.DEMO, "demo"), zones=(checkout,))
    )
    assert camera.camera_id is not None
    paying = add_visit(db, store_id, [(camera.camera_id, jst(13, 5))], xy=(0.9, 0.5))
    add_visit(db, store_id, [(camera.camera_id, jst(13, 5))], xy=(0.2, 0.5))  # browsing
    set_register_camera(db, STORE, "1", camera.camera_id)
    path = write(tmp_path, "sales.csv", "日時,レジ,金額\n2026/11/22 13:05,1,100\n")
    assert do_import(db, path).linked == 0  # two people in the picture: no guess
    set_register_camera(db, STORE, "1", camera.camera_id, zone="レジ")
    assert register_cameras(db) == [RegisterCamera(STORE, "1", camera.camera_id, "レジ")]
    assert link_purchases(db, store_id, timedelta(minutes=2)) == 1
    assert linked_visits(db) == [paying]
    remove_register_camera(db, STORE, "1")
    assert register_cameras(db) == []
    assert linked_visits(db) == [paying]  # links made stay
