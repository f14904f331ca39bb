"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.conftest import ROOT

TS = ROOT / "resources" / "translations" / "raiten_ja.ts"


def test_core_imports_no_qt() -> None:
    """Everything under desktopapp/core must run headless: import all of it, find no Qt."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "desktopapp" / "core").rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'shiboken'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
    for path in (ROOT / "desktopapp" / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in {"PySide6", "PyQt6", "shiboken6"} for n in names), (
                f"{path} imports Qt"
            )


def _ui_strings() -> set[str]:
    """Every literal passed to self.tr(...) in desktopapp/ui."""
    found: set[str] = set()
    for path in (ROOT / "desktopapp" / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "tr"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_ui_string_has_a_japanese_translation() -> None:
    translated: dict[str, str] = {}
    for message in ET.parse(TS).iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        assert translation is not None
        assert translation.get("type") != "unfinished", f"untranslated: {source!r}"
        assert translation.text, f"empty translation: {source!r}"
        translated[source] = translation.text
    missing = _ui_strings() - set(translated)
    assert not missing, f"run `make translations` and translate: {sorted(missing)}"
    for source, text in translated.items():
        assert source.count("%1") == text.count("%1"), f"placeholder lost in {source!r}"


def test_compiled_translation_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "raiten_ja.qm"
    lrelease = Path(sys.executable).parent / "pyside6-lrelease"
    subprocess.run([str(lrelease), str(TS), "-qm", str(fresh)], check=True, capture_output=True)
    assert fresh.read_bytes() == TS.with_suffix(".qm").read_bytes(), "run `make translations`"


def test_readme_opens_with_the_two_commands() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("```")
    ]
    assert lines[:2] == ["make run", "make test"]
