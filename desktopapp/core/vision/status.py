"""Which model serves each role on this install, and whether its files check out.

Used by the GUI's status bar (through a worker thread: hashing the files takes a moment).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from desktopapp.core.config import VisionConfig
from desktopapp.core.vision.registry import ModelError, ModelProblem, ModelRegistry
from desktopapp.core.vision.types import ModelInfo, Role

log = logging.getLogger(__name__)

FACE_ROLES = (Role.FACE_DETECTION, Role.FACE_FEATURES, Role.FACE_ATTRIBUTES)


@dataclass(frozen=True, slots=True)
class ModelCheck:
    role: Role
    model_id: str
    info: ModelInfo | None
    problem: ModelProblem | None = None
    path: Path | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_active_models(
    config: VisionConfig,
    registry: ModelRegistry | None = None,
    roles: tuple[Role, ...] = FACE_ROLES,
) -> list[ModelCheck]:
    try:
        registry = registry or ModelRegistry.load()
    except ModelError as exc:
        return [ModelCheck(r, "manifest", None, exc.problem, exc.path, str(exc)) for r in roles]
    checks = []
    for role in roles:
        chosen = getattr(config, role.value, None)
        try:
            entry = registry.get(chosen) if chosen else registry.default(role)
            registry.verified_paths(entry)
            checks.append(ModelCheck(role, entry.model_id, entry.info))
        except ModelError as exc:
            log.error("model check failed for %s: %s", role.value, exc)
            checks.append(ModelCheck(role, exc.model_id, None, exc.problem, exc.path, str(exc)))
    return checks
