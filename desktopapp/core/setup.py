"""First run: the notice profile (G-01) and the first administrator (G-10), in one step.

The wizard (desktopapp/ui) collects the answers and calls ``complete_first_run``; this module
holds the rules so they are tested without Qt. Everything is checked before anything is
written, so a refused attempt leaves the data folder as it was and the wizard simply opens
again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from desktopapp.core.access import Role
from desktopapp.core.notice import NoticeGateError, NoticeProfile, NoticeStore, NoticeVersion
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.users import (
    PasswordRuleError,
    UserError,
    UserStore,
    check_name,
    password_problems,
)

log = logging.getLogger(__name__)

# The retention periods the wizard offers, in days; the notice profile accepts any other.
default_retention_choices = (30, 90, 180, 365)
DEFAULT_RETENTION_DAYS = 180


@dataclass(frozen=True, slots=True)
class FirstRunAnswers:
    profile: NoticeProfile
    admin_name: str
    admin_password: str


def needs_first_run(db: sqlite_utils.Database) -> bool:
    """True while the data folder has no account: nobody could sign in."""
    return not UserStore(db, AuditLog(db)).has_users()


def complete_first_run(
    db: sqlite_utils.Database, answers: FirstRunAnswers, now: datetime | None = None
) -> NoticeVersion:
    """Save the notice and create the administrator; the notice version in force.

    Raises, writing nothing: UserError for a bad name or when accounts already exist,
    PasswordRuleError, NoticeGateError for an incomplete profile.
    """
    name = check_name(answers.admin_name)
    problems = password_problems(name, answers.admin_password)
    if problems:
        raise PasswordRuleError(problems)
    items = answers.profile.problem_items()
    if items:
        raise NoticeGateError(items)
    at = now or datetime.now(UTC)
    audit = AuditLog(db, clock=lambda: at)
    users = UserStore(db, audit, clock=lambda: at)
    if users.has_users():
        raise UserError(
            "Raiten is already set up: an administrator has to add further accounts.", "set_up"
        )
    actor = f"setup:{name}"
    notices = NoticeStore(db)
    previous = notices.current()
    # The notice goes first: if creating the account then fails, the wizard opens again and
    # saving the same profile a second time is a no-op rather than a second version.
    version = notices.save(answers.profile, now=at)
    if previous is None or previous.version != version.version:
        audit.append(actor, "notice.set", {"version": version.version})
    users.create(name, answers.admin_password, Role.ADMIN, actor=actor)
    audit.append(actor, "setup.complete", {"version": version.version})
    log.info("first run complete: notice version %d, administrator created", version.version)
    return version
