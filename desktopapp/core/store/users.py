"""Staff accounts: login names, roles, argon2 password hashes and lock-out (G-09, G-10).

The ``app_user`` table holds a login name, a role and an argon2id hash (argon2-cffi's
``PasswordHasher`` defaults) per account, nothing else about the person. Names compare
NFKC-normalised and case-folded, so an IME's full-width "ＳＡＴＯ" is the account "sato", and
are shown as first typed.

Lock-out: the ``LOCKOUT_ATTEMPTS``-th wrong password in a row locks the account for
``LOCKOUT_PERIOD``. While locked every attempt fails, even with the right password, and none
extends the lock, so the time shown to the owner stays true. Once the lock has run out the count
starts again from zero (accounts read back show only a lock in force); a successful sign-in or a
new password also resets it. A name that matches no account fails exactly like a wrong password,
after one argon2 verification against a dummy hash so that the time taken does not tell either.
(The lock-out itself still tells that an account exists, after ``LOCKOUT_ATTEMPTS`` tries.)

Audit actors: ``user:<account name>`` for sign-in events (the stored spelling);
``unknown-user`` for attempts with a name that matches no account — the typed name is not
recorded, since people often type their password into the name field; account changes carry
the caller's actor (``admin:<name>``, ``cli:<os user>``, ``setup:<name>``). No entry ever holds
a password or a hash. The store does not check the caller's role: the UI does that with
``access.require(role, Permission.USERS)`` before calling.
"""

from __future__ import annotations

import functools
import logging
import secrets
import sqlite3
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from desktopapp.core.access import Role
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import immediate_transaction

log = logging.getLogger(__name__)

LOCKOUT_ATTEMPTS = 5
LOCKOUT_PERIOD = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
MAX_NAME_LENGTH = 64
# Shorter names would turn up inside strong passwords by chance.
MIN_NAME_LENGTH_CHECKED = 3
UNKNOWN_ACTOR = "unknown-user"

# Whole passwords (case-folded) that top the public breach lists and pass the other rules.
_COMMON_PASSWORDS = frozenset(
    {
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "qwe123qwe123",
        "a1b2c3d4e5",
        "a1b2c3d4e5f6",
        "1234567890abc",
        "1234567890qwerty",
        "abc1234567890",
        "0987654321abc",
    }
)
# Words that, padded with digits or symbols at either end ("Password2024!", "123qwerty456"),
# are still among the first guesses of any cracking tool.
_COMMON_STEMS = frozenset(
    {
        "password",
        "passw0rd",
        "p@ssw0rd",
        "p@ssword",
        "passwd",
        "pass",
        "qwerty",
        "qwertyuiop",
        "asdfgh",
        "asdfghjkl",
        "qazwsx",
        "abc",
        "abcd",
        "abcdef",
        "abcdefg",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "iloveyou",
        "monkey",
        "dragon",
        "master",
        "login",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "shop",
        "store",
        "raiten",
    }
)
_PADDING = string.digits + string.punctuation + string.whitespace

_PROBLEM_TEXT = {
    "too_short": f"it is shorter than {MIN_PASSWORD_LENGTH} characters",
    "too_long": f"it is longer than {MAX_PASSWORD_LENGTH} characters",
    "no_letter": "it has no letter",
    "no_digit": "it has no digit",
    "contains_name": "it contains the user name",
    "common": "it is one of the most common passwords",
}

_HASHER = PasswordHasher()
_COLUMNS = "id, name, role, created_at, failed_attempts, locked_until, password_hash"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def name_key(name: str) -> str:
    """What names are compared by: NFKC-normalised, case-folded, without outer spaces."""
    return _fold(name.strip())


def check_name(name: str) -> str:
    """The login name as it will be stored, or UserError saying what is wrong with it."""
    clean = name.strip()
    if not clean:
        raise UserError("A user name cannot be empty.", "name_empty")
    if len(clean) > MAX_NAME_LENGTH:
        raise UserError(
            f"A user name can be at most {MAX_NAME_LENGTH} characters.", "name_too_long"
        )
    if any(unicodedata.category(c).startswith("C") for c in clean):
        raise UserError("A user name cannot contain control characters.", "name_control")
    return clean


def password_problems(name: str, password: str) -> list[str]:
    """Why ``password`` may not be used for the account ``name``; empty when it may.

    Codes: ``too_short``, ``too_long``, ``no_letter``, ``no_digit``, ``contains_name``,
    ``common``. The UI words each in the operator's language.
    """
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("too_short")
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append("too_long")
    if not any(c.isalpha() for c in password):
        problems.append("no_letter")
    if not any(c.isdigit() for c in password):
        problems.append("no_digit")
    folded = _fold(password)
    key = name_key(name)
    if len(key) >= MIN_NAME_LENGTH_CHECKED and key in folded:
        problems.append("contains_name")
    if folded in _COMMON_PASSWORDS or folded.strip(_PADDING) in _COMMON_STEMS:
        problems.append("common")
    return problems


class PasswordRuleError(ValueError):
    """The password breaks the rules; ``problems`` holds the codes, ``str()`` plain English."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        reasons = "; ".join(_PROBLEM_TEXT[problem] for problem in problems)
        super().__init__(f"The password is not accepted: {reasons}.")


class UserError(Exception):
    """An account change that cannot be made; ``str()`` says why in one sentence, ``code`` and
    ``name`` (the account concerned) say the same for the UI: name_empty, name_too_long,
    name_control, exists, first_admin, no_account, last_admin, set_up."""

    def __init__(self, message: str, code: str, name: str = ""):
        super().__init__(message)
        self.code = code
        self.name = name


LoginReason = Literal["invalid", "locked"]


class LoginError(Exception):
    """Sign-in refused. ``invalid`` covers unknown names and wrong passwords alike."""

    def __init__(self, reason: LoginReason, locked_until: datetime | None = None) -> None:
        self.reason: LoginReason = reason
        self.locked_until = locked_until
        if locked_until is not None:
            message = (
                "Too many failed sign-ins: the account is locked until "
                f"{locked_until.astimezone():%H:%M}."
            )
        else:
            message = "The user name or password is wrong."
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    name: str
    role: Role
    created_at: datetime
    failed_attempts: int
    locked_until: datetime | None


def _user(row: tuple[Any, ...], now: datetime) -> User:
    """The account as of ``now``: a lock that has run out reads as no lock and no failures."""
    failed_attempts = int(row[4])
    locked_until = datetime.fromisoformat(row[5]) if row[5] else None
    if locked_until is not None and locked_until <= now:
        # The row keeps the stale values until the next sign-in writes it.
        failed_attempts, locked_until = 0, None
    return User(
        user_id=int(row[0]),
        name=str(row[1]),
        role=Role(row[2]),
        created_at=datetime.fromisoformat(row[3]),
        failed_attempts=failed_attempts,
        locked_until=locked_until,
    )


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def _matches(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except VerifyMismatchError:
        return False
    except (VerificationError, InvalidHashError):
        log.warning("an account's stored password hash is unreadable; sign-in refused")
        return False


class UserStore:
    """The accounts in one database connection; every change adds one audit entry.

    Audit entries are appended after the change is committed: the audit log takes its own
    transaction and refuses to join an open one.
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._conn: sqlite3.Connection = db.conn
        self._audit = audit
        self._clock = clock
        # Computed now so that the first unknown-name attempt is not slower than the rest.
        _dummy_hash()

    def has_users(self) -> bool:
        return self._conn.execute("SELECT 1 FROM app_user LIMIT 1").fetchone() is not None

    def all(self) -> list[User]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM app_user ORDER BY name_key")
        now = self._now()
        return [_user(row, now) for row in rows]

    def create(self, name: str, password: str, role: Role, *, actor: str) -> User:
        clean = check_name(name)
        problems = password_problems(clean, password)
        if problems:
            raise PasswordRuleError(problems)
        # Hashed before taking the write lock: it takes tens of milliseconds.
        password_hash = _HASHER.hash(password)
        with immediate_transaction(self._conn):
            now = self._now()
            existing = self._find(name_key(clean), now)
            if existing is not None:
                raise UserError(
                    f"An account named '{existing[0].name}' already exists.",
                    "exists",
                    existing[0].name,
                )
            if role is not Role.ADMIN and not self.has_users():
                # Otherwise nobody could ever manage the accounts.
                raise UserError("The first account must be an administrator.", "first_admin")
            cursor = self._conn.execute(
                "INSERT INTO app_user (name, name_key, password_hash, role, created_at, "
                "password_changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    clean,
                    name_key(clean),
                    password_hash,
                    role.value,
                    now.isoformat(),
                    now.isoformat(),
                ),
            )
            user_id = cursor.lastrowid
        assert user_id is not None  # an INSERT always sets it
        self._audit.append(actor, "user.create", {"name": clean, "role": role.value})
        log.info("account %d created with role %s", user_id, role)
        return User(user_id, clean, role, now, 0, None)

    def authenticate(self, name: str, password: str) -> User:
        """The account, or LoginError; see the module docstring for lock-out."""
        # Verification happens inside the write lock so that concurrent attempts cannot both
        # read the same count; tens of milliseconds, and WAL readers are not held up.
        with immediate_transaction(self._conn):
            now = self._now()
            found = self._find(name_key(name), now)
            if found is None:
                _matches(_dummy_hash(), password)
                actor = UNKNOWN_ACTOR
                event: tuple[str, dict[str, Any]] = (
                    "login.failed",
                    {"user": None, "attempts": None, "locked": False},
                )
                outcome: User | LoginError = LoginError("invalid")
            else:
                user, stored_hash = found
                actor = f"user:{user.name}"
                correct = _matches(stored_hash, password)
                if user.locked_until is not None:  # _find has already dropped a run-out lock
                    event = (
                        "login.failed",
                        {"user": user.name, "attempts": user.failed_attempts, "locked": True},
                    )
                    outcome = LoginError("locked", user.locked_until)
                elif correct:
                    self._signed_in(user, stored_hash, password)
                    event = ("login", {"user": user.name})
                    outcome = replace(user, failed_attempts=0, locked_until=None)
                else:
                    event, outcome = self._failed(user, now)
        self._audit.append(actor, *event)
        if isinstance(outcome, LoginError):
            raise outcome
        return outcome

    def _signed_in(self, user: User, stored_hash: str, password: str) -> None:
        self._conn.execute(
            "UPDATE app_user SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
            (user.user_id,),
        )
        # Hashes made with weaker parameters by an older Raiten are upgraded on the way.
        if _HASHER.check_needs_rehash(stored_hash):
            self._conn.execute(
                "UPDATE app_user SET password_hash = ? WHERE id = ?",
                (_HASHER.hash(password), user.user_id),
            )
            log.info("account %d: password hash upgraded to current parameters", user.user_id)

    def _failed(self, user: User, now: datetime) -> tuple[tuple[str, dict[str, Any]], LoginError]:
        attempts = user.failed_attempts + 1
        locked_until = now + LOCKOUT_PERIOD if attempts >= LOCKOUT_ATTEMPTS else None
        self._conn.execute(
            "UPDATE app_user SET failed_attempts = ?, locked_until = ? WHERE id = ?",
            (attempts, locked_until.isoformat() if locked_until else None, user.user_id),
        )
        if locked_until is not None:
            log.warning("account %d locked after %d failed sign-ins", user.user_id, attempts)
            return (
                ("login.locked", {"user": user.name, "until": locked_until.isoformat()}),
                LoginError("locked", locked_until),
            )
        return (
            ("login.failed", {"user": user.name, "attempts": attempts, "locked": False}),
            LoginError("invalid"),
        )

    def set_role(self, name: str, role: Role, *, actor: str) -> User:
        with immediate_transaction(self._conn):
            user = self._require(name)
            if user.role is role:
                return user
            if user.role is Role.ADMIN:
                self._keep_an_admin(
                    f"'{user.name}' is the last administrator: make another "
                    "account an administrator first.",
                    user.name,
                )
            self._conn.execute(
                "UPDATE app_user SET role = ? WHERE id = ?", (role.value, user.user_id)
            )
        self._audit.append(
            actor, "user.role", {"name": user.name, "old": user.role.value, "new": role.value}
        )
        log.info("account %d: role %s -> %s", user.user_id, user.role, role)
        return replace(user, role=role)

    def set_password(self, name: str, password: str, *, actor: str) -> None:
        """A new password; also lifts a lock-out (the way an administrator unlocks)."""
        # name_key(name) equals the stored name's key, so the name rule sees the same thing.
        problems = password_problems(name, password)
        if problems:
            raise PasswordRuleError(problems)
        password_hash = _HASHER.hash(password)
        with immediate_transaction(self._conn):
            user = self._require(name)
            self._conn.execute(
                "UPDATE app_user SET password_hash = ?, password_changed_at = ?, "
                "failed_attempts = 0, locked_until = NULL WHERE id = ?",
                (password_hash, self._now().isoformat(), user.user_id),
            )
        self._audit.append(actor, "user.password", {"name": user.name})
        log.info("account %d: password changed", user.user_id)

    def change_own_password(self, name: str, old: str, new: str) -> None:
        """The signed-in user's new password, given the current one: a wrong current
        password counts as a failed sign-in (LoginError, lock-out included)."""
        problems = password_problems(name, new)
        if problems:
            raise PasswordRuleError(problems)
        user = self.authenticate(name, old)
        self.set_password(user.name, new, actor=f"user:{user.name}")

    def unlock(self, name: str, *, actor: str) -> User:
        """Lift a lock-out before it runs out (an administrator's act); audited."""
        with immediate_transaction(self._conn):
            user = self._require(name)
            self._conn.execute(
                "UPDATE app_user SET failed_attempts = 0, locked_until = NULL WHERE id = ?",
                (user.user_id,),
            )
        self._audit.append(
            actor, "user.unlock", {"name": user.name, "was_locked": bool(user.locked_until)}
        )
        log.info("account %d unlocked", user.user_id)
        return replace(user, failed_attempts=0, locked_until=None)

    def remove(self, name: str, *, actor: str) -> None:
        with immediate_transaction(self._conn):
            user = self._require(name)
            if user.role is Role.ADMIN:
                self._keep_an_admin(
                    f"'{user.name}' is the last administrator and cannot be removed.", user.name
                )
            self._conn.execute("DELETE FROM app_user WHERE id = ?", (user.user_id,))
        self._audit.append(actor, "user.remove", {"name": user.name, "role": user.role.value})
        log.info("account %d removed", user.user_id)

    def _find(self, key: str, now: datetime) -> tuple[User, str] | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM app_user WHERE name_key = ?", (key,)
        ).fetchone()
        return None if row is None else (_user(row, now), str(row[6]))

    def _require(self, name: str) -> User:
        found = self._find(name_key(name), self._now())
        if found is None:
            raise UserError(
                f"There is no account named '{name.strip()}'.", "no_account", name.strip()
            )
        return found[0]

    def _keep_an_admin(self, refusal: str, name: str) -> None:
        """UserError(refusal) unless another administrator remains; inside the transaction."""
        admins = self._conn.execute(
            "SELECT COUNT(*) FROM app_user WHERE role = ?", (Role.ADMIN.value,)
        ).fetchone()[0]
        if int(admins) <= 1:
            raise UserError(refusal, "last_admin", name)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            # Lock-out times are compared with stored UTC times.
            raise ValueError("the clock must give timezone-aware times")
        return now.astimezone(UTC)
