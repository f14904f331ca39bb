"""The command-line contract of chain mode: init, join, sync, status, leave, and bad input as
one line on stderr with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktopapp.cli import main
from desktopapp.core.chain.enrolment import read_enrolment
from tests.chain.conftest import PgServer
from tests.test_notice import COMPLETE

OPERATOR = "株式会社サンプル商店"  # the operator of tests.test_notice.COMPLETE


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what came before is not this command's
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _pc(tmp_path: Path, name: str) -> Path:
    """A store PC whose notice is set (the operator it records for)."""
    data = tmp_path / name
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")
    assert main(["notice", "set", str(notice), "--data-dir", str(data)]) == 0
    return data


def test_init_join_sync_status_leave(
    pg_admin_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hq = _pc(tmp_path, "hq")
    enrolment = tmp_path / "chain.enrol"
    code, out, err = _run(
        capsys,
        "chain",
        "init",
        "--server",
        pg_admin_url,
        "--out",
        str(enrolment),
        "--json",
        "--data-dir",
        str(hq),
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["operator"] == OPERATOR
    assert enrolment.stat().st_mode & 0o777 == 0o600
    assert "postgres" not in json.dumps(read_enrolment(enrolment).server)

    shop = _pc(tmp_path, "shop")
    code, out, err = _run(
        capsys,
        "chain",
        "join",
        str(enrolment),
        "--store",
        "渋谷店",
        "--json",
        "--data-dir",
        str(shop),
    )
    assert code == 0, err
    assert json.loads(out)["store"] == "渋谷店"

    code, out, err = _run(capsys, "chain", "sync", "--json", "--data-dir", str(shop))
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"pushed", "pulled", "pending", "merged"}
    assert result["pending"] == 0 and result["pushed"] >= 1  # the audit entry of the join

    code, out, err = _run(capsys, "chain", "status", "--json", "--data-dir", str(shop))
    assert code == 0, err
    status = json.loads(out)
    assert status["store"] == "渋谷店" and status["operator"] == OPERATOR
    assert status["last_sync"] and status["offline_since"] is None and status["outbox"] == 0
    assert "sock" in status["server"]

    code, out, err = _run(capsys, "chain", "leave", "--json", "--data-dir", str(shop))
    assert code == 0, err
    code, out, _ = _run(capsys, "chain", "status", "--json", "--data-dir", str(shop))
    assert json.loads(out) == {"joined": False}
    # Leaving keeps the data; syncing now is bad input.
    code, _, err = _run(capsys, "chain", "sync", "--data-dir", str(shop))
    assert code == 2 and err.count("\n") == 1 and "not a store of a chain" in err
    # The administrator's erasure maintenance on the server.
    code, out, err = _run(capsys, "chain", "scrub", "--server", pg_admin_url, "--json")
    assert code == 0, err
    assert json.loads(out) == {"operators": 0, "wal_recycle": False}


def _one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.count("\n") == 1, err
    assert words in err, err


def test_bad_input_is_one_line_and_exit_2(
    pg_server: PgServer, pg_admin_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hq = _pc(tmp_path, "hq")
    enrolment = tmp_path / "chain.enrol"
    assert (
        main(
            [
                "chain",
                "init",
                "--server",
                pg_admin_url,
                "--out",
                str(enrolment),
                "--data-dir",
                str(hq),
            ]
        )
        == 0
    )
    capsys.readouterr()
    # An unreachable server.
    _one_line_exit_2(
        capsys,
        [
            "chain",
            "init",
            "--server",
            f"postgresql://postgres@/x?host={tmp_path}",
            "--out",
            str(tmp_path / "other.enrol"),
            "--data-dir",
            str(hq),
        ],
        "cannot be reached",
    )
    # The same file name twice: the first operator's key is never overwritten.
    _one_line_exit_2(
        capsys,
        ["chain", "init", "--server", pg_admin_url, "--out", str(enrolment), "--data-dir", str(hq)],
        "exists already",
    )
    raw = json.loads(enrolment.read_text(encoding="utf-8"))
    # A wrong password.
    wrong = tmp_path / "wrong.enrol"
    wrong.write_text(json.dumps(raw | {"enrol": raw["enrol"] | {"password": "nope"}}))
    shop = _pc(tmp_path, "shop")
    _one_line_exit_2(
        capsys,
        ["chain", "join", str(wrong), "--store", "渋谷店", "--data-dir", str(shop)],
        "wrong password",
    )
    # A file of another version, and something that is no enrolment file.
    newer = tmp_path / "newer.enrol"
    newer.write_text(json.dumps(raw | {"version": 2}))
    _one_line_exit_2(
        capsys,
        ["chain", "join", str(newer), "--store", "渋谷店", "--data-dir", str(shop)],
        "version 2",
    )
    _one_line_exit_2(
        capsys,
        [
            "chain",
            "join",
            str(tmp_path / "notice.toml"),
            "--store",
            "渋谷店",
            "--data-dir",
            str(shop),
        ],
        "not an enrolment file",
    )
    # A file of another operator than the one this PC records for.
    other = tmp_path / "other-operator.enrol"
    other.write_text(json.dumps(raw | {"operator": raw["operator"] | {"name": "Other Mart"}}))
    _one_line_exit_2(
        capsys,
        ["chain", "join", str(other), "--store", "渋谷店", "--data-dir", str(shop)],
        "Other Mart",
    )
    # Joining twice: the same PC, and another PC under a store name taken already.
    assert (
        main(["chain", "join", str(enrolment), "--store", "渋谷店", "--data-dir", str(shop)]) == 0
    )
    capsys.readouterr()
    _one_line_exit_2(
        capsys,
        ["chain", "join", str(enrolment), "--store", "上野店", "--data-dir", str(shop)],
        "joined already",
    )
    second = _pc(tmp_path, "second")
    _one_line_exit_2(
        capsys,
        ["chain", "join", str(enrolment), "--store", "渋谷店", "--data-dir", str(second)],
        "joined this chain already",
    )
    # The server stopped: sync says so, and the status remembers since when.
    pg_server.stop()
    try:
        _one_line_exit_2(capsys, ["chain", "sync", "--data-dir", str(shop)], "cannot be reached")
    finally:
        pg_server.start()
    code, out, _ = _run(capsys, "chain", "status", "--json", "--data-dir", str(shop))
    assert code == 0 and json.loads(out)["offline_since"]
    code, out, err = _run(capsys, "chain", "sync", "--json", "--data-dir", str(shop))
    assert code == 0, err
    code, out, _ = _run(capsys, "chain", "status", "--json", "--data-dir", str(shop))
    assert json.loads(out)["offline_since"] is None
