"""The CI step that checks the dependency set resolves on Windows: the set it checks (offline;
the resolution itself asks PyPI and runs in `make test`, scripts/check_windows_wheels.py)."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from packaging.utils import canonicalize_name

from tests.conftest import ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_windows_wheels", ROOT / "scripts" / "check_windows_wheels.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_locked_set_pins_every_dependency_at_its_tested_version() -> None:
    script = _script()
    top = script.project_requirements()
    pinned, unpinned = script.locked_set(top)
    for requirement in top:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in the locked set"
        assert requirement.specifier.contains(pinned[name], prereleases=True)
    # Their own dependencies come along (onnxruntime needs protobuf and flatbuffers).
    assert {"protobuf", "flatbuffers", "shiboken6"} <= set(pinned)
    # Windows-only needs are checked too, even though this Linux venv lacks them.
    assert "pywin32-ctypes" in set(pinned) | set(unpinned)
    assert "jeepney" not in pinned, "Linux-only dependencies are left out"
