"""The grid of live camera tiles: 1, 2×2 or 3×3, and one tile enlarged on double-click."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from desktopapp.ui.camera_tile import CameraTile

LAYOUTS = (1, 2, 3)  # tiles per row and column


class CameraGrid(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("camera-grid")
        outer = QVBoxLayout(self)
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        outer.addLayout(self.grid, 1)
        self.empty_label = QLabel(self)
        self.empty_label.setObjectName("camera-grid-empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #555; font-size: 15px;")
        self.empty_label.setText(
            self.tr(
                "No cameras are configured yet. Add one with Cameras → Add camera.\n\n"
                "Raiten shows every person masked, keeps only face feature data for the period "
                "you set, and never stores a picture."
            )
        )
        self.tiles: dict[int, CameraTile] = {}
        self.columns = 2
        self.enlarged: int | None = None
        self._arrange()

    @property
    def tile_count(self) -> int:
        return len(self.tiles)

    def add_tile(self, tile: CameraTile) -> None:
        self.tiles[tile.camera_id] = tile
        tile.setParent(self)
        tile.enlarge_requested.connect(self.toggle_enlarged)
        self._arrange()

    def remove_tile(self, camera_id: int) -> None:
        tile = self.tiles.pop(camera_id, None)
        if tile is not None:
            self.grid.removeWidget(tile)
            tile.deleteLater()
        if self.enlarged == camera_id:
            self.enlarged = None
        self._arrange()

    def set_columns(self, columns: int) -> None:
        if columns not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}")
        self.columns = columns
        self.enlarged = None
        self._arrange()

    def toggle_enlarged(self, camera_id: int) -> None:
        self.enlarged = None if self.enlarged == camera_id else camera_id
        self._arrange()

    def visible_tiles(self) -> list[CameraTile]:
        return [t for t in self.tiles.values() if t.isVisible()]

    def _arrange(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0)
        if not self.tiles:
            self.grid.addWidget(self.empty_label, 0, 0)
            self.empty_label.show()
            return
        self.empty_label.hide()
        if self.enlarged is not None:
            shown = [self.tiles[self.enlarged]]
            columns = 1
        else:
            per_page = self.columns * self.columns
            ordered = list(self.tiles.values())
            shown = ordered[:per_page]
            columns = self.columns
        for tile in self.tiles.values():
            tile.setVisible(tile in shown)
        for position, tile in enumerate(shown):
            self.grid.addWidget(tile, position // columns, position % columns)
