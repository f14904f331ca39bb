"""First run: the notice profile and the first administrator are written together or not at all."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from desktopapp.core.access import Role
from desktopapp.core.notice import NoticeGateError, NoticeProfile, NoticeStore
from desktopapp.core.setup import (
    DEFAULT_RETENTION_DAYS,
    FirstRunAnswers,
    complete_first_run,
    default_retention_choices,
    needs_first_run,
)
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import DB_FILE, open_database
from desktopapp.core.store.users import PasswordRuleError, UserError, UserStore
from tests.test_notice import COMPLETE

WHEN = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
PASSWORD = "Tsubame-7-kaze"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_database(tmp_path)
    yield database
    database.conn.close()


def answers(**profile_changes: object) -> FirstRunAnswers:
    profile = NoticeProfile.model_validate(tomllib.loads(COMPLETE) | profile_changes)
    return FirstRunAnswers(profile=profile, admin_name="Sato", admin_password=PASSWORD)


def nothing_written(db: sqlite_utils.Database) -> bool:
    return (
        NoticeStore(db).current() is None
        and db.execute("SELECT COUNT(*) FROM app_user").fetchone()[0] == 0
        and db.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0
    )


def test_success_writes_the_notice_and_the_admin_and_audits(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    assert needs_first_run(db)
    version = complete_first_run(db, answers(), now=WHEN)
    assert not needs_first_run(db)
    assert (version.version, version.created_at) == (1, WHEN)
    assert NoticeStore(db).current() == version
    audit = AuditLog(db)
    user = UserStore(db, audit).authenticate("sato", PASSWORD)
    assert (user.name, user.role, user.created_at) == ("Sato", Role.ADMIN, WHEN)
    entries = audit.entries()
    assert [(e.actor, e.action, e.details) for e in entries[:3]] == [
        ("setup:Sato", "notice.set", {"version": 1}),
        ("setup:Sato", "user.create", {"name": "Sato", "role": "admin"}),
        ("setup:Sato", "setup.complete", {"version": 1}),
    ]
    assert all(e.at == WHEN for e in entries[:3])
    assert audit.verify().ok
    raw = b"".join(p.read_bytes() for p in tmp_path.glob(DB_FILE + "*"))
    assert PASSWORD.encode() not in raw


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"contact": ""}, ("missing", "contact")),
        ({"policy_url": "ask at the counter"}, ("not_url", "policy_url")),
        ({"purpose": "再来店分析"}, ("no_face_matching", "purpose")),
    ],
)
def test_an_incomplete_profile_writes_nothing(
    db: sqlite_utils.Database, changes: dict[str, object], problem: tuple[str, str]
) -> None:
    with pytest.raises(NoticeGateError) as caught:
        complete_first_run(db, answers(**changes), now=WHEN)
    assert caught.value.items == [problem]
    assert nothing_written(db)
    assert needs_first_run(db)


@pytest.mark.parametrize(
    ("name", "password", "problems"),
    [
        ("Sato", "short-1", ["too_short"]),
        ("Sato", "password1234", ["common"]),
        ("Sato", "sato-1234567", ["contains_name"]),
    ],
)
def test_a_bad_password_writes_nothing(
    db: sqlite_utils.Database, name: str, password: str, problems: list[str]
) -> None:
    bad = FirstRunAnswers(answers().profile, name, password)
    with pytest.raises(PasswordRuleError) as caught:
        complete_first_run(db, bad, now=WHEN)
    assert caught.value.problems == problems
    assert nothing_written(db)


def test_a_bad_name_writes_nothing(db: sqlite_utils.Database) -> None:
    with pytest.raises(UserError):
        complete_first_run(db, FirstRunAnswers(answers().profile, "  ", PASSWORD), now=WHEN)
    assert nothing_written(db)


def test_a_second_first_run_is_refused(db: sqlite_utils.Database) -> None:
    complete_first_run(db, answers(), now=WHEN)
    before = len(AuditLog(db).entries())
    again = FirstRunAnswers(answers(store="新宿店").profile, "Mallory", "Kawasemi-9-mizu")
    with pytest.raises(UserError, match="already set up"):
        complete_first_run(db, again, now=WHEN)
    current = NoticeStore(db).current()
    assert current is not None and current.version == 1
    assert [u.name for u in UserStore(db, AuditLog(db)).all()] == ["Sato"]
    assert len(AuditLog(db).entries()) == before


def test_a_notice_set_earlier_is_kept_when_unchanged(db: sqlite_utils.Database) -> None:
    # e.g. `raiten notice set` ran before anyone opened the GUI.
    NoticeStore(db).save(answers().profile, now=WHEN)
    version = complete_first_run(db, answers(), now=WHEN)
    assert version.version == 1
    assert [e.action for e in AuditLog(db).entries()] == ["user.create", "setup.complete"]


def test_the_wizard_default_retention_is_offered() -> None:
    assert DEFAULT_RETENTION_DAYS in default_retention_choices
    assert list(default_retention_choices) == sorted(default_retention_choices)
