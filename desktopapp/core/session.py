"""Who is at the keyboard: the signed-in operator account and what it may do (G-10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from desktopapp.core.access import DEMO_PERMISSIONS, Permission, Role, allowed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Session:
    name: str
    role: Role
    # The demo data folder: no real store, no account, nothing that mixes with real data.
    demo: bool = False

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"demo:{self.name}" if self.demo else f"user:{self.name}"

    def may(self, permission: Permission) -> bool:
        if self.demo and permission not in DEMO_PERMISSIONS:
            return False
        return allowed(self.role, permission)
