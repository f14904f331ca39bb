"""The licences of everything a bundle ships besides Raiten: one folder per Python
distribution whose code is in the bundle, with the licence files its wheel carries, Python's own
licence, and an index (THIRD-PARTY.md) of name, version and licence.

Run by raiten.spec after PyInstaller has collected the bundle; plain Python, so the tests call
it without building anything. Wheels that carry no licence text (PySide6 and shiboken6: the Qt
libraries under LGPL-3.0) get the text from ``installer/licences``; the Qt libraries stay
separate shared libraries in ``_internal/PySide6``, so an operator can replace them (LGPL
section 4).
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
# Texts for wheels that ship none: distribution name -> files in installer/licences.
SUPPLIED = {
    "PySide6_Essentials": ("LGPL-3.0.txt", "GPL-3.0.txt"),
    "shiboken6": ("LGPL-3.0.txt", "GPL-3.0.txt"),
}
_LICENCE_FILE = re.compile(r"licen[cs]e|copying|notice|copyright|authors", re.IGNORECASE)
# Module names that are not distributions: Raiten itself and the standard library.
_OURS = {"desktopapp"}


@dataclass(frozen=True, slots=True)
class Shipped:
    name: str
    version: str
    licence: str
    files: tuple[tuple[Path, str], ...]  # (where the text is, where it goes in its folder)


def top_level_names(module_names: Iterable[str], dest_paths: Iterable[str]) -> set[str]:
    """The top-level packages a bundle holds: from PyInstaller's module names (``a.pure``) and
    the destination paths of its binaries and data files (``PySide6/QtCore.abi3.so``)."""
    names = {name.split(".")[0] for name in module_names}
    for dest in dest_paths:
        first = PurePosixPath(dest.replace("\\", "/")).parts[0]
        names.add(first.split(".")[0])  # "cv2.abi3.so" -> "cv2"
    return names - _OURS


def _licence_of(dist: metadata.Distribution) -> str:
    meta = dist.metadata
    expression = meta.get("License-Expression")
    if expression:
        return str(expression)
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    if classifiers:
        return " / ".join(classifiers)
    text = (meta.get("License") or "").strip().splitlines()
    return text[0][:80] if text else "see the files"


def shipped(top_levels: Iterable[str]) -> list[Shipped]:
    """The distributions providing ``top_levels``, each with its licence texts."""
    by_module = metadata.packages_distributions()
    names = sorted({dist for top in top_levels for dist in by_module.get(top, ())})
    found = []
    for name in names:
        dist = metadata.distribution(name)
        # Relative paths kept: numpy alone ships a dozen files called LICENSE.txt.
        files = tuple(
            (Path(str(dist.locate_file(f))), f.as_posix())
            for f in dist.files or ()
            if _LICENCE_FILE.search(f.name) and not f.name.endswith((".py", ".pyc", ".xml"))
        )
        files += tuple((HERE / "licences" / text, text) for text in SUPPLIED.get(name, ()))
        found.append(Shipped(name, dist.version, _licence_of(dist), files))
    return found


def _python_licence() -> Path | None:
    candidates = (
        Path(sys.base_prefix) / "LICENSE.txt",  # Windows
        Path(sys.base_prefix)
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "LICENSE.txt",
    )
    return next((path for path in candidates if path.is_file()), None)


def write_licences(target: Path, top_levels: Iterable[str]) -> list[Shipped]:
    """Copy the licence texts into ``target`` (one folder per distribution) and write the index;
    returns what was written."""
    target.mkdir(parents=True, exist_ok=True)
    found = shipped(top_levels)
    lines = [
        "# Third-party software in this bundle",
        "",
        "Raiten's own code and models are listed in models/licences and resources/demo/NOTICE.txt.",
        "Each folder here holds the licence files of one package, as its maintainers ship them.",
        "",
        "| package | version | licence |",
        "|---|---|---|",
    ]
    python = _python_licence()
    if python is not None:
        shutil.copy2(python, target / "Python-LICENSE.txt")
        version = ".".join(map(str, sys.version_info[:3]))
        lines.append(f"| Python | {version} | PSF-2.0 (Python-LICENSE.txt) |")
    for item in found:
        for source, relative in item.files:
            if source.is_file():
                destination = target / item.name / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
        lines.append(f"| {item.name} | {item.version} | {item.licence} |")
    (target / "THIRD-PARTY.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return found
