"""Developer tool: open a real screen of the GUI on the current X display and save a screenshot.

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python scripts/screenshot.py out.png \
        --lang ja --screen settings

The throwaway data folder it uses holds the sample notice of tests/test_notice.py and an
administrator "tanaka"; no camera is configured unless the screen needs one.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from desktopapp.core.access import Role
from desktopapp.core.benchmark import BenchPlan
from desktopapp.core.config import Settings, save_settings
from desktopapp.core.counting import CountingLine, Zone, ZoneKind
from desktopapp.core.floor import Space
from desktopapp.core.logs import setup_logging
from desktopapp.core.modes import Mode
from desktopapp.core.notice import NoticeProfile, SignTexts, suggested_texts
from desktopapp.core.session import Session
from desktopapp.core.setup import FirstRunAnswers
from desktopapp.core.sources import SourceKind, SourceSpec
from desktopapp.core.store.cameras import Camera
from desktopapp.core.store.users import LoginError, User
from desktopapp.core.workspace import Workspace
from desktopapp.ui.app import Gui, apply_language, create_main_window
from desktopapp.ui.audit_viewer import AuditViewer
from desktopapp.ui.bench_dialog import BenchDialog
from desktopapp.ui.calibration_dialog import CalibrationDialog
from desktopapp.ui.camera_dialog import CameraDialog
from desktopapp.ui.export_dialog import ExportDialog
from desktopapp.ui.first_run import ADMIN, OTHER, WHAT, WHO, FirstRunWizard
from desktopapp.ui.login import LoginDialog
from desktopapp.ui.pos_dialog import PosImportDialog
from desktopapp.ui.public_requests import PublicRequestsDialog
from desktopapp.ui.purge_dialog import PurgeDialog
from desktopapp.ui.registers_dialog import RegistersDialog
from desktopapp.ui.settings_dialog import SettingsDialog
from desktopapp.ui.signage_dialog import SignageDialog

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "test_notice.py"
SCREENS = [
    "main",
    "viewer",
    "locked",
    "camera-dialog",
    "wizard-welcome",
    "wizard-who",
    "wizard-what",
    "wizard-admin",
    "login",
    "settings-notice",
    "settings-general",
    "settings-accounts",
    "signage",
    "requests",
    "purge",
    "audit",
    "dashboard",
    "dashboard-floor",
    "dashboard-plan-width",
    "export",
    "pos",
    "registers",
    "calibration",
    "demo-live",
    "demo-dashboard",
    "camera-error",
    "models",
    "wizard-other",
    "signage-bilingual",
    "guide",
    "login-locked",
    "purge-done",
    "requests-guide",
    "live-video",
    "live-demo",
    "bench",
]
# The live view of one camera in the sample notice's mode (repeat), to check that nobody in it
# is recognisable: a video file (--video, default the test data's vtest.avi) or the demo.
TEST_VIDEO = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "video" / "vtest.avi"


def _sample_profile() -> NoticeProfile:
    source = SAMPLE.read_text(encoding="utf-8")
    text = source.split('COMPLETE = """', 1)[1].split('"""', 1)[0]
    return NoticeProfile.model_validate(tomllib.loads(text))


def _floor_plan(folder: Path) -> Path:
    """A shop drawing as an operator would load it: walls, shelves and a till, no person."""
    plan = QImage(800, 800, QImage.Format.Format_RGB888)
    plan.fill(QColor("#fafaf5"))
    painter = QPainter(plan)
    painter.setPen(QPen(QColor("#333333"), 8))
    painter.drawRect(10, 10, 780, 780)
    painter.setPen(QPen(QColor("#777777"), 2))
    painter.setBrush(QColor("#d9d2c5"))
    for x in (60, 160):
        painter.drawRect(x, 80, 50, 300)
    painter.drawRect(300, 330, 90, 40)  # the till
    painter.end()
    path = folder / "floor-plan.png"
    plan.save(str(path))
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", choices=["ja", "en"], default="en")
    parser.add_argument("--delay-ms", type=int, default=2500)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--screen", choices=SCREENS, default="main")
    parser.add_argument("--video", type=Path, default=TEST_VIDEO, help="for live-video")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="raiten-shot-"))
    settings = Settings()
    settings.ui.language = args.lang
    save_settings(data_dir, settings)
    app = QApplication(sys.argv)
    apply_language(app, settings)
    workspace = Workspace(data_dir, settings)
    fresh = args.screen.startswith(("wizard", "demo"))
    if not fresh and workspace.needs_first_run():
        workspace.complete_first_run(FirstRunAnswers(_sample_profile(), "tanaka", "kanri2026store"))
        workspace.authenticate("tanaka", "kanri2026store")
    if args.screen == "live-video":
        workspace.save_camera(Camera("Hall", SourceSpec(SourceKind.FILE, str(args.video))))
    elif args.screen == "live-demo":
        workspace.save_camera(Camera("Entrance", SourceSpec(SourceKind.DEMO, "demo")))
    shown: list[QWidget] = []
    screen = args.screen
    if screen.startswith("wizard"):
        wizard = FirstRunWizard(workspace.complete_first_run)
        page = {
            "wizard-welcome": 0,
            "wizard-who": WHO,
            "wizard-what": WHAT,
            "wizard-other": OTHER,
        }.get(screen, ADMIN)
        profile = _sample_profile()
        form = wizard.form
        form.operator.setText(profile.operator)
        form.policy_url.setText(profile.policy_url)
        if page > WHO:
            form.store.setText(profile.store)
            form.contact.setText(profile.contact)
            form.feedback_url.setText(profile.feedback_url)
        wizard.show()
        while wizard.currentId() < page:
            wizard.next()
        shown.append(wizard)
    elif screen.startswith("demo"):
        workspace.close()
        demo_window = Gui(app, data_dir).show_demo()
        if screen == "demo-dashboard":
            demo_window.tabs.setCurrentWidget(demo_window.dashboard)
        shown.append(demo_window)
    elif screen == "login-locked":
        until = datetime.now(UTC) + timedelta(minutes=15)

        def locked(_name: str, _password: str) -> User:
            raise LoginError("locked", until)

        login = LoginDialog(locked, store_name=_sample_profile().store)
        login.name_edit.setText("tanaka")
        login.password_edit.setText("wrong-password-1")
        login.show()
        QTimer.singleShot(300, login.try_sign_in)
        shown.append(login)
    elif screen == "login":
        login = LoginDialog(workspace.authenticate, store_name=_sample_profile().store)
        login.name_edit.setText("tanaka")
        login.message.setText(login.tr("The name or the password is wrong."))
        login.show()
        shown.append(login)
    else:
        workspace.close()
        role = Role.VIEWER if screen == "viewer" else Role.ADMIN
        window = create_main_window(app, data_dir, session=Session("tanaka", role))
        window.show()
        shown.append(window)
        ws = window.workspace
        dialog: QWidget | None = None
        if screen == "locked":
            window.pages.setCurrentWidget(window.lock_page)
        elif screen == "camera-dialog":
            # The demo's picture stands in for a real camera's.
            demo_fed = Camera("Entrance", SourceSpec(SourceKind.DEMO, "demo"))
            camera = CameraDialog(window.settings.vision, demo_fed, window)
            camera.preview.set_zones((((0.55, 0.1), (0.95, 0.1), (0.95, 0.5), (0.55, 0.5)),))
            camera.preview.set_analysis_zones(
                (
                    Zone(
                        "棚 A",
                        ZoneKind.SHELF,
                        ((0.05, 0.6), (0.4, 0.6), (0.4, 0.95), (0.05, 0.95)),
                        Space.IMAGE,
                    ),
                )
            )
            camera.preview.set_lines((CountingLine("Door", (0.5, 0.55), (0.5, 0.98), Space.IMAGE),))
            camera._list_zones()
            QTimer.singleShot(300, camera.test_connection)
            dialog = camera
        elif screen == "camera-error":
            # A camera whose port is closed: the dialog says why and offers the log folder.
            setup_logging(data_dir)
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            camera = CameraDialog(window.settings.vision, None, window)
            camera.kind_combo.setCurrentIndex(camera.kind_combo.findData("rtsp"))
            camera.name_edit.setText("Back door")
            camera.location_edit.setText(f"rtsp://admin:pass@127.0.0.1:{port}/stream1")
            QTimer.singleShot(300, camera.test_connection)
            dialog = camera
        elif screen == "models":
            window.refresh_models()
            QTimer.singleShot(1500, window.show_models)
        elif screen.startswith("settings"):
            settings_dialog = SettingsDialog(ws, window.session, window)
            tab = {"settings-notice": 0, "settings-general": 1}.get(screen, 2)
            settings_dialog.tabs.setCurrentIndex(tab)
            dialog = settings_dialog
        elif screen == "signage":
            dialog = SignageDialog(ws.notice_in_force(), lambda _p, _o: None, window)
        elif screen == "signage-bilingual":
            # A shop without a website, with its notice in English too: two pages, both languages.
            english = SignTexts(
                operator="Sample Shoten Co., Ltd.",
                store="Shibuya store",
                purpose=suggested_texts(Mode.REPEAT, "en")[0],
                items=suggested_texts(Mode.REPEAT, "en")[1],
                contact="Customer desk 03-0000-0000",
            )
            profile = ws.notice_in_force().profile.model_copy(
                update={"policy_url": "", "feedback_url": "", "texts": {"en": english}}
            )
            bilingual = SignageDialog(ws.save_notice(profile, "user:tanaka"), lambda _p, _o: None)
            bilingual.language.setCurrentIndex(bilingual.language.findData("ja+en"))
            dialog = bilingual
        elif screen == "requests":
            dialog = PublicRequestsDialog(ws, window.session, window.settings.vision, [], window)
        elif screen == "requests-guide":
            # The demo's picture stands in for the counter camera, shown masked in the guide.
            ws.save_camera(Camera("Counter", SourceSpec(SourceKind.DEMO, "demo")))
            window.reload_cameras()

            def open_requests() -> None:
                requests = PublicRequestsDialog(
                    ws,
                    window.session,
                    window.settings.vision,
                    window.cameras,
                    window,
                    frames=window.controller.frame_ready,
                )
                requests.show()
                shown.append(requests)

            QTimer.singleShot(2500, open_requests)
        elif screen == "guide":
            QTimer.singleShot(300, window.show_guide)
        elif screen == "purge-done":
            done = PurgeDialog(
                lambda keep, progress: ws.purge(keep, progress, "user:tanaka"), window
            )
            done.confirmation.setText(done.word)
            QTimer.singleShot(300, done.run_purge)
            dialog = done
        elif screen == "purge":
            purge = PurgeDialog(lambda _keep, _progress: None, window)  # type: ignore[arg-type, return-value]
            purge.confirmation.setText(purge.word[:2])
            dialog = purge
        elif screen == "dashboard":
            window.tabs.setCurrentWidget(window.dashboard)
        elif screen == "dashboard-floor":
            window.tabs.setCurrentWidget(window.dashboard)
            window.dashboard.load_floor_plan(
                _floor_plan(Path(tempfile.mkdtemp(prefix="raiten-plan-")))
            )
            QTimer.singleShot(
                3000, lambda: window.dashboard.scroll.ensureWidgetVisible(window.dashboard.heat)
            )
        elif screen == "dashboard-plan-width":
            # "Floor plan…" on the dashboard, the file chosen: the width question.
            window.tabs.setCurrentWidget(window.dashboard)
            plan = str(_floor_plan(Path(tempfile.mkdtemp(prefix="raiten-plan-"))))
            QFileDialog.getOpenFileName = lambda *_a, **_k: (plan, "")  # type: ignore[method-assign]
            QTimer.singleShot(500, window.dashboard.choose_floor_plan)
        elif screen == "export":
            dialog = ExportDialog(ws, window.session, [], window)
        elif screen == "pos":
            dialog = PosImportDialog(ws, window.session, [_sample_profile().store], window)
        elif screen == "registers":
            front = Zone(
                "レジ前", ZoneKind.CHECKOUT, ((0.6, 0), (1, 0), (1, 1), (0.6, 1)), Space.IMAGE
            )
            ws.save_camera(Camera("Front", SourceSpec(SourceKind.DEMO, "demo"), zones=(front,)))
            dialog = RegistersDialog(
                ws, window.session, [_sample_profile().store], ws.cameras(), window
            )
        elif screen == "calibration":
            picture = QImage(640, 480, QImage.Format.Format_RGB888)
            picture.fill(QColor("#6d7b8d"))
            plan = QImage(400, 300, QImage.Format.Format_RGB888)
            plan.fill(QColor("#f5f5f0"))
            plan_path = ws.data_dir / "plan.png"  # a drawing of the store, in the throwaway folder
            plan.save(str(plan_path))
            calibration = CalibrationDialog(
                picture, plan_path, None, window, plan_size_m=(12.0, 9.0)
            )
            for x, y in ((0.1, 0.8), (0.9, 0.8), (0.7, 0.3), (0.3, 0.3)):
                calibration.picture.current.append((x, y))
                calibration.plan.current.append((x, 1 - y))
            calibration.check()
            dialog = calibration
        elif screen == "bench":
            # The quick plan: every step of the real check on a tiny scale; shoot once done
            # (--delay-ms 60000) or while it runs (a shorter delay).
            bench = BenchDialog(window.settings.vision, Mode.REPEAT, window, BenchPlan.quick())
            QTimer.singleShot(300, bench.start)
            dialog = bench
        elif screen == "audit":
            dialog = AuditViewer(ws.audit_entries, ws.verify_audit, window)
            QTimer.singleShot(500, dialog.verify_chain)
        if dialog is not None:
            dialog.show()
            shown.append(dialog)

    def shoot() -> None:
        app.primaryScreen().grabWindow(0).save(str(args.out))
        app.quit()

    QTimer.singleShot(args.delay_ms, shoot)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
