"""Everything that is not the GUI. Nothing below this package imports Qt."""
