"""`raiten users ...`: accounts from the command line, and the way back in for a lost password."""

from __future__ import annotations

import getpass
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktopapp.core.access import Role
from desktopapp.core.store.audit import AuditLog
from desktopapp.core.store.db import open_database
from desktopapp.core.store.users import LOCKOUT_ATTEMPTS, LoginError, UserStore
from tests.conftest import ROOT
from tests.test_cli import run_cli

PASSWORD = "Tsubame-7-kaze"
NEW_PASSWORD = "Kawasemi-9-mizu"


@pytest.fixture
def data(tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path / "data")]


def users_cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return run_cli(capsys, "users", *args)


def store(data: list[str]) -> UserStore:
    db = open_database(Path(data[1]))
    return UserStore(db, AuditLog(db))


def test_add_and_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: list[str]
) -> None:
    code, out, _ = users_cli(capsys, monkeypatch, "list", *data)
    assert (code, out.startswith("no accounts yet")) == (0, True)

    code, out, err = users_cli(
        capsys,
        monkeypatch,
        "add",
        "Sato",
        "--role",
        "admin",
        *data,
        "--json",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, err
    assert json.loads(out) == {"name": "Sato", "role": "admin"}
    code, out, err = users_cli(
        capsys, monkeypatch, "add", "Suzuki", "--role", "viewer", *data, stdin=NEW_PASSWORD
    )
    assert (code, out) == (0, "account Suzuki created (viewer)\n"), err

    code, out, _ = users_cli(capsys, monkeypatch, "list", *data, "--json")
    listed = json.loads(out)["users"]
    assert [(u["name"], u["role"], u["failed_attempts"]) for u in listed] == [
        ("Sato", "admin", 0),
        ("Suzuki", "viewer", 0),
    ]
    assert store(data).authenticate("sato", PASSWORD).role is Role.ADMIN
    entries = AuditLog(open_database(Path(data[1]))).entries(action="user.create")
    assert [e.actor for e in entries] == [f"cli:{getpass.getuser()}"] * 2


@pytest.mark.parametrize(
    ("stdin", "reason"),
    [
        ("", "no password given"),
        ("\n", "no password given"),
        ("short-1\n", "shorter than 10 characters"),
        ("password1234\n", "one of the most common passwords"),
    ],
)
def test_a_missing_or_weak_password_exits_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data: list[str],
    stdin: str,
    reason: str,
) -> None:
    code, out, err = users_cli(
        capsys, monkeypatch, "add", "Sato", "--role", "admin", *data, stdin=stdin
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and reason in err
    assert not store(data).has_users()


def test_bad_requests_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: list[str]
) -> None:
    code, _, err = users_cli(
        capsys, monkeypatch, "add", "Sato", "--role", "viewer", *data, stdin=PASSWORD
    )
    assert code == 2 and "first account must be an administrator" in err
    with pytest.raises(SystemExit) as exited:  # argparse exits rather than returning
        users_cli(capsys, monkeypatch, "add", "Sato", "--role", "owner", *data, stdin=PASSWORD)
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err
    users_cli(capsys, monkeypatch, "add", "Sato", "--role", "admin", *data, stdin=PASSWORD)
    code, _, err = users_cli(
        capsys, monkeypatch, "add", "SATO", "--role", "admin", *data, stdin=NEW_PASSWORD
    )
    assert code == 2 and "already exists" in err
    code, _, err = users_cli(capsys, monkeypatch, "set-role", "Sato", "viewer", *data)
    assert code == 2 and "last administrator" in err
    code, _, err = users_cli(
        capsys, monkeypatch, "set-password", "Tanaka", *data, stdin=NEW_PASSWORD
    )
    assert code == 2 and "no account named 'Tanaka'" in err


def test_set_password_recovers_a_locked_out_admin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: list[str]
) -> None:
    users_cli(capsys, monkeypatch, "add", "Sato", "--role", "admin", *data, stdin=PASSWORD)
    users = store(data)
    for _ in range(LOCKOUT_ATTEMPTS):
        with pytest.raises(LoginError):
            users.authenticate("Sato", "forgotten-1-again")
    code, out, _ = users_cli(capsys, monkeypatch, "list", *data)
    assert "locked until" in out

    code, out, err = users_cli(
        capsys, monkeypatch, "set-password", "sato", *data, "--json", stdin=NEW_PASSWORD + "\r\n"
    )
    assert code == 0, err
    assert json.loads(out) == {"name": "sato"}
    assert users.authenticate("Sato", NEW_PASSWORD).failed_attempts == 0
    audit = AuditLog(open_database(Path(data[1])))
    [entry] = audit.entries(action="user.password")
    assert (entry.actor, entry.details) == (f"cli:{getpass.getuser()}", {"name": "Sato"})
    assert audit.verify().ok


def test_set_role(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: list[str]
) -> None:
    users_cli(capsys, monkeypatch, "add", "Sato", "--role", "admin", *data, stdin=PASSWORD)
    users_cli(capsys, monkeypatch, "add", "Suzuki", "--role", "viewer", *data, stdin=NEW_PASSWORD)
    code, out, err = users_cli(capsys, monkeypatch, "set-role", "suzuki", "manager", *data)
    assert (code, out) == (0, "Suzuki is now manager\n"), err
    assert [u.role for u in store(data).all()] == [Role.ADMIN, Role.MANAGER]
    [entry] = AuditLog(open_database(Path(data[1]))).entries(action="user.role")
    assert entry.details == {"name": "Suzuki", "old": "viewer", "new": "manager"}


def test_a_password_piped_into_a_real_process(data: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "desktopapp", "users", "add", "Sato", "--role", "admin", *data],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert store(data).authenticate("Sato", PASSWORD).name == "Sato"
