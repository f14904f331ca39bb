"""Why the data folder cannot be used: the database file's condition and the data key's."""

from desktopapp.core.store.crypto import DataKeyError, KeyProblem
from desktopapp.core.store.db import StoreError, StoreProblem, store_error

__all__ = ["DataKeyError", "KeyProblem", "StoreError", "StoreProblem", "store_error"]
