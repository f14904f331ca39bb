"""What can go wrong with a chain, in words an operator can act on."""

from __future__ import annotations

from enum import StrEnum


class ChainProblem(StrEnum):
    UNREACHABLE = "unreachable"  # no server at that address, or the network is down
    WRONG_PASSWORD = "wrong_password"
    NOT_ALLOWED = "not_allowed"  # the role may not do this (e.g. not an administrator)
    BAD_ENROLMENT = "bad_enrolment"  # unreadable file, another version or another operator
    ALREADY_JOINED = "already_joined"
    NOT_JOINED = "not_joined"
    SERVER = "server"  # the server refused for another reason


class ChainError(Exception):
    """A chain command cannot go on; ``str()`` is one English sentence, ``problem`` says why."""

    def __init__(self, problem: ChainProblem, message: str):
        super().__init__(message)
        self.problem = problem
