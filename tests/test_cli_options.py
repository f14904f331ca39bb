"""`--data-dir`, `--json` and `-v` mean the same before and after the command, at every level
(DESIGN "Command line"), and settings edited by hand are audited like any other change."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktopapp.cli import build_parser, main
from desktopapp.core.config import Settings, load_settings, save_settings
from desktopapp.core.workspace import SETTINGS_FILE_ACTOR, Workspace
from tests.test_notice import COMPLETE

OPTIONS = ["--data-dir", "/somewhere/D", "--json", "-v"]


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield path, parser
        return
    for name, child in subcommands[0].choices.items():
        yield from _leaves(child, (*path, name))


def _minimal_arguments(parser: argparse.ArgumentParser) -> list[str]:
    """Values for the command's required arguments, so that it parses."""
    values: list[str] = []
    # One option of each required group (`calibrate --pairs | --folder`) stands for the group.
    chosen = {id(g._group_actions[0]) for g in parser._mutually_exclusive_groups if g.required}
    for action in parser._actions:
        if action.option_strings and not action.required and id(action) not in chosen:
            continue
        value = str(next(iter(action.choices)) if action.choices else "1")
        if action.option_strings:
            values += [action.option_strings[0], value]
        else:
            values.append(value)
    return values


COMMANDS = list(_leaves(build_parser()))


def test_every_command_is_walked() -> None:
    names = {" ".join(path) for path, _parser in COMMANDS}
    assert {"notice set", "notice show", "analyse", "export", "users add", "audit verify"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_options_mean_the_same_before_after_and_between_the_commands(
    path: tuple[str, ...],
) -> None:
    leaf = dict(COMMANDS)[path]
    rest = _minimal_arguments(leaf)
    placements = [[*OPTIONS, *path, *rest], [*path, *rest, *OPTIONS]]
    # Between the levels of a nested command: `raiten notice --json set F`.
    placements += [[*path[:i], *OPTIONS, *path[i:], *rest] for i in range(1, len(path))]
    for argv in placements:
        args = build_parser().parse_args(argv)
        assert (args.data_dir, args.json, args.verbose) == (Path("/somewhere/D"), True, True), argv
    plain = build_parser().parse_args([*path, *rest])
    assert (plain.data_dir, plain.json, plain.verbose) == (None, False, False)


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("before", [True, False], ids=["options-first", "options-last"])
def test_commands_run_in_the_given_folder_with_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, before: bool
) -> None:
    data = tmp_path / "D"
    notice = tmp_path / "notice.toml"
    notice.write_text(COMPLETE, encoding="utf-8")

    def run(*command: str) -> dict[str, object]:
        options = ["--data-dir", str(data), "--json"]
        argv = [*options, *command] if before else [*command, *options]
        code, out, err = _run(capsys, argv)
        assert code == 0, err
        result: dict[str, object] = json.loads(out)
        return result

    assert run("notice", "set", str(notice))["version"] == 1
    shown = run("notice", "show")
    assert shown["version"] == 1 and "operator" in json.dumps(shown)
    assert run("audit", "verify")["ok"] is True
    assert "backups" in run("backup", "list")
    assert "visitors" in run("retention")
    assert (data / "raiten.db").exists()
    # The default folder (the test session's RAITEN_DATA_DIR) was not used.
    code, out, _err = _run(capsys, ["notice", "show", "--json"])
    assert code == 0 and json.loads(out)["version"] is None


def test_settings_edited_in_the_file_are_audited(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path, Settings())
    changed = Settings()
    changed.ui.language = "ja"
    workspace.save_settings(changed, "user:tanaka")
    workspace.close()
    # The threshold, the false-match rate and the smallest group have no screen: an operator
    # (or an integrator) edits settings.json.
    edited = load_settings(tmp_path)
    edited.reports.min_group = 3
    edited.vision.threshold = 0.95
    edited.vision.false_match_rate = 0.0002
    save_settings(tmp_path, edited)
    workspace = Workspace(tmp_path)
    workspace.close()
    workspace = Workspace(tmp_path)  # opening again records nothing new
    entries = workspace.audit_entries(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC), None, "settings.change"
    )
    workspace.close()
    assert [e.actor for e in entries] == ["user:tanaka", SETTINGS_FILE_ACTOR]
    assert entries[0].details["changed"] == {"ui.language": ["auto", "ja"]}
    assert entries[1].details["changed"] == {
        "reports.min_group": [5, 3],
        "vision.threshold": [None, 0.95],
        "vision.false_match_rate": [None, 0.0002],
    }
