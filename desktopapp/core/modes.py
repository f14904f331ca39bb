"""The six use cases of the guidebook, as presets: which models each loads, what it shows and
what it may keep (G-13).

Every mode that shows a picture loads the person detector, because masking needs it (G-12):
a person whose face is small, turned away or cut by the border is found only as a person.
Person tracks are analysed in every mode that has them (counting lines, zones, hourly counts);
in the face modes (attributes, repeat) a visit is a person's body track with the face it held
(core.bodies), so its path is where the person walked.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from desktopapp.core.config import VisionConfig
from desktopapp.core.vision.engine import VisionEngine
from desktopapp.core.vision.types import Role

# What a mode may keep about a person: a visit (when, how long, where its track went),
# estimated age band and gender, movement lines of the whole person through the store, and
# face feature data. Repeat analysis links movement and attributes to the feature's key
# (DOMAIN "Repeat analysis"), so it keeps every kind.
KEPT_DATA = ("visits", "attributes", "movement", "features")


class ModeError(ValueError):
    """A mode that would keep more than the notice in force told the public."""


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
    # A person seen by their face becomes a visit (with age band and gender; in repeat mode
    # with identity): the body that held the face, or the face alone when no body did.
    face_visits: bool = False
    person_visits: bool = False  # a person track becomes an anonymous visit with its path
    icons_only: bool = False  # the live view shows icons on a plain drawing, no picture
    # The kinds of personal data the mode keeps (KEPT_DATA): what the notice must have told
    # the public. Counts and icons are not personal and are left out.
    keeps: frozenset[str] = frozenset()

    @property
    def counts_only(self) -> bool:
        """Nothing but hourly counts of people and line crossings is stored."""
        return not (self.face_visits or self.person_visits)


PRESETS: dict[Mode, ModePreset] = {
    Mode.ATTRIBUTES: ModePreset(
        Mode.ATTRIBUTES,
        (Role.FACE_DETECTION, Role.FACE_ATTRIBUTES, Role.PERSON_DETECTION),
        keeps_features=False,
        face_visits=True,
        keeps=frozenset({"visits", "attributes"}),
    ),
    # Any feature would be kept only while the person is in the store; movement needs none,
    # so none is computed at all.
    Mode.ACTIVITY: ModePreset(
        Mode.ACTIVITY,
        (Role.FACE_DETECTION, Role.PERSON_DETECTION),
        keeps_features=False,
        person_visits=True,
        keeps=frozenset({"visits", "movement"}),
    ),
    Mode.REPEAT: ModePreset(
        Mode.REPEAT,
        (Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES, Role.PERSON_DETECTION),
        keeps_features=True,
        face_visits=True,
        keeps=frozenset(KEPT_DATA),
    ),
    # By shape only: no face model is loaded; whole persons are masked as in every mode.
    Mode.PASSERBY: ModePreset(Mode.PASSERBY, (Role.PERSON_DETECTION,), keeps_features=False),
    Mode.INCIDENTAL: ModePreset(
        Mode.INCIDENTAL, (Role.FACE_DETECTION, Role.PERSON_DETECTION), keeps_features=False
    ),
    Mode.CROWD: ModePreset(
        Mode.CROWD, (Role.PERSON_DETECTION,), keeps_features=False, icons_only=True
    ),
}


def allowed_mode(notice_mode: Mode, requested: Mode | None) -> Mode:
    """The mode to run: ``requested`` if it keeps nothing the notice's mode does not (it may
    narrow the notice, never widen it), the notice's mode when None; ModeError otherwise."""
    if requested is None:
        return notice_mode
    extra = PRESETS[requested].keeps - PRESETS[notice_mode].keeps
    if extra:
        raise ModeError(
            f"mode {requested.value} would keep {', '.join(k for k in KEPT_DATA if k in extra)}, "
            f"which the notice in force (mode {notice_mode.value}) does not announce"
        )
    return requested


def engine_for_mode(config: VisionConfig, mode: Mode) -> VisionEngine:
    """Exactly the models ``mode`` needs, nothing more (G-13)."""
    return VisionEngine.configured(config, PRESETS[mode].roles)
