"""Developer tool: open the real GUI on the current X display and save a screenshot.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot.py out.png --lang ja

Only the GUI is captured (no camera is configured in the throwaway data dir it uses).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from desktopapp.core.config import Settings, save_settings
from desktopapp.ui.app import create_main_window
from desktopapp.ui.camera_dialog import CameraDialog


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", choices=["ja", "en"], default="en")
    parser.add_argument("--delay-ms", type=int, default=2500)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--screen", choices=["main", "camera-dialog"], default="main")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="raiten-shot-"))
    settings = Settings()
    settings.ui.language = args.lang
    save_settings(data_dir, settings)
    app = QApplication(sys.argv)
    window = create_main_window(app, data_dir)
    window.show()
    if args.screen == "camera-dialog":
        dialog = CameraDialog(window.settings.vision, None, window)
        dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("demo"))
        dialog.name_edit.setText("Entrance")
        dialog.preview.set_zones((((0.55, 0.1), (0.95, 0.1), (0.95, 0.5), (0.55, 0.5)),))
        dialog.show()
        QTimer.singleShot(300, dialog.test_connection)

    def shoot() -> None:
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(args.out))
        app.quit()

    QTimer.singleShot(args.delay_ms, shoot)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
