"""Roles and what each may do (G-10).

Three fixed roles, no per-user grants: a store has a handful of staff accounts, and a fixed
matrix is something an owner can read on one screen and an auditor can check. Viewers see
aggregates only; managers may also take figures and signage out of the app; everything that
changes what is recorded, deletes it, reveals it or manages people is for administrators.

The check lives here, Qt-free, so the UI and any future service share one answer.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from types import MappingProxyType

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    DASHBOARD = "dashboard"
    LIVE_VIEW = "live_view"
    EXPORT = "export"
    SIGNAGE = "signage"
    SETTINGS = "settings"
    CAMERAS = "cameras"
    PURGE = "purge"
    PUBLIC_REQUESTS = "public_requests"
    USERS = "users"
    AUDIT = "audit"
    STOP_ANALYSIS = "stop_analysis"
    STAFF = "staff"


_VIEWER = frozenset({Permission.DASHBOARD})
# The masked live view shows people, if not faces: not for viewers, who see aggregates only.
# Stopping analysis (quitting while cameras run) loses the store's figures for that time: not
# for viewers, whose closing the window must leave analysis running.
_MANAGER = _VIEWER | {
    Permission.LIVE_VIEW,
    Permission.EXPORT,
    Permission.SIGNAGE,
    Permission.STOP_ANALYSIS,
}

# The demo shows what Raiten does with sample data: it may look, print its DEMO sign and export
# its sample figures, but never add a camera (a real camera's people would be recorded in the
# demo folder, which no purge or incident report covers) nor change what is recorded.
DEMO_PERMISSIONS = frozenset(
    {Permission.DASHBOARD, Permission.LIVE_VIEW, Permission.EXPORT, Permission.SIGNAGE}
)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.ADMIN: frozenset(Permission),
        Role.MANAGER: _MANAGER,
        Role.VIEWER: _VIEWER,
    }
)

_WHO = {Role.ADMIN: "An administrator", Role.MANAGER: "A manager", Role.VIEWER: "A viewer"}
_WHAT = {
    Permission.DASHBOARD: "view the dashboard",
    Permission.LIVE_VIEW: "watch the live camera view",
    Permission.EXPORT: "export data",
    Permission.SIGNAGE: "print the signage",
    Permission.SETTINGS: "change the settings",
    Permission.CAMERAS: "manage cameras",
    Permission.PURGE: "delete personal data",
    Permission.PUBLIC_REQUESTS: "handle requests from the public",
    Permission.USERS: "manage user accounts",
    Permission.AUDIT: "read the audit log",
    Permission.STOP_ANALYSIS: "stop the analysis",
    Permission.STAFF: "enrol or remove staff",
}


class PermissionDeniedError(Exception):
    """The role may not do this; ``str()`` is one plain sentence."""

    def __init__(self, role: Role, permission: Permission) -> None:
        self.role = role
        self.permission = permission
        super().__init__(f"{_WHO[role]} may not {_WHAT[permission]}.")


def allowed(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def require(role: Role, permission: Permission) -> None:
    """Return quietly, or raise PermissionDeniedError."""
    if not allowed(role, permission):
        log.info("refused: role %s lacks permission %s", role, permission)
        raise PermissionDeniedError(role, permission)
