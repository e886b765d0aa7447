"""syncline: sync data from sources to destinations as Arrow record batches.

The public API is this package's top level (``syncline.sync``, ``syncline.validate``, ...);
it is imported on first use, so ``import syncline`` stays cheap for the CLI and plugins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from syncline.api import (
        ConfigInput,
        ConnectionResult,
        NoProgress,
        Progress,
        SourceChecks,
        SourceHistory,
        SourceRollback,
        SourceState,
        SourceSyncResult,
        SyncFailedError,
        SyncResult,
        TableResult,
        check_connections,
        load_config,
        migrate,
        read_state,
        reset_state,
        rollback_state,
        show_state,
        state_history,
        sync,
        tables,
        validate,
        verify_state,
    )
    from syncline.config.errors import ConfigError, ConfigErrors
    from syncline.plugin.errors import SynclineError

_API = {
    "ConfigInput",
    "ConnectionResult",
    "NoProgress",
    "Progress",
    "SourceChecks",
    "SourceHistory",
    "SourceRollback",
    "SourceState",
    "SourceSyncResult",
    "SyncFailedError",
    "SyncResult",
    "TableResult",
    "check_connections",
    "load_config",
    "migrate",
    "read_state",
    "reset_state",
    "rollback_state",
    "show_state",
    "state_history",
    "sync",
    "tables",
    "validate",
    "verify_state",
}
_ERRORS = {"ConfigError": "syncline.config.errors", "ConfigErrors": "syncline.config.errors"}

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "ConfigInput",
    "ConnectionResult",
    "NoProgress",
    "Progress",
    "SourceChecks",
    "SourceHistory",
    "SourceRollback",
    "SourceState",
    "SourceSyncResult",
    "SyncFailedError",
    "SyncResult",
    "SynclineError",
    "TableResult",
    "__version__",
    "check_connections",
    "load_config",
    "migrate",
    "read_state",
    "reset_state",
    "rollback_state",
    "show_state",
    "state_history",
    "sync",
    "tables",
    "validate",
    "verify_state",
]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _API:
        return getattr(importlib.import_module("syncline.api"), name)
    if name in _ERRORS:
        return getattr(importlib.import_module(_ERRORS[name]), name)
    if name == "SynclineError":
        return importlib.import_module("syncline.plugin.errors").SynclineError
    raise AttributeError(f"module 'syncline' has no attribute {name!r}")
