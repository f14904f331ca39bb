"""Background jobs of the UI (desktopapp/ui/workers.py): results come back on the UI thread in
order, errors too, and a window closed while its job is still reporting is never called back —
nor crashes the process, which it did when the job thread emitted on the window's own relay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QWidget
from pytestqt.qtbot import QtBot

from desktopapp.core.workspace import WorkspaceClosedError
from desktopapp.ui.workers import run_in_background, run_with_progress
from tests.isolation import only_in_own_process, run_alone

pytestmark = pytest.mark.gui


def test_progress_and_result_arrive_in_order_on_the_ui_thread(
    qapp: QApplication, qtbot: QtBot
) -> None:
    parent = QObject()
    seen: list[object] = []
    threads: set[threading.Thread] = set()

    def job(progress: object) -> str:
        for step in range(5):
            progress(step / 4)  # type: ignore[operator]
        return "done"

    def note(value: object) -> None:
        threads.add(threading.current_thread())
        seen.append(value)

    run_with_progress(job, note, note, note, parent)
    qtbot.waitUntil(lambda: "done" in seen, timeout=5000)
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0, "done"]
    assert threads == {threading.main_thread()}


def test_an_error_is_handed_back_and_a_closed_workspace_is_dropped(
    qapp: QApplication, qtbot: QtBot
) -> None:
    parent = QObject()
    results: list[object] = []
    errors: list[Exception] = []

    def broken() -> None:
        raise ValueError("the database is locked")

    def closed() -> None:
        raise WorkspaceClosedError("closed")

    run_in_background(closed, results.append, errors.append, parent)
    run_in_background(broken, results.append, errors.append, parent)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    qtbot.wait(100)
    assert results == [] and len(errors) == 1 and "locked" in str(errors[0])


def test_a_window_closed_while_its_job_reports_is_not_called_back(tmp_path: Path) -> None:
    run_alone(__file__, "test_closing_windows_under_reporting_jobs_alone", tmp_path)


def test_closing_windows_under_reporting_jobs_alone(qapp: QApplication, qtbot: QtBot) -> None:
    """Alone, so that the crash it looks for fails this test and not the whole suite."""
    only_in_own_process()
    called_after_close: list[int] = []
    delivered: list[int] = []
    open_windows: list[QObject] = []
    for round_ in range(300):
        parent = QObject()
        started = threading.Event()
        closed = [False]

        def job(progress: object, started: threading.Event = started) -> int:
            started.set()
            for _ in range(300):
                progress(0.5)  # type: ignore[operator]
            return 1

        def answer(_value: object, round_: int = round_, closed: list[bool] = closed) -> None:
            if closed[0]:
                called_after_close.append(round_)

        run_with_progress(job, answer, answer, answer, parent)
        assert started.wait(5)
        if round_ % 2:
            # The window closes while its job is still emitting.
            closed[0] = True
            shiboken6.delete(parent)
        else:
            open_windows.append(parent)
            run_in_background(lambda: 1, delivered.append, delivered.append, parent)
        qapp.processEvents()
    qtbot.waitUntil(lambda: len(delivered) == 150, timeout=30_000)
    qtbot.wait(200)
    assert called_after_close == []


def test_a_dialog_closed_before_its_job_ends_does_not_crash(tmp_path: Path) -> None:
    run_alone(__file__, "test_dialogs_closed_before_their_jobs_end_alone", tmp_path)


def test_dialogs_closed_before_their_jobs_end_alone(qapp: QApplication, qtbot: QtBot) -> None:
    """A dialog opened as ``Dialog(parent).exec()`` (as the window opens the signage) and
    closed while its job runs is kept alive only by the job's callback. When the job ended,
    releasing that callback deleted the dialog from inside its own relay's destructor, which
    then deleted the relay twice: the process crashed (the signage dialog, closed before its
    preview was drawn). Alone, so that a crash fails this test and not the whole suite."""
    only_in_own_process()
    window = QWidget()
    ended: list[int] = []
    destroyed: list[int] = []

    class Slow(QDialog):
        def __init__(self, number: int):
            super().__init__(window)
            self.destroyed.connect(lambda: destroyed.append(number))
            self.label = QLabel("…", self)
            # A lambda, as the signage's is: unlike a bound method, it holds the dialog.
            run_in_background(
                lambda: time.sleep(0.05) or number,
                lambda value: self.show_result(value),  # noqa: PLW0108
                ended.append,
                self,
            )

        def show_result(self, number: int) -> None:
            self.label.setText(str(number))
            ended.append(number)

    for number in range(5):
        QTimer.singleShot(0, lambda: QApplication.activeModalWidget().reject())  # type: ignore[union-attr]
        Slow(number).exec()
    qtbot.waitUntil(lambda: len(destroyed) == 5, timeout=10_000)
    qtbot.wait(100)
    assert sorted(ended) == [0, 1, 2, 3, 4]
