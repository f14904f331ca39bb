"""The six use cases of the guidebook, as presets: which models each loads, what it may keep."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from desktopapp.core.config import VisionConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Role


class Mode(enum.StrEnum):
    ATTRIBUTES = "attributes"
    ACTIVITY = "activity"
    REPEAT = "repeat"
    PASSERBY = "passerby"
    INCIDENTAL = "incidental"
    CROWD = "crowd"


@dataclass(frozen=True, slots=True)
class ModePreset:
    mode: Mode
    roles: tuple[Role, ...]
    keeps_features: bool  # feature data survives the visit (only repeat analysis)


PRESETS: dict[Mode, ModePreset] = {
    Mode.ATTRIBUTES: ModePreset(
        Mode.ATTRIBUTES, (Role.FACE_DETECTION, Role.FACE_ATTRIBUTES), keeps_features=False
    ),
    Mode.ACTIVITY: ModePreset(
        Mode.ACTIVITY, (Role.FACE_DETECTION, Role.PERSON_DETECTION), keeps_features=False
    ),
    Mode.REPEAT: ModePreset(
        Mode.REPEAT,
        (Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES),
        keeps_features=True,
    ),
    Mode.PASSERBY: ModePreset(Mode.PASSERBY, (Role.PERSON_DETECTION,), keeps_features=False),
    Mode.INCIDENTAL: ModePreset(
        Mode.INCIDENTAL, (Role.FACE_DETECTION, Role.PERSON_DETECTION), keeps_features=False
    ),
    Mode.CROWD: ModePreset(Mode.CROWD, (Role.PERSON_DETECTION,), keeps_features=False),
}


def engine_for_mode(config: VisionConfig, mode: Mode) -> VisionEngine:
    """The face models ``mode`` needs (person detection arrives with the modes issue); masking
    needs face detection in every mode."""
    roles = [r for r in PRESETS[mode].roles if r is not Role.PERSON_DETECTION]
    if Role.FACE_DETECTION not in roles:
        roles.insert(0, Role.FACE_DETECTION)
    return VisionEngine.configured(config, roles)
