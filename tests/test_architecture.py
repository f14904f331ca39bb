"""Rules of the codebase that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

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


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _imported(
    module: str, is_package: bool, tree: ast.AST, *, type_checking: bool
) -> Iterator[str]:
    """Every dotted name that ``module`` imports, wherever the import statement stands (inside
    functions too), with relative imports resolved: ``from a.b import c`` gives ``a.b`` and
    ``a.b.c``, since ``c`` may be a module. Strings given to ``importlib.import_module`` count.
    Imports under ``if TYPE_CHECKING:`` only when ``type_checking``."""
    skipped: set[int] = set()
    if not type_checking:
        for node in ast.walk(tree):
            if _is_type_checking(node):
                assert isinstance(node, ast.If)
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def _imports(root: Path, *, type_checking: bool = True) -> dict[str, set[str]]:
    """Module name -> the names it imports, for every module of desktopapp under ``root``."""
    found: dict[str, set[str]] = {}
    for path in sorted((root / "desktopapp").rglob("*.py")):
        module = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _imported(module, path.name == "__init__.py", tree, type_checking=type_checking)
        found[module] = set(names)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offenders(root: Path, importer: str, imported: str) -> list[str]:
    """ "module imports name" for each module inside ``importer`` importing from ``imported``."""
    return sorted(
        f"{module} imports {name}"
        for module, names in _imports(root).items()
        if _within(module, importer)
        for name in names
        # "from a.b import c" also gives a.b.c: name a.b alone
        if _within(name, imported) and name.rpartition(".")[0] not in names
    )


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import desktopapp.core.store.db", "desktopapp.ui.x", "desktopapp.core.store.db"),
        ("from desktopapp.core import store", "desktopapp.ui.x", "desktopapp.core.store"),
        ("from ..core.store import db", "desktopapp.ui.x", "desktopapp.core.store.db"),
        ("def f():\n    from ..core import store", "desktopapp.ui.x", "desktopapp.core.store"),
        (
            "importlib.import_module('desktopapp.core.store')",
            "desktopapp.ui.x",
            "desktopapp.core.store",
        ),
        (
            "from .engine import VisionEngine",
            "desktopapp.core.vision.persons",
            "desktopapp.core.vision.engine",
        ),
    ],
)
def test_import_finder_sees_every_form(source: str, module: str, expected: str) -> None:
    """The rules below are only as good as this: plain, from, relative and nested imports."""
    assert expected in set(_imported(module, False, ast.parse(source), type_checking=True))


def test_ui_reaches_the_store_only_through_the_workspace_and_its_services() -> None:
    """No module of desktopapp.ui imports desktopapp.core.store, in any form and wherever the
    import stands: the screens use core.workspace and core.services (issue 19)."""
    offenders = _offenders(ROOT, "desktopapp.ui", "desktopapp.core.store")
    assert not offenders, "use core.workspace or core.services instead:\n" + "\n".join(offenders)


def test_store_does_not_import_vision() -> None:
    """The store keeps what vision computes without depending on it: shared plain types live
    in neutral modules (core.vectors)."""
    offenders = _offenders(ROOT, "desktopapp.core.store", "desktopapp.core.vision")
    assert not offenders, "\n".join(offenders)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path that ends where it starts; None without any."""
    state: dict[str, int] = {}  # 1 while on the depth-first path, 2 once finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for follower in sorted(graph[node]):
            if state.get(follower) == 1:
                return [*path[path.index(follower) :], follower]
            if follower not in state and (found := visit(follower)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycles() -> None:
    """No cycle among desktopapp's modules. Imports inside functions count: a lazy import that
    only hides a cycle is still one (the engine↔persons↔remote cycle was hidden that way).
    Imports under ``if TYPE_CHECKING:`` are left out, since they never run."""
    imports = _imports(ROOT, type_checking=False)
    graph = {
        module: {name for name in names if name in imports and name != module}
        for module, names in imports.items()
    }
    cycles = []
    while (cycle := _cycle(graph)) is not None:
        cycles.append(" -> ".join(cycle))
        graph[cycle[-2]].discard(cycle[-1])  # report the next cycle too, not only the first
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
