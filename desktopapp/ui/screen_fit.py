"""Window sizes that fit the operator's screen."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Room the window system adds outside the window (title bar, borders), in pixels: the size
# given to resize() is the inside.
FRAME_WIDTH = 16
FRAME_HEIGHT = 48


def resize_within_screen(window: QWidget, width: int, height: int) -> None:
    """Resizes ``window`` to ``width`` x ``height``, or smaller where its screen has less room.

    Back-office PCs often have a 1366x768 screen with a taskbar: a window sized for a larger
    screen would put its Save button or status bar below the edge, out of reach.
    """
    # The screen of the window it opens over. Not ``window.screen()``: asked before the window
    # exists, it left pyqtgraph's chart menus to crash the process when they were deleted.
    parent = window.parentWidget()
    shown = parent is not None and parent.isVisible()
    screen = parent.screen() if shown and parent is not None else QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(width, height)
        return
    room = screen.availableGeometry()
    window.resize(
        max(1, min(width, room.width() - FRAME_WIDTH)),
        max(1, min(height, room.height() - FRAME_HEIGHT)),
    )
