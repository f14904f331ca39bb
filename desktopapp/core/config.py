"""Typed, validated, versioned settings, one model per domain, stored as JSON in the data dir.

A settings file from a newer Raiten, or one that cannot be parsed, is never overwritten: the
caller gets a SettingsError with a plain sentence and the app falls back to defaults in memory.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
SETTINGS_FILE = "settings.json"


class SettingsError(Exception):
    """The settings file cannot be used; ``str()`` says why in one sentence, ``problem`` which
    for the UI (unreadable, not_settings, newer, invalid) with ``detail`` (the reason, the
    version or the field)."""

    def __init__(self, message: str, problem: str, path: Path, detail: str = ""):
        super().__init__(message)
        self.problem = problem
        self.path = path
        self.detail = detail


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--data-dir``, else ``RAITEN_DATA_DIR``, else the platform's user data folder."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RAITEN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("Raiten", "Raiten"))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class VisionConfig(_Section):
    """Which model serves each role (None: the manifest's default) and how many threads."""

    face_detection: str | None = None
    face_features: str | None = None
    face_attributes: str | None = None
    person_detection: str | None = None
    threads: int = Field(default=1, ge=1, le=16)
    # Face features run in this many child processes (0: in the analysis thread). dlib's own
    # runtime holds the GIL for ~90 ms per face (the default ONNX one for ~1.6 of its ~8 ms);
    # in a child it no longer stalls the cameras and the UI.
    feature_processes: int = Field(default=1, ge=0, le=8)
    # With persons detected, faces are searched in the whole frame at this size and at full
    # resolution only where small faces can be (core.vision.schedule); 0 searches the whole
    # frame at the detector's own size every frame. A face about to be embedded is found again
    # at the whole-frame search's scale, so features keep the landmarks the threshold was
    # calibrated with.
    face_search_side: int = Field(default=320, ge=0, le=4096)
    # Overrides the embedder's own decision point (cosine similarity), e.g. after calibration.
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    # Overrides the model's margin over the second-best visitor, e.g. after calibration.
    margin: float | None = Field(default=None, ge=0.0, lt=1.0)
    # Overrides the model's per-visitor false-match rate (the repeat rate's band), measured by
    # `raiten calibrate --folder --write` on impostor comparisons at the threshold in use.
    false_match_rate: float | None = Field(default=None, gt=0.0, lt=1.0)


class UiConfig(_Section):
    language: Literal["auto", "ja", "en"] = "auto"
    # The screen locks after this many minutes without keyboard or mouse (G-10).
    idle_lock_minutes: int = Field(default=10, ge=1, le=240)


# The floor plan is a picture without a scale (core.floor normalises it to 0..1 across its
# width and height); the operator gives its width in metres in the floor calibration. Until
# then the plan is taken as a square as wide as the stores Raiten is made for (a convenience
# store, a small shop), which turns distances into plan units (core.visit_join).
ASSUMED_PLAN_SIZE_M = (20.0, 20.0)


class ReportsConfig(_Section):
    # Cells counting fewer visitors than this show as "<k" everywhere (G-07).
    min_group: int = Field(default=5, ge=2, le=100)
    # A purchase links to a visit seen at its register within this many minutes.
    pos_tolerance_minutes: int = Field(default=2, ge=0, le=60)
    # The operator's floor plan picture under the heat map (a drawing of the store, not a
    # camera image); only its path is kept.
    floor_plan: str | None = None
    # The floor plan's width and depth in metres, as the operator measured the width (the
    # depth follows from the picture's proportions): the cameras of one store are joined into
    # one visit by distances on the plan (core.visit_join). None: an assumed 20 m square.
    floor_plan_size_m: tuple[float, float] | None = None

    @field_validator("floor_plan_size_m")
    @classmethod
    def _plausible_store(cls, size: tuple[float, float] | None) -> tuple[float, float] | None:
        if size is not None and not all(1.0 <= side <= 1000.0 for side in size):
            raise ValueError("a floor plan's sides are between 1 and 1000 m")
        return size


class Settings(_Section):
    version: int = SETTINGS_VERSION
    vision: VisionConfig = Field(default_factory=VisionConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)


def changed_settings(before: Settings, after: Settings) -> dict[str, list[Any]]:
    """Every setting that differs, by dotted name (``reports.min_group``), as [before, after]."""
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {
        f"{section}.{key}": [old[section].get(key), value]
        for section, values in new.items()
        if isinstance(values, dict)
        for key, value in values.items()
        if old[section].get(key) != value
    }


def load_settings(data_dir: Path) -> Settings:
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: JSON syntax, and numbers too long to convert; RecursionError: nesting
        # deeper than the parser's stack.
        log.error("cannot read settings %s: %r", path, exc)
        reason = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        raise SettingsError(
            f"The settings file {path} cannot be read ({reason}).", "unreadable", path, reason
        ) from exc
    if not isinstance(raw, dict):
        raise SettingsError(
            f"The settings file {path} does not hold settings.", "not_settings", path
        )
    version = raw.get("version", SETTINGS_VERSION)
    if type(version) is not int:  # a bool is an int to isinstance
        raise SettingsError(
            f"The settings file {path} has an invalid value at 'version'.",
            "invalid",
            path,
            "version",
        )
    if version > SETTINGS_VERSION:
        raise SettingsError(
            f"The settings file {path} was written by a newer Raiten (version {version}); "
            "update Raiten to use it.",
            "newer",
            path,
            str(version),
        )
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        log.error("invalid settings %s: %s", path, exc)
        first = exc.errors()[0]
        # Keys come from the file: no line breaks or control characters in a one-line message.
        where = "".join(
            c if c.isprintable() else repr(c)[1:-1] for c in ".".join(map(str, first["loc"]))
        )[:80]
        raise SettingsError(
            f"The settings file {path} has an invalid value at '{where}': {first['msg']}.",
            "invalid",
            path,
            where,
        ) from exc


def save_settings(data_dir: Path, settings: Settings) -> None:
    """Atomic: a crash mid-write leaves the previous file intact. A file that could not be
    loaded (damaged, or from a newer Raiten) is kept beside the new one, never overwritten."""
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        load_settings(data_dir)
    except SettingsError as exc:
        kept = data_dir / f"settings-unusable-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.json"
        os.replace(exc.path, kept)
        log.warning("the unusable settings file was kept as %s", kept)
    text = settings.model_dump_json(indent=2)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, data_dir / SETTINGS_FILE)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            # A failed write names no file; the operator's message should (disk full…).
            raise OSError(exc.errno, exc.strerror, str(data_dir / SETTINGS_FILE)) from exc
        raise
