"""Refresh resources/translations/raiten_ja.ts from the UI sources and compile the .qm.

Run after changing any user-facing string (``make translations``), then translate the new
entries in the .ts (Qt Linguist, or by hand) and run it again. A test fails while any entry is
untranslated or the .qm is older than the .ts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TS = ROOT / "resources" / "translations" / "raiten_ja.ts"
BIN = Path(sys.executable).parent


def main() -> int:
    sources = sorted(str(p) for p in (ROOT / "desktopapp" / "ui").rglob("*.py"))
    subprocess.run(
        [str(BIN / "pyside6-lupdate"), *sources, "-no-obsolete", "-ts", str(TS)], check=True
    )
    subprocess.run(
        [str(BIN / "pyside6-lrelease"), str(TS), "-qm", str(TS.with_suffix(".qm"))], check=True
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
