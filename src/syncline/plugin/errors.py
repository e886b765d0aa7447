"""Error taxonomy: what fails a sync, what is retried."""

from __future__ import annotations


class SynclineError(Exception):
    """Base of errors that end a command with a message (exit 1)."""


class PluginNotFoundError(SynclineError):
    pass


class PluginInitError(SynclineError):
    pass


class MigrationError(SynclineError):
    """A schema change the destination cannot apply in the configured migrate_mode."""


class WriteError(SynclineError):
    """A destination failed to write; the sync fails and no cursor moves past the data."""


class StateError(SynclineError):
    """The state backend could not be read or written."""
