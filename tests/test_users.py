"""G-10 and G-09: roles, password rules, sign-in with lock-out, and the audit trail of accounts."""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from desktopapp.core.access import (
    ROLE_PERMISSIONS,
    Permission,
    PermissionDeniedError,
    Role,
    allowed,
    require,
)
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import DB_FILE, MIGRATIONS, SCHEMA_VERSION, open_database
from desktopapp.core.store.users import (
    LOCKOUT_ATTEMPTS,
    LOCKOUT_PERIOD,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    UNKNOWN_ACTOR,
    LoginError,
    PasswordRuleError,
    UserError,
    UserStore,
    password_problems,
)

START = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)
GOOD = "Tsubame-7-kaze"
OTHER = "Hibari-42-sora"


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Accounts:
    db: sqlite_utils.Database
    path: Path
    audit: AuditLog
    users: UserStore
    clock: Clock

    def actions(self) -> list[str]:
        return [entry.action for entry in self.audit.entries()]

    def raw_bytes(self) -> bytes:
        """The database file and its WAL, as anyone copying the folder would get them."""
        return b"".join(p.read_bytes() for p in self.path.glob(DB_FILE + "*"))


@pytest.fixture
def accounts(tmp_path: Path) -> Iterator[Accounts]:
    db = open_database(tmp_path)
    clock = Clock()
    audit = AuditLog(db, clock=clock)
    yield Accounts(db, tmp_path, audit, UserStore(db, audit, clock=clock), clock)
    db.conn.close()


def with_admin(accounts: Accounts) -> Accounts:
    accounts.users.create("Sato", GOOD, Role.ADMIN, actor="setup:Sato")
    return accounts


# --- roles ---------------------------------------------------------------------------------


def test_role_matrix_is_exactly_as_specified() -> None:
    assert ROLE_PERMISSIONS[Role.VIEWER] == {Permission.DASHBOARD}
    assert ROLE_PERMISSIONS[Role.MANAGER] == {
        Permission.DASHBOARD,
        Permission.LIVE_VIEW,
        Permission.EXPORT,
        Permission.SIGNAGE,
        Permission.STOP_ANALYSIS,
    }
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)
    assert {p.value for p in Permission} == {
        "dashboard",
        "live_view",
        "export",
        "signage",
        "settings",
        "cameras",
        "purge",
        "public_requests",
        "users",
        "audit",
        "stop_analysis",
        "staff",
    }
    for role in Role:
        for permission in Permission:
            assert allowed(role, permission) == (permission in ROLE_PERMISSIONS[role])


@pytest.mark.parametrize("permission", [Permission.SETTINGS, Permission.EXPORT, Permission.PURGE])
def test_a_viewer_cannot_open_settings_export_or_purge(permission: Permission) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        require(Role.VIEWER, permission)
    assert caught.value.role is Role.VIEWER and caught.value.permission is permission
    message = str(caught.value)
    assert message.startswith("A viewer may not") and message.endswith(".")
    require(Role.ADMIN, permission)


# --- password rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        (GOOD, []),
        ("Tsu-7", ["too_short"]),
        ("a1" * (MAX_PASSWORD_LENGTH // 2) + "x", ["too_long"]),
        ("1234567890123", ["no_letter"]),
        ("tsubame-kaze-sora", ["no_digit"]),
        ("xx-sato-1234-yy", ["contains_name"]),
        ("xx-ＳＡＴＯ-1234-yy", ["contains_name"]),  # full-width, as an IME types it
        ("password1234", ["common"]),
        ("Password2024!", ["common"]),
        ("QWERTY123456", ["common"]),
        ("1234567890abc", ["common"]),
        ("", ["too_short", "no_letter", "no_digit"]),
    ],
)
def test_password_rules(password: str, expected: list[str]) -> None:
    assert password_problems("Sato", password) == expected


def test_short_names_are_not_searched_for_in_passwords() -> None:
    assert password_problems("ai", "kaiten-sushi-42") == []


@given(st.text(max_size=140))
def test_an_accepted_password_meets_every_rule(password: str) -> None:
    if not password_problems("Sato", password):
        assert MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
        assert any(c.isalpha() for c in password) and any(c.isdigit() for c in password)
        assert "sato" not in password.casefold()


def test_password_rule_error_names_every_problem() -> None:
    error = PasswordRuleError(["too_short", "no_digit"])
    assert error.problems == ["too_short", "no_digit"]
    assert str(error) == (
        f"The password is not accepted: it is shorter than {MIN_PASSWORD_LENGTH} characters; "
        "it has no digit."
    )


# --- accounts ------------------------------------------------------------------------------


def test_create_and_authenticate(accounts: Accounts) -> None:
    assert not accounts.users.has_users()
    created = accounts.users.create("Sato", GOOD, Role.ADMIN, actor="setup:Sato")
    assert accounts.users.has_users()
    assert (created.name, created.role, created.created_at) == ("Sato", Role.ADMIN, START)
    user = accounts.users.authenticate("sato", GOOD)  # names compare case-insensitively
    assert (user.user_id, user.name, user.role, user.failed_attempts) == (
        created.user_id,
        "Sato",
        Role.ADMIN,
        0,
    )
    assert accounts.users.all() == [user]
    entries = accounts.audit.entries()
    assert [(e.actor, e.action, e.details) for e in entries] == [
        ("setup:Sato", "user.create", {"name": "Sato", "role": "admin"}),
        ("user:Sato", "login", {"user": "Sato"}),
    ]


def test_names_are_unique_ignoring_case_and_width(accounts: Accounts) -> None:
    with_admin(accounts)
    for twin in ("sato", " SATO ", "ｓａｔｏ"):
        with pytest.raises(UserError, match="already exists"):
            accounts.users.create(twin, OTHER, Role.VIEWER, actor="admin:Sato")
    assert [u.name for u in accounts.users.all()] == ["Sato"]
    assert accounts.actions() == ["user.create"]


@pytest.mark.parametrize("name", ["", "   ", "a" * 65, "tab\there"])
def test_bad_names_are_refused(accounts: Accounts, name: str) -> None:
    with pytest.raises(UserError):
        accounts.users.create(name, GOOD, Role.ADMIN, actor="setup:x")
    assert not accounts.users.has_users()


def test_a_bad_password_creates_nothing(accounts: Accounts) -> None:
    with pytest.raises(PasswordRuleError) as caught:
        accounts.users.create("Sato", "password1234", Role.ADMIN, actor="setup:Sato")
    assert caught.value.problems == ["common"]
    assert not accounts.users.has_users()
    assert accounts.actions() == []


def test_the_first_account_must_be_an_administrator(accounts: Accounts) -> None:
    with pytest.raises(UserError, match="first account"):
        accounts.users.create("Suzuki", GOOD, Role.MANAGER, actor="cli:owner")
    assert not accounts.users.has_users()


def test_unknown_user_fails_like_a_wrong_password(accounts: Accounts) -> None:
    with_admin(accounts)
    with pytest.raises(LoginError) as wrong:
        accounts.users.authenticate("Sato", OTHER)
    with pytest.raises(LoginError) as unknown:
        accounts.users.authenticate("Tanaka", GOOD)
    assert (wrong.value.reason, wrong.value.locked_until) == ("invalid", None)
    assert (unknown.value.reason, unknown.value.locked_until) == ("invalid", None)
    assert str(wrong.value) == str(unknown.value) == "The user name or password is wrong."
    failed, unknown_entry = accounts.audit.entries()[1:]
    assert (failed.actor, failed.action, failed.details) == (
        "user:Sato",
        "login.failed",
        {"user": "Sato", "attempts": 1, "locked": False},
    )
    # The typed name is not recorded: it is often a password typed into the wrong field.
    assert (unknown_entry.actor, unknown_entry.action, unknown_entry.details) == (
        UNKNOWN_ACTOR,
        "login.failed",
        {"user": None, "attempts": None, "locked": False},
    )


def test_an_unknown_name_costs_a_hash_verification_too(accounts: Accounts) -> None:
    users = with_admin(accounts).users

    def seconds(name: str) -> float:
        started = time.perf_counter()
        with pytest.raises(LoginError):
            users.authenticate(name, OTHER)
        return time.perf_counter() - started

    # Medians of a few tries; a lookup alone is ~100 times faster than an argon2 verification.
    known = statistics.median(seconds("Sato") for _ in range(3))
    unknown = statistics.median(seconds("Tanaka") for _ in range(3))
    assert unknown > known / 3


def test_lock_out_after_five_wrong_passwords_for_five_minutes(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    for attempt in range(1, LOCKOUT_ATTEMPTS):
        with pytest.raises(LoginError) as caught:
            users.authenticate("Sato", f"wrong-{attempt}-guess")
        assert caught.value.reason == "invalid"
    with pytest.raises(LoginError) as caught:
        users.authenticate("Sato", "wrong-5-guess")
    until = START + LOCKOUT_PERIOD
    assert (caught.value.reason, caught.value.locked_until) == ("locked", until)
    assert "locked" in str(caught.value)

    accounts.clock.now = until - timedelta(seconds=1)
    with pytest.raises(LoginError) as caught:
        users.authenticate("Sato", GOOD)  # the right password, still refused
    assert (caught.value.reason, caught.value.locked_until) == ("locked", until)
    [listed] = users.all()
    assert (listed.failed_attempts, listed.locked_until) == (LOCKOUT_ATTEMPTS, until)

    accounts.clock.now = until
    assert users.authenticate("Sato", GOOD).failed_attempts == 0
    assert users.all()[0].locked_until is None

    entries = accounts.audit.entries()[1:]
    assert [e.action for e in entries] == [
        *["login.failed"] * (LOCKOUT_ATTEMPTS - 1),
        "login.locked",
        "login.failed",
        "login",
    ]
    assert [e.details.get("attempts") for e in entries[: LOCKOUT_ATTEMPTS - 1]] == [1, 2, 3, 4]
    assert entries[LOCKOUT_ATTEMPTS - 1].details == {"user": "Sato", "until": until.isoformat()}
    assert entries[LOCKOUT_ATTEMPTS].details == {
        "user": "Sato",
        "attempts": LOCKOUT_ATTEMPTS,
        "locked": True,
    }


def test_attempts_while_locked_do_not_extend_the_lock(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    for _ in range(LOCKOUT_ATTEMPTS):
        with pytest.raises(LoginError):
            users.authenticate("Sato", OTHER)
    accounts.clock.now = START + LOCKOUT_PERIOD / 2
    with pytest.raises(LoginError) as caught:
        users.authenticate("Sato", OTHER)
    assert caught.value.locked_until == START + LOCKOUT_PERIOD


def test_an_expired_lock_gives_a_fresh_count(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    for _ in range(LOCKOUT_ATTEMPTS):
        with pytest.raises(LoginError):
            users.authenticate("Sato", OTHER)
    assert (users.all()[0].failed_attempts, users.all()[0].locked_until) == (
        LOCKOUT_ATTEMPTS,
        START + LOCKOUT_PERIOD,
    )
    accounts.clock.now = START + LOCKOUT_PERIOD
    # Listed as the lock in force, so the accounts screen shows no lock that has run out.
    assert (users.all()[0].failed_attempts, users.all()[0].locked_until) == (0, None)
    with pytest.raises(LoginError) as caught:
        users.authenticate("Sato", OTHER)
    assert caught.value.reason == "invalid"
    assert users.all()[0].failed_attempts == 1


def test_a_success_resets_the_count(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    for _ in range(LOCKOUT_ATTEMPTS - 1):
        with pytest.raises(LoginError):
            users.authenticate("Sato", OTHER)
    assert users.all()[0].failed_attempts == LOCKOUT_ATTEMPTS - 1
    users.authenticate("Sato", GOOD)
    assert users.all()[0].failed_attempts == 0
    with pytest.raises(LoginError) as caught:
        users.authenticate("Sato", OTHER)
    assert caught.value.reason == "invalid"  # counting from zero again, not locked


def test_set_password_lifts_the_lock(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    for _ in range(LOCKOUT_ATTEMPTS):
        with pytest.raises(LoginError):
            users.authenticate("Sato", OTHER)
    users.set_password("sato", OTHER, actor="cli:owner")
    assert users.authenticate("Sato", OTHER).name == "Sato"
    with pytest.raises(LoginError):
        users.authenticate("Sato", GOOD)
    entry = accounts.audit.entries(action="user.password")[0]
    assert (entry.actor, entry.details) == ("cli:owner", {"name": "Sato"})


def test_set_password_checks_the_rules_and_the_name(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    with pytest.raises(PasswordRuleError) as caught:
        users.set_password("Sato", "Sato-is-42-ok", actor="admin:Sato")
    assert caught.value.problems == ["contains_name"]
    with pytest.raises(UserError, match="no account"):
        users.set_password("Tanaka", OTHER, actor="admin:Sato")
    assert accounts.actions() == ["user.create"]


def test_outdated_hashes_are_upgraded_at_sign_in(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(GOOD)
    with accounts.db.conn:
        accounts.db.conn.execute("UPDATE app_user SET password_hash = ?", (weak,))
    users.authenticate("Sato", GOOD)
    stored = accounts.db.execute("SELECT password_hash FROM app_user").fetchone()[0]
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)
    assert users.authenticate("Sato", GOOD).name == "Sato"


def test_the_last_admin_cannot_be_demoted_or_removed(accounts: Accounts) -> None:
    users = with_admin(accounts).users
    with pytest.raises(UserError, match="last administrator"):
        users.set_role("Sato", Role.MANAGER, actor="admin:Sato")
    with pytest.raises(UserError, match="last administrator"):
        users.remove("Sato", actor="admin:Sato")
    users.create("Suzuki", OTHER, Role.VIEWER, actor="admin:Sato")
    promoted = users.set_role("suzuki", Role.ADMIN, actor="admin:Sato")
    assert promoted.role is Role.ADMIN
    assert users.set_role("Suzuki", Role.ADMIN, actor="admin:Sato") == promoted  # no change
    users.set_role("Sato", Role.VIEWER, actor="admin:Suzuki")
    with pytest.raises(UserError, match="last administrator"):
        users.remove("Suzuki", actor="admin:Suzuki")
    users.remove("Sato", actor="admin:Suzuki")
    assert [(u.name, u.role) for u in users.all()] == [("Suzuki", Role.ADMIN)]
    with pytest.raises(UserError, match="no account"):
        users.remove("Sato", actor="admin:Suzuki")
    entries = accounts.audit.entries()[1:]
    assert [(e.actor, e.action, e.details) for e in entries] == [
        ("admin:Sato", "user.create", {"name": "Suzuki", "role": "viewer"}),
        ("admin:Sato", "user.role", {"name": "Suzuki", "old": "viewer", "new": "admin"}),
        ("admin:Suzuki", "user.role", {"name": "Sato", "old": "admin", "new": "viewer"}),
        ("admin:Suzuki", "user.remove", {"name": "Sato", "role": "viewer"}),
    ]


def test_one_entry_per_event_and_no_secret_anywhere(accounts: Accounts) -> None:
    users = accounts.users
    steps = [
        lambda: users.create("Sato", GOOD, Role.ADMIN, actor="setup:Sato"),
        lambda: users.create("Suzuki", OTHER, Role.MANAGER, actor="admin:Sato"),
        lambda: users.authenticate("Sato", GOOD),
        lambda: users.authenticate("Suzuki", GOOD),
        lambda: users.authenticate("nobody", OTHER),
        lambda: users.set_role("Suzuki", Role.VIEWER, actor="admin:Sato"),
        lambda: users.set_password("Suzuki", "Kawasemi-9-mizu", actor="admin:Sato"),
        lambda: users.remove("Suzuki", actor="admin:Sato"),
    ]
    for step in steps:
        before = len(accounts.audit.entries())
        with contextlib.suppress(LoginError):
            step()
        assert len(accounts.audit.entries()) == before + 1
    accounts.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    raw = accounts.raw_bytes()
    details = [row[0] for row in accounts.db.execute("SELECT details_json FROM audit")]
    for secret in (GOOD, OTHER, "Kawasemi-9-mizu"):
        assert secret.encode() not in raw
        assert not any(secret in text for text in details)
    assert not any("$argon2" in text for text in details)
    assert AuditLog(accounts.db).verify().ok


def test_a_naive_clock_is_refused(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    users = UserStore(db, AuditLog(db), clock=lambda: datetime(2025, 4, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        users.create("Sato", GOOD, Role.ADMIN, actor="setup:Sato")
    assert not users.has_users()


# --- schema --------------------------------------------------------------------------------


def test_migration_3_upgrades_a_version_2_file(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_FILE)
    for version, statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(
        "INSERT INTO notice_version (version, created_at, profile_json, sha256) "
        "VALUES (1, '2025-01-01T00:00:00+00:00', '{}', 'x')"
    )
    conn.commit()
    conn.close()

    db = open_database(tmp_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    assert db.execute("SELECT COUNT(*) FROM notice_version").fetchone()[0] == 1
    assert {c.name for c in db["app_user"].columns} == {
        "id",
        "name",
        "name_key",
        "password_hash",
        "role",
        "failed_attempts",
        "locked_until",
        "created_at",
        "password_changed_at",
    }
    audit = AuditLog(db, clock=Clock())
    UserStore(db, audit).create("Sato", GOOD, Role.ADMIN, actor="setup:Sato")
    with pytest.raises(sqlite3.IntegrityError):  # the schema itself refuses unknown roles
        db.execute(
            "INSERT INTO app_user (name, name_key, password_hash, role, created_at, "
            "password_changed_at) VALUES ('x', 'x', 'h', 'owner', 't', 't')"
        )
