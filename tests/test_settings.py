from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktopapp.core.config import (
    SETTINGS_FILE,
    Settings,
    SettingsError,
    load_settings,
    resolve_data_dir,
    save_settings,
)


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    assert load_settings(tmp_path) == Settings()


def test_round_trip(tmp_path: Path) -> None:
    chosen = Settings()
    chosen.vision.threads = 2
    chosen.vision.threshold = 0.9
    chosen.ui.language = "ja"
    chosen.reports.floor_plan_size_m = (12.0, 9.0)
    save_settings(tmp_path, chosen)
    assert load_settings(tmp_path) == chosen
    assert [p.name for p in tmp_path.iterdir()] == [SETTINGS_FILE], "no temp file left behind"


def test_corrupt_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text("{ not json", encoding="utf-8")
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings(tmp_path)
    assert (tmp_path / SETTINGS_FILE).read_text(encoding="utf-8") == "{ not json"


def test_file_from_a_newer_version(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"version": 7}), encoding="utf-8")
    with pytest.raises(SettingsError, match="newer Raiten"):
        load_settings(tmp_path)


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(
        json.dumps({"version": 1, "vision": {"threads": 0}}), encoding="utf-8"
    )
    with pytest.raises(SettingsError, match=r"vision\.threads"):
        load_settings(tmp_path)


def test_a_floor_plan_of_no_size_is_refused(tmp_path: Path) -> None:
    (tmp_path / SETTINGS_FILE).write_text(
        json.dumps({"version": 1, "reports": {"floor_plan_size_m": [12.0, 0.0]}}),
        encoding="utf-8",
    )
    with pytest.raises(SettingsError, match=r"reports\.floor_plan_size_m"):
        load_settings(tmp_path)


def test_data_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAITEN_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_data_dir(None) == tmp_path / "env"
    monkeypatch.delenv("RAITEN_DATA_DIR")
    assert "Raiten" in str(resolve_data_dir(None))


@settings(
    max_examples=200,
    deadline=None,  # file I/O on a loaded CI machine
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(content=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_file_content_gives_settings_or_a_settings_error(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / SETTINGS_FILE).write_bytes(content)
    try:
        assert isinstance(load_settings(tmp_path), Settings)
    except SettingsError as exc:
        assert str(exc)
