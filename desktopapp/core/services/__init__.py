"""The UI's door into storage, beside the Workspace (core.workspace), grouped by concern.

The workspace holds one open data folder's operations; these modules hold the data types those
operations take and return, the errors the UI words, and the few operations that run before a
workspace can open (recovery) or beside it (the visit writer). ``desktopapp.ui`` imports these
and never ``desktopapp.core.store``, so the storage behind them can change without the screens
noticing (tests/test_architecture.py keeps it so).
"""
