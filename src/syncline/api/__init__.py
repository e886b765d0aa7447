"""The public Python API: sync, validate, migrate, tables and state, with typed results."""

from typing import TYPE_CHECKING, Any

from syncline.api.results import (
    ConnectionResult,
    NoProgress,
    Progress,
    SourceSyncResult,
    SyncFailedError,
    SyncResult,
    TableResult,
)

if TYPE_CHECKING:
    from syncline.api.inputs import ConfigInput, load_config
    from syncline.api.run import check_connections, migrate, sync, tables, validate
    from syncline.api.state import (
        SourceChecks,
        SourceHistory,
        SourceRollback,
        SourceState,
        read_state,
        reset_state,
        rollback_state,
        show_state,
        state_history,
        verify_state,
    )

# Imported on first use: the config models (pydantic) only when a config is read, the engine
# (and Arrow with it) only when a command runs, so the command line can start a sync's plugin
# processes first; the state commands only for them.
_INPUTS = {"ConfigInput", "load_config"}
_RUN = {"check_connections", "migrate", "sync", "tables", "validate"}
_STATE = {
    "SourceChecks",
    "SourceHistory",
    "SourceRollback",
    "SourceState",
    "read_state",
    "reset_state",
    "rollback_state",
    "show_state",
    "state_history",
    "verify_state",
}

__all__ = [
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
]


def __getattr__(name: str) -> Any:
    if name in _INPUTS:
        from syncline.api import inputs

        return getattr(inputs, name)
    if name in _RUN:
        from syncline.api import run

        return getattr(run, name)
    if name in _STATE:
        from syncline.api import state

        return getattr(state, name)
    raise AttributeError(f"module 'syncline.api' has no attribute {name!r}")
