"""The main window: camera grid in the middle, model status at the bottom."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktopapp import __version__
from desktopapp.core.config import Settings
from desktopapp.core.vision.status import ModelCheck, check_active_models
from desktopapp.ui.camera_grid import CameraGrid
from desktopapp.ui.model_status import ModelStatusPanel
from desktopapp.ui.workers import run_in_background

log = logging.getLogger(__name__)


class ModelsDialog(QDialog):
    """Every active model with its licence, whether commercial use is allowed, and its source."""

    def __init__(self, checks: list[ModelCheck], status: ModelStatusPanel, parent: QWidget):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Models and licences"))
        layout = QVBoxLayout(self)
        table = QTableWidget(len(checks), 4, self)
        table.setHorizontalHeaderLabels(
            [self.tr("Model"), self.tr("Licence"), self.tr("Commercial use"), self.tr("Source")]
        )
        for row, check in enumerate(checks):
            if check.info is None:
                cells = [check.model_id, status.problem_text(check), "", ""]
            else:
                allowed = self.tr("yes") if check.info.commercial_use else self.tr("no")
                cells = [check.info.model_id, check.info.licence, allowed, check.info.source]
            for column, text in enumerate(cells):
                table.setItem(row, column, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 240)


class MainWindow(QMainWindow):
    def __init__(self, data_dir: Path, settings: Settings, settings_problem: str = ""):
        super().__init__()
        self.data_dir = data_dir
        self.settings = settings
        self.model_checks: list[ModelCheck] = []
        self.setWindowTitle(self.tr("Raiten — store camera analytics"))
        self.resize(1100, 720)

        self.camera_grid = CameraGrid(self)
        self.setCentralWidget(self.camera_grid)

        self.model_status = ModelStatusPanel(self)
        self.statusBar().addPermanentWidget(self.model_status)
        if settings_problem:
            warning = QLabel(self.tr("Settings could not be loaded; using defaults."), self)
            warning.setObjectName("settings-warning")
            warning.setStyleSheet("color: #b00020;")
            warning.setToolTip(settings_problem)
            self.statusBar().addWidget(warning)

        self._build_menus()
        self.refresh_models()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        quit_action = QAction(self.tr("&Quit"), self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self.models_action = QAction(self.tr("&Models and licences…"), self)
        self.models_action.triggered.connect(self.show_models)
        help_menu.addAction(self.models_action)
        about = QAction(self.tr("&About Raiten"), self)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    def refresh_models(self) -> None:
        self.model_status.show_checking()
        config = self.settings.vision
        run_in_background(
            lambda: check_active_models(config), self._models_checked, self._models_failed, self
        )

    def _models_checked(self, checks: list[ModelCheck]) -> None:
        self.model_checks = checks
        self.model_status.show_checks(checks)

    def _models_failed(self, error: Exception) -> None:
        self.model_status.show_checks([])
        self.statusBar().showMessage(
            self.tr("The models could not be checked: %1").replace("%1", str(error))
        )

    def show_models(self) -> None:
        ModelsDialog(self.model_checks, self.model_status, self).exec()

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            self.tr("About Raiten"),
            self.tr(
                "Raiten %1\n\nCamera analytics for stores, following METI/MIC's Guidebook for "
                "Utilization of Camera Images. Pictures are analysed in memory and never stored."
            ).replace("%1", __version__),
        )
