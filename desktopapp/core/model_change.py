"""After a change of the face features model: exclusions the model in use cannot recognise.

Every template records the model that made it, and galleries load only the templates of the
model in use (vectors of two models do not compare). Customers of an earlier model simply go
unmatched and age out by retention. Opt-outs (do-not-track) and staff cannot be left to that:
an opt-out the current model cannot see would record again a person who asked not to be
recorded. So while such exclusions exist, analysis that recognises exclusions (the modes that
keep identities) refuses to start, naming both models and what the operator can do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from desktopapp.core.config import VisionConfig
from desktopapp.core.modes import PRESETS, Mode
from desktopapp.core.store.visits import DO_NOT_TRACK, STAFF, VisitStore
from desktopapp.core.vision.registry import ModelRegistry
from desktopapp.core.vision.types import Role

log = logging.getLogger(__name__)

# Visitor kinds whose templates keep people out of analysis.
EXCLUSION_KINDS = (DO_NOT_TRACK, STAFF)


@dataclass(frozen=True, slots=True)
class ForeignExclusions:
    """``visitors`` opt-outs (kind DO_NOT_TRACK) or staff (STAFF) enrolled with ``model``."""

    kind: str
    model: str
    visitors: int


class ExclusionModelError(Exception):
    """Opt-outs or staff were enrolled with another face features model than ``in_use``;
    ``str()`` is one plain sentence saying what to do."""

    def __init__(self, in_use: str, foreign: list[ForeignExclusions]):
        self.in_use = in_use
        self.foreign = foreign
        self.opt_outs = sum(f.visitors for f in foreign if f.kind == DO_NOT_TRACK)
        self.staff = sum(f.visitors for f in foreign if f.kind == STAFF)
        self.models = sorted({f.model for f in foreign})
        models = ", ".join(self.models)
        super().__init__(
            f"{self.opt_outs} opt-out(s) and {self.staff} staff were enrolled with the face "
            f"features model {models}, but {in_use} is in use, so they would not be recognised "
            f"and would be recorded: switch the face features model back to {models}, or "
            "remove them in Staff / Requests and enrol them again"
        )


def applies_exclusions(mode: Mode) -> bool:
    """Whether analysis in ``mode`` recognises opt-outs and staff (it keeps identities)."""
    return PRESETS[mode].keeps_features


def configured_features_model(vision: VisionConfig) -> str:
    """The id of the face features model the settings choose, without loading it."""
    return vision.face_features or ModelRegistry.load().default(Role.FACE_FEATURES).model_id


def require_recognisable_exclusions(
    store: VisitStore, model: str, operator_id: int | None = None
) -> None:
    """ExclusionModelError when an opt-out or staff member was enrolled with another model."""
    foreign = [
        ForeignExclusions(kind, other, visitors)
        for kind, other, visitors in store.visitors_of_other_models(
            operator_id, EXCLUSION_KINDS, model
        )
    ]
    if foreign:
        error = ExclusionModelError(model, foreign)
        log.warning("analysis refused: %s", error)
        raise error
