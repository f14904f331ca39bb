"""A camera as the operator configured it (saved and listed through the workspace)."""

from desktopapp.core.store.cameras import Camera

__all__ = ["Camera"]
