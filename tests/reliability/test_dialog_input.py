"""Bad input in the dialogs' fields, typed in English and Japanese: addresses, numbers, dates,
names, passwords, files. Each dialog refuses with a message in the operator's language, saves
nothing it should not, and never raises (pytest-qt fails a test on an exception in a slot)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import Settings, VisionConfig
from desktopapp.core.images import read_image
from desktopapp.core.notice import NoticeProfile
from desktopapp.core.session import Session
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.purge import PurgeResult
from desktopapp.core.store.users import MAX_NAME_LENGTH
from desktopapp.core.workspace import Workspace
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.export_dialog import ExportDialog
from desktopapp.ui.first_run import FirstRunWizard
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.pos_dialog import PosImportDialog
from desktopapp.ui.public_requests import PublicRequestsDialog
from desktopapp.ui.purge_dialog import PurgeDialog
from desktopapp.ui.registers_dialog import RegistersDialog
from desktopapp.ui.settings_dialog import PasswordDialog, SettingsDialog
from tests.conftest import VIDEO
from tests.reliability.conftest import PROFILE, set_up

pytestmark = [pytest.mark.gui, pytest.mark.timeout(60)]

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Text an operator may paste anywhere: both languages, full-width forms, emoji, controls.
NASTY_TEXTS = [
    "",
    "   ",
    "カメラ１",
    "ｒｔｓｐ：／／カメラ",
    "渋谷店\u3000入口",
    "👀" * 10,
    "a\x00b",
    "\u202eevil",
    "x" * 5000,
    "'; DROP TABLE visit; --",
]


@pytest.fixture
def admin() -> Session:
    return Session("tanaka", Role.ADMIN)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    set_up(tmp_path)
    opened = Workspace(tmp_path, Settings())
    yield opened
    opened.close()


def _shown(label: QLabel) -> str:
    return label.text().strip()


# --- camera dialog (addresses, numbers) -------------------------------------------------------

BAD_ADDRESSES = [
    (SourceKind.RTSP, "rtsp://"),
    (SourceKind.RTSP, "rtsp://[::1"),
    (SourceKind.RTSP, "ftp://cam.local/video"),
    (SourceKind.RTSP, "0"),  # a USB number under "network camera"
    (SourceKind.HTTP, "http://"),
    (SourceKind.HTTP, "カメラのアドレス"),
    (SourceKind.USB, "99999999999999999999"),
    (SourceKind.USB, "-1"),
    (SourceKind.FILE, "/no/such/video.mp4"),
    (SourceKind.FILE, "動画.mp4"),
    (SourceKind.FILE, "x" * 5000),
]


@pytest.mark.parametrize(("kind", "text"), BAD_ADDRESSES)
def test_the_camera_dialog_refuses_a_bad_address(qtbot: QtBot, kind: SourceKind, text: str) -> None:
    dialog = CameraDialog(VisionConfig(), None, None)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("入口")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(kind.value))
    dialog.location_edit.setText(text)
    dialog.accept()
    assert dialog.result_camera is None
    assert _shown(dialog.message)
    dialog.test_connection()  # refused before anything is opened
    assert dialog.test_button.isEnabled() and _shown(dialog.message)


def test_the_camera_dialog_needs_a_name_and_bounds_its_numbers(qtbot: QtBot) -> None:
    # The demo's picture as the camera: the dialog offers it only on a camera that has it.
    demo_fed = Camera("Demo fed", SourceSpec(SourceKind.DEMO, "demo"))
    dialog = CameraDialog(VisionConfig(), demo_fed, None)
    qtbot.addWidget(dialog)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.DEMO.value))
    for name in ("", "   "):
        dialog.name_edit.setText(name)
        dialog.accept()
        assert dialog.result_camera is None and _shown(dialog.message)
    dialog.name_edit.setText("x" * 500)
    assert len(dialog.name_edit.text()) == 80
    for rate in (-5.0, 0.0, 1e9):
        dialog.fps_spin.setValue(rate)
        assert 0.5 <= dialog.fps_spin.value() <= 30.0
    dialog.name_edit.setText("入口カメラ")
    dialog.accept()
    assert dialog.result_camera is not None and dialog.result_camera.name == "入口カメラ"


def test_the_camera_dialog_says_a_bad_address_in_japanese(qtbot: QtBot, japanese: None) -> None:
    dialog = CameraDialog(VisionConfig(), None, None)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("入口")
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(SourceKind.FILE.value))
    dialog.location_edit.setText("/no/such/video.mp4")
    dialog.accept()
    message = dialog.message.text()
    assert "/no/such/video.mp4" in message
    assert "There is no camera" not in message
    assert any("\u3040" <= ch <= "\u30ff" for ch in message), message
    assert dialog.result_camera is None


# --- settings: numbers, notice texts and URLs, accounts ---------------------------------------


def test_the_general_settings_keep_numbers_in_range(
    qtbot: QtBot, workspace: Workspace, admin: Session
) -> None:
    dialog = SettingsDialog(workspace, admin)
    qtbot.addWidget(dialog)
    tab = dialog.general_tab
    for minutes in (-1, 0, 10_000):
        tab.idle.setValue(minutes)
        tab.save_settings()
        qtbot.waitUntil(tab.save.isEnabled, timeout=10_000)
        assert 1 <= workspace.settings.ui.idle_lock_minutes <= 240
    qtbot.keyClicks(tab.idle, "abc")  # the spin box takes no letters
    assert 1 <= tab.idle.value() <= 240


BAD_NOTICES = {
    "empty": {key: "" for key in ("operator", "store", "contact", "policy_url", "feedback_url")},
    "bad urls": {"policy_url": "javascript:alert(1)", "feedback_url": "ｈｔｔｐｓ：／／例.jp"},
    "huge texts": {"operator": "株" * 5000, "contact": "x" * 5000},
    "controls": {"store": "渋谷\x00店", "contact": "\u202e窓口"},
}


@pytest.mark.parametrize("name", list(BAD_NOTICES))
def test_the_notice_form_names_bad_fields_and_never_crashes(
    qtbot: QtBot, workspace: Workspace, admin: Session, name: str
) -> None:
    dialog = SettingsDialog(workspace, admin)
    qtbot.addWidget(dialog)
    tab = dialog.notice_tab
    qtbot.waitUntil(lambda: tab.form.operator.text() == PROFILE.operator, timeout=10_000)
    for key, text in BAD_NOTICES[name].items():
        getattr(tab.form, key).setText(text)
    problems = tab.form.problem_text()
    tab.save_notice()
    qtbot.waitUntil(tab.save.isEnabled, timeout=10_000)
    if problems:  # what is wrong is named, and an incomplete notice stops the cameras
        assert _shown(tab.form.problems) or problems
        assert workspace.notice_problems()
    assert _shown(tab.version)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "x" * (MAX_NAME_LENGTH + 1), "田中\x07", "tanaka", "ＴＡＮＡＫＡ"],
)
def test_a_bad_account_name_is_refused_in_japanese(
    qtbot: QtBot, workspace: Workspace, admin: Session, name: str, japanese: None
) -> None:
    dialog = SettingsDialog(workspace, admin)
    qtbot.addWidget(dialog)
    tab = dialog.accounts_tab
    before = len(workspace.users())
    tab._run(lambda: workspace.create_user(name, "kanri2026next", Role.VIEWER, admin.actor), "")
    qtbot.waitUntil(lambda: bool(_shown(tab.message)), timeout=10_000)
    assert JAPANESE.search(tab.message.text()), tab.message.text()
    assert len(workspace.users()) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("", ""),
        ("短い1", "短い1"),
        ("パスワード", "パスワード"),
        ("kanri2026store", "kanri2026stor"),
    ],
)
def test_the_password_dialog_names_every_problem(
    qtbot: QtBot, first: str, second: str, japanese: None
) -> None:
    dialog = PasswordDialog("田中")
    qtbot.addWidget(dialog)
    dialog.first.setText(first)
    dialog.second.setText(second)
    dialog._check()
    assert dialog.result() != PasswordDialog.DialogCode.Accepted
    assert JAPANESE.search(dialog.problems.text()), dialog.problems.text()


# --- sign-in and first run --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "password"),
    [("", ""), ("田中", ""), ("田中", "違う"), ("x" * 5000, "y" * 5000), ("a\x00b", "\u202e")],
)
def test_sign_in_refuses_quietly_in_japanese(
    qtbot: QtBot, workspace: Workspace, name: str, password: str, japanese: None
) -> None:
    dialog = LoginDialog(workspace.authenticate)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText(name)
    dialog.password_edit.setText(password)
    dialog.try_sign_in()
    qtbot.waitUntil(lambda: bool(_shown(dialog.message)), timeout=10_000)
    assert dialog.session is None
    assert JAPANESE.search(dialog.message.text()), dialog.message.text()


def test_the_first_run_wizard_refuses_bad_fields(qtbot: QtBot, tmp_path: Path) -> None:
    saved: list[object] = []
    wizard = FirstRunWizard(saved.append)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()  # "set up my store"
    form = wizard.form
    for text in NASTY_TEXTS:
        form.operator.setText(text)
        form.store.setText(text)
        form.policy_url.setText(text)
        page = wizard.currentPage()
        assert page is not None
        if not page.validatePage():
            assert _shown(page.problems)  # type: ignore[attr-defined]
    assert not saved


# --- dates, files, register names, the purge word ---------------------------------------------


def test_an_export_with_the_dates_reversed_or_an_unwritable_file_says_why(
    qtbot: QtBot, workspace: Workspace, admin: Session, tmp_path: Path, japanese: None
) -> None:
    dialog = ExportDialog(workspace, admin, [])
    qtbot.addWidget(dialog)
    dialog.since.setDate(QDate(2026, 12, 31))
    dialog.until.setDate(QDate(2026, 1, 1))
    dialog.save_to(tmp_path / "reversed.csv")
    assert JAPANESE.search(dialog.message.text()), dialog.message.text()
    assert not (tmp_path / "reversed.csv").exists()
    dialog.until.setDate(QDate(2027, 1, 31))
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    dialog.save_to(folder)
    qtbot.waitUntil(dialog.save_button.isEnabled, timeout=20_000)
    assert JAPANESE.search(dialog.message.text()), dialog.message.text()
    for year in (1, 9999):
        dialog.since.setDate(QDate(year, 1, 1))
        assert dialog.since.date().isValid()


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02" * 100, "日時,金額\n".encode("utf-16"), b"a,b\n" * 3, VIDEO.read_bytes()],
)
def test_the_pos_dialog_refuses_a_bad_file_in_japanese(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, content: bytes, japanese: None
) -> None:
    admin = Session("tanaka", Role.ADMIN)
    dialog = PosImportDialog(workspace, admin, [PROFILE.store])
    qtbot.addWidget(dialog)
    path = tmp_path / "pos.csv"
    path.write_bytes(content[:200_000])
    dialog.load(path)
    qtbot.waitUntil(lambda: dialog.message.text() not in ("", "読み込み中…"), timeout=10_000)
    assert not dialog.import_button.isEnabled()
    assert JAPANESE.search(dialog.message.text()), dialog.message.text()


@pytest.mark.parametrize("register", ["", "   ", "レジ１", "x" * 5000])
def test_the_registers_dialog_takes_any_register_name_or_says_why(
    qtbot: QtBot, workspace: Workspace, admin: Session, register: str
) -> None:
    dialog = RegistersDialog(workspace, admin, [PROFILE.store], [])
    qtbot.addWidget(dialog)
    dialog.register.setText(register)
    dialog.save()  # no camera to choose: refused before anything is saved
    assert _shown(dialog.message)
    assert workspace.register_cameras() == []


@pytest.mark.parametrize("typed", ["", "delete", "削除", "DELETE!", "ＤＥＬＥＴＥ"])
def test_the_purge_needs_its_exact_word(qtbot: QtBot, typed: str) -> None:
    calls: list[bool] = []

    def purge(keep: bool, _progress: object) -> PurgeResult:
        calls.append(keep)
        return PurgeResult(0, 0, 0, 0, 0, 0.0)

    dialog = PurgeDialog(purge)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.confirmation.setText(typed)
    dialog.run_purge()
    assert typed.strip() != dialog.word
    assert not dialog.purge_button.isEnabled() and not calls


def test_a_bad_picture_for_a_request_is_said_in_japanese(
    qtbot: QtBot, workspace: Workspace, admin: Session, tmp_path: Path, japanese: None
) -> None:
    dialog = PublicRequestsDialog(workspace, admin, VisionConfig(), [])
    qtbot.addWidget(dialog)
    bad = tmp_path / "写真.jpg"
    bad.write_text("not a picture", encoding="utf-8")
    with pytest.raises(Exception) as caught:  # the job's own first step
        read_image(bad)
    dialog._failed(caught.value)  # type: ignore[arg-type]
    text = dialog.message.text()
    assert str(bad) in text and "読める画像ではありません" in text, text


def test_a_notice_with_every_field_in_english_or_japanese_is_accepted(
    qtbot: QtBot, workspace: Workspace, admin: Session
) -> None:
    dialog = SettingsDialog(workspace, admin)
    qtbot.addWidget(dialog)
    tab = dialog.notice_tab
    qtbot.waitUntil(lambda: tab.form.operator.text() == PROFILE.operator, timeout=10_000)
    english = PROFILE.model_copy(
        update={"operator": "Sample Shop Ltd.", "store": "Shibuya", "language": "en"}
    )
    for profile in (english, PROFILE):
        tab.form.set_profile(profile)
        assert tab.form.problem_text() == ""
        tab.save_notice()
        qtbot.waitUntil(tab.save.isEnabled, timeout=10_000)
        current = workspace.current_notice()
        assert current is not None and current.profile == NoticeProfile.model_validate(
            profile.model_dump()
        )


def test_nasty_texts_survive_a_round_trip_through_the_database(
    workspace: Workspace, admin: Session
) -> None:
    """What the dialogs accept is stored and read back as typed (no encoding loss)."""
    typed = [text for text in NASTY_TEXTS if text.strip()]
    for text in typed:
        workspace.record(admin.actor, "test.text", {"text": text})
    since = datetime.now(UTC) - timedelta(hours=1)
    entries = workspace.audit_entries(since, since + timedelta(hours=2), None, "test.text")
    assert sorted(e.details["text"] for e in entries) == sorted(typed)
    assert workspace.verify_audit().ok
