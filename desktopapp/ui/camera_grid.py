"""The grid of live camera tiles. Empty until cameras are configured."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget


class CameraGrid(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("camera-grid")
        outer = QVBoxLayout(self)
        self.grid = QGridLayout()
        outer.addLayout(self.grid, 1)
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("camera-grid-empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #555; font-size: 15px;")
        self.empty_label.setText(
            self.tr(
                "No cameras are configured yet.\n\n"
                "Raiten shows every person masked, keeps only face feature data for the period "
                "you set, and never stores a picture."
            )
        )
        self.grid.addWidget(self.empty_label, 0, 0)

    @property
    def tile_count(self) -> int:
        return self.grid.count() - (1 if self.empty_label.isVisible() else 0)
