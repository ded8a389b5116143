"""Exceptions raised by storage/: every one carries a message fit to show a person.

Callers (the UI, the CLI) catch `StorageError` and show `str(err)`; nothing here needs a traceback
to be understood.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: something the store could not do, said in plain words."""


class ValidationError(StorageError, ValueError):
    """An input record is malformed (wrong label, NaN in a map, text too long...)."""


class NotFound(StorageError, LookupError):
    """The record does not exist, or is not visible to the caller (a visitor asking for another's)."""


class ConfigError(StorageError):
    """The database URL, data directory or secret key is unusable."""


class SchemaError(StorageError):
    """The database schema cannot be brought to this version of the code."""


class WriteTimeout(StorageError, TimeoutError):
    """A write was queued but did not complete in time (it may still complete later)."""


class StoreClosed(StorageError):
    """The store was closed; no more writes are accepted."""
