"""A settings file that is damaged, not settings, from a newer Raiten or holds a bad value: the
app starts on defaults, says why in the operator's language, and never overwrites the file.
Fuzzed with hypothesis on structured JSON (tests/test_settings.py fuzzes raw bytes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from desktopapp.core.access import Role
from desktopapp.core.config import (
    SETTINGS_FILE,
    SETTINGS_VERSION,
    Settings,
    SettingsError,
    load_settings,
    save_settings,
)
from desktopapp.core.session import Session
from desktopapp.ui.app import create_main_window
from desktopapp.ui.error_texts import ErrorTexts

BAD_FILES = {
    "damaged": (b'{"version": 1, "ui": {"langu', "unreadable", "破損"),
    "not settings": (b"[1, 2, 3]", "not_settings", "設定が入っていません"),
    "newer": (b'{"version": 99, "ui": {"language": "ja"}}', "newer", "新しい"),
    "bad value": (b'{"version": 1, "ui": {"idle_lock_minutes": 0}}', "invalid", "ui.idle_lock"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "unreadable", "破損"),
    "number too long": (b'{"version": ' + b"9" * 5000 + b"}", "unreadable", "破損"),
    "bool version": (b'{"version": true}', "invalid", "version"),
    "not utf-8": ('{"ui": {"language": "日本語"}}'.encode("shift_jis"), "unreadable", "破損"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_settings_file_is_a_settings_error_and_is_never_overwritten(
    tmp_path: Path, name: str
) -> None:
    content, problem, _words = BAD_FILES[name]
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert caught.value.problem == problem
    assert caught.value.path == tmp_path / SETTINGS_FILE
    # Saving new settings keeps the unusable file beside them, byte for byte.
    save_settings(tmp_path, Settings())
    (kept,) = tmp_path.glob("settings-unusable-*.json")
    assert kept.read_bytes() == content
    assert load_settings(tmp_path) == Settings()


@pytest.mark.gui
@pytest.mark.parametrize("name", list(BAD_FILES))
def test_the_reason_is_worded_in_japanese(
    tmp_path: Path, name: str, qapp: QApplication, japanese: None
) -> None:
    content, _problem, words = BAD_FILES[name]
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    text = ErrorTexts().error(caught.value)
    assert words in text and str(tmp_path / SETTINGS_FILE) in text, text
    assert "既定" in text, "it says the defaults are used"


@pytest.mark.gui
def test_the_window_opens_on_defaults_and_says_why(
    tmp_path: Path, qtbot: QtBot, qapp: QApplication
) -> None:
    (tmp_path / SETTINGS_FILE).write_text('{"version": 99}', encoding="utf-8")
    window = create_main_window(
        qapp, tmp_path, session=Session("tanaka", Role.ADMIN), start_cameras=False
    )
    qtbot.addWidget(window)
    window.show()
    try:
        warning = window.statusBar().findChild(QLabel, "settings-warning")
        assert warning is not None and warning.isVisible()
        assert "newer Raiten (version 99)" in warning.toolTip()
        assert window.settings == Settings()
    finally:
        window.close()


# --- fuzzing the loader --------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = {
    "vision": ["face_detection", "face_features", "threads", "feature_processes", "threshold"],
    "ui": ["language", "idle_lock_minutes"],
    "reports": ["min_group", "pos_tolerance_minutes", "floor_plan"],
}


@st.composite
def settings_like(draw: st.DrawFn) -> dict[str, Any]:
    """Documents shaped like the settings, with any values: where bugs in a loader hide."""
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["version"] = draw(st.integers(-2, SETTINGS_VERSION + 2) | JSON)
    for section, keys in FIELDS.items():
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(keys), unique=True))
            document[section] = {key: draw(JSON) for key in chosen}
            if draw(st.booleans()):
                document[section][draw(st.text(max_size=8))] = draw(JSON)
    return document


@settings(
    max_examples=300,
    deadline=None,  # file I/O on a loaded machine
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(document=settings_like() | JSON)
def test_any_json_gives_settings_or_a_settings_error(tmp_path: Path, document: object) -> None:
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(document), encoding="utf-8")
    try:
        loaded = load_settings(tmp_path)
    except SettingsError as exc:
        assert exc.problem in {"unreadable", "not_settings", "newer", "invalid"}
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(loaded, Settings)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    values=st.fixed_dictionaries(
        {
            "ui": st.fixed_dictionaries(
                {
                    "language": st.sampled_from(["auto", "ja", "en"]),
                    "idle_lock_minutes": st.integers(1, 240),
                }
            ),
            "vision": st.fixed_dictionaries({"threads": st.integers(1, 16)}),
            "reports": st.fixed_dictionaries(
                {"min_group": st.integers(2, 100), "floor_plan": st.none() | st.text(max_size=40)}
            ),
        }
    )
)
def test_valid_settings_survive_a_save_and_load(tmp_path: Path, values: dict[str, Any]) -> None:
    chosen = Settings.model_validate(values)
    save_settings(tmp_path, chosen)
    assert load_settings(tmp_path) == chosen
    assert not list(tmp_path.glob("settings-unusable-*")), "a good file is never set aside"
