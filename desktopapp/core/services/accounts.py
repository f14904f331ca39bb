"""Accounts: who signs in, why a sign-in or an account change is refused, and the password
rules the screens check as the operator types."""

from desktopapp.core.store.users import (
    MAX_NAME_LENGTH,
    MIN_PASSWORD_LENGTH,
    LoginError,
    PasswordRuleError,
    User,
    UserError,
    password_problems,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "LoginError",
    "PasswordRuleError",
    "User",
    "UserError",
    "password_problems",
]
