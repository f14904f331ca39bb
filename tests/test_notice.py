"""G-01: analysis cannot start until the notice profile is complete; versions are kept."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from desktopapp.cli import main
from desktopapp.core.modes import Mode
from desktopapp.core.notice import (
    REQUIRED_KEYS,
    NoticeGateError,
    NoticeProfile,
    NoticeStore,
    require_complete_notice,
)
from desktopapp.core.store.db import open_database

COMPLETE = """
operator = "株式会社サンプル商店"
store = "渋谷店"
purpose = "再来店分析のため、顔の特徴量を照合します (face feature data is matched)"
items = ["顔の特徴量", "来店日時", "推定年代・性別"]
contact = "お客様窓口 03-0000-0000"
policy_url = "https://example.jp/privacy/camera"
feedback_url = "https://example.jp/feedback"
retention_days = 180
retention_from = "first"
mode = "repeat"
language = "ja"
"""


def _profile(**changes: object) -> NoticeProfile:
    raw = tomllib.loads(COMPLETE) | changes
    return NoticeProfile.model_validate(raw)


def test_complete_profile_passes_the_gate(tmp_path: Path) -> None:
    store = NoticeStore(open_database(tmp_path))
    store.save(_profile())
    assert require_complete_notice(store).version == 1


def test_no_profile_names_every_key(tmp_path: Path) -> None:
    with pytest.raises(NoticeGateError) as caught:
        require_complete_notice(NoticeStore(open_database(tmp_path)))
    for key in REQUIRED_KEYS:
        assert key in str(caught.value)


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_each_missing_key_is_named(tmp_path: Path, key: str) -> None:
    empty: object = 0 if key == "retention_days" else ([] if key == "items" else "")
    store = NoticeStore(open_database(tmp_path))
    store.save(_profile(**{key: empty}))
    with pytest.raises(NoticeGateError) as caught:
        require_complete_notice(store)
    assert caught.value.problems == [f"missing {key}"]


def test_repeat_mode_purpose_must_admit_face_matching() -> None:
    profile = _profile(purpose="To improve our service")
    assert profile.problems() == ["purpose must say that face feature data is matched"]
    assert _profile(purpose="To improve our service", mode="attributes").complete
    assert _profile(purpose="Face recognition is used to count repeat visits").complete


def test_urls_must_be_web_addresses_and_are_completed() -> None:
    # Typed without https://, an address is completed rather than refused.
    completed = _profile(policy_url="example.jp/privacy", feedback_url=" www.example.jp ")
    assert completed.policy_url == "https://example.jp/privacy"
    assert completed.feedback_url == "https://www.example.jp"
    assert completed.complete
    assert _profile(policy_url="ask at the counter").problems() == [
        "policy_url must be a web address (https://…)"
    ]


def test_a_shop_without_a_website_can_complete_the_notice() -> None:
    assert _profile(policy_url="", feedback_url="").complete
    assert _profile(contact="").missing_keys == ["contact"]


def test_attribute_mode_needs_no_retention_period() -> None:
    assert _profile(mode=Mode.ATTRIBUTES.value, retention_days=0).complete
    assert not _profile(retention_days=0).complete


def test_every_change_is_a_new_version(tmp_path: Path) -> None:
    store = NoticeStore(open_database(tmp_path))
    assert store.save(_profile()).version == 1
    assert store.save(_profile()).version == 1, "an unchanged profile is not a new version"
    assert store.save(_profile(retention_days=90)).version == 2
    current = store.current()
    assert current is not None and current.profile.retention_days == 90


def test_cli_set_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    incomplete = tmp_path / "notice.toml"
    incomplete.write_text(COMPLETE.replace('contact = "お客様窓口 03-0000-0000"', ""))
    data = ["--data-dir", str(tmp_path / "data"), "--json"]
    assert main(["notice", "set", str(incomplete), *data]) == 0
    saved = json.loads(capsys.readouterr().out)
    assert saved == {
        "version": 1,
        "complete": False,
        "problems": ["missing contact"],
        "missing": ["contact"],
    }
    assert main(["notice", "show", *data]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["profile"]["operator"] == "株式会社サンプル商店"
    assert shown["missing"] == ["contact"]


def test_cli_rejects_unknown_keys_and_bad_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notice.toml"
    bad.write_text(COMPLETE + 'member_id_column = "x"\n', encoding="utf-8")
    assert main(["notice", "set", str(bad), "--data-dir", str(tmp_path)]) == 2
    assert "member_id_column" in capsys.readouterr().err
    bad.write_text("operator = ", encoding="utf-8")
    assert main(["notice", "set", str(bad), "--data-dir", str(tmp_path)]) == 2
    assert "cannot read notice profile" in capsys.readouterr().err
