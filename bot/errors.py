"""Exceptions the robot raises, so callers can catch the robot's failures by kind.

::

    BotError                 anything the robot raises on purpose
    ├── ConfigError          bad settings, files or plug-in paths; fix the configuration
    ├── AgentError           the answering agent failed; the user gets an error notice
    │   └── AgentTimeout     the agent took too long or went silent
    └── StoreError           the store could not be opened or used
        ├── StoreBusy        the SQLite file is locked by another connection (retry later)
        └── StoreUnwritable  the disk is full or the file read-only (retry once fixed)
"""

from __future__ import annotations


class BotError(Exception):
    """Base class of every error the robot raises on purpose."""


class ConfigError(BotError):
    """A setting, file or plug-in path is wrong; the message says what to change."""


class AgentError(BotError):
    """The agent could not produce an answer."""


class AgentTimeout(AgentError):
    """The agent did not answer (or went silent) within the allowed time."""


class StoreError(BotError):
    """The SQLite store could not be opened, migrated or written."""


class StoreBusy(StoreError):
    """The SQLite file is locked by another connection; the call may succeed later."""


class StoreUnwritable(StoreError):
    """The store cannot write (disk full, read-only file or folder, I/O error); the call may
    succeed once space or permissions return."""
