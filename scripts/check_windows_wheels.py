"""CI step: the dependency set this venv runs resolves to Windows (win_amd64, CPython 3.11)
wheels on PyPI, so that a Windows-only break (a release without a cp311 win_amd64 wheel, a
dependency that only builds from source there) shows here, not on a shop's PC.

The set is locked to what is installed and tested here: every runtime dependency of the
project, with the packages they need, each pinned to its installed version. pip resolves it for
the Windows platform against PyPI only (`--isolated`: no local index, find-links or constraints
of this machine), reading only metadata (`install --dry-run`), so it takes seconds.

Exit 0: it resolves. Exit 1: it does not, with pip's reason: a real Windows break. When PyPI
cannot be reached at all, the check says so on stderr and exits 0: no network is no Windows break.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/simple"
WINDOWS = {
    "sys_platform": "win32",
    "platform_system": "Windows",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "python_version": "3.11",
    "implementation_name": "cpython",
    "extra": "",
}
# pip's words for "this set has no Windows wheels", as opposed to a network failure.
_NOT_RESOLVABLE = (
    "No matching distribution found",
    "ResolutionImpossible",
    "Could not find a version",
    "conflicting dependencies",
)


def project_requirements() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def locked_set(top: list[Requirement]) -> tuple[dict[str, str], list[str]]:
    """Every package the project needs on Windows: ``{name: installed version}``, and the
    names needed on Windows only (not installed here, so not pinned)."""
    pinned: dict[str, str] = {}
    unpinned: list[str] = []
    queue = [r for r in top if r.marker is None or r.marker.evaluate(WINDOWS)]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        if name in pinned or name in unpinned:
            continue
        try:
            distribution = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            unpinned.append(name)
            continue
        pinned[name] = distribution.version
        for text in distribution.requires or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate(WINDOWS):
                queue.append(needed)
    return dict(sorted(pinned.items())), sorted(unpinned)


def pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen(f"{INDEX}/pip/", timeout=20) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def resolve_for_windows(requirements: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="raiten-win-") as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "--target",
            str(Path(scratch) / "target"),
            "--platform",
            "win_amd64",
            "--python-version",
            "3.11",
            "--implementation",
            "cp",
            "--abi",
            "cp311",
            "--only-binary=:all:",
            "--index-url",
            INDEX,
            *requirements,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode == 0:
            wheels = [
                item["download_info"]["url"].rsplit("/", 1)[-1]
                for item in json.loads(report.read_text(encoding="utf-8"))["install"]
            ]
            done.stdout = "\n".join(sorted(wheels))
        return done


def main() -> int:
    pinned, unpinned = locked_set(project_requirements())
    requirements = [f"{name}=={version}" for name, version in pinned.items()] + unpinned
    if not pypi_reachable():
        print(f"check_windows_wheels: SKIPPED, {INDEX} cannot be reached", file=sys.stderr)
        return 0
    done = resolve_for_windows(requirements)
    if done.returncode == 0:
        wheels = done.stdout.splitlines()
        print(f"check_windows_wheels: {len(wheels)} win_amd64/cp311 wheels resolve:")
        print("\n".join(f"  {wheel}" for wheel in wheels))
        return 0
    output = (done.stdout + done.stderr).strip()
    if any(words in output for words in _NOT_RESOLVABLE):
        print("check_windows_wheels: the locked set does NOT resolve on Windows:", file=sys.stderr)
        print(output, file=sys.stderr)
        return 1
    print(f"check_windows_wheels: SKIPPED, pip could not reach {INDEX}:", file=sys.stderr)
    print(output[-2000:], file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
