import multiprocessing

from desktopapp.cli import main

# Feature processes are spawned: they re-import this module (so the guard), and a frozen
# (PyInstaller) build must let them start (so freeze_support).
if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
